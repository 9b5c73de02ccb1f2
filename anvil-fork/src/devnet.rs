//! The library API: start a devnet, use it, and have it stop everything on drop.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use alloy::{
    primitives::{Address, B256, U256, keccak256},
    providers::Provider,
};
use futures::future::try_join_all;
use tracing::info;

use crate::{
    AnvilOptions, AnvilProcess, ChainDeployment, Deployment, DevAccount, Error, Result,
    chains::{self, MAX_CHAINS},
    deploy::{self, LiveChain},
    fork::{self, ForkOrigin, ForkSpec},
    relayer::{Relayer, RelayerConfig, RelayerHandle},
};

/// The relayer's journal inside the state directory.
pub const RELAYER_JOURNAL: &str = "relayer.jsonl";

/// How to start a devnet. [`Default`] gives 3 chains with a throwaway state directory.
#[derive(Clone, Debug)]
pub struct DevnetConfig {
    /// Number of chains; the first is the hub.
    pub chains: usize,
    /// Where `deployment.json` and the relayer journal go; `None` for a temporary directory
    /// removed when the devnet is dropped.
    pub state_dir: Option<PathBuf>,
    /// The anvil executable.
    pub anvil: PathBuf,
    /// The deployment id every attestation must carry.
    pub deployment_id: B256,
    /// Enclave signers registered on the hub and every spoke.
    pub signers: Vec<Address>,
    /// k of the k-of-n signer set (ignored without signers).
    pub threshold: u8,
    /// The fee every devnet router charges per message, in wei.
    pub ccip_fee: U256,
    /// What the hub is funded with for attestation fees, in wei.
    pub hub_funding: U256,
    /// Gas each spoke's `ccipReceive` gets for an attestation.
    pub attestation_gas_limit: u32,
    /// Gas the hub's `ccipReceive` gets for a report.
    pub report_gas_limit: u32,
    /// The `ReserveVault` every chain gets over its collateral and its oracle.
    pub vault: VaultConfig,
    /// How often the relayer polls each chain for new blocks.
    pub poll_interval: Duration,
    /// How long signer registrations last.
    pub signer_validity: Duration,
    /// How many shared user accounts to fund.
    pub users: usize,
    /// Relay CCIP messages in this process. Without it, run the relayer as a process of its
    /// own (`solvency devnet relay`), which can then be stopped and restarted on its own.
    pub relay: bool,
    /// Fork these chains instead of starting `chains` empty ones (the first is the hub): each
    /// keeps its chain id, the devnet uses the CCIP Router found there (`ccip_fee` does not
    /// apply: its on-ramp quotes the fee), and the relayer reads the on-ramps' events and
    /// delivers as an off-ramp the Router accepts.
    pub forks: Vec<ForkSpec>,
    /// A `QuoteBoard` on the hub, with rounds of this length (hub time), set as the hub's
    /// board: the dark pool's makers submit their sealed quotes there. `None`: no board.
    pub quote_round: Option<Duration>,
    /// Token lanes (without `forks`): every chain gets CCIP's `Router` with the stand-in
    /// ramps and a burn/mint lane token (`BurnMintERC20` "USDC" under CCIP's
    /// `BurnMintTokenPool`) as its vault's collateral, as a local upstream has them, so calendar
    /// lots cross; the relayer delivers as it does on forks. Off: chainlink-local's
    /// `MockCCIPRouter`, which carries no token, and a `DevnetToken` collateral.
    pub lanes: bool,
}

impl Default for DevnetConfig {
    fn default() -> Self {
        Self {
            chains: 3,
            state_dir: None,
            anvil: crate::anvil::anvil_binary(),
            deployment_id: keccak256("self-healing-reserve/devnet"),
            signers: Vec::new(),
            threshold: 1,
            ccip_fee: U256::from(10u64.pow(15)),
            hub_funding: U256::from(100u128 * 10u128.pow(18)),
            attestation_gas_limit: 400_000,
            report_gas_limit: 200_000,
            vault: VaultConfig::default(),
            poll_interval: Duration::from_millis(20),
            signer_validity: Duration::from_secs(365 * 24 * 3600),
            users: 4,
            relay: true,
            forks: Vec::new(),
            quote_round: None,
            lanes: false,
        }
    }
}

