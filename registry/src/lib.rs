//! `networks.toml`: the one place where chains, selectors, routers, addresses and policy live.
//!
//! Loading is three steps, each tested on inline TOML: read the file, expand `${VAR}` and
//! `${VAR:-default}` in every string ([`interpolate`]), then validate every value into typed
//! form ([`Registry`]). Errors name the file and the key and say how to fix it. Nothing
//! downstream parses a string from the registry again.
//!
//! Writing goes through [`edit`]: a change touches only the keys it means to change, in place,
//! keeping comments, layout and `${VAR}` templates, so an expanded secret is never written back.
//!
//! This crate builds no network client and knows nothing of the devnet.

mod build;
pub mod edit;
mod error;
mod interpolate;
pub mod schema;
pub mod selectors;
mod types;

use std::path::{Path, PathBuf};

use alloy::primitives::B256;
use solvency_enclave::Policy;

pub use build::{
    DEFAULT_CCIP_LATENCY_SECS, DEPLOY, MAX_CONFIRMATIONS, MAX_DELIVERY_TIMEOUT_SECS,
    MAX_DEVNET_CHAINS, check_devnet_chains, parse_price_e18,
};
pub use error::ConfigError;
pub use schema::NetworksFile;
pub use types::{
    AggregatorConfig, AssetSources, ChainConfig, ChainRole, DevnetSettings, EnclaveConfig,
    EnclaveMode, EvidenceConfig, LedgerConfig, PolicySettings, Reporting, RpcUrl, Source,
    SourceKind,
};

/// A validated `networks.toml`.
#[derive(Clone)]
pub struct Registry {
    path: PathBuf,
    source: NetworksFile,
    /// The deployment id, bound into every sealed message and attestation.
    pub deployment_id: B256,
    /// `[policy]`.
    pub policy: PolicySettings,
    /// `[aggregator]`.
    pub aggregator: AggregatorConfig,
    /// `[devnet]`.
    pub devnet: DevnetSettings,
    network: Option<Network>,
}

/// Everything but the file's text: its strings, expanded, can hold an RPC URL's API key or a
/// source's, which the typed values show redacted.
impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("path", &self.path)
            .field("deployment_id", &self.deployment_id)
            .field("policy", &self.policy)
            .field("aggregator", &self.aggregator)
            .field("devnet", &self.devnet)
            .field("network", &self.network)
            .finish_non_exhaustive()
    }
}

/// The chains of a deployment and its enclave: present when the file has `[[chains]]`.
#[derive(Clone, Debug)]
pub struct Network {
    /// `[enclave]`.
    pub enclave: EnclaveConfig,
    /// Every chain, in file order; exactly one is the hub.
    pub chains: Vec<ChainConfig>,
    /// The policy the enclave judges by, built once from the file.
    pub policy: Policy,
}

impl Registry {
    /// Reads, interpolates with the process environment, and validates a file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { path: shown.clone(), source })?;
        Self::parse(&text, &shown, &|var| std::env::var(var).ok())
    }

    /// Parses TOML text that was read from `path`, expanding variables with `env`.
    pub fn parse(
        text: &str,
        path: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        Self::from_source(read_source(text, path, env)?, path)
    }

    /// Validates an interpolated file (as [`Registry::source`] gives, perhaps edited).
    pub fn from_source(file: NetworksFile, path: &str) -> Result<Self, ConfigError> {
        build::build(file, path)
    }

    /// The file it was loaded from: relative paths in it are relative to its directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The interpolated file this registry was built from, to derive another registry from it
    /// (as `solvency devnet up` does). It holds expanded values: write it only where the
    /// template had no secrets, and write edits of a user's file with [`edit`].
    pub fn source(&self) -> &NetworksFile {
        &self.source
    }

    /// The chains and enclave, or a clear error for a file without `[[chains]]`.
    pub fn network(&self) -> Result<&Network, ConfigError> {
        self.network
            .as_ref()
            .ok_or_else(|| ConfigError::NoChains { path: self.path.display().to_string() })
    }
}

