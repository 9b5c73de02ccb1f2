//! A devnet with the confidential round running: the wired devnet ([`WiredDevnet`], as
//! `solvency devnet up` and the demo start it), the aggregator in this process, enclave instances
//! (in-process, or served on sockets), and reporters on every chain.

use std::{
    collections::BTreeSet,
    ops::{Deref, DerefMut},
    sync::Arc,
    time::{SystemTime, UNIX_EPOCH},
};

use alloy::{
    primitives::{B256, Bytes, U256},
    providers::Provider,
};
use solvency_aggregator::{
    orchestrator::{self, Event, Setup},
    wired::{WiredDevnet, WiredOptions},
};
use solvency_chain_adapters::{Backoff, OracleState, read_all};
use solvency_devnet::DevAccount;
use solvency_enclave::{EnclaveKeys, Position, ReportV1, X25519Public};
use solvency_enclave_host::{EnclaveClient, Host, Store};
use solvency_registry::{Registry, schema::PolicySection};
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

/// The base registry the tests start devnets from: the repository's `[devnet]`, a fast poll,
/// and the given policy.
pub fn base_registry(policy: &PolicySection) -> Registry {
    let text =
        "deployment_id = \"self-healing-reserve/tests\"\n[aggregator]\npoll_interval_ms = 20";
    let mut file = solvency_registry::read_source(text, "tests.toml", &|_| None).unwrap();
    file.policy = policy.clone();
    Registry::from_source(file, "tests.toml").unwrap()
}

/// How an instance of a quorum behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Member {
    /// Runs the enclave as it is.
    Honest,
    /// Same code and policy, but signs the opposite verdict ([`crate::liar::serve_lying`]).
    Liar,
    /// An honest enclave behind a host that withholds this maker's quotes and asks it to commit
    /// to the head of the others ([`crate::liar::serve_withholding`]).
    Withholding(alloy::primitives::Address),
}

/// The running round.
pub struct Round {
    /// The devnet with the round wired.
    pub wired: WiredDevnet,
    /// The enclave's HPKE public key (as reporters use it).
    pub enclave_public: X25519Public,
    /// Events from the aggregator.
    pub events: mpsc::UnboundedReceiver<Event>,
    /// Served enclave instances (empty for one in-process enclave).
    pub instances: Vec<Instance>,
    /// The registry the aggregator runs with (the wired one, unless edited).
    pub registry: Registry,
    /// The withdrawal requests the aggregator takes (kept across its restarts).
    pub withdrawals: std::sync::Arc<solvency_aggregator::orchestrator::Withdrawals>,
    members: Vec<usize>,
    threshold: usize,
    cancel: CancellationToken,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

impl Deref for Round {
    type Target = WiredDevnet;

    fn deref(&self) -> &WiredDevnet {
        &self.wired
    }
}

impl DerefMut for Round {
    fn deref_mut(&mut self) -> &mut WiredDevnet {
        &mut self.wired
    }
}

/// One served enclave instance of a quorum.
pub struct Instance {
    /// Its socket.
    pub socket: std::path::PathBuf,
    /// Its signer.
    pub signer: alloy::primitives::Address,
    cancel: CancellationToken,
    task: Option<JoinHandle<()>>,
}

impl Instance {
    /// Stops the instance (its socket goes away, its state file is released).
    pub async fn stop(&mut self) {
        self.cancel.cancel();
        if let Some(task) = self.task.take() {
            task.await.unwrap();
        }
    }
}

impl Round {
    /// A devnet of `chains` chains and an aggregator with `policy` and one in-process enclave.
    pub async fn start(chains: usize, policy: PolicySection) -> Self {
        Self::start_with(chains, policy, &[], 1).await
    }

    /// A devnet of forks of these chains (each with the CCIP Router deployed there) and an
    /// aggregator with `policy` and one in-process enclave.
    pub async fn start_forked(
        forks: Vec<solvency_devnet::ForkSpec>,
        policy: PolicySection,
    ) -> Self {
        Self::start_options(
            policy,
            &[],
            1,
            WiredOptions { forks, ledger_measurements: vec![B256::ZERO], ..Default::default() },
        )
        .await
    }

    /// A devnet whose attestations need `k` of the served instances `members`.
    pub async fn start_quorum(
        chains: usize,
        policy: PolicySection,
        members: &[Member],
        k: u8,
    ) -> Self {
        Self::start_with(chains, policy, members, k).await
    }

