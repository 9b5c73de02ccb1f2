//! The devnet CCIP relayer.
//!
//! `MockCCIPRouter.ccipSend` only delivers on its own chain, so the relayer carries messages
//! between chains the way CCIP would: it finds every `ccipSend` made through a devnet router (by
//! any contract, from call traces), queues it, and calls the destination router's
//! `routeMessage` with the real source selector, the real sender and the gas limit from the
//! message's `extraArgs`.
//!
//! Delivery is asynchronous: one scanner per source chain, one deliverer per destination chain.
//! A delivery whose receiver reverts stays FAILED, with its revert data, until retried. Every
//! step is journaled before it is acted on (see [`journal`]), so a message is never delivered
//! twice and a restart neither loses nor repeats one.

mod control;
mod deliver;
mod journal;
mod message;
mod scan;

use std::{
    collections::{BTreeMap, HashMap},
    net::SocketAddr,
    ops::Deref,
    path::PathBuf,
    sync::{Arc, Mutex},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use alloy::{
    primitives::{Address, B256},
    providers::Provider,
};
use serde::{Deserialize, Serialize};
use tokio::{
    sync::{Notify, watch},
    task::JoinHandle,
};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

pub use control::ControlClient;
pub use message::{MessageState, RelayMessage, TokenTransfer};

use crate::{DevAccount, Error, Result};
use journal::Journal;
use scan::FoundSend;

/// Longest pause between attempts after RPC failures.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// One chain the relayer reads from and delivers to.
#[derive(Clone, Debug)]
pub struct RelayChain {
    /// Name for logs and status.
    pub name: String,
    /// CCIP selector.
    pub selector: u64,
    /// JSON-RPC endpoint.
    pub rpc_url: String,
    /// The chain's router: a `MockCCIPRouter`, or on a fork the CCIP `Router` found there.
    pub router: Address,
    /// The account deliveries are sent from (to a `MockCCIPRouter`).
    pub relayer: DevAccount,
    /// On a fork, the block it was taken at: sends are then read from the on-ramps' events
    /// after it, and delivered as the off-ramp the Router accepts.
    pub fork_block: Option<u64>,
}

/// How to run a relayer.
#[derive(Clone, Debug)]
pub struct RelayerConfig {
    /// Every chain of the devnet.
    pub chains: Vec<RelayChain>,
    /// The journal file (created if missing, replayed if present).
    pub journal: PathBuf,
    /// How often each chain is polled for new blocks.
    pub poll_interval: Duration,
    /// Where the control endpoint listens (port 0: any free port on loopback).
    pub control_addr: SocketAddr,
}

impl RelayerConfig {
    /// The relayer of a deployed devnet, journaling to `DIR/relayer.jsonl`, its control endpoint
    /// on a free loopback port.
    pub fn for_deployment(
        deployment: &crate::Deployment,
        state_dir: &std::path::Path,
        poll_interval: Duration,
    ) -> Self {
        Self {
            chains: deployment
                .chains
                .iter()
                .map(|c| RelayChain {
                    name: c.name.clone(),
                    selector: c.selector,
                    rpc_url: c.rpc_url.clone(),
                    router: c.router,
                    relayer: c.relayer.clone(),
                    // Deployments written before the field: a fork's ramps from its fork block.
                    fork_block: c.ramps_from_block.or(c.fork.as_ref().map(|f| f.block)),
                })
                .collect(),
            journal: state_dir.join(crate::RELAYER_JOURNAL),
            poll_interval,
            control_addr: SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, 0)),
        }
    }
}

/// Scan progress and message counts.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct RelayerStatus {
    /// Per source chain: the last block fully scanned.
    pub chains: Vec<ChainScan>,
    /// Messages per state name (`PENDING`, `IN_FLIGHT`, `SUCCESS`, `FAILED`, `UNROUTABLE`).
    pub counts: BTreeMap<String, usize>,
}

/// One chain's scan progress.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ChainScan {
    /// Chain name.
    pub name: String,
    /// CCIP selector.
    pub selector: u64,
    /// Last block fully scanned, if any.
    pub scanned_block: Option<u64>,
}

struct State {
    messages: Vec<RelayMessage>,
    index: HashMap<B256, usize>,
    cursors: HashMap<u64, u64>,
    journal: Journal,
}

