//! A devnet session for tests that drive `solvency` as a user would: a directory laid out like
//! the clone's root, `solvency devnet up --detach`, processes started from it, a plain HTTP
//! client. Whatever happens, everything started is stopped by its PID and the devnet brought
//! down when the session drops.

#![allow(dead_code)] // each test file uses part of it

use std::{
    io::{Read, Write},
    net::TcpStream,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use alloy::primitives::U256;
use serde_json::Value;
use solvency_aggregator::cli::demo::Figures;

/// Bounds every wait: a hang fails the test instead of holding CI.
pub(crate) const WAIT: Duration = Duration::from_secs(120);

/// `solvency`, run from `dir`.
pub(crate) fn solvency(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_solvency"));
    command.current_dir(dir);
    command
}

/// Stops `child` with `signal` sent to `pid` (negative: its group), and with SIGKILL if it has
/// not exited ten seconds later.
pub(crate) fn stop(child: &mut Child, pid: i32, signal: i32) {
    // SAFETY: signalling a process (or process group) this test started.
    unsafe { libc::kill(pid, signal) };
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    // SAFETY: as above.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    let _ = child.wait();
}

/// A process the session started.
struct Started {
    name: String,
    child: Child,
    /// Started in a group of its own (a browser and its helpers).
    group: bool,
}

/// A devnet in a temporary directory, and the processes started beside it.
pub(crate) struct Session {
    /// The directory (the clone's root, as far as the commands care).
    pub(crate) dir: PathBuf,
    started: Vec<Started>,
    _temp: tempfile::TempDir,
}

impl Session {
    /// A directory with the repository's `networks.toml` (edited by `edit`) and a devnet
    /// started from it in `.devnet`.
    pub(crate) fn devnet(edit: impl FnOnce(String) -> String) -> Self {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().to_path_buf();
        let registry = std::fs::read_to_string(repo.join("networks.toml")).unwrap();
        std::fs::write(dir.join("networks.toml"), edit(registry)).unwrap();
        let session = Self { dir, started: Vec::new(), _temp: temp };
        let up = solvency(&session.dir)
            .args(["devnet", "up", "--state-dir", ".devnet", "--detach"])
            .output()
            .unwrap();
        assert!(up.status.success(), "devnet up: {}", String::from_utf8_lossy(&up.stderr));
        session
    }

    /// A path in the session's directory.
    pub(crate) fn path(&self, relative: &str) -> PathBuf {
        self.dir.join(relative)
    }

    /// Starts `command` as `name`; stopped when the session drops (or by [`Session::stop`]).
    pub(crate) fn spawn(&mut self, name: &str, command: &mut Command, group: bool) {
        let child = command.spawn().unwrap_or_else(|e| panic!("starting {name}: {e}"));
        self.started.push(Started { name: name.into(), child, group });
    }

    /// Stops the process started as `name` with SIGTERM (SIGKILL ten seconds later).
    pub(crate) fn stop(&mut self, name: &str) {
        self.stop_with(name, libc::SIGTERM);
    }

    /// Kills the process started as `name` at once (`kill -9`): nothing of it runs on.
    #[allow(dead_code)]
    pub(crate) fn kill(&mut self, name: &str) {
        self.stop_with(name, libc::SIGKILL);
    }

    fn stop_with(&mut self, name: &str, signal: i32) {
        let at = self.started.iter().position(|s| s.name == name).expect("started");
        let mut started = self.started.remove(at);
        let pid = started.child.id() as i32;
        stop(&mut started.child, pid, signal);
        if started.group {
            // SAFETY: the group of a process this test started.
            unsafe { libc::kill(-pid, libc::SIGKILL) };
        }
    }

    /// Starts `solvency run --http ADDR` on the devnet's registry, logging JSON lines to
    /// `log` (in `.devnet`), and returns `host:port` once it serves its view.
    pub(crate) fn start_aggregator(&mut self, http: &str, log: &str, extra: &[&str]) -> String {
        let log_path = self.path(&format!(".devnet/{log}"));
        let mut command = solvency(&self.dir);
        command
            .args([
                "run",
                "--config",
                ".devnet/networks.toml",
                "--http",
                http,
                "--refresh-secs",
                "1",
            ])
            .args(["--log-format", "json"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log_path).unwrap());
        self.spawn("aggregator", &mut command, false);
        let deadline = Instant::now() + WAIT;
        loop {
            let text = std::fs::read_to_string(&log_path).unwrap_or_default();
            let url = text.lines().filter_map(|l| serde_json::from_str::<Value>(l).ok()).find_map(
                |line| {
                    (line["message"] == "serving the view")
                        .then(|| line["url"].as_str().unwrap().to_owned())
                },
            );
            if let Some(url) = url {
                return url.trim_start_matches("http://").trim_end_matches('/').to_owned();
            }
            assert!(Instant::now() < deadline, "the aggregator did not serve its view:\n{text}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until `done` holds for `/api/v1/status` of the server at `addr`; returns it.
    pub(crate) fn until_status(
        &self,
        addr: &str,
        what: &str,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            let status: Value = serde_json::from_str(&get(addr, "/api/v1/status").body).unwrap();
            if done(&status) {
                return status;
            }
            assert!(Instant::now() < deadline, "never saw {what}; the status is {status:#}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        while let Some(started) = self.started.pop() {
            let name = started.name.clone();
            self.started.push(started);
            self.stop(&name);
        }
        let _ = solvency(&self.dir)
            .args(["devnet", "down", "--state-dir", ".devnet"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// A response: status code, content type, body.
pub(crate) struct Response {
    /// The status code.
    pub(crate) status: u16,
    /// `Content-Type`.
    pub(crate) content_type: String,
    /// The body.
    pub(crate) body: String,
}

/// `GET http://{addr}{path}` over a plain socket (HTTP/1.1, one request per connection).
pub(crate) fn get(addr: &str, path: &str) -> Response {
    let mut stream = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").unwrap();
    // Read the head, then the body by its length (some servers keep the connection open).
    let mut raw = Vec::new();
    let mut buf = [0u8; 65536];
    let head_end = loop {
        if let Some(at) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "{addr}{path}: the connection closed before the response's head");
        raw.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8(raw[..head_end].to_vec()).unwrap();
    let status = head.lines().next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let header = |name: &str| {
        head.lines()
            .find_map(|l| l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case(name)))
            .map(|(_, v)| v.trim().to_owned())
    };
    let mut body = raw[head_end + 4..].to_vec();
    match header("content-length").map(|v| v.parse::<usize>().unwrap()) {
        Some(length) => {
            while body.len() < length {
                let n = stream.read(&mut buf).unwrap();
                assert!(n > 0, "{addr}{path}: the body ended early");
                body.extend_from_slice(&buf[..n]);
            }
        }
        None => {
            stream.read_to_end(&mut body).unwrap();
        }
    }
    let body = String::from_utf8(body).unwrap();
    let body = if header("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        let mut out = String::new();
        let mut rest = body.as_str();
        loop {
            let (size, after) = rest.split_once("\r\n").unwrap();
            let size = usize::from_str_radix(size.trim(), 16).unwrap();
            if size == 0 {
                break;
            }
            out.push_str(&after[..size]);
            rest = &after[size + 2..];
        }
        out
    } else {
        body
    };
    Response { status, content_type: header("content-type").unwrap_or_default(), body }
}

/// A figure in smallest units.
pub(crate) fn units(whole: u64, decimals: u64) -> U256 {
    U256::from(whole) * U256::from(10u64).pow(U256::from(decimals))
}

/// `--position` arguments for a chain's figures (whole units → smallest units).
pub(crate) fn positions(figures: Figures) -> Vec<String> {
    vec![
        "--position".into(),
        format!("USDC={}:{}", units(figures.0, 6), units(figures.1, 6)),
        "--position".into(),
        format!("WETH={}:{}", units(figures.2, 18), units(figures.3, 18)),
    ]
}

/// `solvency report submit` of `figures` on `chain`, from the devnet's reporter.
pub(crate) fn submit(dir: &Path, chain: &str, figures: Figures) {
    let output = solvency(dir)
        .args(["report", "submit", "--config", ".devnet/networks.toml", "--devnet", ".devnet"])
        .args(["--chain", chain])
        .args(positions(figures))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "report submit on {chain}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}
