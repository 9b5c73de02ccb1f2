//! The operator's view against a live devnet, through a real browser. Headless Chromium loads
//! the page `solvency run --http` serves, finds every chain, and sees the verdict turn `false`
//! and back to `true` as a round like the demo's runs (healthy, one chain fallen, restored), with
//! the page's own polling; a screenshot of each stage is kept as a test artefact. Everything the
//! server returned meanwhile, and the rendered page, is searched for the round's figures. The
//! shapes of `/api/v1/*` and `/metrics` are pinned, and a Prometheus parser reads `/metrics`.
//!
//! Chromium is Debian's `chromium` package (`make test` installs it when missing), or the binary
//! `SOLVENCY_CHROMIUM` names.

#[path = "support/leak.rs"]
mod leak;
#[path = "support/session.rs"]
mod session;

use std::{
    collections::BTreeSet,
    net::TcpStream,
    os::unix::process::CommandExt,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use base64::Engine;
use serde_json::{Value, json};
use session::{Session, WAIT, get, solvency, submit};
use solvency_aggregator::cli::demo::{FALLEN, HEALTHY};

/// A chain as the page shows it: name, `data-solvent`, `data-epoch`.
type Shown = (String, bool, u64);

/// A page in headless Chromium, driven over the DevTools protocol.
struct Page {
    socket: tungstenite::WebSocket<TcpStream>,
    next_id: u64,
}

impl Page {
    /// The command that starts headless Chromium on `url` with a fresh profile in `profile`.
    fn command(url: &str, profile: &Path) -> Command {
        let binary = std::env::var("SOLVENCY_CHROMIUM").unwrap_or_else(|_| "chromium".into());
        let mut command = Command::new(&binary);
        command
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-quic",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
                "--window-size=1280,900",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg(url)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own group, so that stopping it stops its renderers too.
            .process_group(0);
        // SAFETY: prctl is async-signal-safe; the browser dies with this test's thread.
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        command
    }

    /// Connects to the page at `url` of the Chromium whose profile is `profile`.
    fn connect(url: &str, profile: &Path) -> Self {
        // Chromium writes the port it chose into the profile.
        let port_file = profile.join("DevToolsActivePort");
        let deadline = Instant::now() + WAIT;
        let port = loop {
            if let Some(port) = std::fs::read_to_string(&port_file)
                .ok()
                .and_then(|t| t.lines().next().and_then(|l| l.trim().parse::<u16>().ok()))
            {
                break port;
            }
            assert!(Instant::now() < deadline, "Chromium did not open its DevTools port");
            std::thread::sleep(Duration::from_millis(100));
        };
        let devtools = format!("127.0.0.1:{port}");
        let page_socket = loop {
            let targets: Value = serde_json::from_str(&get(&devtools, "/json/list").body).unwrap();
            let page = targets.as_array().unwrap().iter().find(|t| {
                t["type"] == "page" && t["url"].as_str().is_some_and(|u| u.starts_with(url))
            });
            if let Some(page) = page {
                break page["webSocketDebuggerUrl"].as_str().unwrap().to_owned();
            }
            assert!(Instant::now() < deadline, "Chromium did not open the page: {targets}");
            std::thread::sleep(Duration::from_millis(100));
        };
        let stream = TcpStream::connect(&devtools).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        let (socket, _) =
            tungstenite::client(page_socket.as_str(), stream).expect("DevTools handshake");
        Self { socket, next_id: 1 }
    }

    /// Calls a DevTools method and returns its result.
    fn call(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let request = json!({ "id": id, "method": method, "params": params });
        self.socket.send(tungstenite::Message::text(request.to_string())).unwrap();
        loop {
            let message = self.socket.read().expect("DevTools answers");
            let Ok(text) = message.to_text() else { continue };
            let reply: Value = serde_json::from_str(text).unwrap();
            if reply["id"] == id {
                assert!(reply["error"].is_null(), "{method}: {}", reply["error"]);
                return reply["result"].clone();
            }
        }
    }

    /// Evaluates a JavaScript expression in the page.
    fn eval(&mut self, expression: &str) -> Value {
        let result = self.call(
            "Runtime.evaluate",
            json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }),
        );
        assert!(
            result["exceptionDetails"].is_null(),
            "{expression}: {}",
            result["exceptionDetails"]
        );
        result["result"]["value"].clone()
    }

    /// The chains as the page shows them.
    fn chains(&mut self) -> Vec<Shown> {
        let shown = self.eval(
            "JSON.stringify([...document.querySelectorAll('#chains [data-chain]')].map(e => [e.dataset.chain, e.dataset.solvent === 'true', Number(e.dataset.epoch)]))",
        );
        serde_json::from_str(shown.as_str().unwrap()).unwrap()
    }

    /// Saves a PNG of the page as it is now.
    fn screenshot(&mut self, path: &Path) {
        let shot = self.call(
            "Page.captureScreenshot",
            json!({ "format": "png", "captureBeyondViewport": true }),
        );
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap())
            .unwrap();
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        std::fs::write(path, png).unwrap();
    }
}

