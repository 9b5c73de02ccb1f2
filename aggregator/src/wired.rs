//! A devnet with the confidential round wired: keys in `DIR/keys`, the chains and contracts,
//! the enclave's signers registered, the registry's policy digest set on every chain, and a
//! complete registry for it in `DIR/networks.toml`. `solvency devnet up`, `solvency demo` and
//! the integration tests all start one this way.

use std::path::{Path, PathBuf};

use alloy::primitives::{Address, B256};
use anyhow::Context;
use solvency_chain_adapters::{Backoff, ChainClient, OracleOwner};
use solvency_devnet::{DevAccount, Devnet, DevnetConfig};
use solvency_enclave::EnclaveKeys;
use solvency_registry::{
    Registry,
    schema::{
        AggregatorSection, ChainSection, EnclaveSection, EvidenceSection, LedgerSection,
        PolicySection, Secret,
    },
};

use crate::keyfiles::{self, KeyDir};

/// The registry a wired devnet writes inside its state directory.
pub const REGISTRY_FILE: &str = "networks.toml";
/// The aggregator's state directory inside a wired devnet's state directory.
pub const AGGREGATOR_DIR: &str = "aggregator";
/// Written last, once chains, contracts, policy digest and registry are all in place; holds the
/// pid of the process that runs the devnet. Removed when it stops.
pub const READY_FILE: &str = "ready";

/// How to wire a devnet. [`Default`]: the registry's `[devnet]` chains, a temporary directory,
/// one in-process enclave.
#[derive(Clone, Debug, Default)]
pub struct WiredOptions {
    /// Number of chains (default: the base registry's `[devnet] chains`).
    pub chains: Option<usize>,
    /// Where everything goes (default: a temporary directory, removed when dropped).
    pub state_dir: Option<PathBuf>,
    /// Served enclave instances to make keys for (`enclave-<i>.key`); 0 for one in-process
    /// enclave. With instances, the registry lists their sockets (`DIR/enclave-<i>.sock`).
    pub instances: usize,
    /// k, when there are instances (default 1).
    pub threshold: Option<u8>,
    /// More signer addresses to register on every chain.
    pub extra_signers: Vec<Address>,
    /// The policy to judge by (default: the base registry's).
    pub policy: Option<PolicySection>,
    /// Run the relayer as a process of its own (`solvency devnet relay`) instead of in this one.
    pub external_relayer: bool,
    /// The code the ledger key may be released to (default: this program, as its dev
    /// attestor measures it).
    pub ledger_measurements: Vec<B256>,
    /// Fork these chains, each with the CCIP Router deployed there, instead of starting empty
    /// ones (`chains` does not apply; the first is the hub).
    pub forks: Vec<solvency_devnet::ForkSpec>,
    /// Token lanes (`Some(true)`) or `MockCCIPRouter` (`Some(false)`), whatever the base
    /// registry's `[devnet] lanes` says.
    pub lanes: Option<bool>,
}

/// A running devnet with the round wired. Dropping it stops the devnet.
pub struct WiredDevnet {
    /// The chains, contracts and relayer.
    pub devnet: Devnet,
    /// The complete registry, as written to `DIR/networks.toml`.
    pub registry: Registry,
    /// The key files.
    pub keys: KeyDir,
    /// The quorum instances' keys (empty for one in-process enclave).
    pub instance_keys: Vec<EnclaveKeys>,
    dir: PathBuf,
    _temp: Option<tempfile::TempDir>,
}

impl WiredDevnet {
    /// Starts and wires a devnet from a base registry (its `[policy]`, `[aggregator]` and
    /// `[devnet]`).
    ///
    /// anvil (1.7) sometimes stops answering while a devnet is being deployed — requests are
    /// accepted and never answered (foundry-rs/foundry#10452 describes such a deadlock) — and
    /// the start then fails after its request timeouts. Such a start is made once more from
    /// scratch (its chains are stopped first); any other failure is returned at once.
    pub async fn start(base: &Registry, options: WiredOptions) -> anyhow::Result<Self> {
        match Self::start_once(base, options.clone()).await {
            Err(e) if e.chain().any(|cause| cause.to_string().contains("timed out")) => {
                tracing::warn!(target: "devnet", error = %e,
                    "a chain stopped answering while the devnet started; starting it again");
                Self::start_once(base, options).await
            }
            result => result,
        }
    }

