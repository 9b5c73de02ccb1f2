//! `solvency deploy` and `solvency admin` on a devnet's chains, as an owner would on real ones:
//! the registry's `"deploy"` contracts deployed on the chains' routers and wired, their
//! addresses written back in place; a second run changes nothing; a Safe batch instead of
//! transactions with `--dry-run`; a timelocked change scheduled, then made once ready; the
//! dark pool's quote board set on the hub and a maker registered on it.

use std::process::{Command, Output};

use alloy::{
    primitives::{Address, B256},
    providers::{Provider, ProviderBuilder},
};
use solvency_aggregator::wired::{WiredDevnet, WiredOptions};
use solvency_ccip::bindings::{
    hub::SolvencyHub, oracle::SolvencyOracleBase, quote_board::QuoteBoard,
};
use solvency_devnet::DevAccount;

fn solvency(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_solvency")).args(args).output().unwrap()
}

fn said(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

fn ok(out: Output) -> String {
    let text = said(&out);
    assert!(out.status.success(), "{text}");
    text
}

/// A 2-chain devnet in `dir/devnet` started from `base`, and a registry of our own on its chains
/// and routers (`dir/own.toml`): contracts marked "deploy" — the oracles, a vault on the hub's
/// chain, and the hub's quote board if the devnet has one — and each chain's reporter account.
async fn own_deployment(dir: &std::path::Path, base: &str) -> (WiredDevnet, std::path::PathBuf) {
    let base = solvency_registry::Registry::parse(base, "base.toml", &|_| None).unwrap();
    let devnet_dir = dir.join("devnet");
    let wired = WiredDevnet::start(
        &base,
        WiredOptions { chains: Some(2), state_dir: Some(devnet_dir), ..Default::default() },
    )
    .await
    .unwrap();
    let deployment = wired.devnet.deployment().clone();
    let mut text = String::from("# our deployment\n");
    for line in std::fs::read_to_string(wired.registry_path()).unwrap().lines() {
        let key = line.split('=').next().unwrap_or_default().trim();
        let line = match key {
            "hub" => "hub = \"deploy\" # deployed by solvency deploy".to_owned(),
            "spoke" => "spoke = \"deploy\"".to_owned(),
            "quote_board" => "quote_board = \"deploy\"".to_owned(),
            "vault" | "vault_asset" => continue,
            "deployment_id" => "deployment_id = \"our-own\"".to_owned(),
            "name" if line.contains("devnet-") => {
                let name = line.split('"').nth(1).unwrap();
                let chain = deployment.chain_by_name(name).unwrap();
                let reporter = DevAccount::reporter(chain.chain_id).address;
                // The hub's chain gets a vault of its own over the devnet's collateral.
                let vault = if chain.hub.is_some() {
                    format!(
                        "\nvault = \"deploy\"\nvault_asset = \"USDC\"\nvault_token = \"{}\"",
                        chain.collateral
                    )
                } else {
                    String::new()
                };
                format!("{line}\nreporter_account = \"{reporter}\"{vault}")
            }
            _ => line.to_owned(),
        };
        text.push_str(&line);
        text.push('\n');
    }
    let registry = dir.join("own.toml");
    std::fs::write(&registry, &text).unwrap();
    (wired, registry)
}

const BASE: &str = "deployment_id = \"deploy-test\"\n[aggregator]\npoll_interval_ms = 20";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_is_idempotent_and_admin_sends_or_batches_every_owner_operation() {
    let dir = tempfile::tempdir().unwrap();
    let (wired, registry) = own_deployment(dir.path(), BASE).await;
    let deployment = wired.devnet.deployment().clone();
    let devnet_dir = dir.path().join("devnet");
    let config = registry.to_str().unwrap();
    let devnet = devnet_dir.to_str().unwrap();
    let deploy = || {
        solvency(&[
            "deploy",
            "--config",
            config,
            "--devnet",
            devnet,
            "--vault-outflow-limit",
            "1000000000",
        ])
    };
    // Not deployed yet: every other command says what to run.
    let refused = said(&solvency(&["check", "--config", config]));
    assert!(refused.contains("solvency deploy"), "{refused}");

    let first = ok(deploy());
    assert!(first.contains("hub deployed") && first.contains("spoke deployed"), "{first}");
    assert!(first.contains("vault deployed") && first.contains("set the chain's vault"), "{first}");
    assert!(first.contains("submit the chain's reports"), "reporters set: {first}");
    let written = std::fs::read_to_string(&registry).unwrap();
    assert!(!written.contains("\"deploy\""), "{written}");
    assert!(
        written.starts_with("# our deployment")
            && written.contains("# deployed by solvency deploy")
    );

    // Twice: nothing sent, nothing written.
    let nonces = || async {
        let mut out = Vec::new();
        for chain in &deployment.chains {
            let provider = ProviderBuilder::new().connect_http(chain.rpc_url.parse().unwrap());
            out.push(provider.get_transaction_count(chain.deployer.address).await.unwrap());
        }
        out
    };
    let before = nonces().await;
    let second = ok(deploy());
    assert!(second.contains("nothing to do"), "{second}");
    assert_eq!(nonces().await, before, "the second run sent nothing");
    assert_eq!(std::fs::read_to_string(&registry).unwrap(), written, "nor wrote anything");
    // What is left is the enclave's registration and the hub's fees, and check says so.
    let checked = said(&solvency(&["check", "--config", config]));
    assert!(checked.contains("[signers]") && checked.contains("[fees]"), "{checked}");
    assert!(!checked.contains("[wiring]") && !checked.contains("[policy_digest]"), "{checked}");
    ok(solvency(&[
        "admin",
        "fund-hub",
        "1000000000000000000",
        "--config",
        config,
        "--devnet",
        devnet,
    ]));
    assert!(!said(&solvency(&["check", "--config", config])).contains("[fees]"));

    // A multisig owner: a Safe batch per chain, nothing sent.
    let batches = dir.path().join("safe");
    let out = ok(solvency(&[
        "admin",
        "set-max-validity",
        "7200",
        "--config",
        config,
        "--dry-run",
        batches.to_str().unwrap(),
    ]));
    assert!(out.contains("call(s) for the owner"), "{out}");
    // The hub's oracle holds the vault the registry now names.
    let own = solvency_registry::Registry::load(&registry).unwrap();
    let hub = own.network().unwrap().hub().clone();
    let hub_provider = ProviderBuilder::new().connect_http(hub.rpc_url.expose().clone());
    let held =
        SolvencyOracleBase::new(hub.oracle(), &hub_provider).getVault().call().await.unwrap();
    assert_eq!(Some(held), hub.vault);
    // The hub's owner funded it (one transaction on the first chain, the hub's); the batch sent
    // nothing.
    let mut expected = before.clone();
    expected[0] += 1;
    assert_eq!(nonces().await, expected);
    let own = solvency_registry::Registry::load(&registry).unwrap();
    for chain in &own.network().unwrap().chains {
        let batch: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(batches.join(format!("{}.json", chain.name))).unwrap(),
        )
        .unwrap();
        assert_eq!(batch["chainId"], chain.chain_id.to_string());
        let tx = &batch["transactions"][0];
        assert_eq!(tx["to"].as_str().unwrap().parse::<Address>().unwrap(), chain.oracle());
        assert!(tx["data"].as_str().unwrap().starts_with("0x"), "{batch}");
    }

    // Under a timelock: scheduled first, made once ready.
    let hub = own.network().unwrap().hub().clone();
    ok(solvency(&[
        "admin",
        "set-config-timelock",
        "600",
        "--config",
        config,
        "--devnet",
        devnet,
        "--chain",
        &hub.name,
    ]));
    let digest = B256::repeat_byte(0x42).to_string();
    let args = [
        "admin",
        "set-policy-digest",
        &digest,
        "--config",
        config,
        "--devnet",
        devnet,
        "--chain",
        &hub.name,
    ];
    assert!(ok(solvency(&args)).contains("schedule"));
    assert!(ok(solvency(&args)).contains("ready at chain time"));
    let provider = ProviderBuilder::new().connect_http(hub.rpc_url.expose().clone());
    provider.raw_request::<_, serde_json::Value>("evm_increaseTime".into(), (601,)).await.unwrap();
    provider.raw_request::<_, serde_json::Value>("evm_mine".into(), ()).await.unwrap();
    ok(solvency(&args));
    let held =
        SolvencyOracleBase::new(hub.oracle(), &provider).getPolicyDigest().call().await.unwrap();
    assert_eq!(held.to_string(), digest);

    // The dark pool's board: set on the hub under the same timelock, then makers registered
    // on it (not timelocked: the board's owner vouches only for who may quote).
    let hub_deployer = deployment.chain_by_name(&hub.name).unwrap().deployer.signer();
    let owner = ProviderBuilder::new()
        .wallet(alloy::network::EthereumWallet::from(hub_deployer))
        .connect_http(hub.rpc_url.expose().clone());
    let board = QuoteBoard::deploy(&owner, 60).await.unwrap();
    let board_address = board.address().to_string();
    let set_board =
        ["admin", "set-quote-board", &board_address, "--config", config, "--devnet", devnet];
    let maker = Address::repeat_byte(0x4d).to_string();
    let key = B256::repeat_byte(0x4b).to_string();
    let set_maker = ["admin", "set-maker", &maker, &key, "--config", config, "--devnet", devnet];
    assert!(said(&solvency(&set_maker)).contains("solvency admin set-quote-board"));
    // An address that is no board (an account; the hub itself) is refused before anything is
    // sent: the hub takes its board once and for all.
    for wrong in [Address::repeat_byte(0x77), hub.oracle()] {
        let wrong = wrong.to_string();
        let args = ["admin", "set-quote-board", &wrong, "--config", config, "--devnet", devnet];
        let refused = solvency(&args);
        assert_eq!(refused.status.code(), Some(1), "{}", said(&refused));
        assert!(said(&refused).contains("is not a quote board"), "{}", said(&refused));
    }
    let scheduled = ok(solvency(&set_board));
    assert!(scheduled.contains("schedule") && scheduled.contains("its owner"), "{scheduled}");
    provider.raw_request::<_, serde_json::Value>("evm_increaseTime".into(), (601,)).await.unwrap();
    provider.raw_request::<_, serde_json::Value>("evm_mine".into(), ()).await.unwrap();
    ok(solvency(&set_board));
    let hub_board = SolvencyHub::new(hub.oracle(), &provider).getQuoteBoard().call().await;
    assert_eq!(hub_board.unwrap(), *board.address());
    // Again: nothing to do; another board: refused (set once).
    assert!(ok(solvency(&set_board)).contains("nothing to do"));
    // A provider of its own: the commands above sent from the same account.
    let owner = ProviderBuilder::new()
        .wallet(alloy::network::EthereumWallet::from(
            deployment.chain_by_name(&hub.name).unwrap().deployer.signer(),
        ))
        .connect_http(hub.rpc_url.expose().clone());
    let other = QuoteBoard::deploy(&owner, 60).await.unwrap().address().to_string();
    let replaced =
        solvency(&["admin", "set-quote-board", &other, "--config", config, "--devnet", devnet]);
    assert!(said(&replaced).contains("set once and for all"), "{}", said(&replaced));
    assert!(ok(solvency(&set_maker)).contains("register maker"));
    let registered = board.getMakerKey(maker.parse().unwrap()).call().await.unwrap();
    assert_eq!(registered.to_string(), key);

    // A run stopped after it wrote where a spoke would land and before that transaction did:
    // the next run sends it again, to the same address (the owner's next CREATE address), and
    // rewires the hub to it.
    let spoke = own.network().unwrap().chains[1].clone();
    let spoke_provider = ProviderBuilder::new().connect_http(spoke.rpc_url.expose().clone());
    let deployer = deployment.chain_by_name(&spoke.name).unwrap().deployer.address;
    let next = spoke_provider.get_transaction_count(deployer).await.unwrap();
    let predicted = deployer.create(next);
    let text = std::fs::read_to_string(&registry).unwrap();
    let stopped = text.replace(&spoke.oracle().to_string(), &predicted.to_string());
    assert_ne!(text, stopped);
    std::fs::write(&registry, &stopped).unwrap();
    let resumed = ok(deploy());
    assert!(resumed.contains(&format!("spoke deployed at {predicted}")), "{resumed}");
    assert!(resumed.contains("add devnet-2's spoke"), "{resumed}");
    assert!(!spoke_provider.get_code_at(predicted).await.unwrap().is_empty());
    // An address with no contract that no deployment of the owner's would take: refused.
    let elsewhere = std::fs::read_to_string(&registry)
        .unwrap()
        .replace(&predicted.to_string(), &Address::repeat_byte(0x66).to_string());
    std::fs::write(&registry, elsewhere).unwrap();
    let refused = said(&deploy());
    assert!(refused.contains("set spoke = \"deploy\""), "{refused}");
    wired.shutdown().await;
}