pub(crate) struct Shared {
    chains: Vec<RelayChain>,
    state: Mutex<State>,
    changed: watch::Sender<u64>,
    /// One wake-up per destination chain, indexed like `chains`.
    wake: Vec<Notify>,
}

impl Shared {
    fn chain_index(&self, selector: u64) -> Option<usize> {
        self.chains.iter().position(|c| c.selector == selector)
    }

    /// Runs `f` on the state under the lock, then tells watchers something changed.
    fn update<R>(&self, f: impl FnOnce(&mut State) -> Result<R>) -> Result<R> {
        let result = {
            let mut state = self.state.lock().expect("relayer state lock poisoned");
            f(&mut state)
        };
        self.changed.send_modify(|v| *v += 1);
        result
    }

    fn cursor(&self, selector: u64) -> Option<u64> {
        self.state.lock().expect("relayer state lock poisoned").cursors.get(&selector).copied()
    }

    /// Records the sends found in one block, then the block as scanned.
    fn record_block(&self, source: &RelayChain, block: u64, sends: Vec<FoundSend>) -> Result<()> {
        let mut wake = Vec::new();
        self.update(|state| {
            for send in sends {
                if state.index.contains_key(&send.id) {
                    continue; // seen before a restart: never queue twice
                }
                let dest = self.chain_index(send.dest_chain_selector);
                let gas_limit = scan::gas_limit(&send);
                let receiver = send.receiver;
                let (state_now, gas_limit) = match (dest, gas_limit, receiver) {
                    (None, _, _) => (
                        MessageState::Unroutable {
                            reason: format!(
                                "destination selector {} is not a chain of this devnet",
                                send.dest_chain_selector
                            ),
                        },
                        Default::default(),
                    ),
                    (_, Err(reason), _) => (MessageState::Unroutable { reason }, Default::default()),
                    (_, _, None) => (
                        MessageState::Unroutable { reason: "receiver is not an EVM address".into() },
                        Default::default(),
                    ),
                    (Some(_), Ok(gas), Some(_)) => (MessageState::Pending, gas),
                };
                if send.delivered_on_source {
                    warn!(target: "devnet::relayer", id = %send.id, chain = %source.name,
                        "same-address trap: ccipSend also called the receiver on the source chain");
                }
                let message = RelayMessage {
                    id: send.id,
                    source_chain_selector: source.selector,
                    dest_chain_selector: send.dest_chain_selector,
                    sender: send.sender,
                    receiver: receiver.unwrap_or_default(),
                    data: send.data,
                    gas_limit,
                    router_message_id: send.router_message_id,
                    source_tx: send.source_tx,
                    source_block: block,
                    token_transfers: send.token_transfers,
                    sequence_number: send.sequence_number,
                    tokens: send.tokens,
                    delivered_on_source: send.delivered_on_source,
                    state: state_now,
                    attempts: 0,
                    detected_at_ms: now_ms(),
                    finished_at_ms: None,
                };
                info!(target: "devnet::relayer", id = %message.id, from = %source.name,
                    dest = message.dest_chain_selector, state = message.state.name(), "message seen");
                state.journal.message(&message)?;
                state.index.insert(message.id, state.messages.len());
                state.messages.push(message);
                if let Some(dest) = dest {
                    wake.push(dest);
                }
            }
            state.journal.cursor(source.selector, block)?;
            state.cursors.insert(source.selector, block);
            Ok(())
        })?;
        for dest in wake {
            self.wake[dest].notify_one();
        }
        Ok(())
    }

    /// Moves a message to a new state, journaling it first.
    fn set_state(&self, id: B256, new_state: MessageState, new_attempt: bool) -> Result<()> {
        self.update(|state| {
            let i = *state.index.get(&id).ok_or(Error::UnknownMessage(id))?;
            let mut message = state.messages[i].clone();
            if new_state.is_final() {
                message.finished_at_ms = Some(now_ms());
            }
            message.state = new_state;
            if new_attempt {
                message.attempts += 1;
            }
            state.journal.message(&message)?;
            info!(target: "devnet::relayer", %id, state = message.state.name(), attempts = message.attempts, "message");
            state.messages[i] = message;
            Ok(())
        })
    }

