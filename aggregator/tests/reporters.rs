//! Reporters that run themselves, over a live devnet and through the `solvency` binary as an
//! operator runs it: one `solvency reporter run` per chain reads reserves from ERC-20 balances
//! and liabilities from a custodian's HTTP API (a local stub), and drives the demo's story —
//! healthy, one chain's reserves fall, restored — with no figure typed by hand. Around it: a
//! restarted aggregator asks for fresh reports and gets them; a report the enclave refuses
//! comes back refused with its rule; what the enclave would refuse is refused before paying;
//! a source that fails, times out, answers garbage or a negative figure is named and no report
//! is sent; no figure reaches any log or output.

#[path = "support/leak.rs"]
mod leak;
#[path = "support/session.rs"]
mod session;

use std::{
    io::{Read, Write},
    net::{TcpListener, TcpStream},
    process::{Output, Stdio},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use alloy::{
    primitives::{Address, U256, address},
    providers::Provider,
};
use serde_json::{Value, json};
use session::{Session, WAIT, positions, solvency, units};
use solvency_aggregator::cli::demo::{FALLEN, Figures, HEALTHY};
use solvency_ccip::bindings::{devnet_feed::DevnetFeed, devnet_token::DevnetToken};
use solvency_devnet::Deployment;

/// The address whose token balances are each chain's reserves.
const VAULT: Address = address!("0x00000000000000000000000000000000000a0017");
/// What the custodian's API wants in `Authorization`; the reporters take it from the
/// environment (`headers_from_env`).
const TOKEN: &str = "Bearer custodian-t0k3n";
const CHAINS: [&str; 3] = ["devnet-1", "devnet-2", "devnet-3"];

/// The custodian's API: `GET /liabilities` (authorized) answers a JSON document of every
/// chain's liabilities; `/garbage`, `/negative` and `/slow` answer what their names say.
struct Custodian {
    addr: String,
    document: Arc<Mutex<Value>>,
    /// While set, `/liabilities` answers garbage.
    broken: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Custodian {
    fn start(document: Value) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let document = Arc::new(Mutex::new(document));
        let broken = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let (doc, brk, stp) = (document.clone(), broken.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stp.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                let (doc, brk) = (doc.clone(), brk.clone());
                std::thread::spawn(move || serve(stream, &doc, &brk));
            }
        });
        Self { addr, document, broken, stop, thread: Some(thread) }
    }

    fn set(&self, chain: &str, asset: &str, value: &str) {
        self.document.lock().unwrap()[chain][asset] = json!(value);
    }
}

