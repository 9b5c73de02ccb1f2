//! The three steps of loading, each on inline TOML.

use std::time::Duration;

use alloy::primitives::{U256, keccak256};

use super::*;

fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let vars: Vec<(String, String)> =
        vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
}

fn parse(text: &str) -> Result<Registry, ConfigError> {
    Registry::parse(text, "n.toml", &env(&[]))
}

fn error(text: &str) -> String {
    parse(text).unwrap_err().to_string()
}

#[test]
fn defaults_apply_when_the_devnet_section_is_absent() {
    let registry = parse("deployment_id = \"x\"").unwrap();
    assert_eq!(registry.devnet.chains, 3);
    assert!(registry.devnet.lanes, "token lanes unless the file says otherwise");
    assert_eq!(registry.deployment_id, keccak256("x"));
    assert!(matches!(registry.network(), Err(ConfigError::NoChains { .. })));
    let mock = parse("deployment_id = \"x\"\n[devnet]\nlanes = false").unwrap();
    assert!(!mock.devnet.lanes);
}

#[test]
fn interpolation_uses_the_variable_then_the_default() {
    let text =
        "deployment_id = \"${ID:-fallback}\"\n[devnet]\nchains = 4\nccip_fee_wei = \"${FEE}\"";
    let registry = Registry::parse(text, "n.toml", &env(&[("FEE", "7")])).unwrap();
    assert_eq!(registry.deployment_id, keccak256("fallback"));
    assert_eq!(registry.devnet.ccip_fee, U256::from(7));
    let registry = Registry::parse(text, "n.toml", &env(&[("FEE", "7"), ("ID", "prod")])).unwrap();
    assert_eq!(registry.deployment_id, keccak256("prod"));
}

#[test]
fn a_missing_variable_names_the_key_and_the_fix() {
    let err = error("deployment_id = \"x\"\n[devnet]\nccip_fee_wei = \"${FEE}\"");
    assert_eq!(
        err,
        "n.toml: devnet.ccip_fee_wei: ${FEE} is not set — export it or give a default with ${FEE:-…}"
    );
    let err = error("deployment_id = \"${ID\"");
    assert_eq!(err, "n.toml: deployment_id: unterminated ${…}");
}

#[test]
fn unknown_keys_and_bad_values_are_named() {
    let err = error("deployment_id = \"x\"\n[devnet]\nchain = 3");
    assert!(err.contains("unknown field `chain`"), "{err}");
    for (text, key) in [
        ("deployment_id = \"x\"\n[devnet]\nchains = 0", "devnet.chains"),
        ("deployment_id = \"x\"\n[devnet]\nchains = 101", "devnet.chains"),
        ("deployment_id = \"x\"\n[devnet]\nccip_fee_wei = \"1e15\"", "devnet.ccip_fee_wei"),
        ("deployment_id = \"0x12\"", "deployment_id"),
        (
            "deployment_id = \"x\"\n[devnet]\nattestation_gas_limit = 10",
            "devnet.attestation_gas_limit",
        ),
        (
            "deployment_id = \"x\"\n[aggregator]\ndelivery_timeout_secs = 9223372036854775807",
            "aggregator.delivery_timeout_secs",
        ),
        (
            "deployment_id = \"x\"\n[aggregator]\npublisher_key = \"0x12\"",
            "aggregator.publisher_key",
        ),
        (
            "deployment_id = \"x\"\n[[devnet.assets]]\nsymbol = \"X\"\ndecimals = 6\nprice_usd = \"0\"",
            "devnet.assets[0].price_usd",
        ),
    ] {
        let err = error(text);
        assert!(err.starts_with(&format!("n.toml: {key}: ")), "{text:?} gave {err}");
    }
}

const KEY: &str = "0x1111111111111111111111111111111111111111111111111111111111111111";