/// With the dark pool in the policy, `deploy` also deploys the hub's quote board the registry
/// marks, writes its address back and sets it on the hub; `check` then finds the wiring right,
/// and a second run changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_deploys_and_sets_the_hubs_quote_board() {
    let dir = tempfile::tempdir().unwrap();
    let base = format!(
        "{BASE}\n[policy.market]\nstart_bps = 50\nstep_bps = 25\nmax_bps = 150\ntimeout_epochs = 4"
    );
    let (_wired, registry) = own_deployment(dir.path(), &base).await;
    let text = std::fs::read_to_string(&registry).unwrap();
    assert!(text.contains("quote_board = \"deploy\""), "the devnet's registry names its board");
    let config = registry.to_str().unwrap();
    let devnet = dir.path().join("devnet");
    let deploy = || {
        solvency(&[
            "deploy",
            "--config",
            config,
            "--devnet",
            devnet.to_str().unwrap(),
            "--vault-outflow-limit",
            "1000000000",
            "--quote-round-secs",
            "30",
        ])
    };
    let first = ok(deploy());
    assert!(first.contains("quote_board deployed at"), "{first}");
    assert!(first.contains("set the hub's quote board"), "{first}");
    let own = solvency_registry::Registry::load(&registry).unwrap();
    let hub = own.network().unwrap().hub().clone();
    let board = hub.quote_board.expect("written back");
    let provider = ProviderBuilder::new().connect_http(hub.rpc_url.expose().clone());
    let held = SolvencyHub::new(hub.oracle(), &provider).getQuoteBoard().call().await.unwrap();
    assert_eq!(held, board);
    let seconds = QuoteBoard::new(board, &provider).getRoundSeconds().call().await.unwrap();
    assert_eq!(seconds, 30);
    assert!(ok(deploy()).contains("nothing to do"));
    let checked = said(&solvency(&["check", "--config", config]));
    assert!(!checked.contains("quote board"), "{checked}");
}