    /// A devnet of `chains` chains on chainlink-local's `MockCCIPRouter` (no token lanes) and
    /// one in-process enclave: what a test of the mock's own behaviour needs.
    pub async fn start_mock(chains: usize, policy: PolicySection) -> Self {
        let options = WiredOptions {
            chains: Some(chains),
            ledger_measurements: vec![B256::ZERO],
            lanes: Some(false),
            ..WiredOptions::default()
        };
        Self::start_options(policy, &[], 1, options).await
    }

    async fn start_with(chains: usize, policy: PolicySection, members: &[Member], k: u8) -> Self {
        let options = WiredOptions {
            chains: Some(chains),
            // The instances' dev attestor below.
            ledger_measurements: vec![B256::ZERO],
            ..WiredOptions::default()
        };
        Self::start_options(policy, members, k, options).await
    }

    async fn start_options(
        policy: PolicySection,
        members: &[Member],
        k: u8,
        options: WiredOptions,
    ) -> Self {
        crate::init_tracing();
        let base = base_registry(&policy);
        let wired = WiredDevnet::start(
            &base,
            WiredOptions {
                instances: members.len(),
                threshold: (!members.is_empty()).then_some(k),
                ..options
            },
        )
        .await
        .expect("the wired devnet starts");
        let registry = wired.registry.clone();
        let network = registry.network().unwrap();
        let enclave_public = network.enclave.hpke_public_key;
        let mut instances = Vec::new();
        let mut holder: Option<EnclaveClient> = None;
        for (i, member) in members.iter().enumerate() {
            let key_file = solvency_aggregator::keyfiles::instance_key_file(&wired.keys.dir, i);
            let keys = EnclaveKeys::load(&key_file).unwrap();
            let signer = keys.signer.address();
            let liar_key =
                (*member == Member::Liar).then(|| EnclaveKeys::load(&key_file).unwrap().signer);
            let socket = wired.dir().join(format!("enclave-{i}.sock"));
            let (store, mut enclave) = Store::open_state_file(
                &wired.dir().join(format!("enclave-{i}.state.json")),
                keys,
                network.policy.clone(),
            )
            .unwrap();
            if i == 0 {
                // The first instance starts the deployment from the ledger key file …
                let file = solvency_aggregator::keyfiles::ledger_key_file(&wired.keys.dir);
                solvency_aggregator::keyfiles::give_ledger_key(&mut enclave, &file).unwrap();
            }
            let attestor = Box::new(solvency_enclave::DevAttestor::with_measurement(B256::ZERO));
            let host = Arc::new(Host::new(enclave, attestor, store));
            // … and the others get it from it by evidence, as `enclave serve --join` does.
            match &holder {
                None => holder = Some(EnclaveClient::local(host.clone())),
                Some(holder) => {
                    EnclaveClient::local(host.clone()).join(holder).await.expect("joins");
                }
            }
            let cancel = CancellationToken::new();
            let task = match (liar_key, *member) {
                (Some(liar), _) => {
                    crate::liar::serve_lying(host, liar, socket.clone(), cancel.clone())
                }
                (None, Member::Withholding(maker)) => {
                    crate::liar::serve_withholding(host, maker, socket.clone(), cancel.clone())
                }
                (None, _) => {
                    let (socket, cancel) = (socket.clone(), cancel.clone());
                    tokio::spawn(async move {
                        solvency_enclave_host::serve(host, &socket, cancel).await.unwrap();
                    })
                }
            };
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
        let (_, events) = mpsc::unbounded_channel();
        let mut round = Self {
            wired,
            enclave_public,
            events,
            members: (0..instances.len()).collect(),
            threshold: if members.is_empty() { 1 } else { k.into() },
            instances,
            registry,
            withdrawals: Default::default(),
            cancel: CancellationToken::new(),
            task: None,
        };
        round.spawn_aggregator();
        round
    }

    fn spawn_aggregator(&mut self) {
        let (tx, events) = mpsc::unbounded_channel();
        self.events = events;
        self.cancel = CancellationToken::new();
        let publisher = DevAccount::publisher().signer();
        let setup = if self.instances.is_empty() {
            Setup::in_process(self.registry.clone(), self.enclave_keys(), publisher)
        } else {
            Setup::quorum(
                self.registry.clone(),
                self.members.iter().map(|&i| self.instances[i].socket.clone()).collect(),
                self.threshold,
                publisher,
            )
        }
        .expect("the aggregator's setup")
        .with_withdrawals(self.withdrawals.clone());
        self.task = Some(tokio::spawn(orchestrator::run(setup, self.cancel.clone(), Some(tx))));
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
        let mut file = self.registry.source().clone();
        edit(&mut file.policy);
        self.registry =
            Registry::from_source(file, &self.registry.path().display().to_string()).unwrap();
        self.restart_aggregator(false).await;
    }

    /// Restarts the aggregator with a registry edited by `edit` (endpoints, timing …).
    pub async fn restart_with(&mut self, edit: impl FnOnce(&mut solvency_registry::NetworksFile)) {
        let mut file = self.registry.source().clone();
        edit(&mut file);
        self.registry =
            Registry::from_source(file, &self.registry.path().display().to_string()).unwrap();
        self.restart_aggregator(false).await;
    }

    /// The enclave's keys, loaded again from their file (to sign things in tests).
    pub fn enclave_keys(&self) -> EnclaveKeys {
        EnclaveKeys::load(&solvency_aggregator::keyfiles::enclave_key_file(&self.keys.dir)).unwrap()
    }

    /// Stops the aggregator and starts it again (a restart of the enclave instance); with
    /// `forget`, its persisted state is deleted first (a new instance that remembers nothing).
    pub async fn restart_aggregator(&mut self, forget: bool) {
        self.stop_aggregator().await;
        if forget {
            let path = self.registry.aggregator.state_dir.join(orchestrator::ENCLAVE_STATE);
            std::fs::remove_file(path).unwrap();
        }
        self.spawn_aggregator();
    }

    /// How the aggregator's task ended (it ends on its own only when it refuses to go on).
    pub async fn aggregator_exit(&mut self) -> anyhow::Result<()> {
        let task = self.task.take().expect("the aggregator was started");
        tokio::time::timeout(crate::WAIT, task).await.expect("the aggregator ends").unwrap()
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
        let network = self.registry.network().unwrap();
        let report = ReportV1::new(network.chains[chain].selector, seq, observed_at, positions);
        solvency_enclave::seal_report(
            &report,
            &self.registry.deployment_id,
            &self.keys.reporters[sealer],
            &self.enclave_public,
        )
        .unwrap()
    }

    /// Submits a payload on chain `chain` as its reporter (over the devnet's own endpoints,
    /// whatever the aggregator's registry says).
    pub async fn submit_payload(&self, chain: usize, seq: u64, payload: Bytes) -> B256 {
        let sender = self.devnet.chain(chain).reporter.signer();
        let config = &self.wired.registry.network().unwrap().chains[chain];
        solvency_chain_adapters::submit_report(config, sender, seq, payload).await.unwrap()
    }

    /// Every chain's reporter seals `positions(i)` with `seq`, observed now, and submits it.
    /// Returns the digest an attestation of exactly these reports commits to.
    pub async fn submit_all(&self, seq: u64, positions: impl Fn(usize) -> Vec<Position>) -> B256 {
        let mut used = Vec::new();
        for (i, chain) in self.registry.network().unwrap().chains.iter().enumerate() {
            let payload = self.seal(i, i, seq, now(), positions(i));
            used.push((chain.selector, seq, alloy::primitives::keccak256(&payload)));
            self.submit_payload(i, seq, payload).await;
        }
        used.sort_by_key(|(selector, ..)| *selector);
        solvency_enclave::reports_digest(&used)
    }

    /// Waits for the next publication above `after` and for it to land on every spoke; returns
    /// the epoch and the verdict. A failed publish fails the test.
    pub async fn published_and_delivered(&mut self, after: u64) -> (u64, bool) {
        self.landed(|p| p.epoch > after).await
    }

    /// Waits for the publication judged on exactly the reports with this digest (what
    /// [`Round::submit_all`] returns) and for it to land on every spoke.
    pub async fn landed_with(&mut self, reports_digest: B256) -> (u64, bool) {
        self.landed(|p| p.reports_digest == reports_digest).await
    }

    async fn landed(
        &mut self,
        wanted: impl Fn(&solvency_chain_adapters::Published) -> bool,
    ) -> (u64, bool) {
        let Event::Published { published, .. } = self
            .next_event(|e| matches!(e, Event::Published { published, .. } if wanted(published)))
            .await
        else {
            unreachable!()
        };
        let mut waiting: BTreeSet<String> =
            self.registry.network().unwrap().spokes().map(|c| c.name.clone()).collect();
        while !waiting.is_empty() {
            let Event::Delivered { chain, .. } = self
                .next_event(|e| matches!(e, Event::Delivered { accepted, .. } if *accepted >= published.epoch))
                .await
            else {
                unreachable!()
            };
            waiting.remove(&chain);
        }
        (published.epoch, published.solvent)
    }

    /// Every chain reports (`positions(i)`) with `seq`, then waits for the publication of exactly
    /// these reports to land everywhere and checks every chain reads it. Returns epoch and
    /// outcome.
    pub async fn honest_round(
        &mut self,
        seq: u64,
        positions: impl Fn(usize) -> Vec<Position>,
    ) -> (u64, bool) {
        let digest = self.submit_all(seq, positions).await;
        let (epoch, solvent) = self.landed_with(digest).await;
        for state in self.oracles().await {
            assert_eq!(state.attestation.epoch, epoch);
            assert_eq!(state.solvent, solvent);
        }
        (epoch, solvent)
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
            if let Event::PublishFailed { error } = &event {
                panic!("publish failed: {error}");
            }
        }
    }