/// The parameters of every chain's `ReserveVault` (fixed at deployment: a vault has no owner).
/// [`Default`] gives devnet values: a one-minute withdrawal delay, an outflow limit no test
/// reaches (10^15 units of the 6-decimal collateral, a billion USDC, per hour) and the
/// two-week exodus delay a real deployment would use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VaultConfig {
    /// How long a queued withdrawal waits before it can be executed.
    pub withdrawal_delay: Duration,
    /// The most withdrawals may pay out per window, in the collateral's smallest unit.
    pub outflow_limit: U256,
    /// The outflow limit's window.
    pub outflow_window: Duration,
    /// How long without a new leaf before owners may exit by ledger proof (chain time).
    pub exodus_delay: Duration,
}

impl Default for VaultConfig {
    fn default() -> Self {
        Self {
            withdrawal_delay: Duration::from_secs(60),
            outflow_limit: U256::from(10u64.pow(15)),
            outflow_window: Duration::from_secs(3600),
            exodus_delay: Duration::from_secs(14 * 24 * 3600),
        }
    }
}

/// A running devnet. Dropping it stops the relayer and every anvil it started.
pub struct Devnet {
    deployment: Deployment,
    state_dir: PathBuf,
    poll_interval: Duration,
    relayer: Option<Relayer>,
    // Declared after the relayer so that it stops first; the temporary directory goes last.
    anvils: Vec<AnvilProcess>,
    // Held while the devnet runs: a second devnet on the same directory is refused instead of
    // deleting this one's files.
    _lock: solvency_durable::StateLock,
    _temp_dir: Option<tempfile::TempDir>,
}

