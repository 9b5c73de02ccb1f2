//! From the file's strings to typed values: every check and every parse happens here, once,
//! and the first problem is returned with its key and what to do about it.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use alloy::{
    primitives::{Address, B256, Bytes, U256, keccak256},
    signers::local::PrivateKeySigner,
};
use solvency_enclave::{AssetPolicy, ChainPolicy, EvidencePolicy, Policy, X25519Public};

use crate::{
    ConfigError, Network, Registry,
    schema::{
        AssetSection, ChainSection, EnclaveSection, NetworksFile, ReportingSection, SourceSection,
    },
    types::{
        AggregatorConfig, AssetSources, ChainConfig, ChainRole, DevnetSettings, EnclaveConfig,
        EnclaveMode, EvidenceConfig, LedgerConfig, PolicySettings, Reporting, RpcUrl, Source,
        SourceKind,
    },
};

/// The most chains a devnet can have: the official CCIP test chain ids 90000001–90000100.
pub const MAX_DEVNET_CHAINS: usize = 100;
/// The longest a delivery may be waited for before it is reported late (one week): delivery
/// over real lanes takes minutes to hours, never this long.
pub const MAX_DELIVERY_TIMEOUT_SECS: u64 = 7 * 24 * 3600;
/// The most confirmations a hub may require (well above any chain's finality depth).
pub const MAX_CONFIRMATIONS: u64 = 10_000;
/// Nitro PCRs are SHA-384 digests.
const PCR_LEN: usize = 48;

struct Builder<'a> {
    path: &'a str,
    dir: PathBuf,
}

impl Builder<'_> {
    fn invalid(&self, key: impl Into<String>, problem: impl Into<String>) -> ConfigError {
        ConfigError::Invalid { path: self.path.into(), key: key.into(), problem: problem.into() }
    }

    /// A path from the file, relative to the file's directory.
    fn resolve(&self, path: &Path) -> PathBuf {
        if path.is_absolute() { path.to_owned() } else { self.dir.join(path) }
    }

    fn address(&self, key: &str, text: &str) -> Result<Address, ConfigError> {
        let address: Address = text.trim().parse().map_err(|_| {
            self.invalid(key, format!("{text:?} is not an address (0x + 40 hex digits)"))
        })?;
        if address.is_zero() {
            return Err(self.invalid(key, "is the zero address"));
        }
        Ok(address)
    }

    fn x25519(&self, key: &str, text: &str) -> Result<X25519Public, ConfigError> {
        let public: X25519Public = text
            .trim()
            .parse()
            .map_err(|_| self.invalid(key, "is not an X25519 public key (0x + 64 hex digits)"))?;
        if !public.is_usable() {
            return Err(self.invalid(
                key,
                "is a low-order X25519 point (such as all zeros): no one holds its secret; give \
                 the public key of a key pair from `solvency keys generate`",
            ));
        }
        Ok(public)
    }

    fn at_least_one(&self, key: &str, value: u64) -> Result<(), ConfigError> {
        if value == 0 {
            return Err(self.invalid(key, "must be at least 1"));
        }
        Ok(())
    }
}

pub(crate) fn build(file: NetworksFile, path: &str) -> Result<Registry, ConfigError> {
    let dir = Path::new(path).parent().map(Path::to_owned).unwrap_or_default();
    let b = Builder { path, dir };
    let deployment_id = deployment_id(&b, &file.deployment_id)?;
    let policy = policy(&b, &file)?;
    let aggregator = aggregator(&b, &file)?;
    let devnet = devnet(&b, &file)?;
    let network = match (&file.enclave, file.chains.is_empty()) {
        (_, true) => None,
        (None, false) => {
            return Err(b.invalid("enclave", "a file with [[chains]] needs an [enclave] section"));
        }
        (Some(enclave), false) => {
            let chains = chains(&b, &file.chains, &policy)?;
            let enclave = enclave_config(&b, enclave)?;
            let policy = Policy {
                protocol: policy.protocol.unwrap_or_default(),
                recovery: policy.recovery.clone(),
                ledger: enclave.ledger.as_ref().map(|l| l.policy.clone()),
                deployment_id,
                chains: chains
                    .iter()
                    .map(|c| ChainPolicy {
                        name: c.name.clone(),
                        selector: c.selector,
                        reporter: c.reporter,
                        treasury: c.treasury,
                        required: c.required,
                        assets: c.assets.clone(),
                        vault: c.vault.unwrap_or_default(),
                        vault_asset: c
                            .vault_asset
                            .as_deref()
                            .map(solvency_enclave::asset_id)
                            .unwrap_or_default(),
                    })
                    .collect(),
                max_report_age: policy.max_report_age.as_secs(),
                max_clock_skew: policy.max_clock_skew.as_secs(),
                solvency_ratio_bps: policy.solvency_ratio_bps,
                recovery_ratio_bps: policy.recovery_ratio_bps,
                attestation_validity: policy.attestation_validity.as_secs(),
            };
            Some(Network { enclave, chains, policy })
        }
    };
    Ok(Registry {
        path: PathBuf::from(path),
        source: file,
        deployment_id,
        policy,
        aggregator,
        devnet,
        network,
    })
}

