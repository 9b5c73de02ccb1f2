//! `networks.toml`: the one place where chains, selectors, addresses and policy live.
//!
//! Three steps, each tested on inline TOML: [`load`] reads the file, [`interpolate`] expands
//! `${VAR}` and `${VAR:-default}` in every string (naming the key when a variable is missing),
//! and [`NetworksFile::validate`] checks values, naming the key and how to fix it.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use alloy::primitives::{Address, B256, U256, keccak256};
use serde::{Deserialize, Serialize};
use solvency_enclave::{AssetPolicy, ChainPolicy, Policy, X25519Public};

/// Why `networks.toml` cannot be used. Every message names the file and the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("{path}: cannot read: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML or does not have the expected shape.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// The parser's message, which names the line and key.
        message: String,
    },
    /// A `${VAR}` is not set and has no default.
    #[error(
        "{path}: {key}: ${{{var}}} is not set — export it or give a default with ${{{var}:-…}}"
    )]
    MissingVar {
        /// The file.
        path: String,
        /// The key whose value uses it.
        key: String,
        /// The variable.
        var: String,
    },
    /// A `${` without its closing `}`.
    #[error("{path}: {key}: unterminated ${{…}} in {value:?}")]
    Unterminated {
        /// The file.
        path: String,
        /// The key.
        key: String,
        /// The value.
        value: String,
    },
    /// A value is out of range or inconsistent.
    #[error("{path}: {key}: {problem}")]
    Invalid {
        /// The file.
        path: String,
        /// The key.
        key: String,
        /// What is wrong and how to fix it.
        problem: String,
    },
}

/// The whole file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NetworksFile {
    /// The deployment id: a 0x-prefixed 32-byte hex value, or any other string, which is hashed
    /// with keccak256.
    pub deployment_id: String,
    /// What the enclave accepts and when it attests.
    #[serde(default)]
    pub policy: PolicySection,
    /// The enclave's public keys and where its secret state lives.
    #[serde(default)]
    pub enclave: Option<EnclaveSection>,
    /// The aggregator daemon (`solvency run`).
    #[serde(default)]
    pub aggregator: AggregatorSection,
    /// The local devnet (`solvency devnet up`, `solvency demo`).
    #[serde(default)]
    pub devnet: DevnetSection,
    /// Every registered chain; exactly one is the hub.
    #[serde(default)]
    pub chains: Vec<ChainSection>,
    #[serde(skip)]
    path: String,
}

/// `[policy]`: acceptance windows, the solvency ratio and the attestation cadence.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct PolicySection {
    /// Solvent iff reserves value ≥ liabilities value × this / 10 000. Default 10000 (100 %).
    pub solvency_ratio_bps: u32,
    /// Recovery instructions are due under this ratio; at least the solvency ratio. Default 11000.
    pub recovery_ratio_bps: u32,
    /// Reports observed longer ago than this are refused, and a required chain whose latest
    /// report is this old blocks attestation. Default 600.
    pub max_report_age_secs: u64,
    /// How far in the future `observedAt` may be. Default 30.
    pub max_clock_skew_secs: u64,
    /// How long an attestation is valid. Default 900.
    pub attestation_validity_secs: u64,
    /// Re-attest at least this often while every required chain is fresh. Default 60.
    pub attestation_interval_secs: u64,
}

impl Default for PolicySection {
    fn default() -> Self {
        Self {
            solvency_ratio_bps: 10_000,
            recovery_ratio_bps: 11_000,
            max_report_age_secs: 600,
            max_clock_skew_secs: 30,
            attestation_validity_secs: 900,
            attestation_interval_secs: 60,
        }
    }
}