    /// The next message for a destination: an unfinished delivery first, else the oldest queued.
    fn next_for(&self, dest_selector: u64) -> Option<RelayMessage> {
        let state = self.state.lock().expect("relayer state lock poisoned");
        let mine = || state.messages.iter().filter(|m| m.dest_chain_selector == dest_selector);
        mine()
            .find(|m| {
                matches!(m.state, MessageState::InFlight { .. } | MessageState::Routing { .. })
            })
            .or_else(|| mine().find(|m| m.state == MessageState::Pending))
            .cloned()
    }
}

/// A cheap, cloneable view of a running relayer: query messages, retry, wait.
#[derive(Clone)]
pub struct RelayerHandle(Arc<Shared>);

impl RelayerHandle {
    /// Every message seen, in the order they were seen.
    pub fn messages(&self) -> Vec<RelayMessage> {
        self.0.state.lock().expect("relayer state lock poisoned").messages.clone()
    }

    /// One message.
    pub fn message(&self, id: B256) -> Option<RelayMessage> {
        let state = self.0.state.lock().expect("relayer state lock poisoned");
        state.index.get(&id).map(|&i| state.messages[i].clone())
    }

    /// Queues a FAILED message for another delivery attempt.
    pub fn retry(&self, id: B256) -> Result<()> {
        let dest = self.0.update(|state| {
            let i = *state.index.get(&id).ok_or(Error::UnknownMessage(id))?;
            let message = &mut state.messages[i];
            if !matches!(message.state, MessageState::Failed { .. }) {
                return Err(Error::NotRetryable { id, state: message.state.name() });
            }
            message.state = MessageState::Pending;
            message.finished_at_ms = None;
            let message = message.clone();
            state.journal.message(&message)?;
            info!(target: "devnet::relayer", %id, "retry queued");
            Ok(message.dest_chain_selector)
        })?;
        if let Some(i) = self.0.chain_index(dest) {
            self.0.wake[i].notify_one();
        }
        Ok(())
    }

    /// Scan progress and counts.
    pub fn status(&self) -> RelayerStatus {
        let state = self.0.state.lock().expect("relayer state lock poisoned");
        let mut counts = BTreeMap::new();
        for name in ["PENDING", "IN_FLIGHT", "SUCCESS", "FAILED", "UNROUTABLE"] {
            counts.insert(name.to_owned(), 0);
        }
        for message in &state.messages {
            *counts.entry(message.state.name().to_owned()).or_default() += 1;
        }
        RelayerStatus {
            chains: self
                .0
                .chains
                .iter()
                .map(|c| ChainScan {
                    name: c.name.clone(),
                    selector: c.selector,
                    scanned_block: state.cursors.get(&c.selector).copied(),
                })
                .collect(),
            counts,
        }
    }

    /// Waits until `done` holds for the messages, or `timeout` passes.
    pub async fn wait_for(
        &self,
        what: &str,
        timeout: Duration,
        done: impl Fn(&[RelayMessage]) -> bool,
    ) -> Result<Vec<RelayMessage>> {
        let mut changed = self.0.changed.subscribe();
        let wait = async {
            loop {
                let messages = self.messages();
                if done(&messages) {
                    return messages;
                }
                if changed.changed().await.is_err() {
                    // The relayer is gone: the state cannot change any more.
                    std::future::pending::<()>().await;
                }
            }
        };
        tokio::time::timeout(timeout, wait)
            .await
            .map_err(|_| Error::Timeout { what: what.to_owned(), seconds: timeout.as_secs() })
    }

    /// Waits until a message reaches a final state (SUCCESS, FAILED or UNROUTABLE).
    pub async fn wait_final(&self, id: B256, timeout: Duration) -> Result<RelayMessage> {
        let messages = self
            .wait_for(&format!("message {id} to be delivered"), timeout, |messages| {
                messages.iter().any(|m| m.id == id && m.state.is_final())
            })
            .await?;
        Ok(messages.into_iter().find(|m| m.id == id).expect("waited for it"))
    }
}

/// A running relayer. Dropping it stops its tasks; [`Relayer::shutdown`] also waits for them.
pub struct Relayer {
    // One relayer per journal: two would deliver every message twice.
    _lock: solvency_durable::StateLock,
    handle: RelayerHandle,
    cancel: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
    control_url: String,
}

