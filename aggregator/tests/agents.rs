//! The vault agents as an operator and a market maker run them, through the `solvency` binary
//! on a live devnet: `solvency treasury run` opens and checks its chain's instruction every
//! epoch and sends nothing for an empty one; `solvency maker deposit` parks standby, `solvency
//! maker subscribe` gets statements, `solvency maker run` verifies every one, quotes on the
//! hub's board every round (its key registered with `solvency admin set-maker`) and shows its
//! fills and earnings, and `solvency maker statement` shows it — to the maker alone: no balance
//! reaches any log. Both daemons stop cleanly on SIGTERM.

#[path = "support/session.rs"]
mod session;

use std::{
    net::TcpListener,
    process::Stdio,
    time::{Duration, Instant},
};

use serde_json::Value;
use session::{Session, WAIT, solvency, submit};
use solvency_aggregator::cli::demo::HEALTHY;
use solvency_devnet::DevAccount;

const CHAINS: [&str; 3] = ["devnet-1", "devnet-2", "devnet-3"];
/// The maker's standby: distinctive, so a leak would be found.
const STANDBY: &str = "7777777777";

fn json_lines(session: &Session, log: &str) -> Vec<Value> {
    std::fs::read_to_string(session.path(&format!(".devnet/{log}")))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .collect()
}

fn round(session: &Session) {
    round_of(session, HEALTHY);
}

fn round_of(session: &Session, figures: solvency_aggregator::cli::demo::Figures) {
    for chain in CHAINS {
        submit(&session.dir, chain, figures);
    }
}

/// How the maker's commands find its statements: the registry, the statement key, the owner,
/// the aggregator.
fn reader<'a>(owner: &'a str, api: &'a str) -> [&'a str; 8] {
    [
        "--config",
        ".devnet/networks.toml",
        "--key",
        ".devnet/maker-statement.key",
        "--owner",
        owner,
        "--aggregator",
        api,
    ]
}