fn deployment_id(b: &Builder<'_>, text: &str) -> Result<B256, ConfigError> {
    if text.trim().is_empty() {
        return Err(b.invalid("deployment_id", "must not be empty"));
    }
    if text.starts_with("0x") {
        return text.parse().map_err(|_| {
            b.invalid(
                "deployment_id",
                "starts with 0x but is not 32 bytes of hex; give 0x + 64 hex digits or a plain name",
            )
        });
    }
    Ok(keccak256(text.as_bytes()))
}

fn policy(b: &Builder<'_>, file: &NetworksFile) -> Result<PolicySettings, ConfigError> {
    let p = &file.policy;
    if p.solvency_ratio_bps == 0 {
        return Err(b.invalid("policy.solvency_ratio_bps", "must be above 0 (10000 = 100 %)"));
    }
    if p.recovery_ratio_bps < p.solvency_ratio_bps {
        return Err(b.invalid(
            "policy.recovery_ratio_bps",
            format!(
                "{} is below solvency_ratio_bps {}: recovery must start before insolvency",
                p.recovery_ratio_bps, p.solvency_ratio_bps
            ),
        ));
    }
    for (key, value) in [
        ("policy.max_report_age_secs", p.max_report_age_secs),
        ("policy.attestation_validity_secs", p.attestation_validity_secs),
        ("policy.attestation_interval_secs", p.attestation_interval_secs),
    ] {
        b.at_least_one(key, value)?;
    }
    // The contracts refuse an attestation valid for longer than their maxValidity (one day
    // unless the owner changes it); a longer window here would make every publish fail.
    if p.attestation_validity_secs > 86_400 {
        return Err(b.invalid(
            "policy.attestation_validity_secs",
            "must be at most 86400 (one day), the contracts' default maxValidity",
        ));
    }
    if p.attestation_interval_secs >= p.attestation_validity_secs {
        return Err(b.invalid(
            "policy.attestation_interval_secs",
            "must be shorter than attestation_validity_secs, or consumers read false between attestations",
        ));
    }
    if p.max_report_age_secs > 30 * 86_400 || p.max_clock_skew_secs > 86_400 {
        return Err(b.invalid(
            "policy",
            "max_report_age_secs is at most 30 days and max_clock_skew_secs at most one day",
        ));
    }
    let protocol =
        p.protocol.as_deref().map(|text| b.address("policy.protocol", text)).transpose()?;
    let release_ratio_bps = p.release_ratio_bps.unwrap_or(p.recovery_ratio_bps + 1_000);
    if release_ratio_bps < p.recovery_ratio_bps {
        return Err(b.invalid(
            "policy.release_ratio_bps",
            format!(
                "{release_ratio_bps} is below recovery_ratio_bps {}: a draw would be released as soon as it was made",
                p.recovery_ratio_bps
            ),
        ));
    }
    for (key, value) in [
        ("policy.draw_premium_bps", p.draw_premium_bps),
        ("policy.standby_fee_bps_per_year", p.standby_fee_bps_per_year),
    ] {
        if value > 10_000 {
            return Err(b.invalid(key, format!("{value} is above 10000 (100 %)")));
        }
    }
    let max_moved_per_epoch = match p.max_moved_per_epoch_usd {
        None => U256::MAX,
        Some(0) => {
            return Err(b.invalid(
                "policy.max_moved_per_epoch_usd",
                "must be above 0 (leave it out for no cap)",
            ));
        }
        Some(usd) => U256::from(usd) * U256::from(10u64).pow(U256::from(18u64)),
    };
    let max_paid_per_epoch = match p.max_paid_per_epoch_usd {
        None => U256::MAX,
        Some(0) => {
            return Err(b.invalid(
                "policy.max_paid_per_epoch_usd",
                "must be above 0 (leave it out for no cap)",
            ));
        }
        Some(usd) => U256::from(usd) * U256::from(10u64).pow(U256::from(18u64)),
    };
    let market = match &p.market {
        None => None,
        Some(m) => {
            if m.max_bps > 10_000 || m.start_bps > m.max_bps {
                return Err(b.invalid(
                    "policy.market",
                    format!(
                        "start_bps {} and max_bps {} must satisfy start <= max <= 10000",
                        m.start_bps, m.max_bps
                    ),
                ));
            }
            if m.timeout_epochs == 0 {
                return Err(b.invalid(
                    "policy.market.timeout_epochs",
                    "must be at least 1: a need must be offered at least once",
                ));
            }
            Some(solvency_enclave::market::MarketTerms {
                start_bps: m.start_bps,
                step_bps: m.step_bps,
                max_bps: m.max_bps,
                timeout_epochs: m.timeout_epochs,
            })
        }
    };
    let calendar = match &p.calendar {
        None => None,
        Some(c) => {
            if c.period_epochs == 0 {
                return Err(b.invalid("policy.calendar.period_epochs", "must be at least 1"));
            }
            if c.lot == 0 {
                return Err(b.invalid(
                    "policy.calendar.lot",
                    "must be above 0 whole units (a zero-amount CCIP token transfer reverts)",
                ));
            }
            if c.lots_per_lane == 0 {
                return Err(b.invalid(
                    "policy.calendar.lots_per_lane",
                    "must be at least 1 (leave [policy.calendar] out for no lots)",
                ));
            }
            Some(solvency_enclave::calendar::CalendarTerms {
                period_epochs: c.period_epochs,
                lot_whole_units: c.lot,
                lots_per_lane: c.lots_per_lane,
            })
        }
    };
    Ok(PolicySettings {
        protocol,
        recovery: solvency_enclave::planner::RecoveryTerms {
            local_recovery_bps: p.local_recovery_bps,
            release_ratio_bps,
            draw_premium_bps: p.draw_premium_bps,
            standby_fee_bps_per_year: p.standby_fee_bps_per_year,
            max_moved_per_epoch,
            market,
            max_paid_per_epoch,
            calendar,
        },
        solvency_ratio_bps: p.solvency_ratio_bps,
        recovery_ratio_bps: p.recovery_ratio_bps,
        max_report_age: Duration::from_secs(p.max_report_age_secs),
        max_clock_skew: Duration::from_secs(p.max_clock_skew_secs),
        attestation_validity: Duration::from_secs(p.attestation_validity_secs),
        attestation_interval: Duration::from_secs(p.attestation_interval_secs),
    })
}