fn with_chains(extra: &str) -> String {
    format!(
        r#"deployment_id = "x"
[enclave]
hpke_public_key = "{KEY}"
signers = ["0x00000000000000000000000000000000000000aa"]
key_file = "keys/enclave.key"

[[chains]]
name = "hub"
chain_id = 7001
selector = 11
rpc_url = "${{HUB_RPC:-http://127.0.0.1:8545}}"
router = "0x0000000000000000000000000000000000000001"
hub = "0x0000000000000000000000000000000000000002"
reporter_public_key = "{KEY}"
treasury_public_key = "{KEY}"
assets = [{{ symbol = "USDC", decimals = 6, price_usd = "1" }}]

[[chains]]
name = "spoke"
chain_id = 7002
selector = 22
rpc_url = "http://127.0.0.1:8546"
router = "0x0000000000000000000000000000000000000001"
spoke = "0x0000000000000000000000000000000000000003"
reporter_public_key = "{KEY}"
treasury_public_key = "{KEY}"
assets = [{{ symbol = "WETH", decimals = 18, price_usd = "3000.25", haircut_bps = 1000 }}]
{extra}"#
    )
}

#[test]
fn a_full_registry_becomes_typed_values_and_the_enclave_policy() {
    let registry = Registry::parse(&with_chains(""), "dir/n.toml", &env(&[])).unwrap();
    let network = registry.network().unwrap();
    assert_eq!(network.chains[0].rpc_url.expose().as_str(), "http://127.0.0.1:8545/");
    assert_eq!(network.hub().name, "hub");
    assert_eq!(
        network.chains[1].role,
        ChainRole::Spoke(alloy::primitives::address!("0x0000000000000000000000000000000000000003"))
    );
    assert_eq!(
        network.enclave.mode,
        Some(EnclaveMode::InProcess { key_file: PathBuf::from("dir/keys/enclave.key") })
    );
    assert_eq!(registry.aggregator.state_dir, PathBuf::from("dir/.solvency"));
    let policy = &network.policy;
    assert_eq!(policy.chains.len(), 2);
    let weth = &policy.chains[1].assets[0];
    assert_eq!(weth.price_e18, U256::from(3_000_250_000_000_000_000_000u128));
    assert_eq!((weth.decimals, weth.haircut_bps), (18, 1000));
    assert_eq!(weth.id, keccak256("WETH"));
}

#[test]
fn keys_in_upper_case_are_the_same_keys() {
    let marker = format!(
        "reporter_public_key = \"{KEY}\"\ntreasury_public_key = \"{KEY}\"\nassets = [{{ symbol = \"WETH\""
    );
    let with = |key: &str| {
        with_chains("").replace(
            &marker,
            &format!("reporter_public_key = \"{key}\"\ntreasury_public_key = \"{KEY}\"\nassets = [{{ symbol = \"WETH\""),
        )
    };
    let lower = with(&format!("0x{}", "ab".repeat(32)));
    let upper = with(&format!("0x{}", "AB".repeat(32)));
    assert_ne!(lower, upper);
    let (a, b) = (parse(&lower).unwrap(), parse(&upper).unwrap());
    assert_eq!(a.network().unwrap().chains[1].reporter, b.network().unwrap().chains[1].reporter);
    assert_eq!(a.network().unwrap().policy.digest(), b.network().unwrap().policy.digest());
}