/// The maker's statement entry of devnet-2, as `solvency maker statement --json` prints it.
fn devnet_2_entry(session: &Session, owner: &str, api: &str) -> Value {
    let shown = solvency(&session.dir)
        .args(["maker", "statement", "--json"])
        .args(reader(owner, api))
        .output()
        .unwrap();
    assert!(shown.status.success(), "{}", String::from_utf8_lossy(&shown.stderr));
    let statement: Value = serde_json::from_slice(&shown.stdout).unwrap();
    statement["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["chain"] == "devnet-2")
        .unwrap()
        .clone()
}

fn units(entry: &Value, field: &str) -> alloy::primitives::U256 {
    alloy::primitives::U256::from_str_radix(
        entry[field].as_str().unwrap().trim_start_matches("0x"),
        16,
    )
    .unwrap()
}

fn spawn_logged(session: &mut Session, name: &str, log: &str, args: &[&str], maker_key: &str) {
    let mut command = solvency(&session.dir);
    command
        .args(args)
        .args(["--log-format", "json"])
        .env("SOLVENCY_MAKER_KEY", maker_key)
        // What a command prints for its user (`maker run --show-fills`: its own figures) is kept
        // apart from its log.
        .stdout(std::fs::File::create(session.path(&format!(".devnet/{log}.out"))).unwrap())
        .stderr(std::fs::File::create(session.path(&format!(".devnet/{log}"))).unwrap());
    session.spawn(name, &mut command, false);
}

#[test]
fn the_treasury_and_maker_agents_run_check_and_stop_cleanly() {
    let mut session = Session::devnet(|registry| registry);
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr = session.start_aggregator(&format!("127.0.0.1:{port}"), "aggregator.log", &[]);
    let api = format!("http://{addr}");
    let maker = DevAccount::user(3);
    let maker_key = format!("{}", alloy::primitives::B256::from(maker.signer().to_bytes()));

    // The treasury of devnet-2 watches from the first block.
    spawn_logged(
        &mut session,
        "treasury",
        "treasury.log",
        &[
            "treasury",
            "run",
            "--config",
            ".devnet/networks.toml",
            "--chain",
            "devnet-2",
            "--key",
            ".devnet/keys/treasury-devnet-2.key",
            "--from-block",
            "0",
        ],
        &maker_key,
    );

    // The maker parks standby on devnet-2 (after the first round, so that it is credited at
    // the next). First it needs the collateral: more than it holds is refused before paying.
    round(&session);
    let too_much = solvency(&session.dir)
        .args(["maker", "deposit", "--config", ".devnet/networks.toml", "--chain", "devnet-2"])
        .args(["--amount", STANDBY])
        .env("SOLVENCY_MAKER_KEY", &maker_key)
        .output()
        .unwrap();
    assert_eq!(too_much.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&too_much.stderr).contains("holds less of the vault's collateral")
    );
    let deployment = solvency_devnet::Deployment::read(&session.path(".devnet")).unwrap();
    let devnet_2 = deployment.chain_by_name("devnet-2").unwrap().clone();
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let wallet = solvency_chain_adapters::rpc::connect_str_with_signer(
            &devnet_2.rpc_url,
            maker.signer(),
        )
        .unwrap();
        let token =
            solvency_ccip::bindings::devnet_token::DevnetToken::new(devnet_2.collateral, &wallet);
        let minted = token
            .mint(maker.address, STANDBY.parse().unwrap())
            .send()
            .await
            .unwrap()
            .get_receipt()
            .await
            .unwrap();
        assert!(minted.status());
    });
    let deposit = solvency(&session.dir)
        .args(["maker", "deposit", "--config", ".devnet/networks.toml", "--chain", "devnet-2"])
        .args(["--amount", STANDBY])
        .env("SOLVENCY_MAKER_KEY", &maker_key)
        .output()
        .unwrap();
    assert!(deposit.status.success(), "{}", String::from_utf8_lossy(&deposit.stderr));

    // It subscribes; the command returns once an epoch took the subscription.
    let mut subscribe = solvency(&session.dir)
        .args(["maker", "subscribe", "--config", ".devnet/networks.toml"])
        .args(["--key", ".devnet/maker-statement.key", "--aggregator", &api, "--timeout", "120"])
        .env("SOLVENCY_MAKER_KEY", &maker_key)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + WAIT;
    let subscribed = loop {
        round(&session);
        if let Some(status) = subscribe.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the subscription was never taken");
        std::thread::sleep(Duration::from_millis(500));
    };
    let out = subscribe.wait_with_output().unwrap();
    assert!(subscribed.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("subscribed from epoch"));

    // A quote key: `maker quote` creates it and names its public key, which the board does not
    // hold yet (nothing is sent); the hub's owner registers it.
    let owner = format!("{}", maker.address);
    let unregistered = solvency(&session.dir)
        .args(["maker", "quote", "--config", ".devnet/networks.toml"])
        .args(["--quote-key", ".devnet/maker-quote.key"])
        .env("SOLVENCY_MAKER_KEY", &maker_key)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&unregistered.stderr).into_owned();
    assert_eq!(unregistered.status.code(), Some(1), "{said}");
    assert!(said.contains("does not hold this quote key"), "{said}");
    let quote_key =
        said.split("its public key ").nth(1).unwrap().split_whitespace().next().unwrap();
    let registered = solvency(&session.dir)
        .args(["admin", "set-maker", &owner, quote_key, "--config", ".devnet/networks.toml"])
        .args(["--devnet", ".devnet"])
        .output()
        .unwrap();
    assert!(registered.status.success(), "{}", String::from_utf8_lossy(&registered.stderr));

    // The maker's daemon verifies each statement, quotes all its standby at 30 bps (under the
    // schedule's 50 bps start) every board round, and shows its fills.
    let quoting = format!("USDC={STANDBY}@30");
    spawn_logged(
        &mut session,
        "maker",
        "maker.log",
        &[
            &["maker", "run"][..],
            &reader(&owner, &api),
            &["--quote", &quoting, "--quote-key", ".devnet/maker-quote.key", "--show-fills"],
            // An hour: the offer stays live however slowly rounds go, so only the null quote
            // below frees the standby for a withdrawal.
            &["--quote-expires-in", "3600"],
        ]
        .concat(),
        &maker_key,
    );
    let deadline = Instant::now() + WAIT;
    while !json_lines(&session, "maker.log").iter().any(|l| l["message"] == "statement verified") {
        assert!(
            Instant::now() < deadline,
            "never saw a verified statement:\n{}",
            std::fs::read_to_string(session.path(".devnet/maker.log")).unwrap_or_default()
        );
        // One round, then time for the daemon to verify its statement before the next epoch.
        round(&session);
        let settle = Instant::now() + Duration::from_secs(5);
        while Instant::now() < settle
            && !json_lines(&session, "maker.log")
                .iter()
                .any(|l| l["message"] == "statement verified")
        {
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    // Until a board round with its quote has closed (it quoted in a later round), steady
    // figures: nothing lacking, the premium schedule starts over (a need left unfilled for the
    // schedule's timeout — as HEALTHY's was, before any quote — waits for a calendar slot).
    let deadline = Instant::now() + WAIT;
    while json_lines(&session, "maker.log").iter().filter(|l| l["message"] == "quoted").count() < 2
    {
        assert!(Instant::now() < deadline, "maker run never quoted twice");
        round_of(&session, solvency_aggregator::cli::demo::STEADY);
        std::thread::sleep(Duration::from_millis(300));
    }
    // The maker alone reads it — once a report of devnet-2 vouched for its deposit and the
    // aggregator read the vault's log. HEALTHY is about 103 %, under the 110 % recovery ratio:
    // some quoted standby is drawn.
    let deadline = Instant::now() + WAIT;
    let entry = loop {
        let entry = devnet_2_entry(&session, &owner, &api);
        if entry["held"] == true && !units(&entry, "drawn").is_zero() {
            break entry;
        }
        assert!(
            Instant::now() < deadline,
            "the quoted standby was never drawn: {entry}\n{}",
            std::fs::read_to_string(session.path(".devnet/maker.log")).unwrap_or_default()
        );
        round(&session);
        std::thread::sleep(Duration::from_millis(500));
    };
    let held = |field: &str| units(&entry, field);
    assert!(json_lines(&session, "maker.log").iter().any(|l| l["message"] == "quoted"));
    assert_eq!(
        held("balance") + held("drawn"),
        STANDBY.parse::<alloy::primitives::U256>().unwrap(),
        "{entry}"
    );

    // The treasury checks every instruction it sees (it follows the chain at its own pace) and
    // sends nothing.
    let checked = || {
        json_lines(&session, "treasury.log")
            .into_iter()
            .filter(|l| l["message"] == "instruction checked: empty, nothing to send")
            .count()
    };
    let deadline = Instant::now() + WAIT;
    while checked() < 2 {
        assert!(
            Instant::now() < deadline,
            "the treasury checked no instruction:\n{}",
            std::fs::read_to_string(session.path(".devnet/treasury.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(json_lines(&session, "treasury.log").iter().all(|l| l["level"] != "ERROR"));

    // Steady figures (about 125 %): the draw is released, all of the standby is available.
    let deadline = Instant::now() + WAIT;
    while units(&devnet_2_entry(&session, &owner, &api), "available")
        != STANDBY.parse::<alloy::primitives::U256>().unwrap()
    {
        assert!(Instant::now() < deadline, "the draw was never released");
        round_of(&session, solvency_aggregator::cli::demo::STEADY);
        std::thread::sleep(Duration::from_millis(300));
    }
    // Its fills and earnings, shown to it alone (standard output, not the log).
    let deadline = Instant::now() + WAIT;
    let shown = loop {
        let shown = std::fs::read_to_string(session.path(".devnet/maker.log.out")).unwrap();
        if shown.contains("given back") {
            break shown;
        }
        assert!(Instant::now() < deadline, "maker run never showed the draw given back: {shown}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(shown.contains("devnet-2: filled ") && shown.contains("earned "), "{shown}");

    // It withdraws its offer before taking standby back: a quoted size stays locked.
    session.stop("maker");
    let null_quote = solvency(&session.dir)
        .args(["maker", "quote", "--config", ".devnet/networks.toml"])
        .args(["--quote-key", ".devnet/maker-quote.key", "--size", "0"])
        .env("SOLVENCY_MAKER_KEY", &maker_key)
        .output()
        .unwrap();
    assert!(null_quote.status.success(), "{}", String::from_utf8_lossy(&null_quote.stderr));

    // The maker keeps half of it as standby: its agent withdraws the rest, paid once the
    // vault's delay has passed in chain time.
    let target = "3888888888";
    spawn_logged(
        &mut session,
        "maker with a target",
        "maker-standby.log",
        &[
            &["maker", "run"][..],
            &reader(&owner, &api),
            &["--standby", &format!("devnet-2={target}")],
        ]
        .concat(),
        &maker_key,
    );
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let provider = solvency_chain_adapters::rpc::connect_str(&devnet_2.rpc_url).unwrap();
    let token =
        solvency_ccip::bindings::devnet_token::DevnetToken::new(devnet_2.collateral, &provider);
    let paid_before =
        runtime.block_on(async { token.balanceOf(maker.address).call().await }).unwrap();
    let excess = STANDBY.parse::<alloy::primitives::U256>().unwrap()
        - target.parse::<alloy::primitives::U256>().unwrap();
    let deadline = Instant::now() + WAIT;
    loop {
        let paid = runtime.block_on(async { token.balanceOf(maker.address).call().await }).unwrap()
            - paid_before;
        if paid == excess {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the excess standby was never paid back:\n{}",
            std::fs::read_to_string(session.path(".devnet/maker-standby.log")).unwrap_or_default()
        );
        round_of(&session, solvency_aggregator::cli::demo::STEADY);
        // The vault's withdrawal delay passes in chain time.
        runtime.block_on(async {
            alloy::providers::Provider::raw_request::<_, Value>(
                &provider,
                "evm_increaseTime".into(),
                (61,),
            )
            .await
            .unwrap();
            alloy::providers::Provider::raw_request::<_, Value>(&provider, "evm_mine".into(), ())
                .await
                .unwrap();
        });
        std::thread::sleep(Duration::from_millis(500));
    }
    let deadline = Instant::now() + WAIT;
    while units(&devnet_2_entry(&session, &owner, &api), "available")
        != target.parse::<alloy::primitives::U256>().unwrap()
    {
        assert!(Instant::now() < deadline, "the statement never showed the target");
        round_of(&session, solvency_aggregator::cli::demo::STEADY);
        std::thread::sleep(Duration::from_millis(300));
    }
    assert!(
        json_lines(&session, "maker-standby.log")
            .iter()
            .any(|l| l["message"] == "standby above target: withdrawing the excess")
    );

    // Back up to the whole standby: the agent deposits the difference, is killed (-9) before a
    // report vouches for it, and the agent started again sees the deposit on its way in the
    // vault's log instead of depositing a second time.
    session.stop("maker with a target");
    let raise = ["--standby", &format!("devnet-2={STANDBY}")];
    let raising = [&["maker", "run"][..], &reader(&owner, &api), &raise].concat();
    let held_before =
        runtime.block_on(async { token.balanceOf(maker.address).call().await }).unwrap();
    spawn_logged(&mut session, "maker raising", "maker-raise.log", &raising, &maker_key);
    let deadline = Instant::now() + WAIT;
    while runtime.block_on(async { token.balanceOf(maker.address).call().await }).unwrap()
        == held_before
    {
        assert!(Instant::now() < deadline, "the agent never deposited");
        std::thread::sleep(Duration::from_millis(100));
    }
    session.kill("maker raising");
    let deposited = held_before
        - runtime.block_on(async { token.balanceOf(maker.address).call().await }).unwrap();
    assert_eq!(deposited, excess, "the difference, once");
    spawn_logged(
        &mut session,
        "maker raising again",
        "maker-raise-again.log",
        &raising,
        &maker_key,
    );
    let deadline = Instant::now() + WAIT;
    while !json_lines(&session, "maker-raise-again.log")
        .iter()
        .any(|l| l["message"] == "a deposit is on its way: waiting for a report to vouch for it")
    {
        assert!(Instant::now() < deadline, "the restarted agent never looked at its deposit");
        std::thread::sleep(Duration::from_millis(100));
    }
    let deadline = Instant::now() + WAIT;
    while units(&devnet_2_entry(&session, &owner, &api), "available")
        != STANDBY.parse::<alloy::primitives::U256>().unwrap()
    {
        assert!(Instant::now() < deadline, "the deposit was never credited");
        round_of(&session, solvency_aggregator::cli::demo::STEADY);
        std::thread::sleep(Duration::from_millis(300));
    }
    assert_eq!(
        held_before
            - runtime.block_on(async { token.balanceOf(maker.address).call().await }).unwrap(),
        excess,
        "deposited once across the kill"
    );

    // They stop on SIGTERM, saying so.
    session.stop("maker raising again");
    session.stop("treasury");
    for log in ["treasury.log", "maker.log", "maker-standby.log", "maker-raise-again.log"] {
        assert!(
            json_lines(&session, log).iter().any(|l| l["message"] == "stopped"),
            "{log} says it stopped"
        );
    }
    // No balance in any log: the standby, what is left of it, what was drawn.
    for log in [
        "treasury.log",
        "maker.log",
        "maker-standby.log",
        "maker-raise.log",
        "maker-raise-again.log",
        "aggregator.log",
    ] {
        let text = std::fs::read_to_string(session.path(&format!(".devnet/{log}"))).unwrap();
        for figure in [held("balance"), held("drawn")] {
            if figure.is_zero() {
                continue;
            }
            for shown in [figure.to_string(), format!("{figure:x}")] {
                assert!(!text.contains(&shown), "{log} shows {shown}");
            }
        }
    }
}