impl Drop for Custodian {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(&self.addr);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(mut stream: TcpStream, document: &Mutex<Value>, broken: &AtomicBool) {
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut request = Vec::new();
    let mut buf = [0u8; 4096];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
    }
    let request = String::from_utf8_lossy(&request).to_string();
    let path = request.split(' ').nth(1).unwrap_or("/").to_owned();
    let authorized = request.lines().any(|l| {
        l.split_once(':')
            .is_some_and(|(k, v)| k.eq_ignore_ascii_case("authorization") && v.trim() == TOKEN)
    });
    let (status, body) = match path.as_str() {
        "/liabilities" if !authorized => {
            ("401 Unauthorized", "{\"error\":\"unauthorized\"}".to_owned())
        }
        "/liabilities" if broken.load(Ordering::SeqCst) => {
            ("200 OK", "<html>maintenance</html>".to_owned())
        }
        "/liabilities" => ("200 OK", document.lock().unwrap().to_string()),
        "/garbage" => ("200 OK", "this is not json".to_owned()),
        "/negative" => ("200 OK", "{\"v\":\"-5\"}".to_owned()),
        "/slow" => {
            std::thread::sleep(Duration::from_secs(4));
            ("200 OK", "{\"v\":\"1\"}".to_owned())
        }
        _ => ("404 Not Found", "{}".to_owned()),
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

/// The liabilities document for every chain at `figures`: USDC in smallest units, WETH in whole
/// units (both forms of `http_json`).
fn liabilities(figures: Figures) -> Value {
    let chain = json!({ "usdc": units(figures.1, 6).to_string(), "weth": figures.3.to_string() });
    json!({ "devnet-1": chain.clone(), "devnet-2": chain.clone(), "devnet-3": chain })
}

/// Per chain: the USDC and WETH tokens whose balances at [`VAULT`] are its reserves.
struct Tokens {
    rpc: Vec<String>,
    usdc: Vec<Address>,
    weth: Vec<Address>,
}

async fn deploy_tokens(deployment: &Deployment, figures: Figures) -> Tokens {
    let owner = deployment.dev_accounts[0].signer();
    let mut tokens = Tokens { rpc: Vec::new(), usdc: Vec::new(), weth: Vec::new() };
    for chain in &deployment.chains {
        let provider =
            solvency_chain_adapters::rpc::connect_str_with_signer(&chain.rpc_url, owner.clone())
                .unwrap();
        let usdc =
            DevnetToken::deploy(&provider, "USD Coin".into(), "USDC".into(), 6).await.unwrap();
        let weth = DevnetToken::deploy(&provider, "Wrapped Ether".into(), "WETH".into(), 18)
            .await
            .unwrap();
        usdc.mint(VAULT, units(figures.0, 6)).send().await.unwrap().get_receipt().await.unwrap();
        weth.mint(VAULT, units(figures.2, 18)).send().await.unwrap().get_receipt().await.unwrap();
        tokens.rpc.push(chain.rpc_url.clone());
        tokens.usdc.push(*usdc.address());
        tokens.weth.push(*weth.address());
    }
    tokens
}

/// Sets chain `i`'s reserves at the vault to `figures`' (burning or minting the difference).
async fn set_reserves(deployment: &Deployment, tokens: &Tokens, i: usize, figures: Figures) {
    let owner = deployment.dev_accounts[0].signer();
    let provider =
        solvency_chain_adapters::rpc::connect_str_with_signer(&tokens.rpc[i], owner).unwrap();
    for (token, target) in
        [(tokens.usdc[i], units(figures.0, 6)), (tokens.weth[i], units(figures.2, 18))]
    {
        let token = DevnetToken::new(token, &provider);
        let now = token.balanceOf(VAULT).call().await.unwrap();
        let pending = if now > target {
            token.burn(VAULT, now - target).send().await
        } else {
            token.mint(VAULT, target - now).send().await
        };
        pending.unwrap().get_receipt().await.unwrap();
    }
}

/// The devnet's registry with sources for every asset of every chain, and reporting every
/// second (deviation 1 %, heartbeat 4 minutes); the liabilities' URL path is `path`.
fn with_sources(
    registry: &str,
    tokens: &Tokens,
    custodian: &str,
    path: &str,
    timeout: u64,
) -> String {
    use toml_edit::{ArrayOfTables, DocumentMut, InlineTable, Item, Table, value};
    let mut doc: DocumentMut = registry.parse().unwrap();
    let chains = doc["chains"].as_array_of_tables_mut().expect("[[chains]]");
    for (i, chain) in chains.iter_mut().enumerate() {
        let mut reporting = Table::new();
        reporting["heartbeat_secs"] = value(240);
        reporting["deviation_bps"] = value(100);
        reporting["poll_secs"] = value(1);
        chain["reporting"] = Item::Table(reporting);
        let assets = chain["assets"].as_array_of_tables_mut().expect("[[chains.assets]]");
        for asset in assets.iter_mut() {
            let symbol = asset["symbol"].as_str().unwrap().to_owned();
            let (token, pointer, unit) = match symbol.as_str() {
                "USDC" => (tokens.usdc[i], "usdc", "smallest"),
                _ => (tokens.weth[i], "weth", "whole"),
            };
            let mut reserve = Table::new();
            reserve["kind"] = value("erc20_balance");
            reserve["token"] = value(token.to_string());
            let mut holders = toml_edit::Array::new();
            holders.push(VAULT.to_string());
            reserve["holders"] = value(holders);
            let mut reserves = ArrayOfTables::new();
            reserves.push(reserve);
            asset["reserves"] = Item::ArrayOfTables(reserves);
            let mut liability = Table::new();
            liability["kind"] = value("http_json");
            liability["url"] = value(format!("http://{custodian}{path}"));
            liability["pointer"] = value(format!("/devnet-{}/{pointer}", i + 1));
            let mut headers = InlineTable::new();
            headers.insert("Authorization", "CUSTODIAN_AUTH".into());
            liability["headers_from_env"] = value(headers);
            liability["unit"] = value(unit);
            liability["timeout_secs"] = value(timeout as i64);
            let mut list = ArrayOfTables::new();
            list.push(liability);
            asset["liabilities"] = Item::ArrayOfTables(list);
        }
    }
    doc.to_string()
}

/// `registry` with devnet-1's WETH reserves read from a Chainlink feed instead.
fn with_feed(registry: &str, feed: Address, max_age: u64) -> String {
    use toml_edit::{ArrayOfTables, DocumentMut, Item, Table, value};
    let mut doc: DocumentMut = registry.parse().unwrap();
    let chain = doc["chains"].as_array_of_tables_mut().unwrap().get_mut(0).unwrap();
    let assets = chain["assets"].as_array_of_tables_mut().unwrap();
    let weth = assets.iter_mut().find(|a| a["symbol"].as_str() == Some("WETH")).unwrap();
    let mut source = Table::new();
    source["kind"] = value("chainlink_feed");
    source["feed"] = value(feed.to_string());
    source["max_age_secs"] = value(max_age as i64);
    let mut reserves = ArrayOfTables::new();
    reserves.push(source);
    weth["reserves"] = Item::ArrayOfTables(reserves);
    doc.to_string()
}

fn output(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// `solvency reporter check --config CONFIG --chain CHAIN`, with `auth` (or nothing) as the
/// custodian's credential: its exit code and output.
fn reporter_check(
    session: &Session,
    config: &str,
    chain: &str,
    auth: Option<&str>,
) -> (Option<i32>, String) {
    let mut command = solvency(&session.dir);
    command.args(["reporter", "check", "--config", config, "--chain", chain]);
    match auth {
        Some(auth) => command.env("CUSTODIAN_AUTH", auth),
        None => command.env_remove("CUSTODIAN_AUTH"),
    };
    let done = command.output().unwrap();
    (done.status.code(), output(&done))
}

/// `solvency report submit` of healthy figures on devnet-3 with `extra` arguments: its exit
/// code and output.
fn submit_devnet_3(session: &Session, extra: &[&str]) -> (Option<i32>, String) {
    let done = solvency(&session.dir)
        .args(["report", "submit", "--config", ".devnet/networks.toml", "--devnet", ".devnet"])
        .args(["--chain", "devnet-3"])
        .args(extra)
        .args(positions(HEALTHY))
        .output()
        .unwrap();
    (done.status.code(), output(&done))
}

/// Lines of a reporter's JSON log with `message`.
fn logged(session: &Session, chain: &str, message: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(session.path(&format!(".devnet/reporter-{chain}.log")))
        .unwrap_or_default();
    text.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["message"].as_str().is_some_and(|m| m.starts_with(message)))
        .collect()
}

fn until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !done() {
        assert!(Instant::now() < deadline, "never saw {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn start_reporter(session: &mut Session, chain: &str, aggregator: &str) {
    let log = std::fs::File::options()
        .create(true)
        .append(true)
        .open(session.path(&format!(".devnet/reporter-{chain}.log")))
        .unwrap();
    let mut command = solvency(&session.dir);
    command
        .args(["reporter", "run", "--config", ".devnet/networks.toml", "--devnet", ".devnet"])
        .args(["--chain", chain, "--aggregator", &format!("http://{aggregator}")])
        .args(["--state-dir", ".devnet/reporters", "--log-format", "json"])
        .env("CUSTODIAN_AUTH", TOKEN)
        .stdout(Stdio::null())
        .stderr(log);
    session.spawn(&format!("reporter {chain}"), &mut command, false);
}

/// Every chain's `SolvencyFeed.latestRoundData()`: (answer, roundId, updatedAt).
async fn feeds(deployment: &Deployment) -> Vec<(i64, u64, u64)> {
    let mut out = Vec::new();
    for chain in &deployment.chains {
        let provider = solvency_chain_adapters::rpc::connect_str(&chain.rpc_url).unwrap();
        let feed = solvency_ccip::bindings::feed::SolvencyFeed::new(chain.feed, &provider);
        let round = feed.latestRoundData().call().await.unwrap();
        out.push((
            i64::try_from(round.answer).unwrap(),
            u64::try_from(round.roundId).unwrap(),
            u64::try_from(round.updatedAt).unwrap(),
        ));
    }
    out
}

/// Every chain's verdict, as the aggregator's view reads it.
fn verdicts(status: &Value) -> Vec<(bool, u64)> {
    status["chains"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["is_solvent"].as_bool().unwrap(), c["epoch"].as_u64().unwrap()))
        .collect()
}

#[test]
fn reporter_daemons_drive_the_round_from_their_sources_and_hear_back() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut session = Session::devnet(|registry| registry);
    let deployment = Deployment::read(&session.path(".devnet")).unwrap();
    let tokens = runtime.block_on(deploy_tokens(&deployment, HEALTHY));
    let custodian = Custodian::start(liabilities(HEALTHY));
    let registry_path = session.path(".devnet/networks.toml");
    let plain = std::fs::read_to_string(&registry_path).unwrap();
    std::fs::write(
        &registry_path,
        with_sources(&plain, &tokens, &custodian.addr, "/liabilities", 10),
    )
    .unwrap();

    // Every source answers; `check` prints no figure.
    let (code, text) = reporter_check(&session, ".devnet/networks.toml", "devnet-2", Some(TOKEN));
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("devnet-2 can report 2 asset(s)"), "{text}");
    let mut outputs = vec![("reporter check".to_owned(), text)];