fn aggregator(b: &Builder<'_>, file: &NetworksFile) -> Result<AggregatorConfig, ConfigError> {
    let a = &file.aggregator;
    // A key in the file itself is for devnets only: on a real chain it would sit in a file that
    // is copied, committed and shared. A devnet's chains are test chains, or forks of real ones
    // that only a local anvil serves.
    let local = |url: &str| {
        url::Url::parse(url)
            .is_ok_and(|u| matches!(u.host_str(), Some("127.0.0.1" | "localhost" | "[::1]")))
    };
    let devnet = !file.chains.is_empty()
        && file.chains.iter().all(|c| {
            crate::selectors::by_chain_id(c.chain_id).is_some_and(|official| official.test)
                || (file.devnet.forked
                    && local(&c.rpc_url)
                    && c.fallback_rpc_urls.iter().all(|u| local(u)))
        });
    if a.publisher_key_literal && a.publisher_key.is_some() && !file.chains.is_empty() && !devnet {
        return Err(b.invalid(
            "aggregator.publisher_key",
            "is a secret key written in the file, and these are not devnet chains: give it as \
             \"${VAR}\" (an environment variable), SOLVENCY_PUBLISHER_KEY, or publisher_keystore",
        ));
    }
    if a.publisher_key.is_some() && a.publisher_keystore.is_some() {
        return Err(b.invalid(
            "aggregator.publisher_keystore",
            "give publisher_key or publisher_keystore, not both",
        ));
    }
    let publisher = match &a.publisher_key {
        None => None,
        Some(secret) => Some(
            secret
                .0
                .trim()
                .parse::<B256>()
                .ok()
                .and_then(|bytes| PrivateKeySigner::from_bytes(&bytes).ok())
                .ok_or_else(|| {
                    b.invalid(
                        "aggregator.publisher_key",
                        "is not a secp256k1 secret key (0x + 64 hex digits)",
                    )
                })?,
        ),
    };
    b.at_least_one("aggregator.poll_interval_ms", a.poll_interval_ms)?;
    b.at_least_one("aggregator.delivery_timeout_secs", a.delivery_timeout_secs)?;
    if a.delivery_timeout_secs > MAX_DELIVERY_TIMEOUT_SECS {
        return Err(b.invalid(
            "aggregator.delivery_timeout_secs",
            format!("must be at most {MAX_DELIVERY_TIMEOUT_SECS} (one week)"),
        ));
    }
    if a.poll_interval_ms > 600_000 {
        return Err(b.invalid("aggregator.poll_interval_ms", "must be at most 600000 (10 minutes)"));
    }
    Ok(AggregatorConfig {
        state_dir: b.resolve(&a.state_dir),
        publisher,
        publisher_unset: a.publisher_unset.clone(),
        publisher_keystore: a.publisher_keystore.as_deref().map(|p| b.resolve(p)),
        poll_interval: Duration::from_millis(a.poll_interval_ms),
        delivery_timeout: Duration::from_secs(a.delivery_timeout_secs),
    })
}

fn wei(b: &Builder<'_>, key: &str, text: &str) -> Result<U256, ConfigError> {
    U256::from_str_radix(text.trim(), 10)
        .map_err(|_| b.invalid(key, format!("{text:?} is not a decimal amount of wei")))
}

