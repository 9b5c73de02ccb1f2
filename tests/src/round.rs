//! A devnet with the confidential round running: keys, registry, the aggregator in-process, and
//! reporters on every chain.

use std::time::{SystemTime, UNIX_EPOCH};

use alloy::{
    primitives::{B256, Bytes, U256},
    providers::Provider,
};
use solvency_aggregator::{
    config::{NetworksFile, PolicySection},
    devnet_setup::{self, DevnetKeys},
    enclave_service::EnclaveClient,
    orchestrator::{self, Event, Setup},
    reporter,
};
use solvency_chain_adapters::{Backoff, EvmAdapter, OracleState};
use solvency_devnet::{DevAccount, Devnet, DevnetConfig};
use solvency_enclave::{EnclaveKeys, Position, ReportV1, X25519KeyPair, X25519Public};
use tokio::{sync::mpsc, task::JoinHandle};
use tokio_util::sync::CancellationToken;

use crate::WAIT;

/// Unix seconds now (the enclave's and the reporters' clock).
pub fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// Healthy figures: 2,000 USDC held, 1,000 owed.
pub fn healthy() -> Vec<Position> {
    vec![Position::new("USDC", U256::from(2_000_000_000u64), U256::from(1_000_000_000u64))]
}

/// Figures that sink the whole deployment: 10,000 USDC owed, nothing held.
pub fn sinking() -> Vec<Position> {
    vec![Position::new("USDC", U256::ZERO, U256::from(10_000_000_000u64))]
}

/// The running round.
pub struct Round {
    /// The devnet.
    pub devnet: Devnet,
    /// Its complete registry.
    pub registry: NetworksFile,
    /// Reporter keys, in chain order.
    pub reporters: Vec<X25519KeyPair>,
    /// The enclave's HPKE public key.
    pub enclave_public: X25519Public,
    /// Events from the aggregator.
    pub events: mpsc::UnboundedReceiver<Event>,
    /// Served enclave instances (empty for a single in-process enclave).
    pub instances: Vec<Instance>,
    /// The instances the aggregator asks, and how many must sign.
    members: Vec<usize>,
    threshold: usize,
    keys_dir: std::path::PathBuf,
    cancel: CancellationToken,
    task: Option<JoinHandle<anyhow::Result<()>>>,
    dir: tempfile::TempDir,
}

/// One served enclave instance of a quorum.
pub struct Instance {
    /// Its socket.
    pub socket: std::path::PathBuf,
    /// Its signer.
    pub signer: alloy::primitives::Address,
    cancel: CancellationToken,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

impl Instance {
    /// Stops the instance (its socket goes away).
    pub async fn stop(&mut self) {
        self.cancel.cancel();
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
    }
}

impl Round {
    /// A devnet of `chains` chains and an aggregator with `policy` and one in-process enclave.
    pub async fn start(chains: usize, policy: PolicySection) -> Self {
        Self::start_with(chains, policy, None).await
    }

    /// A devnet whose attestations need `k` of `n` served enclave instances; the instance at
    /// `liar` (if any) judges with a solvency ratio of 0.01 %, so it calls almost anything
    /// solvent.
    pub async fn start_quorum(
        chains: usize,
        policy: PolicySection,
        n: usize,
        k: u8,
        liar: Option<usize>,
    ) -> Self {
        Self::start_with(chains, policy, Some((n, k, liar))).await
    }