    async fn start_once(base: &Registry, options: WiredOptions) -> anyhow::Result<Self> {
        let chains = if options.forks.is_empty() {
            let chains = options.chains.unwrap_or(base.devnet.chains);
            solvency_registry::check_devnet_chains(chains)
                .map_err(|problem| anyhow::anyhow!("--chains: {problem}"))?;
            chains
        } else {
            anyhow::ensure!(options.chains.is_none(), "give --chains or --fork, not both");
            options.forks.len()
        };
        // Checked before anything is created or started.
        let threshold = options.threshold.unwrap_or(1);
        let signer_count = options.instances.max(1) + options.extra_signers.len();
        anyhow::ensure!(
            threshold >= 1 && usize::from(threshold) <= signer_count,
            "--threshold {threshold}: needs 1 <= k <= {signer_count} (the registered signers)"
        );
        // The registry must say how the aggregator reaches k signers, or the contracts and
        // the registry disagree on k.
        anyhow::ensure!(
            threshold == 1 || options.instances >= usize::from(threshold),
            "--threshold {threshold} needs at least {threshold} served instances (--instances N): \
             one in-process enclave signs alone"
        );
        let (dir, temp) = match &options.state_dir {
            Some(dir) => {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
                (dir.canonicalize()?, None)
            }
            None => {
                let temp = tempfile::Builder::new().prefix("solvency-devnet-").tempdir()?;
                (temp.path().to_owned(), Some(temp))
            }
        };
        let names: Vec<String> = if options.forks.is_empty() {
            (0..chains)
                .map(|i| {
                    let chain = solvency_devnet::chains::test_chain(i).expect("count checked");
                    solvency_devnet::chain_name(chain.chain_id)
                })
                .collect()
        } else {
            options.forks.iter().map(|f| f.name.clone()).collect()
        };
        let keys_dir = dir.join("keys");
        let keys = keyfiles::prepare_keys(&keys_dir, &names)?;
        let instance_keys =
            keyfiles::prepare_instance_keys(&keys_dir, &keys.enclave, options.instances)?;
        let mut signers: Vec<Address> = if instance_keys.is_empty() {
            vec![keys.enclave.public().signer]
        } else {
            instance_keys.iter().map(|k| k.signer.address()).collect()
        };
        signers.extend(
            options
                .extra_signers
                .iter()
                .copied()
                .filter(|s| !signers.contains(s))
                .collect::<Vec<_>>(),
        );

        let d = &base.devnet;
        // A market needs the board its quotes go to.
        let market = options.policy.as_ref().unwrap_or(&base.source().policy).market.is_some();
        let devnet = Devnet::start(DevnetConfig {
            chains,
            state_dir: Some(dir.clone()),
            deployment_id: base.deployment_id,
            signers: signers.clone(),
            threshold,
            ccip_fee: d.ccip_fee,
            hub_funding: d.hub_funding,
            attestation_gas_limit: d.attestation_gas_limit,
            report_gas_limit: d.report_gas_limit,
            poll_interval: d.poll_interval,
            relay: !options.external_relayer,
            forks: options.forks.clone(),
            quote_round: market.then_some(d.quote_round),
            lanes: options.lanes.unwrap_or(d.lanes),
            ..DevnetConfig::default()
        })
        .await?;

        // Files of an earlier devnet here describe chains that are gone (the devnet's lock,
        // taken by `Devnet::start`, says no other devnet uses this directory now).
        for stale in [READY_FILE, REGISTRY_FILE] {
            let path = dir.join(stale);
            if path.exists() {
                std::fs::remove_file(&path)
                    .with_context(|| format!("removing the old {}", path.display()))?;
            }
        }
        let aggregator_dir = dir.join(AGGREGATOR_DIR);
        if aggregator_dir.exists() {
            std::fs::remove_dir_all(&aggregator_dir)
                .with_context(|| format!("removing the old {}", aggregator_dir.display()))?;
        }
        let measurements = if options.ledger_measurements.is_empty() {
            vec![solvency_enclave::DevAttestor::from_current_exe()?.measurement()]
        } else {
            options.ledger_measurements.clone()
        };
        let mut file = base.source().clone();
        file.deployment_id = devnet.deployment().deployment_id.to_string();
        // Forks keep their real chain ids; the devnet's keys written below stay allowed because
        // every endpoint is a local anvil.
        file.devnet.forked = !options.forks.is_empty();
        // What the chains run, as started (an override included).
        file.devnet.lanes = options.forks.is_empty() && options.lanes.unwrap_or(file.devnet.lanes);
        if let Some(policy) = options.policy {
            file.policy = policy;
        }
        // The protocol's account in the devnet's vaults (funded on every chain).
        if file.policy.protocol.is_none() {
            file.policy.protocol = Some(DevAccount::protocol().address.to_string());
        }
        file.enclave = Some(EnclaveSection {
            hpke_public_key: keys.enclave.public().hpke_public_key.to_string(),
            signers: signers.iter().map(ToString::to_string).collect(),
            key_file: instance_keys.is_empty().then(|| keyfiles::enclave_key_file(&keys_dir)),
            instances: (0..instance_keys.len())
                .map(|i| dir.join(format!("enclave-{i}.sock")))
                .collect(),
            threshold: if instance_keys.is_empty() { 1 } else { threshold },
            // A devnet has no TEE: it registers enclaves on insecure dev evidence.
            evidence: EvidenceSection { allow_dev: true, ..Default::default() },
            // The first instance (or the in-process enclave) starts from the key file; the
            // others join by evidence.
            ledger: Some(LedgerSection {
                public_key: keys.ledger.public().to_string(),
                measurements: measurements.iter().map(ToString::to_string).collect(),
                key_file: Some(keyfiles::ledger_key_file(&keys_dir)),
            }),
        });
        file.aggregator = AggregatorSection {
            state_dir: aggregator_dir,
            publisher_key: Some(Secret(DevAccount::publisher().private_key.to_string())),
            poll_interval_ms: file.devnet.poll_interval_ms.max(20),
            ..file.aggregator
        };
        file.chains = devnet
            .deployment()
            .chains
            .iter()
            .enumerate()
            .map(|(i, c)| ChainSection {
                name: c.name.clone(),
                chain_id: c.chain_id,
                selector: c.selector,
                rpc_url: c.rpc_url.clone(),
                fallback_rpc_urls: Vec::new(),
                router: c.router.to_string(),
                hub: c.hub.map(|a| a.to_string()),
                spoke: c.spoke.map(|a| a.to_string()),
                vault: (!c.vault.is_zero()).then(|| c.vault.to_string()),
                // The devnet's vaults hold its USDC: the lane token, or a DevnetToken.
                vault_asset: (!c.vault.is_zero()).then(|| "USDC".to_owned()),
                confirmations: 0,
                log_page_blocks: 1_000,
                // A fork's history before the fork is the real chain's: nothing of the
                // devnet's is there.
                from_block: c.fork.as_ref().map_or(0, |f| f.block + 1),
                required: true,
                reporter_public_key: keys.reporters[i].public().to_string(),
                treasury_public_key: keys.treasuries[i].public().to_string(),
                assets: file.devnet.assets.clone(),
                reporting: Default::default(),
                // A fork's lanes are the devnet relayer, which delivers at once (a real chain
                // id would default to a public lane's latency).
                ccip_latency_secs: c.fork.is_some().then_some(0),
                reporter_account: None,
                vault_token: None,
                quote_board: c.quote_board.map(|a| a.to_string()),
            })
            .collect();
        let path = dir.join(REGISTRY_FILE);
        let registry = Registry::from_source(file.clone(), &path.display().to_string())?;
        set_policy_digest(&devnet, &registry).await?;
        let text = toml::to_string_pretty(&file).context("writing the devnet's registry")?;
        solvency_durable::write_atomic(
            &path,
            format!("# Generated by `solvency`: the registry of the local devnet in this directory.\n{text}")
                .as_bytes(),
            0o600,
        )?;
        solvency_durable::write_atomic(
            &dir.join(READY_FILE),
            std::process::id().to_string().as_bytes(),
            0o644,
        )?;
        Ok(Self { devnet, registry, keys, instance_keys, dir, _temp: temp })
    }

    /// The state directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `DIR/networks.toml`.
    pub fn registry_path(&self) -> PathBuf {
        self.dir.join(REGISTRY_FILE)
    }

    /// Stops the relayer and every anvil.
    pub async fn shutdown(self) {
        let _ = std::fs::remove_file(self.dir.join(READY_FILE));
        self.devnet.shutdown().await;
    }
}

/// Sets the registry's policy digest on every chain, as each chain's owner (its deployer): from
/// then on the contracts accept only attestations judged by that policy.
pub async fn set_policy_digest(devnet: &Devnet, registry: &Registry) -> anyhow::Result<()> {
    let network = registry.network()?;
    let digest = network.policy.digest();
    for (chain, deployed) in network.chains.iter().zip(&devnet.deployment().chains) {
        let owner = OracleOwner::new(
            ChainClient::new(chain, Backoff::default()),
            chain.oracle(),
            deployed.deployer.signer(),
        );
        owner.set_policy_digest(digest).await?;
    }
    Ok(())
}
