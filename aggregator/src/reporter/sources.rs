//! Reading a chain's figures from the sources its registry entry names: ERC-20 balances and
//! supplies and Chainlink feeds on the chain, and figures in JSON documents (a custodian's API).
//!
//! A source that fails — timeout, an RPC or HTTP error, a document that is not what was
//! configured, a negative or stale answer — fails the whole read, and the reporter skips that
//! report: a missing figure is never taken for zero. Errors name the source and what to do;
//! none carries a figure.

use std::time::Duration;

use alloy::primitives::{I256, U256};
use solvency_chain_adapters::{ChainClient, sources as chain};
use solvency_enclave::Position;
use solvency_registry::{AssetSources, ChainConfig, Source, SourceKind};

/// Documents larger than this are refused: a figure fits in far less.
const MAX_DOCUMENT_BYTES: usize = 1 << 20;

/// Why a read of the figures failed. Never carries a figure.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The read took longer than the source's `timeout_secs`.
    #[error("{asset} {side}: {source_name}: no answer within {} s; check the source or raise timeout_secs", .after.as_secs())]
    Timeout {
        /// The asset.
        asset: String,
        /// `reserves` or `liabilities`.
        side: &'static str,
        /// The source, described without secrets.
        source_name: String,
        /// The timeout.
        after: Duration,
    },
    /// The source answered with something that cannot be used.
    #[error("{asset} {side}: {source_name}: {problem}")]
    Refused {
        /// The asset.
        asset: String,
        /// `reserves` or `liabilities`.
        side: &'static str,
        /// The source, described without secrets.
        source_name: String,
        /// What is wrong and what to do.
        problem: String,
    },
}

/// Reads every asset that has sources: the sum of its reserve sources and of its liability
/// sources, in the asset's smallest unit. On-chain sources are read at one block.
pub async fn read_positions(
    client: &ChainClient,
    http: &reqwest::Client,
    config: &ChainConfig,
    now: u64,
) -> Result<Vec<Position>, SourceError> {
    let first = config.sources.first().map(|a| a.symbol.clone()).unwrap_or_default();
    let block = chain::pinned_block(client).await.map_err(|e| SourceError::Refused {
        asset: first,
        side: "reserves",
        source_name: format!("{}'s RPC endpoint", config.name),
        problem: format!("{e}"),
    })?;
    let mut positions = Vec::with_capacity(config.sources.len());
    for asset in &config.sources {
        let reserves = sum(client, http, asset, "reserves", &asset.reserves, block, now).await?;
        let liabilities =
            sum(client, http, asset, "liabilities", &asset.liabilities, block, now).await?;
        positions.push(Position::new(&asset.symbol, reserves, liabilities));
    }
    Ok(positions)
}

async fn sum(
    client: &ChainClient,
    http: &reqwest::Client,
    asset: &AssetSources,
    side: &'static str,
    sources: &[Source],
    block: alloy::rpc::types::BlockId,
    now: u64,
) -> Result<U256, SourceError> {
    let mut total = U256::ZERO;
    for source in sources {
        let source_name = source.kind.describe();
        let refused = |problem: String| SourceError::Refused {
            asset: asset.symbol.clone(),
            side,
            source_name: source_name.clone(),
            problem,
        };
        let read = read_one(client, http, source, asset.decimals, side, block, now);
        let value = match tokio::time::timeout(source.timeout, read).await {
            Ok(Ok(value)) => value,
            Ok(Err(problem)) => return Err(refused(problem)),
            Err(_) => {
                return Err(SourceError::Timeout {
                    asset: asset.symbol.clone(),
                    side,
                    source_name,
                    after: source.timeout,
                });
            }
        };
        total = total
            .checked_add(value)
            .ok_or_else(|| refused("the sum of the sources does not fit in 256 bits".into()))?;
    }
    Ok(total)
}