    async fn start_with(
        chains: usize,
        policy: PolicySection,
        quorum: Option<(usize, u8, Option<usize>)>,
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let names: Vec<String> = (0..chains)
            .map(|i| {
                solvency_devnet::chain_name(
                    solvency_devnet::chains::test_chain(i).unwrap().chain_id,
                )
            })
            .collect();
        let keys_dir = dir.path().join("keys");
        let keys = devnet_setup::prepare_keys(&keys_dir, &names).unwrap();
        let instance_keys = match quorum {
            Some((n, _, _)) => {
                devnet_setup::prepare_instance_keys(&keys_dir, &keys.enclave, n).unwrap()
            }
            None => Vec::new(),
        };
        let signers = if instance_keys.is_empty() {
            vec![keys.enclave.public().signer]
        } else {
            instance_keys.iter().map(|k| k.signer.address()).collect()
        };
        let devnet = Devnet::start(DevnetConfig {
            chains,
            signers,
            threshold: quorum.map_or(1, |(_, k, _)| k),
            state_dir: Some(dir.path().join("devnet")),
            ..DevnetConfig::default()
        })
        .await
        .expect("devnet starts");
        let base_text = format!(
            "deployment_id = \"{}\"\n[aggregator]\npoll_interval_ms = 20",
            devnet.deployment().deployment_id
        );
        let mut base =
            solvency_aggregator::config::parse(&base_text, "test.toml", |_| None).unwrap();
        base.policy = policy;
        let mut registry = devnet_setup::registry(&base, devnet.deployment(), &keys, dir.path());
        if let Some((_, k, _)) = quorum {
            let enclave = registry.enclave.as_mut().unwrap();
            enclave.threshold = k;
            enclave.instances = (0..instance_keys.len())
                .map(|i| dir.path().join(format!("enclave-{i}.sock")))
                .collect();
        }
        registry.validate().expect("the generated registry is valid");
        devnet_setup::apply_policy(devnet.deployment(), &registry)
            .await
            .expect("policy set on every chain");
        let DevnetKeys { enclave, reporters, .. } = keys;
        let enclave_public = enclave.public().hpke_public_key;
        let (tx, events) = mpsc::unbounded_channel();
        let mut instances = Vec::new();
        for (i, keys) in instance_keys.into_iter().enumerate() {
            let mut policy = registry.enclave_policy();
            if quorum.and_then(|(_, _, liar)| liar) == Some(i) {
                policy.solvency_ratio_bps = 1;
            }
            let socket = dir.path().join(format!("enclave-{i}.sock"));
            let signer = keys.signer.address();
            let cancel = CancellationToken::new();
            let enclave = solvency_enclave::Enclave::new(keys, policy, Default::default());
            let attestor = Box::new(solvency_enclave::DevAttestor::with_measurement(B256::ZERO));
            let task = tokio::spawn(solvency_aggregator::enclave_service::serve(
                enclave,
                attestor,
                socket.clone(),
                solvency_aggregator::enclave_service::Persist::State(
                    dir.path().join(format!("enclave-{i}.state.json")),
                ),
                cancel.clone(),
            ));
            instances.push(Instance { socket, signer, cancel, task: Some(task) });
        }
        for instance in &instances {
            // Wait until each instance listens.
            let deadline = tokio::time::Instant::now() + WAIT;
            while !instance.socket.exists() {
                assert!(tokio::time::Instant::now() < deadline, "enclave instance did not start");
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
        }
        let mut round = Self {
            devnet,
            registry,
            reporters,
            enclave_public,
            events,
            members: (0..instances.len()).collect(),
            threshold: quorum.map_or(1, |(_, k, _)| k.into()),
            instances,
            keys_dir,
            cancel: CancellationToken::new(),
            task: None,
            dir,
        };
        round.spawn_aggregator(enclave, tx);
        round
    }

    fn spawn_aggregator(&mut self, keys: EnclaveKeys, events: mpsc::UnboundedSender<Event>) {
        self.cancel = CancellationToken::new();
        let publisher = DevAccount::publisher().signer();
        let state_dir = self.registry.aggregator.state_dir.clone();
        let setup = if self.instances.is_empty() {
            Setup::single(self.registry.clone(), keys, publisher, state_dir).unwrap()
        } else {
            Setup {
                networks: self.registry.clone(),
                enclaves: self
                    .members
                    .iter()
                    .map(|&i| EnclaveClient::remote(&self.instances[i].socket))
                    .collect(),
                threshold: self.threshold,
                publisher,
                state_dir,
            }
        };
        self.task = Some(tokio::spawn(orchestrator::run(setup, self.cancel.clone(), Some(events))));
    }

    /// Restarts the aggregator asking only `members`, `k` of which must sign, and sets the
    /// contracts' threshold to `k` on every chain.
    pub async fn use_quorum(&mut self, members: &[usize], k: u8) {
        for chain in &self.devnet.deployment().chains {
            let owner = crate::as_account(chain, &chain.deployer);
            solvency_ccip::bindings::hub::SolvencyHub::new(chain.oracle(), &owner)
                .setThreshold(k)
                .send()
                .await
                .unwrap()
                .get_receipt()
                .await
                .unwrap();
        }
        self.members = members.to_vec();
        self.threshold = k.into();
        self.restart_aggregator(false).await;
    }

    /// Restarts the aggregator (and in-process enclave) with a policy edited by `edit`, as an
    /// operator could by editing networks.toml; the contracts keep expecting the original.
    pub async fn restart_with_policy(&mut self, edit: impl FnOnce(&mut PolicySection)) {
        edit(&mut self.registry.policy);
        self.restart_aggregator(true).await;
    }

    /// The state directory of this round.
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// The enclave's keys, loaded again from their file (to sign things in tests).
    pub fn enclave_keys(&self) -> EnclaveKeys {
        EnclaveKeys::load(&devnet_setup::enclave_key_file(&self.keys_dir)).unwrap()
    }

    /// Stops the aggregator and starts it again (a restart of the enclave instance); with
    /// `forget`, its persisted state is deleted first (a new instance that remembers nothing).
    pub async fn restart_aggregator(&mut self, forget: bool) {
        self.stop_aggregator().await;
        if forget {
            let _ =
                std::fs::remove_file(self.registry.aggregator.state_dir.join("enclave-state.json"));
        }
        let (tx, events) = mpsc::unbounded_channel();
        self.events = events;
        let keys = self.enclave_keys();
        self.spawn_aggregator(keys, tx);
    }

    /// Stops the aggregator (the devnet keeps running).
    pub async fn stop_aggregator(&mut self) {
        self.cancel.cancel();
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
    }

    /// Seals a report for chain `chain` with reporter key `sealer`'s key.
    pub fn seal(
        &self,
        chain: usize,
        sealer: usize,
        seq: u64,
        observed_at: u64,
        positions: Vec<Position>,
    ) -> Bytes {
        let report =
            ReportV1::new(self.registry.chains[chain].selector, seq, observed_at, positions);
        solvency_enclave::seal_report(
            &report,
            &self.registry.deployment_id(),
            &self.reporters[sealer],
            &self.enclave_public,
        )
        .unwrap()
    }

    /// Submits a payload on chain `chain` as its reporter.
    pub async fn submit_payload(&self, chain: usize, seq: u64, payload: Bytes) -> B256 {
        let sender = self.devnet.chain(chain).reporter.signer();
        reporter::send(&self.registry.chains[chain], sender, seq, payload).await.unwrap()
    }

    /// Every chain's reporter seals `positions(i)` with `seq`, observed now, and submits it.
    pub async fn submit_all(&self, seq: u64, positions: impl Fn(usize) -> Vec<Position>) {
        for i in 0..self.registry.chains.len() {
            let payload = self.seal(i, i, seq, now(), positions(i));
            self.submit_payload(i, seq, payload).await;
        }
    }

    /// Every chain reports (`positions(i)`) with `seq`, then waits for the publication and
    /// checks every chain reads what was published. Returns the epoch and the outcome.
    pub async fn honest_round(
        &mut self,
        seq: u64,
        positions: impl Fn(usize) -> Vec<Position>,
    ) -> (u64, bool) {
        let before = self.hub_epoch().await;
        self.submit_all(seq, positions).await;
        let Event::Published { solvent, publication, .. } = self
            .next_event(
                |e| matches!(e, Event::Published { publication, .. } if publication.epoch > before),
            )
            .await
        else {
            unreachable!()
        };
        assert!(publication.fully_delivered(), "{publication:?}");
        for state in self.oracles().await {
            assert_eq!(state.attestation.epoch, publication.epoch);
            assert_eq!(state.solvent, solvent);
        }
        (publication.epoch, solvent)
    }

    /// The next event matching `wanted` (others are skipped); panics after [`WAIT`].
    pub async fn next_event(&mut self, wanted: impl Fn(&Event) -> bool) -> Event {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let event = tokio::time::timeout_at(deadline, self.events.recv())
                .await
                .expect("the awaited event came in time")
                .expect("the aggregator is running");
            if wanted(&event) {
                return event;
            }
            if let Event::PublishFailed { reason } = &event {
                panic!("publish failed: {reason}");
            }
        }
    }