#[test]
fn registry_mistakes_are_named() {
    for (edit, key) in [
        (("selector = 22", "selector = 11"), "chains[1].selector"),
        (("selector = 22", "selector = 0"), "chains[1].selector"),
        (("chain_id = 7002", "chain_id = 7001"), "chains[1].chain_id"),
        // Not the official selector of chain id 1, nor of the official selector's chain.
        (("chain_id = 7002", "chain_id = 1"), "chains[1].selector"),
        (("selector = 22", "selector = 5009297550715157269"), "chains[1].selector"),
        (("name = \"spoke\"", "name = \"hub\""), "chains[1].name"),
        (
            (
                "spoke = \"0x0000000000000000000000000000000000000003\"",
                "hub = \"0x0000000000000000000000000000000000000003\"",
            ),
            "chains",
        ),
        (("rpc_url = \"http://127.0.0.1:8546\"", "rpc_url = \"not a url\""), "chains[1].rpc_url"),
        (
            ("rpc_url = \"http://127.0.0.1:8546\"", "rpc_url = \"ftp://127.0.0.1:8546\""),
            "chains[1].rpc_url",
        ),
        (
            ("rpc_url = \"http://127.0.0.1:8546\"", "rpc_url = \"ipc:///tmp/geth.ipc\""),
            "chains[1].rpc_url",
        ),
        (
            (
                "rpc_url = \"http://127.0.0.1:8546\"",
                "rpc_url = \"http://127.0.0.1:8546\"\nfallback_rpc_urls = [\"http://127.0.0.1:8546\"]",
            ),
            "chains[1].fallback_rpc_urls[0]",
        ),
        (("price_usd = \"3000.25\"", "price_usd = \"3,000\""), "chains[1].assets[0].price_usd"),
        (("price_usd = \"3000.25\"", "price_usd = \"0.000\""), "chains[1].assets[0].price_usd"),
        (("haircut_bps = 1000", "haircut_bps = 10001"), "chains[1].assets[0].haircut_bps"),
        (
            (
                "router = \"0x0000000000000000000000000000000000000001\"\nspoke",
                "router = \"0x01\"\nspoke",
            ),
            "chains[1].router",
        ),
        (
            (
                &format!("hpke_public_key = \"{KEY}\""),
                &format!("hpke_public_key = \"0x{}\"", "00".repeat(32)),
            ),
            "enclave.hpke_public_key",
        ),
        (
            ("key_file = \"keys/enclave.key\"", "threshold = 2\nkey_file = \"k\""),
            "enclave.threshold",
        ),
        (
            ("key_file = \"keys/enclave.key\"", "instances = [\"a.sock\"]\nthreshold = 2"),
            "enclave.threshold",
        ),
        (
            ("key_file = \"keys/enclave.key\"", "[enclave.evidence]\npcrs = { \"0\" = \"0x12\" }"),
            "enclave.evidence.pcrs.\"0\"",
        ),
        (
            ("key_file = \"keys/enclave.key\"", "[enclave.evidence]\npcrs = { \"x\" = \"0x12\" }"),
            "enclave.evidence.pcrs.\"x\"",
        ),
    ] {
        let text = with_chains("").replacen(edit.0, edit.1, 1);
        assert_ne!(text, with_chains(""), "{edit:?} applies");
        let err = error(&text);
        assert!(err.starts_with(&format!("n.toml: {key}: ")), "{edit:?} gave {err}");
    }
    let confirmations =
        with_chains("").replace("selector = 11\n", "selector = 11\nconfirmations = 10001\n");
    assert!(error(&confirmations).starts_with("n.toml: chains[0].confirmations: "));
    let low_order = with_chains("").replacen(
        &format!("treasury_public_key = \"{KEY}\"\nassets = [{{ symbol = \"WETH\""),
        &format!("treasury_public_key = \"0x{}\"\nassets = [{{ symbol = \"WETH\"", "00".repeat(32)),
        1,
    );
    assert!(error(&low_order).contains("chains[1].treasury_public_key: is a low-order"));
    let policy = "[policy]\nsolvency_ratio_bps = 12000\nrecovery_ratio_bps = 11000";
    assert!(error(&with_chains(policy)).contains("policy.recovery_ratio_bps"));
}

#[test]
fn a_missing_chain_field_names_the_chain() {
    let text = with_chains("").replacen("rpc_url = \"http://127.0.0.1:8546\"\n", "", 1);
    let err = error(&text);
    assert_eq!(err, "n.toml: chains[1] (chain \"spoke\"): missing field `rpc_url`");
}

#[test]
fn pcrs_are_parsed_by_index() {
    let pcr = format!("0x{}", "17".repeat(48));
    let text = with_chains("").replacen(
        "key_file = \"keys/enclave.key\"",
        &format!("[enclave.evidence]\npcrs = {{ \"0\" = \"{pcr}\" }}"),
        1,
    );
    let registry = parse(&text).unwrap();
    let pcrs = &registry.network().unwrap().enclave.evidence.policy.pcrs;
    assert_eq!(pcrs.len(), 1);
    assert_eq!(pcrs[&0].to_string(), pcr);
}