/// One source's figure in the asset's smallest unit, or what is wrong with it.
async fn read_one(
    client: &ChainClient,
    http: &reqwest::Client,
    source: &Source,
    decimals: u8,
    side: &'static str,
    block: alloy::rpc::types::BlockId,
    now: u64,
) -> Result<U256, String> {
    // Conservative rounding when scaling: reserves down, liabilities up.
    let round_up = side == "liabilities";
    match &source.kind {
        SourceKind::Erc20Balance { token, holders } => {
            let figure = chain::erc20_balances(client, *token, holders, block)
                .await
                .map_err(|e| e.to_string())?;
            scale(figure.value, figure.decimals, decimals, round_up)
        }
        SourceKind::Erc20Supply { token } => {
            let figure =
                chain::erc20_supply(client, *token, block).await.map_err(|e| e.to_string())?;
            scale(figure.value, figure.decimals, decimals, round_up)
        }
        SourceKind::ChainlinkFeed { feed, max_age } => {
            let round = chain::feed_round(client, *feed, block).await.map_err(|e| e.to_string())?;
            if round.updated_at == 0 {
                return Err("the feed has no answer yet (updatedAt is 0)".into());
            }
            let age = now.saturating_sub(round.updated_at);
            if age > max_age.as_secs() {
                return Err(format!(
                    "the feed's answer is {age} s old, more than max_age_secs ({}); the feed is stale",
                    max_age.as_secs()
                ));
            }
            if round.answered_in_round < round.round_id {
                return Err("the feed's answer comes from an earlier round than its latest; the feed is stale".into());
            }
            if round.answer.is_negative() {
                return Err("the feed's answer is negative; a figure cannot be".into());
            }
            let answer = U256::try_from(round.answer).unwrap_or(U256::ZERO);
            debug_assert!(round.answer >= I256::ZERO);
            scale(answer, round.decimals, decimals, round_up)
        }
        SourceKind::HttpJson { url, pointer, headers_from_env, whole_units } => {
            let document = fetch(http, url, headers_from_env).await?;
            let value = document
                .pointer(pointer)
                .ok_or_else(|| format!("the document has nothing at {pointer}; check `pointer`"))?;
            figure_from_json(value, pointer, *whole_units, decimals, round_up)
        }
    }
}

/// GETs a JSON document, with headers whose values come from the environment.
async fn fetch(
    http: &reqwest::Client,
    url: &solvency_registry::RpcUrl,
    headers_from_env: &[(String, String)],
) -> Result<serde_json::Value, String> {
    // The source's timeout bounds the whole read, this request included (see `sum`).
    let mut request = http.get(url.expose().clone());
    for (header, var) in headers_from_env {
        let value = std::env::var(var).map_err(|_| {
            format!("the environment variable {var} (for header {header}) is not set; export it")
        })?;
        request = request.header(header.as_str(), value);
    }
    // reqwest's errors can quote the URL, whose query may hold a key: only its kind is kept.
    let response = request.send().await.map_err(|e| {
        let kind = if e.is_timeout() {
            "timed out"
        } else if e.is_connect() {
            "cannot connect"
        } else {
            "the request failed"
        };
        format!("{kind}; check that the source is up and reachable")
    })?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("answered HTTP {status}; check the URL and the credentials"));
    }
    let body = response.bytes().await.map_err(|_| "the answer broke off".to_owned())?;
    if body.len() > MAX_DOCUMENT_BYTES {
        return Err(format!("the document is over {MAX_DOCUMENT_BYTES} bytes"));
    }
    serde_json::from_slice(&body).map_err(|_| "the answer is not JSON".to_owned())
}

/// A figure from a JSON value: an integer in the smallest unit (a number or a decimal string),
/// or, with `whole_units`, a decimal in whole units.
fn figure_from_json(
    value: &serde_json::Value,
    pointer: &str,
    whole_units: bool,
    decimals: u8,
    round_up: bool,
) -> Result<U256, String> {
    let text = match value {
        serde_json::Value::String(text) => text.trim().to_owned(),
        serde_json::Value::Number(number) => number.to_string(),
        _ => return Err(format!("the value at {pointer} is not a number or a numeric string")),
    };
    if text.starts_with('-') {
        return Err(format!("the value at {pointer} is negative; a figure cannot be"));
    }
    let not_a_figure = || {
        format!(
            "the value at {pointer} is not {}",
            if whole_units {
                "a decimal number of whole units (such as \"1234.56\")"
            } else {
                "a whole number in the asset's smallest unit (give unit = \"whole\" for decimals)"
            }
        )
    };
    if !whole_units {
        return U256::from_str_radix(&text, 10).map_err(|_| not_a_figure());
    }
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    if int.is_empty() && frac.is_empty()
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(not_a_figure());
    }
    let digits = usize::from(decimals);
    let (kept, dropped) = frac.split_at(frac.len().min(digits));
    let mut units = format!("{}{kept:0<digits$}", if int.is_empty() { "0" } else { int });
    units = units.trim_start_matches('0').to_owned();
    let mut figure = if units.is_empty() {
        U256::ZERO
    } else {
        U256::from_str_radix(&units, 10).map_err(|_| not_a_figure())?
    };
    if round_up && dropped.bytes().any(|b| b != b'0') {
        figure = figure.checked_add(U256::from(1)).ok_or_else(not_a_figure)?;
    }
    Ok(figure)
}