fn devnet(b: &Builder<'_>, file: &NetworksFile) -> Result<DevnetSettings, ConfigError> {
    let d = &file.devnet;
    check_devnet_chains(d.chains).map_err(|problem| b.invalid("devnet.chains", problem))?;
    b.at_least_one("devnet.poll_interval_ms", d.poll_interval_ms)?;
    b.at_least_one("devnet.quote_round_secs", d.quote_round_secs)?;
    if d.attestation_gas_limit < 100_000 {
        return Err(b.invalid(
            "devnet.attestation_gas_limit",
            "below 100000 a spoke cannot verify signatures and store the attestation",
        ));
    }
    if d.report_gas_limit < 50_000 {
        return Err(
            b.invalid("devnet.report_gas_limit", "below 50000 the hub cannot emit a report")
        );
    }
    let assets = assets(b, "devnet.assets", &d.assets)?;
    if let Some(j) =
        d.assets.iter().position(|a| !a.reserves.is_empty() || !a.liabilities.is_empty())
    {
        return Err(b.invalid(
            format!("devnet.assets[{j}]"),
            "sources belong to a chain's assets ([[chains.assets.reserves]]), not to the devnet's template",
        ));
    }
    Ok(DevnetSettings {
        chains: d.chains,
        ccip_fee: wei(b, "devnet.ccip_fee_wei", &d.ccip_fee_wei)?,
        hub_funding: wei(b, "devnet.hub_funding_wei", &d.hub_funding_wei)?,
        poll_interval: Duration::from_millis(d.poll_interval_ms),
        attestation_gas_limit: d.attestation_gas_limit,
        report_gas_limit: d.report_gas_limit,
        assets,
        quote_round: Duration::from_secs(d.quote_round_secs),
        lanes: d.lanes,
    })
}

/// Checks a number of devnet chains (from the file or a command line).
pub fn check_devnet_chains(chains: usize) -> Result<(), String> {
    if chains == 0 || chains > MAX_DEVNET_CHAINS {
        return Err(format!(
            "{chains} is outside 1..={MAX_DEVNET_CHAINS} (the official CCIP test chain ids \
             90000001–90000100)"
        ));
    }
    Ok(())
}

fn assets(
    b: &Builder<'_>,
    key: &str,
    sections: &[AssetSection],
) -> Result<Vec<AssetPolicy>, ConfigError> {
    let mut out: Vec<AssetPolicy> = Vec::with_capacity(sections.len());
    for (j, asset) in sections.iter().enumerate() {
        let key = |field: &str| format!("{key}[{j}].{field}");
        let symbol = asset.symbol.trim();
        if symbol.is_empty() {
            return Err(b.invalid(key("symbol"), "must not be empty"));
        }
        if out.iter().any(|a| a.symbol == symbol) {
            return Err(b.invalid(key("symbol"), format!("{symbol} is registered twice")));
        }
        if asset.decimals > 36 {
            return Err(b.invalid(key("decimals"), "must be at most 36"));
        }
        let price_e18 =
            parse_price_e18(&asset.price_usd).map_err(|p| b.invalid(key("price_usd"), p))?;
        if price_e18.is_zero() {
            return Err(b.invalid(
                key("price_usd"),
                "is 0: reserves of a worthless asset count for nothing; give its price or remove it",
            ));
        }
        if asset.haircut_bps > 10_000 {
            return Err(b.invalid(key("haircut_bps"), "must be at most 10000 (100 %)"));
        }
        out.push(AssetPolicy {
            symbol: symbol.to_owned(),
            id: solvency_enclave::asset_id(symbol),
            decimals: asset.decimals,
            price_e18,
            haircut_bps: asset.haircut_bps,
        });
    }
    Ok(out)
}

/// The symbol of a chain's vault collateral: given exactly when the chain has a vault, and one
/// of its assets.
fn vault_asset(
    b: &Builder<'_>,
    key: &dyn Fn(&str) -> String,
    chain: &ChainSection,
) -> Result<Option<String>, ConfigError> {
    match (&chain.vault, &chain.vault_asset) {
        (None, None) => Ok(None),
        (Some(_), None) => Err(b.invalid(
            key("vault_asset"),
            "a chain with a `vault` names its collateral: give vault_asset, the symbol of one of its assets",
        )),
        (None, Some(_)) => Err(b.invalid(key("vault_asset"), "applies only to a chain with a `vault`")),
        (Some(_), Some(symbol)) => {
            let symbol = symbol.trim();
            if !chain.assets.iter().any(|a| a.symbol.trim() == symbol) {
                return Err(b.invalid(
                    key("vault_asset"),
                    format!("{symbol:?} is not one of the chain's assets"),
                ));
            }
            Ok(Some(symbol.to_owned()))
        }
    }
}

/// The longest a source read may take.
const MAX_SOURCE_TIMEOUT_SECS: u64 = 300;