    // A fixed port, so that the reporters find a restarted aggregator where the first was.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let http = format!("127.0.0.1:{port}");
    let addr = session.start_aggregator(&http, "aggregator.log", &[]);
    for chain in CHAINS {
        start_reporter(&mut session, chain, &addr);
    }

    // Healthy: each daemon reports at start; the enclave accepts; every chain reads true.
    let status = session.until_status(&addr, "every chain solvent", |s| {
        verdicts(s).iter().all(|v| v.0 && v.1 >= 1)
    });
    let first_epoch = verdicts(&status)[0].1;
    // Proof-of-Reserve consumers read the same through each chain's AggregatorV3 feed.
    // (A new epoch may land between two reads: compared is what each chain holds.)
    let settled = |min: u64| {
        move |s: &Value| {
            let v = verdicts(s);
            v.iter().all(|x| x.1 >= min && x.1 == v[0].1)
        }
    };
    let status = session.until_status(&addr, "one epoch everywhere", settled(first_epoch));
    for ((answer, round, updated), chain) in
        runtime.block_on(feeds(&deployment)).into_iter().zip(status["chains"].as_array().unwrap())
    {
        assert_eq!(answer, 1, "{chain}");
        assert!(round >= chain["epoch"].as_u64().unwrap(), "{chain}");
        if round == chain["epoch"].as_u64().unwrap() {
            assert_eq!(updated, chain["issued_at"].as_u64().unwrap(), "updatedAt is issuedAt");
        }
    }
    for chain in CHAINS {
        until(&format!("{chain}'s report accepted"), || {
            !logged(&session, chain, "the enclave accepted the report").is_empty()
        });
        let submitted = logged(&session, chain, "report submitted");
        assert_eq!(submitted[0]["reason"], "start", "{submitted:?}");
    }