#[test]
fn every_official_selector_loads_as_an_integer_or_a_string() {
    let table = include_str!("../data/ccip-chain-selectors.yml");
    let selectors: Vec<u64> = table
        .lines()
        .filter_map(|l| l.trim().strip_prefix("selector: "))
        .map(|s| s.trim().parse().unwrap())
        .collect();
    // Each on its own chain id (a selector must be its chain's).
    let with_chains = |_: &str| with_chains("").replace("chain_id = 7002", "chain_id = CHAIN_ID");
    let on_its_chain = |text: String, selector: u64| {
        let chain_id = crate::selectors::by_selector(selector).unwrap().chain_id;
        text.replace("CHAIN_ID", &chain_id.to_string())
    };
    assert!(selectors.len() > 200, "the table has {} selectors", selectors.len());
    let above_i64 = selectors.iter().filter(|s| **s > i64::MAX as u64).count();
    assert!(above_i64 > 50, "{above_i64} selectors need the string form");
    for selector in selectors {
        let as_string = on_its_chain(
            with_chains("").replace("selector = 22", &format!("selector = \"{selector}\"")),
            selector,
        );
        let registry = parse(&as_string).unwrap_or_else(|e| panic!("{selector}: {e}"));
        assert_eq!(registry.network().unwrap().chains[1].selector, selector);
        if let Ok(small) = i64::try_from(selector) {
            let as_integer = on_its_chain(
                with_chains("").replace("selector = 22", &format!("selector = {small}")),
                selector,
            );
            assert_eq!(parse(&as_integer).unwrap().network().unwrap().chains[1].selector, selector);
        }
        // Written back (as a derived registry is), it loads again.
        let file = parse(&as_string).unwrap().source().clone();
        let text = toml::to_string(&file).unwrap();
        assert_eq!(parse(&text).unwrap().network().unwrap().chains[1].selector, selector);
    }
}

#[test]
fn rpc_urls_never_show_their_secrets() {
    let url = RpcUrl::parse("http://user:pw@rpc.example:8545/v2/SECRETKEY?apikey=SECRET").unwrap();
    assert_eq!(url.to_string(), "http://rpc.example:8545/…");
    assert!(!format!("{url:?}").contains("SECRET"));
    assert_eq!(
        RpcUrl::parse("http://127.0.0.1:8545").unwrap().to_string(),
        "http://127.0.0.1:8545"
    );
}

#[test]
fn debug_of_a_registry_shows_no_secret() {
    let key = "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318";
    let text = with_chains("[aggregator]\npublisher_key = \"${PUBLISHER_KEY}\"")
        .replace("http://127.0.0.1:8546", "http://127.0.0.1:8546/v2/RPCSECRET?key=RPCSECRET");
    let registry = Registry::parse(&text, "n.toml", &env(&[("PUBLISHER_KEY", key)])).unwrap();
    let shown = format!("{registry:?}");
    assert!(!shown.contains(&key[2..]), "the publisher key leaks through Debug");
    assert!(!shown.contains("RPCSECRET"), "an RPC URL's key leaks through Debug: {shown}");
    assert!(registry.aggregator.publisher.is_some());
}

#[test]
fn an_unset_publisher_key_variable_only_matters_to_the_command_that_needs_the_key() {
    let text = with_chains("[aggregator]\npublisher_key = \"${SOLVENCY_TEST_PUBLISHER}\"");
    let registry = parse(&text).expect("loads: most commands never use the key");
    assert!(registry.aggregator.publisher.is_none());
    assert_eq!(
        registry.aggregator.publisher_unset.as_deref(),
        Some(
            "n.toml: aggregator.publisher_key: ${SOLVENCY_TEST_PUBLISHER} is not set — export it or give a default with ${SOLVENCY_TEST_PUBLISHER:-…}"
        )
    );
    let key = "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318";
    let set = Registry::parse(&text, "n.toml", &env(&[("SOLVENCY_TEST_PUBLISHER", key)])).unwrap();
    assert!(set.aggregator.publisher.is_some() && set.aggregator.publisher_unset.is_none());
    // Other keys still fail on an unset variable, naming it.
    assert!(
        error("deployment_id = \"${SOLVENCY_TEST_ID}\"")
            .contains("deployment_id: ${SOLVENCY_TEST_ID}")
    );
}