fn reporting(
    b: &Builder<'_>,
    key: &str,
    r: &ReportingSection,
    policy: &PolicySettings,
) -> Result<Reporting, ConfigError> {
    let max_age = policy.max_report_age.as_secs();
    let heartbeat = match r.heartbeat_secs {
        // 40 % of the report age: two heartbeats fit before a report expires.
        None => (max_age * 2 / 5).max(1),
        Some(heartbeat) => {
            b.at_least_one(&format!("{key}.heartbeat_secs"), heartbeat)?;
            if heartbeat >= max_age {
                return Err(b.invalid(
                    format!("{key}.heartbeat_secs"),
                    format!(
                        "{heartbeat} is not below [policy] max_report_age_secs ({max_age}): the \
                         enclave would refuse or outlive each report before the next; give a \
                         heartbeat well below it"
                    ),
                ));
            }
            heartbeat
        }
    };
    let poll = match r.poll_secs {
        None => heartbeat.min(10),
        Some(poll) => {
            b.at_least_one(&format!("{key}.poll_secs"), poll)?;
            if poll > heartbeat {
                return Err(b.invalid(
                    format!("{key}.poll_secs"),
                    format!(
                        "{poll} exceeds the heartbeat ({heartbeat} s), which is kept at the polls"
                    ),
                ));
            }
            poll
        }
    };
    if r.deviation_bps > 100_000 {
        return Err(b.invalid(format!("{key}.deviation_bps"), "must be at most 100000 (1000 %)"));
    }
    Ok(Reporting {
        heartbeat: Duration::from_secs(heartbeat),
        deviation_bps: r.deviation_bps,
        poll: Duration::from_secs(poll),
    })
}

fn sources(
    b: &Builder<'_>,
    key: &str,
    assets: &[AssetSection],
) -> Result<Vec<AssetSources>, ConfigError> {
    let mut out = Vec::new();
    for (j, asset) in assets.iter().enumerate() {
        if asset.reserves.is_empty() && asset.liabilities.is_empty() {
            continue;
        }
        let side = |name: &str, list: &[SourceSection]| -> Result<Vec<Source>, ConfigError> {
            list.iter()
                .enumerate()
                .map(|(n, s)| source(b, &format!("{key}[{j}].{name}[{n}]"), s))
                .collect()
        };
        out.push(AssetSources {
            symbol: asset.symbol.trim().to_owned(),
            decimals: asset.decimals,
            reserves: side("reserves", &asset.reserves)?,
            liabilities: side("liabilities", &asset.liabilities)?,
        });
    }
    Ok(out)
}