    // devnet-2's reserves fall on-chain: its daemon sees the deviation and reports; every
    // chain turns false.
    runtime.block_on(set_reserves(&deployment, &tokens, 1, FALLEN));
    let status = session.until_status(&addr, "every chain not solvent", |s| {
        verdicts(s).iter().all(|v| !v.0 && v.1 > first_epoch)
    });
    let fallen_epoch = verdicts(&status)[0].1;
    session.until_status(&addr, "one epoch everywhere", settled(fallen_epoch));
    let answers = runtime.block_on(feeds(&deployment));
    assert!(
        answers.iter().all(|f| f.0 == 0 && f.1 >= fallen_epoch),
        "every feed answers 0: {answers:?}"
    );
    let deviation = logged(&session, "devnet-2", "report submitted");
    assert_eq!(deviation.last().unwrap()["reason"], "deviation", "{deviation:?}");

    // Restored.
    runtime.block_on(set_reserves(&deployment, &tokens, 1, HEALTHY));
    session.until_status(&addr, "every chain solvent again", |s| {
        verdicts(s).iter().all(|v| v.0 && v.1 > fallen_epoch)
    });

    // A source that breaks: no report while it is broken, and the error says which source.
    let before: Vec<usize> =
        CHAINS.iter().map(|c| logged(&session, c, "report submitted").len()).collect();
    custodian.broken.store(true, Ordering::SeqCst);
    for chain in CHAINS {
        until(&format!("{chain}'s source failing twice"), || {
            logged(&session, chain, "a source failed").len() >= 2
        });
        let failed = logged(&session, chain, "a source failed");
        let error = failed.last().unwrap()["error"].as_str().unwrap().to_owned();
        assert!(error.contains("liabilities") && error.contains("is not JSON"), "{error}");
    }
    // Moving a figure now cannot make a report: the read fails before any comparison.
    custodian.set("devnet-3", "usdc", &units(HEALTHY.1 * 2, 6).to_string());
    for chain in CHAINS {
        let seen = logged(&session, chain, "a source failed").len();
        until(&format!("{chain} failing again after the move"), || {
            logged(&session, chain, "a source failed").len() > seen
        });
    }
    let after: Vec<usize> =
        CHAINS.iter().map(|c| logged(&session, c, "report submitted").len()).collect();
    assert_eq!(before, after, "no report while a source fails");
    custodian.set("devnet-3", "usdc", &units(HEALTHY.1, 6).to_string());
    custodian.broken.store(false, Ordering::SeqCst);

