//! A devnet with everything the confidential round needs: enclave, reporter and treasury keys in
//! `DIR/keys`, and a complete registry for it in `DIR/networks.toml`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use solvency_devnet::{Deployment, DevAccount};
use solvency_enclave::{EnclaveKeys, KeyError, X25519KeyPair};

use crate::config::{AggregatorSection, ChainSection, EnclaveSection, NetworksFile};

/// Key files of a devnet, created `0600`.
pub struct DevnetKeys {
    /// `DIR/keys`.
    pub dir: PathBuf,
    /// The enclave.
    pub enclave: EnclaveKeys,
    /// One reporter key per chain, in chain order.
    pub reporters: Vec<X25519KeyPair>,
    /// One treasury key per chain, in chain order.
    pub treasuries: Vec<X25519KeyPair>,
}

/// The enclave key file in a keys directory.
pub fn enclave_key_file(dir: &Path) -> PathBuf {
    dir.join("enclave.key")
}

/// The key file of quorum instance `i`.
pub fn instance_key_file(dir: &Path, i: usize) -> PathBuf {
    dir.join(format!("enclave-{i}.key"))
}

/// Keys of `n` quorum instances in `dir`: `enclave-<i>.key`, each sharing the HPKE key of
/// `enclave.key` with a signing key of its own. Existing files are loaded, missing ones made.
pub fn prepare_instance_keys(
    dir: &Path,
    base: &EnclaveKeys,
    n: usize,
) -> anyhow::Result<Vec<EnclaveKeys>> {
    (0..n)
        .map(|i| {
            let path = instance_key_file(dir, i);
            match EnclaveKeys::load(&path) {
                Ok(keys) if keys.public().hpke_public_key == base.public().hpke_public_key => {
                    Ok(keys)
                }
                Ok(_) => {
                    anyhow::bail!("{} does not share the HPKE key of enclave.key", path.display())
                }
                Err(KeyError::Io { source, .. })
                    if source.kind() == std::io::ErrorKind::NotFound =>
                {
                    let keys = base.sibling();
                    keys.save(&path)?;
                    Ok(keys)
                }
                Err(e) => Err(e.into()),
            }
        })
        .collect()
}

/// A chain's reporter key file.
pub fn reporter_key_file(dir: &Path, chain: &str) -> PathBuf {
    dir.join(format!("reporter-{chain}.key"))
}

/// A chain's treasury key file.
pub fn treasury_key_file(dir: &Path, chain: &str) -> PathBuf {
    dir.join(format!("treasury-{chain}.key"))
}

/// Loads the keys in `dir`, generating (and saving) any that are missing.
pub fn prepare_keys(dir: &Path, chain_names: &[String]) -> anyhow::Result<DevnetKeys> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let enclave_file = enclave_key_file(dir);
    let enclave = match EnclaveKeys::load(&enclave_file) {
        Ok(keys) => keys,
        Err(KeyError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            let keys = EnclaveKeys::generate();
            keys.save(&enclave_file)?;
            keys
        }
        Err(e) => return Err(e.into()),
    };
    let load_or_generate = |path: PathBuf, kind: &'static str| -> anyhow::Result<X25519KeyPair> {
        match X25519KeyPair::load(&path, kind) {
            Ok(key) => Ok(key),
            Err(KeyError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                let key = X25519KeyPair::generate();
                key.save(&path, kind)?;
                Ok(key)
            }
            Err(e) => Err(e.into()),
        }
    };
    let reporters = chain_names
        .iter()
        .map(|name| load_or_generate(reporter_key_file(dir, name), "reporter"))
        .collect::<anyhow::Result<_>>()?;
    let treasuries = chain_names
        .iter()
        .map(|name| load_or_generate(treasury_key_file(dir, name), "treasury"))
        .collect::<anyhow::Result<_>>()?;
    Ok(DevnetKeys { dir: dir.to_owned(), enclave, reporters, treasuries })
}

/// The complete registry of a running devnet: `base`'s policy and devnet assets, the deployed
/// addresses, the keys' public halves.
pub fn registry(
    base: &NetworksFile,
    deployment: &Deployment,
    keys: &DevnetKeys,
    state_dir: &Path,
) -> NetworksFile {
    let mut file = base.clone();
    file.deployment_id = deployment.deployment_id.to_string();
    file.enclave = Some(EnclaveSection {
        hpke_public_key: keys.enclave.public().hpke_public_key.to_string(),
        signers: deployment.signers.clone(),
        key_file: Some(enclave_key_file(&keys.dir)),
        instances: Vec::new(),
        threshold: 1,
        // A devnet has no TEE: it registers enclaves on insecure dev evidence.
        evidence: crate::config::EvidenceSection { allow_dev: true, ..Default::default() },
    });
    file.aggregator = AggregatorSection {
        state_dir: state_dir.join("aggregator"),
        publisher_key: Some(DevAccount::publisher().private_key.to_string()),
        poll_interval_ms: base.devnet.poll_interval_ms.max(20),
        ..base.aggregator.clone()
    };
    file.chains = deployment
        .chains
        .iter()
        .enumerate()
        .map(|(i, c)| ChainSection {
            name: c.name.clone(),
            chain_id: c.chain_id,
            selector: c.selector,
            rpc_url: c.rpc_url.clone(),
            router: c.router,
            hub: c.hub,
            spoke: c.spoke,
            confirmations: 0,
            log_page_blocks: 1_000,
            required: true,
            reporter_public_key: keys.reporters[i].public().to_string(),
            treasury_public_key: keys.treasuries[i].public().to_string(),
            assets: base.devnet.assets.clone(),
        })
        .collect();
    file
}

/// Sets the registry's policy digest on every chain of a devnet, as each chain's owner (its
/// deployer): from then on the contracts accept only attestations judged by that policy.
pub async fn apply_policy(deployment: &Deployment, registry: &NetworksFile) -> anyhow::Result<()> {
    let digest = registry.enclave_policy().digest();
    for chain in &deployment.chains {
        let owner =
            solvency_ccip::provider::connect_with_signer(&chain.rpc_url, chain.deployer.signer())?;
        let pending = solvency_ccip::bindings::hub::SolvencyHub::new(chain.oracle(), &owner)
            .setPolicyDigest(digest)
            .send()
            .await
            .with_context(|| format!("{}: setPolicyDigest", chain.name))?;
        solvency_ccip::provider::confirm(pending)
            .await
            .with_context(|| format!("{}: setPolicyDigest", chain.name))?;
    }
    Ok(())
}