/// `[enclave]`
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct EnclaveSection {
    /// The X25519 key reporters seal to (0x + 64 hex digits).
    pub hpke_public_key: String,
    /// The enclave signer addresses registered on the contracts.
    pub signers: Vec<Address>,
    /// The enclave's secret key file (`solvency keys generate`); `solvency run` hosts this
    /// enclave in-process when no `instances` are given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_file: Option<PathBuf>,
    /// Unix sockets of served enclave instances (`solvency enclave serve`), for a k-of-n
    /// quorum.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub instances: Vec<PathBuf>,
    /// k: matching signatures an attestation needs (the contracts' threshold). Default 1.
    #[serde(default = "one")]
    pub threshold: u8,
    /// What evidence an enclave must show to be registered.
    #[serde(default)]
    pub evidence: EvidenceSection,
}

/// `[enclave.evidence]`: the policy `solvency enclave register` verifies evidence against.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct EvidenceSection {
    /// Accept insecure software (`dev-insecure`) evidence. Default false; the devnet sets it.
    pub allow_dev: bool,
    /// Expected Nitro PCR values, `"<index>" = "0x<hex>"`; unlisted PCRs are not checked.
    pub pcrs: std::collections::BTreeMap<String, String>,
    /// Oldest acceptable evidence, in seconds. Default 300.
    pub max_age_secs: u64,
    /// How long a registration lasts before it must be renewed with fresh evidence. Default
    /// 86400.
    pub registration_ttl_secs: u64,
}

impl Default for EvidenceSection {
    fn default() -> Self {
        Self {
            allow_dev: false,
            pcrs: Default::default(),
            max_age_secs: 300,
            registration_ttl_secs: 86_400,
        }
    }
}

impl EvidenceSection {
    /// The enclave crate's policy (without nonce or identity: the registrar adds those).
    pub fn policy(&self) -> solvency_enclave::EvidencePolicy {
        solvency_enclave::EvidencePolicy {
            allow_dev: self.allow_dev,
            max_age: self.max_age_secs,
            pcrs: self
                .pcrs
                .iter()
                .filter_map(|(index, value)| Some((index.parse().ok()?, value.parse().ok()?)))
                .collect(),
            ..Default::default()
        }
    }
}

fn one() -> u8 {
    1
}

/// `[aggregator]`
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct AggregatorSection {
    /// Where the aggregator keeps its cursor and the enclave's non-secret state.
    pub state_dir: PathBuf,
    /// Hex secret key of the account that sends `publish` (pays gas; fees come from the hub).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub publisher_key: Option<String>,
    /// How many CCIP message ids are remembered to drop duplicate deliveries. Default 100000.
    pub dedupe_capacity: u64,
    /// How often chains are polled for new logs, in milliseconds. Default 1000.
    pub poll_interval_ms: u64,
    /// How long `publish` waits for the attestation to land on every spoke. Default 120.
    pub delivery_timeout_secs: u64,
}

impl Default for AggregatorSection {
    fn default() -> Self {
        Self {
            state_dir: PathBuf::from(".solvency"),
            publisher_key: None,
            dedupe_capacity: 100_000,
            poll_interval_ms: 1_000,
            delivery_timeout_secs: 120,
        }
    }
}

/// `[[chains]]`: one registered chain.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ChainSection {
    /// A unique name.
    pub name: String,
    /// EVM chain id.
    pub chain_id: u64,
    /// CCIP chain selector (the official registry's).
    pub selector: u64,
    /// JSON-RPC endpoint.
    pub rpc_url: String,
    /// The chain's CCIP router.
    pub router: Address,
    /// The `SolvencyHub`, on the hub chain only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hub: Option<Address>,
    /// The `SolvencySpoke`, on every other chain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spoke: Option<Address>,
    /// Blocks a `ReportDelivered` log must be under before it is read (hub only). Default 0.
    #[serde(default)]
    pub confirmations: u64,
    /// Blocks per `eth_getLogs` page. Default 1000.
    #[serde(default = "default_page")]
    pub log_page_blocks: u64,
    /// No attestation without a fresh report from a required chain. Default true.
    #[serde(default = "default_true")]
    pub required: bool,
    /// The reporter's X25519 public key.
    pub reporter_public_key: String,
    /// The treasury's X25519 public key (instructions are sealed to it).
    pub treasury_public_key: String,
    /// Assets a report from this chain may carry.
    pub assets: Vec<AssetSection>,
}