impl Relayer {
    /// Replays the journal and starts scanning, delivering and serving the control endpoint.
    pub async fn start(config: RelayerConfig) -> Result<Self> {
        let lock = solvency_durable::StateLock::acquire(&config.journal.with_extension("lock"))?;
        let (journal, replayed) = Journal::open(&config.journal)?;
        let index = replayed.messages.iter().enumerate().map(|(i, m)| (m.id, i)).collect();
        if !replayed.messages.is_empty() {
            info!(target: "devnet::relayer", messages = replayed.messages.len(), "journal replayed");
        }
        let shared = Arc::new(Shared {
            wake: config.chains.iter().map(|_| Notify::new()).collect(),
            chains: config.chains.clone(),
            state: Mutex::new(State {
                messages: replayed.messages,
                index,
                cursors: replayed.cursors,
                journal,
            }),
            changed: watch::Sender::new(0),
        });
        let handle = RelayerHandle(shared.clone());
        let cancel = CancellationToken::new();
        let mut tasks = Vec::new();
        // Every chain's lanes and delivery context first: a failure then leaves no task behind.
        let selectors: Vec<u64> = config.chains.iter().map(|c| c.selector).collect();
        let mut contexts = Vec::with_capacity(config.chains.len());
        for chain in &config.chains {
            // A fork's lanes to the other chains, as its Router has them.
            let lanes = match chain.fork_block {
                None => None,
                Some(_) => Some(
                    crate::fork::Lanes::read(
                        &chain.name,
                        &chain.rpc_url,
                        chain.router,
                        chain.selector,
                        &selectors,
                    )
                    .await?,
                ),
            };
            let on_ramps: Option<Vec<Address>> =
                lanes.as_ref().map(|l| l.on_ramps.values().copied().collect());
            let ctx = deliver::DeliveryContext::connect(chain, lanes.map(|l| l.off_ramps)).await?;
            contexts.push((chain.clone(), on_ramps, ctx));
        }
        for (chain, on_ramps, ctx) in contexts {
            tasks.push(tokio::spawn(scan_loop(
                shared.clone(),
                chain,
                on_ramps,
                config.poll_interval,
                cancel.clone(),
            )));
            tasks.push(tokio::spawn(deliver_loop(shared.clone(), ctx, cancel.clone())));
        }
        let (control_url, server) =
            control::serve(handle.clone(), config.control_addr, cancel.clone()).await?;
        tasks.push(server);
        info!(target: "devnet::relayer", %control_url, chains = config.chains.len(), "relayer running");
        Ok(Self { _lock: lock, handle, cancel, tasks, control_url })
    }

    /// A cloneable handle for queries.
    pub fn handle(&self) -> RelayerHandle {
        self.handle.clone()
    }

    /// The control endpoint (`GET /status`, `GET /messages`, `POST /messages/{id}/retry`).
    pub fn control_url(&self) -> &str {
        &self.control_url
    }

    /// Stops every task and waits for them.
    pub async fn shutdown(mut self) {
        self.cancel.cancel();
        for task in self.tasks.drain(..) {
            let _ = task.await;
        }
    }
}

impl Deref for Relayer {
    type Target = RelayerHandle;

    fn deref(&self) -> &RelayerHandle {
        &self.handle
    }
}

impl Drop for Relayer {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

async fn scan_loop(
    shared: Arc<Shared>,
    chain: RelayChain,
    on_ramps: Option<Vec<Address>>,
    poll_interval: Duration,
    cancel: CancellationToken,
) {
    let provider = match solvency_chain_adapters::rpc::connect_str(&chain.rpc_url) {
        Ok(provider) => provider,
        Err(e) => {
            warn!(target: "devnet::relayer", chain = %chain.name, error = %e, "scanner not started");
            return;
        }
    };
    let mut pause = Duration::ZERO;
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(pause) => {}
        }
        let scanned = match &on_ramps {
            None => scan_new_blocks(&shared, &chain, &provider, &cancel).await,
            Some(on_ramps) => scan_on_ramp_events(&shared, &chain, &provider, on_ramps).await,
        };
        pause = match scanned {
            Ok(()) => poll_interval,
            Err(e) => {
                warn!(target: "devnet::relayer", chain = %chain.name, error = %e, "scan failed; retrying");
                (pause * 2).clamp(poll_interval, MAX_BACKOFF)
            }
        };
    }
}