fn source(b: &Builder<'_>, key: &str, s: &SourceSection) -> Result<Source, ConfigError> {
    // Which keys each kind takes; any other key given is a mistake worth naming.
    let given: [(&str, bool); 8] = [
        ("token", s.token.is_some()),
        ("holders", !s.holders.is_empty()),
        ("feed", s.feed.is_some()),
        ("max_age_secs", s.max_age_secs.is_some()),
        ("url", s.url.is_some()),
        ("pointer", s.pointer.is_some()),
        ("headers_from_env", !s.headers_from_env.is_empty()),
        ("unit", s.unit.is_some()),
    ];
    let takes: &[&str] = match s.kind.as_str() {
        "erc20_balance" => &["token", "holders"],
        "erc20_supply" => &["token"],
        "chainlink_feed" => &["feed", "max_age_secs"],
        "http_json" => &["url", "pointer", "headers_from_env", "unit"],
        other => {
            return Err(b.invalid(
                format!("{key}.kind"),
                format!(
                    "{other:?} is not a source kind: give erc20_balance, erc20_supply, \
                     chainlink_feed or http_json"
                ),
            ));
        }
    };
    if let Some((extra, _)) = given.iter().find(|(name, set)| *set && !takes.contains(name)) {
        return Err(b.invalid(
            format!("{key}.{extra}"),
            format!("does not apply to kind {} (it takes {})", s.kind, takes.join(", ")),
        ));
    }
    let need = |field: &str, value: &Option<String>| {
        value.clone().ok_or_else(|| {
            b.invalid(format!("{key}.{field}"), format!("kind {} needs `{field}`", s.kind))
        })
    };
    let kind = match s.kind.as_str() {
        "erc20_balance" => {
            let token = b.address(&format!("{key}.token"), &need("token", &s.token)?)?;
            if s.holders.is_empty() {
                return Err(b.invalid(
                    format!("{key}.holders"),
                    "kind erc20_balance needs `holders`: the addresses whose balances count",
                ));
            }
            let mut holders = Vec::with_capacity(s.holders.len());
            for (n, text) in s.holders.iter().enumerate() {
                let holder = b.address(&format!("{key}.holders[{n}]"), text)?;
                if holders.contains(&holder) {
                    return Err(b.invalid(
                        format!("{key}.holders[{n}]"),
                        "is listed twice: it would be counted twice",
                    ));
                }
                holders.push(holder);
            }
            SourceKind::Erc20Balance { token, holders }
        }
        "erc20_supply" => SourceKind::Erc20Supply {
            token: b.address(&format!("{key}.token"), &need("token", &s.token)?)?,
        },
        "chainlink_feed" => {
            let feed = b.address(&format!("{key}.feed"), &need("feed", &s.feed)?)?;
            let max_age = s.max_age_secs.ok_or_else(|| {
                b.invalid(
                    format!("{key}.max_age_secs"),
                    "kind chainlink_feed needs `max_age_secs`: the feed's heartbeat, past which its answer is stale",
                )
            })?;
            b.at_least_one(&format!("{key}.max_age_secs"), max_age)?;
            SourceKind::ChainlinkFeed { feed, max_age: Duration::from_secs(max_age) }
        }
        _ => {
            let url = RpcUrl::parse(&need("url", &s.url)?)
                .map_err(|p| b.invalid(format!("{key}.url"), p))?;
            if !matches!(url.expose().scheme(), "http" | "https") {
                return Err(b.invalid(
                    format!("{key}.url"),
                    "an HTTP JSON source is read over http:// or https://",
                ));
            }
            let pointer = need("pointer", &s.pointer)?;
            if !pointer.is_empty() && !pointer.starts_with('/') {
                return Err(b.invalid(
                    format!("{key}.pointer"),
                    format!(
                        "{pointer:?} is not a JSON pointer: it starts with /, as /reserves/usdc"
                    ),
                ));
            }
            let mut headers = Vec::new();
            for (name, var) in &s.headers_from_env {
                let token = |t: &str| {
                    !t.is_empty()
                        && t.bytes()
                            .all(|c| c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c))
                };
                if !token(name) {
                    return Err(b.invalid(
                        format!("{key}.headers_from_env"),
                        format!("{name:?} is not an HTTP header name"),
                    ));
                }
                if var.is_empty() || !var.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_') {
                    return Err(b.invalid(
                        format!("{key}.headers_from_env.{name}"),
                        format!("{var:?} is not an environment variable name"),
                    ));
                }
                headers.push((name.clone(), var.clone()));
            }
            let whole_units = match s.unit.as_deref() {
                None | Some("smallest") => false,
                Some("whole") => true,
                Some(other) => {
                    return Err(b.invalid(
                        format!("{key}.unit"),
                        format!("{other:?} is not a unit: give smallest (an integer in the asset's smallest unit) or whole (a decimal in whole units)"),
                    ));
                }
            };
            SourceKind::HttpJson { url, pointer, headers_from_env: headers, whole_units }
        }
    };
    let timeout = s.timeout_secs.unwrap_or(10);
    if timeout == 0 || timeout > MAX_SOURCE_TIMEOUT_SECS {
        return Err(b.invalid(
            format!("{key}.timeout_secs"),
            format!("must be between 1 and {MAX_SOURCE_TIMEOUT_SECS}"),
        ));
    }
    Ok(Source { kind, timeout: Duration::from_secs(timeout) })
}