    /// Every chain's oracle state.
    pub async fn oracles(&self) -> Vec<OracleState> {
        read_all(&self.registry.network().unwrap().chains, Backoff::default())
            .await
            .into_iter()
            .map(|r| r.state.unwrap())
            .collect()
    }

    /// The epoch the hub holds.
    pub async fn hub_epoch(&self) -> u64 {
        self.oracles().await[0].attestation.epoch
    }

    /// Stops the aggregator, moves every chain's clock to `secs` after the last attestation was
    /// issued (past its validUntil) and checks that every chain fails closed.
    ///
    /// A chain's clock may trail the enclave's by a second — anvil and the aggregator read the
    /// time and round it down separately, so an attestation can be mined in a block stamped a
    /// second before its `issuedAt` — so the chains are moved by what they trail as well.
    pub async fn expect_fail_closed_after(&mut self, secs: u64) {
        self.stop_aggregator().await;
        let trailing = self
            .oracles()
            .await
            .iter()
            .map(|s| s.attestation.issuedAt.saturating_sub(s.block_timestamp))
            .max()
            .unwrap_or_default();
        self.advance_chains(secs + trailing).await;
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

    /// `maker`'s subscription to its statements (sealed to the key from `secret`, nonce 1) sent
    /// through the aggregator's API at `api`, as a task; returns once the aggregator holds the
    /// request (the next round answers it; the task then ends with that epoch).
    pub async fn subscribe(
        &self,
        api: &url::Url,
        maker: &DevAccount,
        secret: [u8; 32],
    ) -> JoinHandle<anyhow::Result<u64>> {
        let (registry, api, account) = (self.registry.clone(), api.clone(), maker.signer());
        let task = tokio::spawn(async move {
            let key = solvency_enclave::X25519KeyPair::from_secret_bytes(secret);
            solvency_aggregator::maker::Subscription {
                registry: &registry,
                key: &key,
                nonce: 1,
                account,
                aggregator: api,
                timeout: std::time::Duration::from_secs(120),
                poll: std::time::Duration::from_millis(20),
            }
            .run()
            .await
        });
        let deadline = tokio::time::Instant::now() + WAIT;
        while self.withdrawals.handles().is_empty() {
            assert!(tokio::time::Instant::now() < deadline, "the subscription never arrived");
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        task
    }

    /// Serves the aggregator's HTTP API on loopback (until the round stops); returns its URL.
    pub async fn serve_http(&self) -> url::Url {
        let view = solvency_aggregator::observe::launch(
            &self.registry,
            solvency_aggregator::cli::status::LimitArgs { min_fee_rounds: 1, ..Default::default() }
                .limits(&self.registry),
            std::time::Duration::from_millis(200),
            true,
            Some("127.0.0.1:0".parse().unwrap()),
            self.cancel.clone(),
        )
        .await
        .expect("the view starts");
        view.observatory.take_withdrawals(self.withdrawals.clone());
        format!("http://{}/", view.addr.unwrap()).parse().unwrap()
    }

    /// Waits until the hub has emitted a report with `seq` from every chain.
    pub async fn wait_on_hub(&self, seq: u64) {
        let hub = self.devnet.hub();
        let chains = self.registry.network().unwrap().chains.len();
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let logs = solvency_ccip::bindings::hub::SolvencyHub::new(
                hub.hub.unwrap(),
                crate::reader(hub),
            )
            .ReportDelivered_filter()
            .from_block(0)
            .query()
            .await
            .unwrap();
            if logs.iter().filter(|(e, _)| e.seq == seq).count() >= chains {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "reports {seq} did not all reach the hub"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
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
        let selector = self.registry.network().unwrap().chains[chain].selector;
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
        self.wired.shutdown().await;
    }
}
