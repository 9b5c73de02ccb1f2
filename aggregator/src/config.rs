//! `networks.toml`: the one place where chains, selectors, addresses and policy live.
//!
//! Three steps, each tested on inline TOML: [`load`] reads the file, [`interpolate`] expands
//! `${VAR}` and `${VAR:-default}` in every string (naming the key when a variable is missing),
//! and [`NetworksFile::validate`] checks values, naming the key and how to fix it.

use std::{path::Path, time::Duration};

use alloy::primitives::{B256, U256, keccak256};
use serde::Deserialize;

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
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworksFile {
    /// The deployment id: a 0x-prefixed 32-byte hex value, or any other string, which is hashed
    /// with keccak256.
    pub deployment_id: String,
    /// The local devnet (`solvency devnet up`, `solvency demo`).
    #[serde(default)]
    pub devnet: DevnetSection,
    #[serde(skip)]
    path: String,
}

/// `[devnet]`: how the local devnet is started. Every key has a default.
#[derive(Debug, Clone, Deserialize)]
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
        Ok(())
    }

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

    #[test]
    fn the_repository_networks_toml_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../networks.toml");
        load(&path).unwrap().validate().unwrap();
    }
}