async fn scan_new_blocks(
    shared: &Shared,
    chain: &RelayChain,
    provider: &alloy::providers::DynProvider,
    cancel: &CancellationToken,
) -> Result<()> {
    let rpc = |action: String| {
        move |source| Error::Rpc { chain: chain.name.clone(), action, source: Box::new(source) }
    };
    let head = provider.get_block_number().await.map_err(rpc("read block number".into()))?;
    let from = shared.cursor(chain.selector).map_or(0, |c| c + 1);
    for block in from..=head {
        if cancel.is_cancelled() {
            break;
        }
        let traces: Vec<scan::TxTrace> = provider
            .raw_request(
                "debug_traceBlockByNumber".into(),
                (format!("{block:#x}"), serde_json::json!({ "tracer": "callTracer" })),
            )
            .await
            .map_err(rpc(format!("trace block {block}")))?;
        let sends = scan::find_sends(&traces, chain.router, chain.selector);
        if !sends.is_empty() {
            debug!(target: "devnet::relayer", chain = %chain.name, block, sends = sends.len(), "sends found");
        }
        shared.record_block(chain, block, sends)?;
    }
    Ok(())
}

/// Blocks read per `eth_getLogs` request on a fork.
const LOG_PAGE_BLOCKS: u64 = 1_000;

/// On a fork: every `CCIPMessageSent` the chain's on-ramps emitted after the fork block (or the
/// cursor), recorded block by block, then the head as scanned.
async fn scan_on_ramp_events(
    shared: &Shared,
    chain: &RelayChain,
    provider: &alloy::providers::DynProvider,
    on_ramps: &[Address],
) -> Result<()> {
    use alloy::{rpc::types::Filter, sol_types::SolEvent};
    use solvency_ccip::bindings::on_ramp::StandInOnRamp::CCIPMessageSent;
    let rpc = |action: String| {
        move |source| Error::Rpc { chain: chain.name.clone(), action, source: Box::new(source) }
    };
    let head = provider.get_block_number().await.map_err(rpc("read block number".into()))?;
    let fork_block = chain.fork_block.unwrap_or_default();
    let mut from = shared.cursor(chain.selector).unwrap_or(fork_block) + 1;
    while from <= head {
        let to = head.min(from + LOG_PAGE_BLOCKS - 1);
        let mut by_block: BTreeMap<u64, Vec<FoundSend>> = BTreeMap::new();
        // No on-ramp (a chain without lanes) has nothing to read: a filter without an address
        // would match every log.
        if !on_ramps.is_empty() {
            let filter = Filter::new()
                .address(on_ramps.to_vec())
                .event_signature(CCIPMessageSent::SIGNATURE_HASH)
                .from_block(from)
                .to_block(to);
            let logs = provider
                .get_logs(&filter)
                .await
                .map_err(rpc(format!("read on-ramp events of blocks {from}..={to}")))?;
            for log in &logs {
                match (log.block_number, scan::found_in_log(log)) {
                    (Some(block), Some(send)) => by_block.entry(block).or_default().push(send),
                    // The filter asks for this event from these on-ramps only: a log that does
                    // not decode is not a message of the OnRamp 1.6 this relayer reads.
                    _ => warn!(target: "devnet::relayer", chain = %chain.name,
                        tx = ?log.transaction_hash, "an on-ramp log that is not OnRamp 1.6's CCIPMessageSent; skipped"),
                }
            }
        }
        for (block, sends) in by_block {
            shared.record_block(chain, block, sends)?;
        }
        shared.record_block(chain, to, Vec::new())?;
        from = to + 1;
    }
    Ok(())
}

async fn deliver_loop(
    shared: Arc<Shared>,
    ctx: deliver::DeliveryContext,
    cancel: CancellationToken,
) {
    let dest = shared.chain_index(ctx.chain.selector).expect("deliverer for a known chain");
    let mut pause = Duration::from_millis(50);
    loop {
        if cancel.is_cancelled() {
            return;
        }
        let Some(message) = shared.next_for(ctx.chain.selector) else {
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = shared.wake[dest].notified() => continue,
            }
        };
        let result = tokio::select! {
            _ = cancel.cancelled() => return,
            result = deliver::deliver(&shared, &ctx, &message) => result,
        };
        match result {
            Ok(()) => pause = Duration::from_millis(50),
            Err(e) => {
                warn!(target: "devnet::relayer", chain = %ctx.chain.name, id = %message.id, error = %e,
                    "delivery attempt failed; retrying");
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = tokio::time::sleep(pause) => {}
                }
                pause = (pause * 2).min(MAX_BACKOFF);
            }
        }
    }
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}