    // A restarted aggregator asks every chain for a report of its own, and gets one without a
    // human.
    session.stop("aggregator");
    let again = session.start_aggregator(&http, "aggregator-2.log", &[]);
    assert_eq!(again, addr);
    for chain in CHAINS {
        until(&format!("{chain} reporting on request"), || {
            logged(&session, chain, "report submitted")
                .iter()
                .any(|l| l["reason"] == "requested by the aggregator")
        });
        assert!(!logged(&session, chain, "the aggregator restarted").is_empty());
    }
    let status = session.until_status(&addr, "every chain's request answered", |s| {
        s["chains"].as_array().unwrap().iter().all(|c| c["wants_report"] == false)
    });
    assert!(
        status["chains"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["last_report"]["source"] == "accepted")
    );

    // A report the enclave refuses comes back refused, with its rule and what to do.
    let aggregator = format!("http://{addr}");
    let (code, text) =
        submit_devnet_3(&session, &["--seq", "5", "--wait", "60", "--aggregator", &aggregator]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("the enclave refused report seq 5 of devnet-3 (replay)"), "{text}");
    assert!(text.contains("leave --seq out"), "{text}");
    outputs.push(("report submit --seq 5".into(), text));

    // What the enclave would refuse is refused before paying: the account sends nothing.
    let reporter = deployment.chains[2].reporter.address;
    let provider =
        solvency_chain_adapters::rpc::connect_str(&deployment.chains[2].rpc_url).unwrap();
    let nonce =
        || runtime.block_on(async { provider.get_transaction_count(reporter).await }).unwrap();
    let before = nonce();
    let (code, text) = submit_devnet_3(&session, &["--observed-at", "9999999999"]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("from_the_future"), "{text}");
    assert_eq!(nonce(), before, "nothing sent");
    outputs.push(("report submit --observed-at".into(), text));