fn default_page() -> u64 {
    1_000
}

fn default_true() -> bool {
    true
}

/// `[[chains.assets]]` (and `[[devnet.assets]]`).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AssetSection {
    /// Symbol; the asset id is keccak256(symbol).
    pub symbol: String,
    /// Decimals of the smallest unit.
    pub decimals: u8,
    /// Price of one whole unit in USD, as a decimal string ("3000.25").
    pub price_usd: String,
    /// Haircut on reserves in basis points. Default 0.
    #[serde(default)]
    pub haircut_bps: u16,
}

/// `[devnet]`: how the local devnet is started. Every key has a default.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct DevnetSection {
    /// Number of anvil chains (the first is the hub). Default 3.
    pub chains: usize,
    /// Fee each devnet router charges per message, in wei (a decimal string). Default 0.001 ETH.
    pub ccip_fee_wei: String,
    /// What the hub is funded with for attestation fees, in wei. Default 100 ETH.
    pub hub_funding_wei: String,
    /// How often the relayer polls each chain, in milliseconds. Default 20.
    pub poll_interval_ms: u64,
    /// Gas each spoke's `ccipReceive` gets for an attestation. Default 300000.
    pub attestation_gas_limit: u32,
    /// Gas the hub's `ccipReceive` gets for a report. Default 200000.
    pub report_gas_limit: u32,
    /// Assets every devnet chain registers.
    pub assets: Vec<AssetSection>,
}

impl Default for DevnetSection {
    fn default() -> Self {
        Self {
            chains: 3,
            ccip_fee_wei: "1000000000000000".into(),
            hub_funding_wei: "100000000000000000000".into(),
            poll_interval_ms: 20,
            attestation_gas_limit: 300_000,
            report_gas_limit: 200_000,
            assets: vec![
                AssetSection {
                    symbol: "USDC".into(),
                    decimals: 6,
                    price_usd: "1".into(),
                    haircut_bps: 0,
                },
                AssetSection {
                    symbol: "WETH".into(),
                    decimals: 18,
                    price_usd: "3000".into(),
                    haircut_bps: 1_000,
                },
            ],
        }
    }
}

/// Reads, interpolates and parses `networks.toml` (not yet validated).
pub fn load(path: &Path) -> Result<NetworksFile, ConfigError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|source| ConfigError::Read { path: shown.clone(), source })?;
    parse(&text, &shown, |var| std::env::var(var).ok())
}

/// Parses TOML text, expanding variables with `env`.
pub fn parse(
    text: &str,
    path: &str,
    env: impl Fn(&str) -> Option<String>,
) -> Result<NetworksFile, ConfigError> {
    let mut value: toml::Value = toml::from_str(text)
        .map_err(|e| ConfigError::Parse { path: path.into(), message: e.to_string() })?;
    interpolate(&mut value, path, "", &env)?;
    let mut file: NetworksFile = value.try_into().map_err(|e: toml::de::Error| {
        ConfigError::Parse { path: path.into(), message: e.to_string() }
    })?;
    file.path = path.into();
    Ok(file)
}