#[test]
fn prices_are_exact_decimals() {
    assert_eq!(parse_price_e18("1").unwrap(), U256::from(10u64.pow(18)));
    assert_eq!(parse_price_e18("0.000000000000000001").unwrap(), U256::from(1u64));
    assert!(parse_price_e18("0.0000000000000000001").is_err());
    assert!(parse_price_e18("-1").is_err());
    assert!(parse_price_e18(".5").is_err());
    assert!(parse_price_e18("1e3").is_err());
}

#[test]
fn the_repository_networks_toml_is_valid() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../networks.toml");
    Registry::load(&path).unwrap();
}

#[test]
fn an_edit_changes_one_value_and_keeps_comments_and_templates() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("networks.toml");
    let text = with_chains("").replace(
        &format!("hpke_public_key = \"{KEY}\""),
        &format!(
            "# reporters seal to this\nhpke_public_key = \"{KEY}\" # rotated by `enclave rotate`"
        ),
    );
    let text = format!(
        "{text}\n[aggregator]\n# the publisher pays gas\npublisher_key = \"${{PUBLISHER_KEY}}\"\n"
    );
    std::fs::write(&path, &text).unwrap();
    let new = format!("0x{}", "22".repeat(32));
    edit::set_hpke_public_key(&path, &new.parse().unwrap()).unwrap();
    let after = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        after,
        text.replace(
            &format!("hpke_public_key = \"{KEY}\" #"),
            &format!("hpke_public_key = \"{new}\" #")
        ),
        "only the key changed"
    );
    assert!(after.contains("${HUB_RPC:-http://127.0.0.1:8545}"), "templates kept");
    assert!(after.contains("${PUBLISHER_KEY}"), "the secret is still a template");
    let registry = Registry::load(&path).unwrap();
    assert_eq!(registry.network().unwrap().enclave.hpke_public_key.to_string(), new);
}

#[test]
fn an_edit_that_would_break_the_file_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("networks.toml");
    std::fs::write(&path, with_chains("")).unwrap();
    let mut edit = edit::RegistryEdit::open(&path).unwrap();
    edit.set(&["enclave"], "hpke_public_key", "0x12").unwrap();
    let err = edit.save().unwrap_err().to_string();
    assert!(err.contains("enclave.hpke_public_key"), "{err}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), with_chains(""));
    let mut edit = edit::RegistryEdit::open(&path).unwrap();
    let err = edit.set(&["nowhere"], "x", 1).unwrap_err().to_string();
    assert!(err.contains("nowhere: this section is missing"), "{err}");
}

mod fuzz {
    //! Property tests: loading never panics, whatever the text, and a valid file survives any
    //! change to one value with either a valid registry or an error naming a key.
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,400}") {
            let _ = parse(&text);
        }

        #[test]
        fn a_mutated_registry_loads_or_names_a_key(
            line in 0usize..40,
            replacement in prop_oneof![
                Just(String::new()),
                "[a-z_]{1,12} = [0-9]{1,25}",
                "[a-z_]{1,12} = \"[ -~]{0,70}\"",
                "\\PC{0,60}",
            ],
        ) {
            let text = with_chains("");
            let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
            let at = line % lines.len();
            lines[at] = replacement;
            match parse(&lines.join("\n")) {
                Ok(registry) => { let _ = registry.network(); }
                Err(e) => prop_assert!(e.to_string().starts_with("n.toml: "), "{}", e),
            }
        }
    }
}