/// A figure in `from` decimals as one in `to` decimals; `round_up` rounds a dropped remainder
/// up (liabilities), otherwise down (reserves).
fn scale(value: U256, from: u8, to: u8, round_up: bool) -> Result<U256, String> {
    let too_big = || "the figure does not fit in 256 bits at the asset's decimals".to_owned();
    if from == to {
        return Ok(value);
    }
    if to > from {
        let factor = U256::from(10u8).checked_pow(U256::from(to - from)).ok_or_else(too_big)?;
        return value.checked_mul(factor).ok_or_else(too_big);
    }
    let factor = U256::from(10u8).checked_pow(U256::from(from - to)).ok_or_else(too_big)?;
    let (quotient, remainder) = value.div_rem(factor);
    Ok(if round_up && !remainder.is_zero() { quotient + U256::from(1) } else { quotient })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn scaling_rounds_reserves_down_and_liabilities_up() {
        let v = U256::from(1_234_567u64);
        assert_eq!(scale(v, 6, 6, false), Ok(v));
        assert_eq!(scale(v, 6, 8, false), Ok(U256::from(123_456_700u64)));
        assert_eq!(scale(v, 6, 4, false), Ok(U256::from(12_345u64)));
        assert_eq!(scale(v, 6, 4, true), Ok(U256::from(12_346u64)));
        assert_eq!(scale(U256::from(1_200u64), 6, 4, true), Ok(U256::from(12u64)), "no remainder");
        assert!(scale(U256::MAX, 0, 18, false).is_err(), "overflow is an error, not a wrap");
    }

    #[test]
    fn json_figures_in_smallest_or_whole_units() {
        let smallest = |v: serde_json::Value| figure_from_json(&v, "/x", false, 6, false);
        assert_eq!(smallest(json!(2_500_000_000u64)), Ok(U256::from(2_500_000_000u64)));
        assert_eq!(
            smallest(json!(
                "115792089237316195423570985008687907853269984665640564039457584007913129639935"
            )),
            Ok(U256::MAX),
            "strings carry figures beyond 2^64"
        );
        assert!(smallest(json!("12.5")).unwrap_err().contains("unit = \"whole\""));
        assert!(smallest(json!(-5)).unwrap_err().contains("negative"));
        assert!(smallest(json!("-5")).unwrap_err().contains("negative"));
        assert!(smallest(json!(null)).unwrap_err().contains("not a number"));
        assert!(smallest(json!({"a": 1})).unwrap_err().contains("not a number"));
        assert!(smallest(json!("12abc")).is_err());
        let whole = |v: serde_json::Value, up| figure_from_json(&v, "/x", true, 6, up);
        assert_eq!(whole(json!("2500.5"), false), Ok(U256::from(2_500_500_000u64)));
        assert_eq!(whole(json!(2500), false), Ok(U256::from(2_500_000_000u64)));
        assert_eq!(whole(json!(".25"), false), Ok(U256::from(250_000u64)));
        assert_eq!(whole(json!("0.0000019"), false), Ok(U256::from(1u64)), "reserves round down");
        assert_eq!(whole(json!("0.0000019"), true), Ok(U256::from(2u64)), "liabilities round up");
        assert_eq!(whole(json!("0"), true), Ok(U256::ZERO));
        assert!(whole(json!("1e3"), false).is_err());
        assert!(whole(json!("1.2.3"), false).is_err());
        assert!(whole(json!("."), false).is_err());
        // A refusal never repeats the value it refused.
        let err = whole(json!("-2500.5"), false).unwrap_err();
        assert!(!err.contains("2500"), "{err}");
    }
}