fn chains(
    b: &Builder<'_>,
    sections: &[ChainSection],
    policy: &PolicySettings,
) -> Result<Vec<ChainConfig>, ConfigError> {
    let mut out: Vec<ChainConfig> = Vec::with_capacity(sections.len());
    for (i, chain) in sections.iter().enumerate() {
        let key = |field: &str| format!("chains[{i}].{field}");
        let name = chain.name.trim();
        if name.is_empty() {
            return Err(b.invalid(key("name"), "must not be empty"));
        }
        if out.iter().any(|c| c.name == name) {
            return Err(b.invalid(key("name"), format!("{name:?} is used twice")));
        }
        if chain.selector == 0 {
            return Err(b.invalid(key("selector"), "0 is not a CCIP chain selector"));
        }
        if let Some(other) = out.iter().find(|c| c.selector == chain.selector) {
            return Err(b.invalid(
                key("selector"),
                format!("{} is also the selector of {}", chain.selector, other.name),
            ));
        }
        if chain.chain_id == 0 {
            return Err(b.invalid(key("chain_id"), "0 is not an EVM chain id"));
        }
        // CCIP delivers by selector: one that is not the chain's own would send every message
        // to another chain, or nowhere.
        if let Some(official) = crate::selectors::by_chain_id(chain.chain_id)
            && official.selector != chain.selector
        {
            return Err(b.invalid(
                key("selector"),
                format!(
                    "{} is not the CCIP selector of chain id {} ({}), which is {}",
                    chain.selector, chain.chain_id, official.name, official.selector
                ),
            ));
        }
        if let Some(official) = crate::selectors::by_selector(chain.selector)
            && official.chain_id != chain.chain_id
        {
            return Err(b.invalid(
                key("selector"),
                format!(
                    "{} is the CCIP selector of chain id {} ({}), not of {}",
                    chain.selector, official.chain_id, official.name, chain.chain_id
                ),
            ));
        }
        if let Some(other) = out.iter().find(|c| c.chain_id == chain.chain_id) {
            return Err(b.invalid(
                key("chain_id"),
                format!("{} is also the chain id of {}", chain.chain_id, other.name),
            ));
        }
        let rpc_url = RpcUrl::parse(&chain.rpc_url).map_err(|p| b.invalid(key("rpc_url"), p))?;
        let mut fallback_rpc_urls = Vec::with_capacity(chain.fallback_rpc_urls.len());
        for (j, text) in chain.fallback_rpc_urls.iter().enumerate() {
            let field = key(&format!("fallback_rpc_urls[{j}]"));
            let url = RpcUrl::parse(text).map_err(|p| b.invalid(&field, p))?;
            if url == rpc_url || fallback_rpc_urls.contains(&url) {
                return Err(b.invalid(field, "is listed twice"));
            }
            fallback_rpc_urls.push(url);
        }
        for (field, value) in [
            ("hub", &chain.hub),
            ("spoke", &chain.spoke),
            ("vault", &chain.vault),
            ("quote_board", &chain.quote_board),
        ] {
            if value.as_deref().map(str::trim) == Some(DEPLOY) {
                return Err(b.invalid(
                    key(field),
                    "is \"deploy\": run `solvency deploy --config FILE` to deploy it and write its address here",
                ));
            }
        }
        let role = match (&chain.hub, &chain.spoke) {
            (Some(hub), None) => ChainRole::Hub(b.address(&key("hub"), hub)?),
            (None, Some(spoke)) => ChainRole::Spoke(b.address(&key("spoke"), spoke)?),
            _ => {
                return Err(
                    b.invalid(key("hub"), "give exactly one of `hub` (the hub chain) or `spoke`")
                );
            }
        };
        if chain.confirmations > MAX_CONFIRMATIONS {
            return Err(b.invalid(
                key("confirmations"),
                format!(
                    "must be at most {MAX_CONFIRMATIONS} (more than any chain's finality depth)"
                ),
            ));
        }
        b.at_least_one(&key("log_page_blocks"), chain.log_page_blocks)?;
        if chain.assets.is_empty() {
            return Err(b.invalid(key("assets"), "register at least one asset"));
        }
        let ccip_latency = Duration::from_secs(chain.ccip_latency_secs.unwrap_or_else(|| {
            match crate::selectors::by_chain_id(chain.chain_id) {
                Some(official) if !official.test => DEFAULT_CCIP_LATENCY_SECS,
                _ => 0,
            }
        }));
        if chain.quote_board.is_some() && chain.hub.is_none() {
            return Err(b.invalid(key("quote_board"), "the quote board is the hub chain's"));
        }
        let reporter_account = chain
            .reporter_account
            .as_deref()
            .map(|a| b.address(&key("reporter_account"), a))
            .transpose()?;
        out.push(ChainConfig {
            reporter_account,
            ccip_latency,
            fallback_rpc_urls,
            name: name.to_owned(),
            chain_id: chain.chain_id,
            selector: chain.selector,
            rpc_url,
            router: b.address(&key("router"), &chain.router)?,
            role,
            confirmations: chain.confirmations,
            log_page_blocks: chain.log_page_blocks,
            from_block: chain.from_block,
            required: chain.required,
            reporter: b.x25519(&key("reporter_public_key"), &chain.reporter_public_key)?,
            treasury: b.x25519(&key("treasury_public_key"), &chain.treasury_public_key)?,
            assets: assets(b, &format!("chains[{i}].assets"), &chain.assets)?,
            sources: sources(b, &format!("chains[{i}].assets"), &chain.assets)?,
            vault: chain.vault.as_deref().map(|v| b.address(&key("vault"), v)).transpose()?,
            vault_asset: vault_asset(b, &key, chain)?,
            quote_board: chain
                .quote_board
                .as_deref()
                .map(|a| b.address(&key("quote_board"), a))
                .transpose()?,
            reporting: reporting(b, &key("reporting"), &chain.reporting, policy)?,
        });
    }
    let hubs = out.iter().filter(|c| c.role.is_hub()).count();
    if hubs != 1 {
        return Err(b.invalid("chains", format!("{hubs} chains have a `hub`; exactly one must")));
    }
    if !out.iter().any(|c| c.required) {
        return Err(b.invalid("chains", "mark at least one chain `required = true`"));
    }
    Ok(out)
}