/// The registry of [`with_chains`] with the spoke's WETH given `sources` (TOML tables that
/// follow `[[chains.assets]]`) and `extra` after it.
fn with_sources(sources: &str, extra: &str) -> String {
    with_chains(extra).replacen(
        r#"assets = [{ symbol = "WETH", decimals = 18, price_usd = "3000.25", haircut_bps = 1000 }]"#,
        &format!(
            "{extra_chain}\n[[chains.assets]]\nsymbol = \"WETH\"\ndecimals = 18\nprice_usd = \"3000.25\"\nhaircut_bps = 1000\n{sources}\n",
            extra_chain = ""
        ),
        1,
    )
}

const SOURCES: &str = r#"
[[chains.assets.reserves]]
kind = "erc20_balance"
token = "0x00000000000000000000000000000000000000e1"
holders = ["0x00000000000000000000000000000000000000f1", "0x00000000000000000000000000000000000000f2"]

[[chains.assets.reserves]]
kind = "http_json"
url = "http://127.0.0.1:9000/v1/reserves?api_key=sekrit"
pointer = "/weth/total"
headers_from_env = { Authorization = "CUSTODIAN_AUTH" }
unit = "whole"
timeout_secs = 3

[[chains.assets.liabilities]]
kind = "erc20_supply"
token = "0x00000000000000000000000000000000000000e2"

[[chains.assets.liabilities]]
kind = "chainlink_feed"
feed = "0x00000000000000000000000000000000000000e3"
max_age_secs = 86400
"#;

#[test]
fn sources_and_reporting_become_typed_values_outside_the_policy() {
    use crate::{SourceKind, types::Reporting};
    use alloy::primitives::address;
    let text = with_sources(SOURCES, "");
    let registry = parse(&text).unwrap();
    let network = registry.network().unwrap();
    let spoke = &network.chains[1];
    assert_eq!(spoke.sources.len(), 1);
    let weth = &spoke.sources[0];
    assert_eq!((weth.symbol.as_str(), weth.decimals), ("WETH", 18));
    assert_eq!(
        weth.reserves[0].kind,
        SourceKind::Erc20Balance {
            token: address!("0x00000000000000000000000000000000000000e1"),
            holders: vec![
                address!("0x00000000000000000000000000000000000000f1"),
                address!("0x00000000000000000000000000000000000000f2")
            ],
        }
    );
    assert_eq!(weth.reserves[0].timeout, Duration::from_secs(10), "the default timeout");
    let SourceKind::HttpJson { url, pointer, headers_from_env, whole_units } =
        &weth.reserves[1].kind
    else {
        panic!("{:?}", weth.reserves[1]);
    };
    assert_eq!(url.expose().query(), Some("api_key=sekrit"));
    assert_eq!(pointer, "/weth/total");
    assert_eq!(headers_from_env, &[("Authorization".to_owned(), "CUSTODIAN_AUTH".to_owned())]);
    assert!(whole_units);
    assert_eq!(weth.reserves[1].timeout, Duration::from_secs(3));
    assert_eq!(
        weth.liabilities[1].kind,
        SourceKind::ChainlinkFeed {
            feed: address!("0x00000000000000000000000000000000000000e3"),
            max_age: Duration::from_secs(86_400)
        }
    );
    assert!(network.chains[0].sources.is_empty(), "the hub's assets have no sources");
    assert_eq!(
        spoke.reporting,
        Reporting {
            heartbeat: Duration::from_secs(240),
            deviation_bps: 100,
            poll: Duration::from_secs(10)
        }
    );
    // Sources are the reporter's business: the policy the contracts pin does not move.
    let plain = parse(&with_chains("")).unwrap();
    assert_eq!(network.policy.digest(), plain.network().unwrap().policy.digest());
    // Neither the URL's key nor anything after its host shows in Debug or in a description.
    let debug = format!("{registry:?}");
    assert!(!debug.contains("sekrit") && !debug.contains("/v1/reserves"), "{debug}");
    assert_eq!(weth.reserves[1].kind.describe(), "http://127.0.0.1:9000/… at /weth/total");
}