    // Each kind of broken source, named, with no report (`check` reads as the daemon does).
    for (path, timeout, wanted) in [
        ("/garbage", 10, "is not JSON"),
        ("/negative", 10, "nothing at /devnet-1/usdc"),
        ("/slow", 1, "no answer within 1 s"),
        ("/missing", 10, "HTTP 404"),
    ] {
        let broken = session.path(&format!(".devnet/broken{}.toml", path.replace('/', "-")));
        std::fs::write(&broken, with_sources(&plain, &tokens, &custodian.addr, path, timeout))
            .unwrap();
        let (code, text) =
            reporter_check(&session, broken.to_str().unwrap(), "devnet-1", Some(TOKEN));
        assert_eq!(code, Some(1), "{path}: {text}");
        assert!(text.contains(wanted), "{path}: {text}");
        assert!(text.contains("USDC liabilities: http://127.0.0.1"), "names the source: {text}");
        outputs.push((format!("reporter check {path}"), text));
    }
    // A negative figure where a figure is expected.
    let negative = with_sources(&plain, &tokens, &custodian.addr, "/negative", 10)
        .replace("/devnet-1/usdc", "/v");
    let path = session.path(".devnet/negative.toml");
    std::fs::write(&path, negative).unwrap();
    let (code, text) = reporter_check(&session, path.to_str().unwrap(), "devnet-1", Some(TOKEN));
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("the value at /v is negative"), "{text}");
    // Without the credential the custodian refuses, and the error says so.
    let (_, text) =
        reporter_check(&session, ".devnet/networks.toml", "devnet-1", Some("Bearer wrong"));
    assert!(text.contains("HTTP 401"), "{text}");
    let (_, text) = reporter_check(&session, ".devnet/networks.toml", "devnet-1", None);
    assert!(text.contains("CUSTODIAN_AUTH (for header Authorization) is not set"), "{text}");

    // A Chainlink feed as a source: read when fresh; refused when negative or stale.
    let owner = deployment.dev_accounts[0].signer();
    let hub_rpc = deployment.chains[0].rpc_url.clone();
    let answer = alloy::primitives::I256::try_from(units(HEALTHY.2, 8)).unwrap();
    let feed = runtime.block_on(async {
        let provider =
            solvency_chain_adapters::rpc::connect_str_with_signer(&hub_rpc, owner.clone()).unwrap();
        *DevnetFeed::deploy(&provider, 8, answer).await.unwrap().address()
    });
    let feed_registry = session.path(".devnet/feed.toml");
    let sourced = with_sources(&plain, &tokens, &custodian.addr, "/liabilities", 10);
    std::fs::write(&feed_registry, with_feed(&sourced, feed, 3600)).unwrap();
    let check_feed =
        || reporter_check(&session, feed_registry.to_str().unwrap(), "devnet-1", Some(TOKEN));
    let (code, text) = check_feed();
    assert_eq!(code, Some(0), "{text}");
    let update = |stale: bool| {
        runtime.block_on(async {
            let provider =
                solvency_chain_adapters::rpc::connect_str_with_signer(&hub_rpc, owner.clone())
                    .unwrap();
            let feed = DevnetFeed::new(feed, &provider);
            let pending = if stale {
                let now =
                    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
                let old = U256::from(now.as_secs() - 7_200);
                feed.updateRoundData(alloy::primitives::Uint::from(99u64), answer, old, old)
                    .send()
                    .await
            } else {
                feed.updateAnswer(alloy::primitives::I256::MINUS_ONE).send().await
            };
            pending.unwrap().get_receipt().await.unwrap();
        })
    };
    update(false);
    let (code, text) = check_feed();
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("WETH reserves: feed") && text.contains("the feed's answer is negative"),
        "{text}"
    );
    update(true);
    let (code, text) = check_feed();
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("more than max_age_secs (3600); the feed is stale"), "{text}");
    outputs.push(("reporter check (feed)".into(), text));

    // No figure anywhere: the reporters' and the aggregator's logs, every command's output.
    for chain in CHAINS {
        session.stop(&format!("reporter {chain}"));
    }
    for log in [
        "aggregator.log",
        "aggregator-2.log",
        "reporter-devnet-1.log",
        "reporter-devnet-2.log",
        "reporter-devnet-3.log",
    ] {
        outputs.push((
            log.into(),
            std::fs::read_to_string(session.path(&format!(".devnet/{log}"))).unwrap(),
        ));
    }
    let mut leaks = Vec::new();
    for (what, text) in &outputs {
        // The command lines of `report submit` carry the figures the test typed; the outputs
        // must not.
        leak::find_leaks(text.as_bytes(), what, &mut leaks);
    }
    assert!(leaks.is_empty(), "figures leaked:\n{}", leaks.join("\n"));
}