/// Expands `${VAR}` and `${VAR:-default}` in every string of `value`, in place.
pub fn interpolate(
    value: &mut toml::Value,
    path: &str,
    key: &str,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<(), ConfigError> {
    match value {
        toml::Value::String(s) => *s = expand(s, path, key, env)?,
        toml::Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                interpolate(item, path, &format!("{key}[{i}]"), env)?;
            }
        }
        toml::Value::Table(table) => {
            for (k, v) in table.iter_mut() {
                let child = if key.is_empty() { k.clone() } else { format!("{key}.{k}") };
                interpolate(v, path, &child, env)?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn expand(
    s: &str,
    path: &str,
    key: &str,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<String, ConfigError> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}').ok_or_else(|| ConfigError::Unterminated {
            path: path.into(),
            key: key.into(),
            value: s.into(),
        })?;
        let inner = &after[..end];
        let (var, default) = match inner.split_once(":-") {
            Some((var, default)) => (var, Some(default)),
            None => (inner, None),
        };
        match (env(var).filter(|v| !v.is_empty()), default) {
            (Some(v), _) => out.push_str(&v),
            (None, Some(default)) => out.push_str(default),
            (None, None) => {
                return Err(ConfigError::MissingVar {
                    path: path.into(),
                    key: key.into(),
                    var: var.into(),
                });
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

impl NetworksFile {
    fn invalid(&self, key: &str, problem: impl Into<String>) -> ConfigError {
        ConfigError::Invalid { path: self.path.clone(), key: key.into(), problem: problem.into() }
    }

    /// Checks every value; the first problem is returned with its key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.deployment_id.trim().is_empty() {
            return Err(self.invalid("deployment_id", "must not be empty"));
        }
        if self.deployment_id.starts_with("0x") && self.deployment_id.parse::<B256>().is_err() {
            return Err(self.invalid(
                "deployment_id",
                "starts with 0x but is not 32 bytes of hex; give 0x + 64 hex digits or a plain name",
            ));
        }
        self.validate_policy()?;
        self.validate_devnet()?;
        self.validate_chains()?;
        if let Some(enclave) = &self.enclave {
            if enclave.hpke_public_key.parse::<X25519Public>().is_err() {
                return Err(self.invalid("enclave.hpke_public_key", "is not 0x + 64 hex digits"));
            }
            if enclave.signers.is_empty() {
                return Err(
                    self.invalid("enclave.signers", "list at least one enclave signer address")
                );
            }
        }
        if let Some(key) = &self.aggregator.publisher_key
            && key.parse::<B256>().is_err()
        {
            return Err(self.invalid(
                "aggregator.publisher_key",
                "is not a 0x-prefixed 32-byte hex secret key",
            ));
        }
        for (key, value) in [
            ("aggregator.dedupe_capacity", self.aggregator.dedupe_capacity),
            ("aggregator.poll_interval_ms", self.aggregator.poll_interval_ms),
            ("aggregator.delivery_timeout_secs", self.aggregator.delivery_timeout_secs),
        ] {
            if value == 0 {
                return Err(self.invalid(key, "must be at least 1"));
            }
        }
        Ok(())
    }

    fn validate_policy(&self) -> Result<(), ConfigError> {
        let p = &self.policy;
        if p.solvency_ratio_bps == 0 {
            return Err(
                self.invalid("policy.solvency_ratio_bps", "must be above 0 (10000 = 100 %)")
            );
        }
        if p.recovery_ratio_bps < p.solvency_ratio_bps {
            return Err(self.invalid(
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
            if value == 0 {
                return Err(self.invalid(key, "must be at least 1"));
            }
        }
        if p.attestation_interval_secs >= p.attestation_validity_secs {
            return Err(self.invalid(
                "policy.attestation_interval_secs",
                "must be shorter than attestation_validity_secs, or consumers read false between attestations",
            ));
        }
        Ok(())
    }

    fn validate_devnet(&self) -> Result<(), ConfigError> {
        let d = &self.devnet;
        if d.chains == 0 || d.chains > solvency_devnet::chains::MAX_CHAINS {
            return Err(self.invalid(
                "devnet.chains",
                format!("{} is outside 1..={}", d.chains, solvency_devnet::chains::MAX_CHAINS),
            ));
        }
        for (key, value) in [
            ("devnet.ccip_fee_wei", &d.ccip_fee_wei),
            ("devnet.hub_funding_wei", &d.hub_funding_wei),
        ] {
            if U256::from_str_radix(value, 10).is_err() {
                return Err(self.invalid(key, format!("{value:?} is not a decimal amount of wei")));
            }
        }
        if d.poll_interval_ms == 0 {
            return Err(self.invalid("devnet.poll_interval_ms", "must be at least 1"));
        }
        if d.attestation_gas_limit < 100_000 {
            return Err(self.invalid(
                "devnet.attestation_gas_limit",
                "below 100000 a spoke cannot verify signatures and store the attestation",
            ));
        }
        if d.report_gas_limit < 50_000 {
            return Err(
                self.invalid("devnet.report_gas_limit", "below 50000 the hub cannot emit a report")
            );
        }
        for (i, asset) in d.assets.iter().enumerate() {
            self.validate_asset(&format!("devnet.assets[{i}]"), asset)?;
        }
        Ok(())
    }

    fn validate_asset(&self, key: &str, asset: &AssetSection) -> Result<(), ConfigError> {
        if asset.symbol.trim().is_empty() {
            return Err(self.invalid(&format!("{key}.symbol"), "must not be empty"));
        }
        if asset.decimals > 36 {
            return Err(self.invalid(&format!("{key}.decimals"), "must be at most 36"));
        }
        if let Err(problem) = parse_price_e18(&asset.price_usd) {
            return Err(self.invalid(&format!("{key}.price_usd"), problem));
        }
        if asset.haircut_bps > 10_000 {
            return Err(
                self.invalid(&format!("{key}.haircut_bps"), "must be at most 10000 (100 %)")
            );
        }
        Ok(())
    }

    fn validate_chains(&self) -> Result<(), ConfigError> {
        if self.chains.is_empty() {
            return Ok(()); // a devnet-only file
        }
        let mut hubs = 0;
        for (i, chain) in self.chains.iter().enumerate() {
            let key = |field: &str| format!("chains[{i}].{field}");
            if self.chains[..i].iter().any(|c| c.name == chain.name) {
                return Err(self.invalid(&key("name"), format!("{:?} is used twice", chain.name)));
            }
            if self.chains[..i].iter().any(|c| c.selector == chain.selector) {
                return Err(
                    self.invalid(&key("selector"), format!("{} is used twice", chain.selector))
                );
            }
            if let Err(e) = solvency_ccip::provider::connect(&chain.rpc_url) {
                return Err(self.invalid(&key("rpc_url"), e.to_string()));
            }
            match (chain.hub, chain.spoke) {
                (Some(_), None) => hubs += 1,
                (None, Some(_)) => {}
                _ => {
                    return Err(self.invalid(
                        &key("hub"),
                        "give exactly one of `hub` (the hub chain) or `spoke`",
                    ));
                }
            }
            for (field, value) in [
                ("reporter_public_key", &chain.reporter_public_key),
                ("treasury_public_key", &chain.treasury_public_key),
            ] {
                if value.parse::<X25519Public>().is_err() {
                    return Err(self
                        .invalid(&key(field), "is not an X25519 public key (0x + 64 hex digits)"));
                }
            }
            if chain.log_page_blocks == 0 {
                return Err(self.invalid(&key("log_page_blocks"), "must be at least 1"));
            }
            if chain.assets.is_empty() {
                return Err(self.invalid(&key("assets"), "register at least one asset"));
            }
            for (j, asset) in chain.assets.iter().enumerate() {
                self.validate_asset(&format!("chains[{i}].assets[{j}]"), asset)?;
                if chain.assets[..j].iter().any(|a| a.symbol == asset.symbol) {
                    return Err(self.invalid(
                        &format!("chains[{i}].assets[{j}].symbol"),
                        "is registered twice",
                    ));
                }
            }
        }
        if hubs != 1 {
            return Err(
                self.invalid("chains", format!("{hubs} chains have a `hub`; exactly one must"))
            );
        }
        if !self.chains.iter().any(|c| c.required) {
            return Err(self.invalid("chains", "mark at least one chain `required = true`"));
        }
        if self.enclave.is_none() {
            return Err(
                self.invalid("enclave", "a file with [[chains]] needs an [enclave] section")
            );
        }
        Ok(())
    }

    /// The hub chain (validated files have exactly one).
    pub fn hub_chain(&self) -> Option<&ChainSection> {
        self.chains.iter().find(|c| c.hub.is_some())
    }

    /// The enclave policy of a validated file with `[[chains]]`.
    pub fn enclave_policy(&self) -> Policy {
        let p = &self.policy;
        Policy {
            deployment_id: self.deployment_id(),
            chains: self
                .chains
                .iter()
                .map(|c| ChainPolicy {
                    name: c.name.clone(),
                    selector: c.selector,
                    reporter: c.reporter_public_key.parse().expect("validated"),
                    treasury: c.treasury_public_key.parse().expect("validated"),
                    required: c.required,
                    assets: c.assets.iter().map(AssetSection::policy).collect(),
                })
                .collect(),
            max_report_age: p.max_report_age_secs,
            max_clock_skew: p.max_clock_skew_secs,
            solvency_ratio_bps: p.solvency_ratio_bps,
            recovery_ratio_bps: p.recovery_ratio_bps,
            attestation_validity: p.attestation_validity_secs,
        }
    }

    /// The file's path as given.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Writes the file as TOML (for generated devnet registries).
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        let text = toml::to_string_pretty(self).expect("a networks file serializes");
        std::fs::write(
            path,
            format!("# Generated by `solvency`; the registry of one local devnet.\n{text}"),
        )
    }
}

impl AssetSection {
    /// The enclave's view of a validated asset.
    pub fn policy(&self) -> AssetPolicy {
        AssetPolicy {
            symbol: self.symbol.clone(),
            id: solvency_enclave::asset_id(&self.symbol),
            decimals: self.decimals,
            price_e18: parse_price_e18(&self.price_usd).expect("validated"),
            haircut_bps: self.haircut_bps,
        }
    }
}

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

impl NetworksFile {
    /// The deployment id as bytes32.
    pub fn deployment_id(&self) -> B256 {
        self.deployment_id.parse().unwrap_or_else(|_| keccak256(self.deployment_id.as_bytes()))
    }

    /// The devnet settings as a [`solvency_devnet::DevnetConfig`] (validated values).
    pub fn devnet_config(&self) -> solvency_devnet::DevnetConfig {
        let d = &self.devnet;
        solvency_devnet::DevnetConfig {
            chains: d.chains,
            deployment_id: self.deployment_id(),
            ccip_fee: U256::from_str_radix(&d.ccip_fee_wei, 10).unwrap_or_default(),
            hub_funding: U256::from_str_radix(&d.hub_funding_wei, 10).unwrap_or_default(),
            poll_interval: Duration::from_millis(d.poll_interval_ms),
            attestation_gas_limit: d.attestation_gas_limit,
            report_gas_limit: d.report_gas_limit,
            ..solvency_devnet::DevnetConfig::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> =
            vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    #[test]
    fn defaults_apply_when_the_devnet_section_is_absent() {
        let file = parse("deployment_id = \"x\"", "n.toml", env(&[])).unwrap();
        file.validate().unwrap();
        assert_eq!(file.devnet.chains, 3);
        assert_eq!(file.deployment_id(), keccak256("x"));
    }

    #[test]
    fn interpolation_uses_the_variable_then_the_default() {
        let text =
            "deployment_id = \"${ID:-fallback}\"\n[devnet]\nchains = 4\nccip_fee_wei = \"${FEE}\"";
        let file = parse(text, "n.toml", env(&[("FEE", "7")])).unwrap();
        assert_eq!(file.deployment_id, "fallback");
        assert_eq!(file.devnet.ccip_fee_wei, "7");
        let file = parse(text, "n.toml", env(&[("FEE", "7"), ("ID", "prod")])).unwrap();
        assert_eq!(file.deployment_id, "prod");
    }

    #[test]
    fn a_missing_variable_names_the_key_and_the_fix() {
        let text = "deployment_id = \"x\"\n[devnet]\nccip_fee_wei = \"${FEE}\"";
        let err = parse(text, "n.toml", env(&[])).unwrap_err().to_string();
        assert_eq!(
            err,
            "n.toml: devnet.ccip_fee_wei: ${FEE} is not set — export it or give a default with ${FEE:-…}"
        );
        let err = parse("deployment_id = \"${ID\"", "n.toml", env(&[])).unwrap_err().to_string();
        assert!(err.contains("deployment_id: unterminated"), "{err}");
    }

    #[test]
    fn unknown_keys_and_bad_values_are_named() {
        let err = parse("deployment_id = \"x\"\n[devnet]\nchain = 3", "n.toml", env(&[]))
            .unwrap_err()
            .to_string();
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
        ] {
            let err = parse(text, "n.toml", env(&[])).unwrap().validate().unwrap_err().to_string();
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

[[chains]]
name = "hub"
chain_id = 1
selector = 11
rpc_url = "${{HUB_RPC:-http://127.0.0.1:8545}}"
router = "0x0000000000000000000000000000000000000001"
hub = "0x0000000000000000000000000000000000000002"
reporter_public_key = "{KEY}"
treasury_public_key = "{KEY}"
assets = [{{ symbol = "USDC", decimals = 6, price_usd = "1" }}]

[[chains]]
name = "spoke"
chain_id = 2
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
    fn a_full_registry_validates_and_becomes_the_enclave_policy() {
        let file = parse(&with_chains(""), "n.toml", env(&[])).unwrap();
        file.validate().unwrap();
        assert_eq!(file.chains[0].rpc_url, "http://127.0.0.1:8545");
        assert_eq!(file.hub_chain().unwrap().name, "hub");
        let policy = file.enclave_policy();
        assert_eq!(policy.chains.len(), 2);
        let weth = &policy.chains[1].assets[0];
        assert_eq!(weth.price_e18, U256::from(3_000_250_000_000_000_000_000u128));
        assert_eq!((weth.decimals, weth.haircut_bps), (18, 1000));
        assert_eq!(weth.id, keccak256("WETH"));
    }

    #[test]
    fn registry_mistakes_are_named() {
        for (edit, key) in [
            (("selector = 22", "selector = 11"), "chains[1].selector"),
            (("name = \"spoke\"", "name = \"hub\""), "chains[1].name"),
            (
                (
                    "spoke = \"0x0000000000000000000000000000000000000003\"",
                    "hub = \"0x0000000000000000000000000000000000000003\"",
                ),
                "chains",
            ),
            (
                ("rpc_url = \"http://127.0.0.1:8546\"", "rpc_url = \"not a url\""),
                "chains[1].rpc_url",
            ),
            (("price_usd = \"3000.25\"", "price_usd = \"3,000\""), "chains[1].assets[0].price_usd"),
            (("haircut_bps = 1000", "haircut_bps = 10001"), "chains[1].assets[0].haircut_bps"),
        ] {
            let text = with_chains("").replacen(edit.0, edit.1, 1);
            let err = parse(&text, "n.toml", env(&[])).unwrap().validate().unwrap_err().to_string();
            assert!(err.starts_with(&format!("n.toml: {key}: ")), "{edit:?} gave {err}");
        }
        let text = with_chains("").replace(
            &format!("treasury_public_key = \"{KEY}\"\nassets = [{{ symbol = \"WETH\""),
            "treasury_public_key = \"0x12\"\nassets = [{ symbol = \"WETH\"",
        );
        let err = parse(&text, "n.toml", env(&[])).unwrap().validate().unwrap_err().to_string();
        assert!(err.contains("chains[1].treasury_public_key"), "{err}");
        let policy = "[policy]\nsolvency_ratio_bps = 12000\nrecovery_ratio_bps = 11000";
        let err = parse(&with_chains(policy), "n.toml", env(&[]))
            .unwrap()
            .validate()
            .unwrap_err()
            .to_string();
        assert!(err.contains("policy.recovery_ratio_bps"), "{err}");
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
        load(&path).unwrap().validate().unwrap();
    }
}