#[test]
fn source_and_reporting_mistakes_are_named() {
    let balance = "[[chains.assets.reserves]]\nkind = \"erc20_balance\"\ntoken = \"0x00000000000000000000000000000000000000e1\"\nholders = [\"0x00000000000000000000000000000000000000f1\"]";
    let http = "[[chains.assets.reserves]]\nkind = \"http_json\"\nurl = \"http://127.0.0.1:9000/r\"\npointer = \"/r\"";
    let cases: Vec<(String, &str, &str)> = vec![
        (balance.replace("erc20_balance", "erc20_balances"), "reserves[0].kind", "is not a source kind"),
        (format!("{balance}\nfeed = \"0x00000000000000000000000000000000000000e3\""), "reserves[0].feed", "does not apply to kind erc20_balance"),
        (balance.replace("token = \"0x00000000000000000000000000000000000000e1\"\n", ""), "reserves[0].token", "needs `token`"),
        (balance.replace("[\"0x00000000000000000000000000000000000000f1\"]", "[]"), "reserves[0].holders", "needs `holders`"),
        (
            balance.replace("[\"0x00000000000000000000000000000000000000f1\"]", "[\"0x00000000000000000000000000000000000000f1\", \"0x00000000000000000000000000000000000000F1\"]"),
            "reserves[0].holders[1]",
            "listed twice",
        ),
        ("[[chains.assets.liabilities]]\nkind = \"chainlink_feed\"\nfeed = \"0x00000000000000000000000000000000000000e3\"".into(), "liabilities[0].max_age_secs", "needs `max_age_secs`"),
        (http.replace("http://", "wss://"), "reserves[0].url", "over http:// or https://"),
        (http.replace("pointer = \"/r\"", "pointer = \"r\""), "reserves[0].pointer", "is not a JSON pointer"),
        (format!("{http}\nunit = \"cents\""), "reserves[0].unit", "is not a unit"),
        (format!("{http}\nheaders_from_env = {{ \"Bad Header\" = \"X\" }}"), "reserves[0].headers_from_env", "not an HTTP header name"),
        (format!("{http}\nheaders_from_env = {{ Authorization = \"MY-VAR\" }}"), "reserves[0].headers_from_env.Authorization", "not an environment variable name"),
        (format!("{http}\ntimeout_secs = 0"), "reserves[0].timeout_secs", "between 1 and 300"),
    ];
    for (sources, key, problem) in cases {
        let err = error(&with_sources(&sources, ""));
        let want = format!("n.toml: chains[1].assets[0].{key}: ");
        assert!(err.starts_with(&want) && err.contains(problem), "{sources}\ngave {err}");
    }
    let reporting = |body: &str| error(&with_sources(&format!("[chains.reporting]\n{body}"), ""));
    let err = reporting("heartbeat_secs = 600");
    assert!(err.starts_with("n.toml: chains[1].reporting.heartbeat_secs: 600 is not below [policy] max_report_age_secs (600)"), "{err}");
    let err = reporting("heartbeat_secs = 60\npoll_secs = 61");
    assert!(err.starts_with("n.toml: chains[1].reporting.poll_secs: "), "{err}");
    let err = reporting("heartbeat_secs = 0");
    assert!(
        err.starts_with("n.toml: chains[1].reporting.heartbeat_secs: must be at least 1"),
        "{err}"
    );
    let devnet = with_chains(
        "[devnet]\n[[devnet.assets]]\nsymbol = \"USDC\"\ndecimals = 6\nprice_usd = \"1\"\n[[devnet.assets.reserves]]\nkind = \"erc20_supply\"\ntoken = \"0x00000000000000000000000000000000000000e1\"",
    );
    assert!(
        error(&devnet).starts_with("n.toml: devnet.assets[0]: sources belong to a chain's assets"),
        "{}",
        error(&devnet)
    );
}