impl Network {
    /// The hub chain.
    pub fn hub(&self) -> &ChainConfig {
        self.chains.iter().find(|c| c.role.is_hub()).expect("validated: exactly one hub")
    }

    /// Every chain but the hub.
    pub fn spokes(&self) -> impl Iterator<Item = &ChainConfig> {
        self.chains.iter().filter(|c| !c.role.is_hub())
    }

    /// The chain with this name, or an error that lists the names there are.
    pub fn chain(&self, registry: &Registry, name: &str) -> Result<&ChainConfig, ConfigError> {
        self.chains.iter().find(|c| c.name == name).ok_or_else(|| ConfigError::UnknownChain {
            path: registry.path.display().to_string(),
            name: name.to_owned(),
            known: self.chains.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", "),
        })
    }
}

/// Parses and interpolates TOML text into the file's sections, naming the exact key (with the
/// chain's index and name) when a value is missing or of the wrong type.
pub fn read_source(
    text: &str,
    path: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<NetworksFile, ConfigError> {
    let mut value: toml::Value = toml::from_str(text)
        .map_err(|e| ConfigError::Parse { path: path.into(), message: e.to_string() })?;
    // The publisher key is the one secret a registry may template, and only `solvency run`
    // needs it: an unset variable there is that command's error, not every command's.
    let publisher = value
        .get_mut("aggregator")
        .and_then(toml::Value::as_table_mut)
        .and_then(|aggregator| aggregator.remove("publisher_key"));
    interpolate::interpolate(&mut value, path, "", env)?;
    let mut publisher_unset = None;
    let mut publisher_key_literal = false;
    match publisher {
        Some(toml::Value::String(template)) => {
            // Only a bare `${VAR}` keeps the key out of the file: a default or any text around
            // the variable is written in it.
            let inner = template.trim().strip_prefix("${").and_then(|t| t.strip_suffix('}'));
            publisher_key_literal = !inner.is_some_and(|var| {
                !var.is_empty() && var.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            });
            match interpolate::expand(&template, path, "aggregator.publisher_key", env) {
                Ok(key) => {
                    let aggregator =
                        value.get_mut("aggregator").and_then(toml::Value::as_table_mut);
                    aggregator.expect("it held the key").insert("publisher_key".into(), key.into());
                }
                Err(e) => publisher_unset = Some(e.to_string()),
            }
        }
        Some(other) => {
            let aggregator = value.get_mut("aggregator").and_then(toml::Value::as_table_mut);
            aggregator.expect("it held the key").insert("publisher_key".into(), other);
        }
        None => {}
    }
    let named = value.clone();
    let mut file = serde_path_to_error::deserialize::<_, NetworksFile>(value).map_err(|e| {
        let at = e.path().to_string();
        let message = e.into_inner().to_string();
        // The parser appends where it was ("in `chains`"): the path says it better.
        let message = message.lines().next().unwrap_or_default();
        ConfigError::Parse {
            path: path.into(),
            message: match chain_name(&named, &at) {
                Some(name) => format!("{at} (chain {name:?}): {message}"),
                None if at == "." => message.to_owned(),
                None => format!("{at}: {message}"),
            },
        }
    })?;
    file.aggregator.publisher_unset = publisher_unset;
    file.aggregator.publisher_key_literal = publisher_key_literal;
    Ok(file)
}

/// The name of the chain a serde path such as `chains[2].rpc_url` points into, if it has one.
fn chain_name(value: &toml::Value, at: &str) -> Option<String> {
    let index: usize = at.strip_prefix("chains[")?.split(']').next()?.parse().ok()?;
    value.get("chains")?.get(index)?.get("name")?.as_str().map(str::to_owned)
}

#[cfg(test)]
mod tests;
