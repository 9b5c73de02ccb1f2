//! One anvil process, owned by a handle that stops it on drop.
//!
//! The child is spawned by a dedicated owner thread that lives exactly as long as the handle:
//! `PR_SET_PDEATHSIG` is tied to the spawning *thread*, so spawning from a runtime worker could
//! kill anvil when that worker retires, while an owner thread makes the kernel stop anvil only
//! when the handle is gone or the whole process dies (a `kill -9` of a test included).

use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::mpsc,
    thread,
    time::{Duration, Instant},
};

use crate::{Error, Result};

/// How long anvil gets to print its listening address (it needs ~100 ms).
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long anvil gets to exit (and dump its state) after SIGTERM before SIGKILL.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// Where to find anvil: `$SOLVENCY_ANVIL`, else the pinned npm package of this checkout, else
/// `anvil` on `PATH`.
pub fn anvil_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("SOLVENCY_ANVIL") {
        return PathBuf::from(path);
    }
    let pinned = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil");
    if pinned.exists() { pinned } else { PathBuf::from("anvil") }
}

/// Options for one anvil chain.
#[derive(Clone, Debug)]
pub struct AnvilOptions {
    /// The anvil executable.
    pub binary: PathBuf,
    /// EVM chain id.
    pub chain_id: u64,
    /// Load state from this file if it exists, and dump to it on exit (`anvil --state`).
    pub state_file: Option<PathBuf>,
    /// Fork this endpoint at its latest block (`anvil --fork-url`); `chain_id` must be the
    /// endpoint's own. State is read from it as needed and never cached on disk.
    pub fork_url: Option<String>,
}

/// A running anvil. Dropping it stops the process (SIGTERM, then SIGKILL).
#[derive(Debug)]
pub struct AnvilProcess {
    pid: u32,
    port: u16,
    chain_id: u64,
    stop: Option<mpsc::Sender<()>>,
    owner: Option<thread::JoinHandle<()>>,
}

impl AnvilProcess {
    /// Starts anvil on 127.0.0.1 with an OS-chosen port and waits until it listens.
    pub fn spawn(options: &AnvilOptions) -> Result<Self> {
        let (ready_tx, ready_rx) = mpsc::channel::<Result<(u32, u16)>>();
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let options_for_owner = options.clone();
        let owner = thread::Builder::new()
            .name(format!("anvil-{}", options.chain_id))
            .spawn(move || own_anvil(&options_for_owner, &ready_tx, &stop_rx))
            .map_err(|e| Error::Anvil { chain_id: options.chain_id, reason: e.to_string() })?;
        let ready =
            ready_rx.recv_timeout(START_TIMEOUT + Duration::from_secs(5)).unwrap_or_else(|_| {
                Err(Error::Anvil {
                    chain_id: options.chain_id,
                    reason: "did not start in time".into(),
                })
            });
        match ready {
            Ok((pid, port)) => Ok(Self {
                pid,
                port,
                chain_id: options.chain_id,
                stop: Some(stop_tx),
                owner: Some(owner),
            }),
            Err(e) => {
                drop(stop_tx);
                let _ = owner.join();
                Err(e)
            }
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The JSON-RPC URL, always on loopback.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The EVM chain id.
    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// Stops anvil and waits for it to exit.
    pub fn stop(mut self) {
        self.stop_inner();
    }

    fn stop_inner(&mut self) {
        // Dropping the sender (or sending) wakes the owner thread, which stops the child.
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(owner) = self.owner.take() {
            let _ = owner.join();
        }
    }
}

/// Stops every anvil and waits for them, off the async runtime (stopping one blocks until it
/// exits).
pub async fn stop_all(anvils: Vec<AnvilProcess>) {
    let _ =
        tokio::task::spawn_blocking(move || anvils.into_iter().for_each(AnvilProcess::stop)).await;
}

impl Drop for AnvilProcess {
    fn drop(&mut self) {
        self.stop_inner();
    }
}

/// The owner thread: spawn, report the port, wait for the stop signal, stop the child.
fn own_anvil(
    options: &AnvilOptions,
    ready: &mpsc::Sender<Result<(u32, u16)>>,
    stop: &mpsc::Receiver<()>,
) {
    let chain_id = options.chain_id;
    let mut command = Command::new(&options.binary);
    command
        .args(["--host", "127.0.0.1", "--port", "0", "--chain-id"])
        .arg(chain_id.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(state) = &options.state_file {
        command.arg("--state").arg(state);
    }
    if let Some(url) = &options.fork_url {
        command.arg("--fork-url").arg(url).arg("--no-storage-caching");
    }
    // SAFETY: prctl is async-signal-safe and touches only the child's own attributes.
    unsafe {
        use std::os::unix::process::CommandExt;
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => {
            let _ = ready.send(Err(Error::Anvil {
                chain_id,
                reason: format!(
                    "cannot run {}: {e} (run `make` to install it)",
                    options.binary.display()
                ),
            }));
            return;
        }
    };
    let stdout = child.stdout.take().expect("stdout is piped");
    let (port_tx, port_rx) = mpsc::channel();
    // Reads the listening line, then keeps draining anvil's output so the pipe never fills.
    let reader = thread::Builder::new().name(format!("anvil-{chain_id}-out")).spawn(move || {
        let mut port_tx = Some(port_tx);
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(rest) = line.trim().strip_prefix("Listening on 127.0.0.1:")
                && let Some(tx) = port_tx.take()
            {
                let _ = tx.send(rest.trim().parse::<u16>().ok());
            }
        }
    });
    match port_rx.recv_timeout(START_TIMEOUT) {
        Ok(Some(port)) => {
            let _ = ready.send(Ok((child.id(), port)));
        }
        _ => {
            let status = child.try_wait().ok().flatten();
            let _ = ready.send(Err(Error::Anvil {
                chain_id,
                reason: format!("no listening address printed (exit status: {status:?})"),
            }));
            terminate(&mut child);
            return;
        }
    }
    // Block until the handle asks to stop or is dropped (both end recv).
    let _ = stop.recv();
    terminate(&mut child);
    if let Ok(reader) = reader {
        let _ = reader.join();
    }
}

/// SIGTERM (anvil dumps `--state` and exits), then SIGKILL if it does not exit in time.
fn terminate(child: &mut Child) {
    // SAFETY: sending a signal to our own child's pid.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
    }
    let deadline = Instant::now() + STOP_TIMEOUT;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}