#[test]
fn a_secret_key_written_in_a_registry_is_refused_outside_a_devnet() {
    let key = "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318";
    let written = with_chains(&format!("[aggregator]\npublisher_key = \"{key}\""));
    let err = parse(&written).unwrap_err().to_string();
    assert!(err.contains("aggregator.publisher_key") && err.contains("${VAR}"), "{err}");
    assert!(!err.contains(&key[2..]), "the message shows the key: {err}");
    // From the environment, it is taken.
    let templated = with_chains("[aggregator]\npublisher_key = \"${PUBLISHER}\"");
    let env = |var: &str| match var {
        "PUBLISHER" | "P" => Some(key.to_owned()),
        "TAIL" => Some(key[40..].to_owned()),
        _ => None,
    };
    assert!(Registry::parse(&templated, "n.toml", &env).unwrap().aggregator.publisher.is_some());
    // On the official test chains (a devnet), written keys are fine.
    let devnet = written
        .replace(
            "chain_id = 7001\nselector = 11",
            "chain_id = 90000001\nselector = 909606746561742123",
        )
        .replace(
            "chain_id = 7002\nselector = 22",
            "chain_id = 90000002\nselector = 5548718428018410741",
        );
    assert!(parse(&devnet).unwrap().aggregator.publisher.is_some());
    // So are they on forks of real chains that only a local anvil serves; not if an endpoint
    // is elsewhere.
    let forked = format!("{written}\n[devnet]\nforked = true\n");
    let forked = forked.replace("https://", "http://");
    assert!(parse(&forked).unwrap().aggregator.publisher.is_some(), "{forked}");
    let remote = forked.replacen("127.0.0.1", "rpc.example", 1);
    assert!(parse(&remote).is_err(), "{remote}");
    // A default, or text around the variable, is written in the file too.
    let around = format!("{}${{TAIL}}", &key[..40]);
    for written in [format!("${{PUBLISHER:-{key}}}"), around] {
        let text = with_chains(&format!("[aggregator]\npublisher_key = \"{written}\""));
        assert!(Registry::parse(&text, "n.toml", &env).is_err(), "{written}");
    }
    // A keystore instead; not both.
    let both =
        with_chains("[aggregator]\npublisher_key = \"${P}\"\npublisher_keystore = \"k.json\"");
    let err = Registry::parse(&both, "n.toml", &env).unwrap_err().to_string();
    assert!(err.contains("not both"), "{err}");
    let keystore =
        parse(&with_chains("[aggregator]\npublisher_keystore = \"keys/p.json\"")).unwrap();
    assert_eq!(keystore.aggregator.publisher_keystore, Some(PathBuf::from("keys/p.json")));
}

#[test]
fn the_market_schedule_is_read_and_checked() {
    let text = with_chains(
        "[policy]\nmax_paid_per_epoch_usd = 50\n[policy.market]\nstart_bps = 50\nstep_bps = 25\nmax_bps = 200\ntimeout_epochs = 6",
    );
    let registry = parse(&text).unwrap();
    let recovery = &registry.network().unwrap().policy.recovery;
    let market = recovery.market.as_ref().expect("the market is on");
    assert_eq!(
        (market.start_bps, market.step_bps, market.max_bps, market.timeout_epochs),
        (50, 25, 200, 6)
    );
    assert_eq!(
        recovery.max_paid_per_epoch,
        U256::from(50u64) * U256::from(10u64).pow(U256::from(18))
    );
    let err = error(&text.replace("start_bps = 50", "start_bps = 300"));
    assert!(err.contains("policy.market") && err.contains("start <= max"), "{err}");
    let err = error(&text.replace("timeout_epochs = 6", "timeout_epochs = 0"));
    assert!(err.contains("policy.market.timeout_epochs"), "{err}");
    let err = error(&text.replace("max_paid_per_epoch_usd = 50", "max_paid_per_epoch_usd = 0"));
    assert!(err.contains("policy.max_paid_per_epoch_usd"), "{err}");
    // Off by default.
    assert!(parse(&with_chains("")).unwrap().network().unwrap().policy.recovery.market.is_none());
}