impl Devnet {
    /// Starts anvils, deploys and wires the contracts, starts the relayer (unless
    /// [`DevnetConfig::relay`] is off) and writes `deployment.json`. The files of a previous,
    /// stopped devnet in the state directory are replaced; a running one's state directory is
    /// refused.
    pub async fn start(config: DevnetConfig) -> Result<Self> {
        if config.forks.is_empty() && (config.chains == 0 || config.chains > MAX_CHAINS) {
            return Err(Error::ChainCount { asked: config.chains, max: MAX_CHAINS });
        }
        // An unreachable endpoint, a chain CCIP does not run on or a chain given twice is
        // refused before anything is started.
        let targets = try_join_all(config.forks.iter().map(fork::resolve)).await?;
        for (i, target) in targets.iter().enumerate() {
            if let Some(first) = targets[..i]
                .iter()
                .find(|t| t.chain_id == target.chain_id || t.spec.name == target.spec.name)
            {
                return Err(Error::Fork {
                    chain: target.spec.name.clone(),
                    reason: format!(
                        "the same chain (or name) as {} (chain id {}): fork each chain once",
                        first.spec.name, first.chain_id
                    ),
                });
            }
        }
        let (state_dir, temp_dir) = match &config.state_dir {
            Some(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
                (dir.clone(), None)
            }
            None => {
                let temp = tempfile::Builder::new()
                    .prefix("solvency-devnet-")
                    .tempdir()
                    .map_err(|e| Error::io(std::env::temp_dir(), e))?;
                (temp.path().to_owned(), Some(temp))
            }
        };
        let lock = solvency_durable::StateLock::for_dir(&state_dir, "devnet")?;
        // A relayer of the previous devnet still running would relay into the new chains with
        // an old journal.
        drop(solvency_durable::StateLock::for_dir(&state_dir, "relayer")?);
        for stale in [crate::DEPLOYMENT_FILE, RELAYER_JOURNAL] {
            let path = state_dir.join(stale);
            if path.exists() {
                std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
            }
        }

        let (anvils, live) = if targets.is_empty() {
            let anvils = spawn_anvils((0..config.chains).map(|i| AnvilOptions {
                binary: config.anvil.clone(),
                chain_id: chains::test_chain(i).expect("count checked").chain_id,
                state_file: None,
                fork_url: None,
            }))
            .await?;
            let mut live: Vec<LiveChain> = anvils
                .iter()
                .enumerate()
                .map(|(i, anvil)| LiveChain {
                    name: chain_name(anvil.chain_id()),
                    chain: chains::test_chain(i).expect("count checked"),
                    url: anvil.url(),
                    pid: anvil.pid(),
                    router: None,
                    fork: None,
                    collateral: None,
                    ramps_from_block: None,
                })
                .collect();
            if config.lanes {
                // CCIP's Router, the stand-in ramps and a burn/mint lane token per chain, as
                // an upstream has them; the devnet's users and the protocol may mint the token
                // (as they may a DevnetToken).
                let mut minters: Vec<Address> =
                    (0..config.users).map(|i| DevAccount::user(i).address).collect();
                minters.push(DevAccount::protocol().address);
                let upstream = crate::upstream::UpstreamConfig {
                    fee: config.ccip_fee,
                    minters,
                    ..Default::default()
                };
                let targets: Vec<_> =
                    live.iter().map(|c| (c.name.clone(), c.chain, c.url.clone())).collect();
                let lanes = crate::upstream::deploy_lanes(&upstream, &targets).await?;
                for (chain, lane) in live.iter_mut().zip(lanes) {
                    chain.router = Some(lane.router);
                    chain.collateral = Some(lane.token);
                    chain.ramps_from_block = Some(0);
                }
            }
            (anvils, live)
        } else {
            start_forks(&config, &targets).await?
        };
        info!(target: "devnet", chains = live.len(), "anvils listening");

        let users: Vec<DevAccount> = (0..config.users).map(DevAccount::user).collect();
        try_join_all(live.iter().map(|chain| deploy::fund_accounts(chain, &users))).await?;
        let chains = deploy::deploy_all(&config, &live).await?;
        info!(target: "devnet", "contracts deployed and wired");

        let deployment = Deployment {
            deployment_id: config.deployment_id,
            hub_chain_selector: chains[0].selector,
            relayer_url: String::new(),
            signers: config.signers.clone(),
            threshold: if config.signers.is_empty() { 0 } else { config.threshold },
            chains,
            dev_accounts: users,
        };
        let mut devnet = Self {
            deployment,
            state_dir,
            poll_interval: config.poll_interval,
            relayer: None,
            anvils,
            _lock: lock,
            _temp_dir: temp_dir,
        };
        if config.relay {
            devnet.start_relayer().await?;
        } else {
            devnet.deployment.write(&devnet.state_dir)?;
        }
        Ok(devnet)
    }

    /// What was deployed where.
    pub fn deployment(&self) -> &Deployment {
        &self.deployment
    }

    /// The state directory (`deployment.json`, the relayer journal).
    pub fn state_dir(&self) -> &Path {
        &self.state_dir
    }

    /// The hub chain.
    pub fn hub(&self) -> &ChainDeployment {
        self.deployment.hub()
    }

    /// The `index`-th chain (0 is the hub).
    pub fn chain(&self, index: usize) -> &ChainDeployment {
        &self.deployment.chains[index]
    }

    /// The running relayer.
    pub fn relayer(&self) -> Result<RelayerHandle> {
        self.relayer.as_ref().map(Relayer::handle).ok_or(Error::RelayerStopped)
    }

    /// Stops the relayer (the chains keep running); its journal stays.
    pub async fn stop_relayer(&mut self) {
        if let Some(relayer) = self.relayer.take() {
            relayer.shutdown().await;
            info!(target: "devnet", "relayer stopped");
        }
    }