    /// Every chain's oracle state.
    pub async fn oracles(&self) -> Vec<OracleState> {
        let mut out = Vec::new();
        for chain in &self.registry.chains {
            let adapter = EvmAdapter::connect(
                &chain.name,
                chain.selector,
                &chain.rpc_url,
                Backoff::default(),
            )
            .unwrap();
            out.push(adapter.read_oracle(chain.hub.or(chain.spoke).unwrap()).await.unwrap());
        }
        out
    }

    /// The epoch the hub holds.
    pub async fn hub_epoch(&self) -> u64 {
        self.oracles().await[0].attestation.epoch
    }

    /// Stops the aggregator, moves every chain's clock `secs` ahead (past the last
    /// attestation's validUntil) and checks that every chain fails closed.
    pub async fn expect_fail_closed_after(&mut self, secs: u64) {
        self.stop_aggregator().await;
        self.advance_chains(secs).await;
        for state in self.oracles().await {
            assert!(!state.solvent, "fails closed after validUntil: {state:?}");
        }
    }

    /// Moves every chain's clock `secs` ahead and mines a block.
    pub async fn advance_chains(&self, secs: u64) {
        for chain in &self.devnet.deployment().chains {
            let provider = crate::reader(chain);
            provider
                .raw_request::<_, serde_json::Value>("evm_increaseTime".into(), (secs,))
                .await
                .unwrap();
            provider.raw_request::<_, serde_json::Value>("evm_mine".into(), ()).await.unwrap();
        }
    }

    /// The payload of chain `chain`'s latest report, as the hub emitted it (public data).
    pub async fn last_delivered_payload(&self, chain: usize) -> Bytes {
        let hub = self.devnet.hub();
        let logs =
            solvency_ccip::bindings::hub::SolvencyHub::new(hub.hub.unwrap(), crate::reader(hub))
                .ReportDelivered_filter()
                .from_block(0)
                .query()
                .await
                .unwrap();
        let selector = self.registry.chains[chain].selector;
        logs.into_iter()
            .rev()
            .find(|(e, _)| e.sourceChainSelector == selector)
            .expect("a delivered report")
            .0
            .payload
    }

    /// Stops the aggregator, the enclave instances and the devnet.
    pub async fn stop(mut self) {
        self.stop_aggregator().await;
        for instance in &mut self.instances {
            instance.stop().await;
        }
        self.devnet.shutdown().await;
    }
}
