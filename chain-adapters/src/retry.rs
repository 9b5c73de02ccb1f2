//! Capped exponential backoff for RPC calls.

use std::{future::Future, time::Duration};

/// Delays between attempts: `initial`, doubling, never above `max`; at most `attempts` tries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// Delay before the second attempt.
    pub initial: Duration,
    /// The cap.
    pub max: Duration,
    /// Total attempts, the first included.
    pub attempts: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Self { initial: Duration::from_millis(100), max: Duration::from_secs(5), attempts: 8 }
    }
}

impl Backoff {
    /// The delay after the `n`-th failed attempt (0-based).
    pub fn delay(&self, n: u32) -> Duration {
        self.initial.saturating_mul(1u32.checked_shl(n).unwrap_or(u32::MAX)).min(self.max)
    }

    /// Runs `op` until it succeeds, `retryable` says an error is final, or attempts run out;
    /// returns the last error then.
    pub async fn retry<T, E, F, Fut>(
        &self,
        mut op: F,
        retryable: impl Fn(&E) -> bool,
    ) -> Result<T, E>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let mut n = 0;
        loop {
            match op().await {
                Ok(value) => return Ok(value),
                Err(e) if n + 1 >= self.attempts || !retryable(&e) => return Err(e),
                Err(_) => {
                    tokio::time::sleep(self.delay(n)).await;
                    n += 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[test]
    fn delays_double_up_to_the_cap() {
        let b = Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(1),
            attempts: 10,
        };
        let delays: Vec<u128> = (0..6).map(|n| b.delay(n).as_millis()).collect();
        assert_eq!(delays, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(b.delay(64), Duration::from_secs(1), "no overflow far out");
    }

    #[tokio::test(start_paused = true)]
    async fn retries_retryable_errors_until_success_or_exhaustion() {
        let b = Backoff {
            initial: Duration::from_millis(10),
            max: Duration::from_millis(40),
            attempts: 4,
        };
        let calls = AtomicU32::new(0);
        let ok: Result<u32, &str> = b
            .retry(
                || async {
                    if calls.fetch_add(1, Ordering::SeqCst) < 2 { Err("flaky") } else { Ok(7) }
                },
                |_| true,
            )
            .await;
        assert_eq!(ok, Ok(7));
        assert_eq!(calls.load(Ordering::SeqCst), 3);

        calls.store(0, Ordering::SeqCst);
        let exhausted: Result<u32, &str> = b
            .retry(
                || async {
                    calls.fetch_add(1, Ordering::SeqCst);
                    Err("down")
                },
                |_| true,
            )
            .await;
        assert_eq!(exhausted, Err("down"));
        assert_eq!(calls.load(Ordering::SeqCst), 4);

        calls.store(0, Ordering::SeqCst);
        let fatal: Result<u32, &str> = b
            .retry(
                || async {
                    calls.fetch_add(1, Ordering::SeqCst);
                    Err("bad input")
                },
                |_| false,
            )
            .await;
        assert_eq!(fatal, Err("bad input"));
        assert_eq!(calls.load(Ordering::SeqCst), 1, "a final error is not retried");
    }
}