/// `solvency status --check --json`: its exit code and the alerts it printed.
fn check(dir: &Path) -> (i32, Vec<String>) {
    let output = solvency(dir)
        .args(["status", "--check", "--json", "--config", ".devnet/networks.toml"])
        .output()
        .unwrap();
    let status: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "status --check --json prints JSON ({e}): {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let alerts = status["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["alert"].as_str().unwrap().to_owned())
        .collect();
    (output.status.code().unwrap(), alerts)
}

/// Every path of a JSON value's object keys (arrays by their first element), to pin a shape.
fn shape(value: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
                out.insert(path.clone());
                shape(child, &path, out);
            }
        }
        Value::Array(items) => {
            if let Some(first) = items.first() {
                shape(first, &format!("{prefix}[]"), out);
            }
        }
        _ => {}
    }
}

/// Where artefacts go: `target/test-artefacts/`.
fn artefacts() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/test-artefacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn a_browser_sees_every_chain_turn_false_and_back_and_the_server_returns_no_figure() {
    let mut session = Session::devnet(|registry| registry);
    let dir = session.dir.clone();
    // The aggregator with its view on a port of the system's choosing, logging JSON lines at
    // debug level into a file the leak search reads too.
    let addr = session.start_aggregator("127.0.0.1:0", "aggregator.log", &["-v"]);
    let log_path = session.path(".devnet/aggregator.log");
    let url = format!("http://{addr}/");

    // Everything the server returns, for the leak search.
    let mut returned: Vec<(String, String)> = Vec::new();
    let fetch_all = |stage: &str, returned: &mut Vec<(String, String)>| {
        for path in [
            "/",
            "/api/v1/status",
            "/api/v1/epochs",
            "/api/v1/epochs?limit=1",
            "/metrics",
            "/healthz",
            "/readyz",
        ] {
            let response = get(&addr, path);
            returned.push((format!("{stage} GET {path}"), response.body));
        }
    };
    fetch_all("before any report", &mut returned);
    // No attestation yet and no report: `status --check` says so with the more urgent code.
    let (code, alerts) = check(&dir);
    assert_eq!(code, 3, "not_solvent: {alerts:?}");
    assert!(
        alerts.contains(&"not_solvent".into()) && alerts.contains(&"chain_silent".into()),
        "{alerts:?}"
    );

    let profile = tempfile::tempdir().unwrap();
    let binary = std::env::var("SOLVENCY_CHROMIUM").unwrap_or_else(|_| "chromium".into());
    assert!(
        Command::new(&binary)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok(),
        "cannot start {binary}: the browser test needs headless Chromium; `make test` installs Debian's chromium package, or set SOLVENCY_CHROMIUM to a Chromium binary"
    );
    session.spawn("browser", &mut Page::command(&url, profile.path()), true);
    let mut page = Page::connect(&url, profile.path());
    let names = ["devnet-1", "devnet-2", "devnet-3"];

    // What the page showed for devnet-2 at each look, in order.
    let mut timeline: Vec<(bool, u64)> = Vec::new();
    let mut until = |page: &mut Page, what: &str, done: &dyn Fn(&[Shown]) -> bool| {
        let deadline = Instant::now() + WAIT;
        loop {
            let chains = page.chains();
            if let Some(c) = chains.iter().find(|c| c.0 == "devnet-2")
                && timeline.last() != Some(&(c.1, c.2))
            {
                timeline.push((c.1, c.2));
            }
            if done(&chains) {
                return chains;
            }
            assert!(Instant::now() < deadline, "the page never showed {what}; it shows {chains:?}");
            std::thread::sleep(Duration::from_millis(200));
        }
    };

    let shown = until(&mut page, "every chain", &|c| c.len() == names.len());
    let shown_names: Vec<&str> = shown.iter().map(|c| c.0.as_str()).collect();
    assert_eq!(shown_names, names, "the page lists every chain of the registry, in order");
    assert!(shown.iter().all(|c| !c.1 && c.2 == 0), "no attestation yet: {shown:?}");

    // Healthy: every chain true.
    for chain in names {
        submit(&dir, chain, HEALTHY);
    }
    until(&mut page, "every chain solvent", &|c| c.iter().all(|c| c.1 && c.2 >= 1));
    page.screenshot(&artefacts().join("dashboard-1-solvent.png"));
    fetch_all("healthy", &mut returned);

    // devnet-2's reserves fall: the one boolean turns false on every chain.
    submit(&dir, "devnet-2", FALLEN);
    until(&mut page, "every chain not solvent", &|c| c.iter().all(|c| !c.1 && c.2 >= 2));
    page.screenshot(&artefacts().join("dashboard-2-not-solvent.png"));
    fetch_all("fallen", &mut returned);

    // Restored.
    submit(&dir, "devnet-2", HEALTHY);
    let last =
        until(&mut page, "every chain solvent again", &|c| c.iter().all(|c| c.1 && c.2 >= 3));
    let epoch = last[0].2;
    assert!(last.iter().all(|c| c.2 == epoch), "every chain holds one epoch: {last:?}");

    // The page followed the round by itself: one load, its own polling.
    let verdicts: Vec<bool> = timeline.iter().map(|t| t.0).collect();
    let mut turns = verdicts.clone();
    turns.dedup();
    assert_eq!(turns, [false, true, false, true], "devnet-2 as the page showed it: {timeline:?}");
    // The history chart holds every epoch, the countdowns count, the signer is listed.
    let bars = page.eval("document.querySelectorAll('#history rect').length").as_u64().unwrap();
    assert!(bars >= 3, "the history chart shows the epochs ({bars})");
    let countdown =
        page.eval("document.querySelector('[data-chain=\"devnet-1\"] .countdown').textContent");
    assert!(countdown.as_str().unwrap().contains("min"), "a validity countdown: {countdown}");
    let signers = page.eval("document.querySelectorAll('#signers code').length").as_u64().unwrap();
    assert_eq!(signers, 1, "the signer set");
    page.screenshot(&artefacts().join("dashboard-3-restored.png"));
    // On a phone's screen: one column, nothing cut off sideways.
    page.call(
        "Emulation.setDeviceMetricsOverride",
        json!({ "width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": true }),
    );
    let overflow = page.eval("document.documentElement.scrollWidth <= window.innerWidth");
    assert_eq!(overflow, Value::Bool(true), "the page fits a phone's width");
    page.screenshot(&artefacts().join("dashboard-4-phone.png"));
    let dom = page.eval("document.documentElement.outerHTML").as_str().unwrap().to_owned();
    returned.push(("the rendered page".into(), dom));
    fetch_all("restored", &mut returned);

    // The API's shape.
    let status: Value = serde_json::from_str(&get(&addr, "/api/v1/status").body).unwrap();
    let mut keys = BTreeSet::new();
    shape(&status, "", &mut keys);
    let expected = [
        "aggregator",
        "aggregator.caught_up",
        "aggregator.last_publish_error",
        "aggregator.last_published_epoch",
        "aggregator.last_refusal",
        "aggregator.not_ready",
        "aggregator.publish_failures",
        "aggregator.started_at_ms",
        "alerts",
        "chains",
        "chains[].block",
        "chains[].delivery",
        "chains[].epoch",
        "chains[].error",
        "chains[].is_solvent",
        "chains[].issued_at",
        "chains[].last_refused",
        "chains[].last_report",
        "chains[].last_report.age_secs",
        "chains[].last_report.at",
        "chains[].last_report.seq",
        "chains[].last_report.source",
        "chains[].name",
        "chains[].policy_digest_matches",
        "chains[].reachable",
        "chains[].required",
        "chains[].role",
        "chains[].selector",
        "chains[].stale",
        "chains[].valid_for_secs",
        "chains[].valid_until",
        "chains[].wants_report",
        "checked_at",
        "deployment_id",
        "hub",
        "hub.fee_balance_wei",
        "hub.fee_per_round_wei",
        "hub.rounds_left",
        "mode",
        "signers",
        "signers.signers",
        "signers.signers[].address",
        "signers.signers[].expires_at",
        "signers.signers[].expires_in_secs",
        "signers.threshold",
    ];
    assert_eq!(
        keys,
        expected.iter().map(|k| k.to_string()).collect(),
        "the shape of /api/v1/status"
    );
    assert_eq!(status["mode"], "aggregator");
    assert_eq!(status["aggregator"]["last_published_epoch"], epoch);
    assert_eq!(status["alerts"], json!([]), "nothing to act on after the round");
    let spoke = &status["chains"][1];
    assert_eq!(spoke["delivery"]["state"], "landed");
    assert_eq!(spoke["delivery"]["epoch"], epoch);
    assert!(spoke["last_report"]["age_secs"].as_u64().is_some());
    let fee: u128 = status["hub"]["fee_per_round_wei"].as_str().unwrap().parse().unwrap();
    assert!(fee > 0 && status["hub"]["rounds_left"].as_u64().unwrap() > 0);

    let epochs: Value = serde_json::from_str(&get(&addr, "/api/v1/epochs?limit=2").body).unwrap();
    let page_one: Vec<u64> =
        epochs["epochs"].as_array().unwrap().iter().map(|e| e["epoch"].as_u64().unwrap()).collect();
    assert_eq!(page_one, [epoch, epoch - 1], "newest first, two per page");
    assert_eq!(epochs["epochs"][0]["solvent"], true);
    assert_eq!(epochs["epochs"][1]["solvent"], false);
    assert!(epochs["epochs"][0]["landed"]["devnet-3"].as_u64().is_some(), "landed-at per spoke");
    let before = epochs["next_before"].as_u64().expect("a next page");
    let older: Value =
        serde_json::from_str(&get(&addr, &format!("/api/v1/epochs?limit=2&before={before}")).body)
            .unwrap();
    assert_eq!(older["epochs"][0]["epoch"], epoch - 2, "the next page continues below");

    // The metrics: a Prometheus parser reads them, with the names and labels pinned.
    let metrics = get(&addr, "/metrics");
    assert_eq!(metrics.status, 200);
    assert!(
        metrics.content_type.starts_with("application/openmetrics-text"),
        "{}",
        metrics.content_type
    );
    let lines = metrics.body.lines().map(|l| Ok(l.to_owned()));
    let scrape =
        prometheus_parse::Scrape::parse(lines).expect("a Prometheus parser reads /metrics");
    let value = |name: &str, label: Option<(&str, &str)>| {
        scrape
            .samples
            .iter()
            .find(|s| s.metric == name && label.is_none_or(|(k, v)| s.labels.get(k) == Some(v)))
            .map(|s| match s.value {
                prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Untyped(v) => v,
                _ => f64::NAN,
            })
            .unwrap_or_else(|| panic!("{name} {label:?} in /metrics:\n{}", metrics.body))
    };
    for chain in names {
        assert_eq!(value("solvency_chain_up", Some(("chain", chain))), 1.0);
        assert_eq!(value("solvency_chain_solvent", Some(("chain", chain))), 1.0);
        assert_eq!(value("solvency_chain_epoch", Some(("chain", chain))), epoch as f64);
        assert!(value("solvency_report_age_seconds", Some(("chain", chain))) >= 0.0);
        assert_eq!(
            value("solvency_reports_accepted_total", Some(("chain", chain))),
            if chain == "devnet-2" { 3.0 } else { 1.0 }
        );
    }
    assert_eq!(value("solvency_ccip_messages", Some(("state", "landed"))), 1.0);
    assert_eq!(value("solvency_attestations_published_total", None), epoch as f64);
    assert!(value("solvency_hub_fee_balance_wei", None) > 0.0);
    assert!(value("solvency_hub_fee_rounds_left", None) > 0.0);
    assert!(value("solvency_signer_expiry_seconds", None) > 86_400.0);
    assert_eq!(value("solvency_signer_threshold", None), 1.0);
    assert_eq!(value("solvency_alert", Some(("alert", "chain_silent"))), 0.0);
    let histograms: BTreeSet<&str> = scrape
        .samples
        .iter()
        .filter(|s| matches!(s.value, prometheus_parse::Value::Histogram(_)))
        .map(|s| s.metric.as_str())
        .collect();
    assert_eq!(
        histograms,
        ["solvency_attestation_latency_seconds", "solvency_delivery_latency_seconds"].into(),
        "latency histograms"
    );

    // The probes.
    assert_eq!(get(&addr, "/healthz").status, 200);
    let ready = get(&addr, "/readyz");
    assert_eq!(ready.status, 200, "{}", ready.body);

    // Nothing the server returned, nor the page, nor the aggregator's log, holds a figure; and
    // the log is JSON lines throughout.
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        log.lines().all(|l| serde_json::from_str::<Value>(l).is_ok()),
        "every log line is JSON"
    );
    assert!(log.contains("\"message\":\"report accepted\""), "accepted reports are logged");
    returned.push(("the aggregator's log".into(), log));
    let bytes: usize = returned.iter().map(|(_, body)| body.len()).sum();
    assert!(
        returned.len() >= 29 && bytes > 50_000,
        "the search has material ({} responses, {bytes} bytes)",
        returned.len()
    );
    let mut leaks = Vec::new();
    for (what, body) in &returned {
        leak::find_leaks(body.as_bytes(), what, &mut leaks);
    }
    assert!(leaks.is_empty(), "figures leaked:\n{}", leaks.join("\n"));

    // `status --check`: nothing to act on now; exit 2 once the chains cannot be read.
    assert_eq!(check(&dir), (0, vec![]));
    let down = solvency(&dir).args(["devnet", "down", "--state-dir", ".devnet"]).output().unwrap();
    assert!(down.status.success());
    let (code, alerts) = check(&dir);
    assert_eq!(code, 2, "{alerts:?}");
    assert_eq!(alerts, ["chain_unreachable"; 3]);
    eprintln!("screenshots in {}", artefacts().display());
}