fn enclave_config(b: &Builder<'_>, e: &EnclaveSection) -> Result<EnclaveConfig, ConfigError> {
    let hpke_public_key = b.x25519("enclave.hpke_public_key", &e.hpke_public_key)?;
    if e.signers.is_empty() {
        return Err(b.invalid("enclave.signers", "list at least one enclave signer address"));
    }
    let mut signers = Vec::with_capacity(e.signers.len());
    for (i, text) in e.signers.iter().enumerate() {
        let signer = b.address(&format!("enclave.signers[{i}]"), text)?;
        if signers.contains(&signer) {
            return Err(b.invalid(format!("enclave.signers[{i}]"), "is listed twice"));
        }
        signers.push(signer);
    }
    if e.threshold == 0 {
        return Err(b.invalid("enclave.threshold", "must be at least 1"));
    }
    let mode = match (&e.key_file, e.instances.is_empty()) {
        (Some(_), false) => {
            return Err(b.invalid(
                "enclave.key_file",
                "give either key_file (one in-process enclave) or instances (a quorum), not both",
            ));
        }
        (Some(key_file), true) => {
            if e.threshold != 1 {
                return Err(b.invalid(
                    "enclave.threshold",
                    "an in-process enclave signs alone: a threshold above 1 needs served `instances`",
                ));
            }
            Some(EnclaveMode::InProcess { key_file: b.resolve(key_file) })
        }
        (None, false) => {
            if usize::from(e.threshold) > e.instances.len() {
                return Err(b.invalid(
                    "enclave.threshold",
                    format!(
                        "{} signatures can never come from {} instance(s)",
                        e.threshold,
                        e.instances.len()
                    ),
                ));
            }
            Some(EnclaveMode::Quorum {
                instances: e.instances.iter().map(|p| b.resolve(p)).collect(),
                threshold: e.threshold,
            })
        }
        (None, true) => None,
    };
    let mut pcrs = std::collections::BTreeMap::new();
    for (index, value) in &e.evidence.pcrs {
        let key = format!("enclave.evidence.pcrs.{index:?}");
        let n: u8 = index
            .trim()
            .parse()
            .ok()
            .filter(|n| *n < 32)
            .ok_or_else(|| b.invalid(&key, "the key must be a PCR index from 0 to 31"))?;
        let bytes: Bytes =
            value.trim().parse().ok().filter(|v: &Bytes| v.len() == PCR_LEN).ok_or_else(|| {
                b.invalid(
                    &key,
                    format!("is not a PCR value: 0x + {} hex digits (SHA-384)", PCR_LEN * 2),
                )
            })?;
        pcrs.insert(n, bytes);
    }
    b.at_least_one("enclave.evidence.max_age_secs", e.evidence.max_age_secs)?;
    b.at_least_one("enclave.evidence.registration_ttl_secs", e.evidence.registration_ttl_secs)?;
    let ledger = match &e.ledger {
        None => None,
        Some(l) => {
            let public_key = b.x25519("enclave.ledger.public_key", &l.public_key)?;
            if l.measurements.is_empty() {
                return Err(b.invalid(
                    "enclave.ledger.measurements",
                    "list at least one measurement of code that may hold the ledger key",
                ));
            }
            let mut measurements = Vec::with_capacity(l.measurements.len());
            for (i, text) in l.measurements.iter().enumerate() {
                let key = format!("enclave.ledger.measurements[{i}]");
                let m: B256 = text
                    .trim()
                    .parse()
                    .map_err(|_| b.invalid(&key, "is not a measurement (0x + 64 hex digits)"))?;
                if measurements.contains(&m) {
                    return Err(b.invalid(&key, "is listed twice"));
                }
                measurements.push(m);
            }
            Some(LedgerConfig {
                policy: solvency_enclave::LedgerKeyPolicy {
                    public_key,
                    measurements,
                    allow_dev: e.evidence.allow_dev,
                    max_evidence_age: e.evidence.max_age_secs,
                },
                key_file: l.key_file.as_deref().map(|p| b.resolve(p)),
            })
        }
    };
    Ok(EnclaveConfig {
        hpke_public_key,
        signers,
        mode,
        ledger,
        evidence: EvidenceConfig {
            policy: EvidencePolicy {
                allow_dev: e.evidence.allow_dev,
                max_age: e.evidence.max_age_secs,
                pcrs,
                ..Default::default()
            },
            registration_ttl: Duration::from_secs(e.evidence.registration_ttl_secs),
        },
    })
}

/// What `hub` or `spoke` says in a registry whose contract `solvency deploy` is to deploy.
pub const DEPLOY: &str = "deploy";

/// CCIP's delivery latency from a chain of the official table, unless the registry says.
pub const DEFAULT_CCIP_LATENCY_SECS: u64 = 1_200;

/// "3000.25" → 3000.25 × 10^18, exactly; at most 18 decimals.
pub fn parse_price_e18(text: &str) -> Result<U256, String> {
    let bad = || format!("{text:?} is not a decimal price such as \"3000.25\"");
    let (whole, fraction) = text.trim().split_once('.').unwrap_or((text.trim(), ""));
    if whole.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    if fraction.len() > 18 {
        return Err(format!("{text:?} has more than 18 decimals"));
    }
    let digits = format!("{whole}{fraction:0<18}");
    U256::from_str_radix(&digits, 10).map_err(|_| bad())
}