    /// Starts the relayer from its journal, and rewrites `deployment.json` with its endpoint.
    pub async fn start_relayer(&mut self) -> Result<()> {
        if self.relayer.is_some() {
            return Ok(());
        }
        let relayer = Relayer::start(RelayerConfig::for_deployment(
            &self.deployment,
            &self.state_dir,
            self.poll_interval,
        ))
        .await?;
        self.deployment.relayer_url = relayer.control_url().to_owned();
        self.deployment.write(&self.state_dir)?;
        self.relayer = Some(relayer);
        Ok(())
    }

    /// Stops the relayer, then every anvil, and waits for them.
    pub async fn shutdown(mut self) {
        self.stop_relayer().await;
        crate::anvil::stop_all(std::mem::take(&mut self.anvils)).await;
        info!(target: "devnet", "devnet stopped");
    }
}

/// `devnet-<n>` for chain id 9000000n.
pub fn chain_name(chain_id: u64) -> String {
    format!("devnet-{}", chain_id - 90_000_000)
}

/// One anvil per target, forked from its endpoint; then the Routers' lanes between them are
/// checked (an anvil started here is stopped again if they are not).
async fn start_forks(
    config: &DevnetConfig,
    targets: &[fork::ForkTarget],
) -> Result<(Vec<AnvilProcess>, Vec<LiveChain>)> {
    let anvils = spawn_anvils(targets.iter().map(|t| AnvilOptions {
        binary: config.anvil.clone(),
        chain_id: t.chain_id,
        state_file: None,
        fork_url: Some(t.spec.url.clone()),
    }))
    .await?;
    let mut live = Vec::with_capacity(targets.len());
    for (target, anvil) in targets.iter().zip(&anvils) {
        let provider = solvency_chain_adapters::rpc::connect_str(&anvil.url())
            .map_err(|e| Error::Anvil { chain_id: target.chain_id, reason: e.to_string() })?;
        let block = provider.get_block_number().await.map_err(|source| Error::Rpc {
            chain: target.spec.name.clone(),
            action: "read the fork's block".into(),
            source: Box::new(source),
        })?;
        info!(target: "devnet", chain = %target.spec.name, upstream = %target.shown, block,
            "forked");
        live.push(LiveChain {
            name: target.spec.name.clone(),
            chain: chains::TestChain { chain_id: target.chain_id, selector: target.selector },
            url: anvil.url(),
            pid: anvil.pid(),
            router: Some(target.spec.router),
            fork: Some(ForkOrigin { upstream: target.shown.clone(), block }),
            collateral: target.spec.collateral,
            ramps_from_block: Some(block),
        });
    }
    let selectors: Vec<u64> = live.iter().map(|c| c.chain.selector).collect();
    let lanes = try_join_all(live.iter().map(|chain| {
        let router = chain.router.expect("a forked chain has its Router");
        fork::Lanes::read(&chain.name, &chain.url, router, chain.chain.selector, &selectors)
    }))
    .await?;
    fork::check_lanes(
        &live
            .iter()
            .zip(lanes)
            .map(|(chain, lanes)| (chain.name.clone(), chain.chain.selector, lanes))
            .collect::<Vec<_>>(),
    )?;
    Ok((anvils, live))
}

pub(crate) async fn spawn_anvils(
    options: impl Iterator<Item = AnvilOptions>,
) -> Result<Vec<AnvilProcess>> {
    let spawns: Vec<_> = options
        .map(|options| tokio::task::spawn_blocking(move || AnvilProcess::spawn(&options)))
        .collect();
    let mut anvils = Vec::with_capacity(spawns.len());
    let mut first_error = None;
    for spawned in futures::future::join_all(spawns).await {
        match spawned.expect("anvil spawn task panicked") {
            Ok(anvil) => anvils.push(anvil),
            Err(e) => first_error = first_error.or(Some(e)),
        }
    }
    // On any failure the ones that did start are dropped here, which stops them.
    match first_error {
        Some(e) => Err(e),
        None => Ok(anvils),
    }
}
