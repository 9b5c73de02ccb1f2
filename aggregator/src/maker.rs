//! An owner's withdrawal, end to end (`solvency maker withdraw`): sign the request with the
//! owner's account, seal it to the enclave from a fresh reply key, hand it to the aggregator,
//! wait for the epoch that authorizes it, open the reply, queue the withdrawal on the vault,
//! wait the vault's delay in chain time, and execute it with the latest epoch's proof
//! (docs/self-healing.md, "Withdrawals"). The amount is the owner's own figure: it goes into the
//! sealed request and the vault calls, never into a log line.

use std::time::{Duration, Instant};

use alloy::{
    primitives::{B256, U256},
    providers::Provider,
    signers::{SignerSync, local::PrivateKeySigner},
};
use anyhow::{Context, bail};
use solvency_ccip::bindings::vault::ReserveVault;
use solvency_enclave::{
    X25519KeyPair,
    withdrawal::{WithdrawalReply, WithdrawalRequest, open_reply, seal_request},
};
use solvency_registry::Registry;
use tracing::info;

use crate::orchestrator::WithdrawalState;

/// What to withdraw, from where, through which aggregator.
pub struct Withdrawal<'a> {
    /// The registry.
    pub registry: &'a Registry,
    /// The vault's chain (its name in the registry).
    pub chain: &'a str,
    /// How much, in the collateral's smallest unit.
    pub amount: U256,
    /// Above every nonce this owner used before.
    pub nonce: u64,
    /// The owner's account: signs the request, pays gas for queue and execute, is paid.
    pub account: PrivateKeySigner,
    /// The aggregator's API (`solvency run --http`).
    pub aggregator: url::Url,
    /// Stop once queued (someone else may execute: the owner alone is paid).
    pub queue_only: bool,
    /// The whole wait is bounded by this.
    pub timeout: Duration,
    /// How often to ask the aggregator and the chain.
    pub poll: Duration,
}

/// How it ended.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Outcome {
    /// The authorization id.
    pub id: B256,
    /// The chain.
    pub chain: String,
    /// The epoch whose leaf authorized it first.
    pub authorized_in: u64,
    /// The queue transaction.
    pub queued_tx: B256,
    /// The execute transaction (none with `queue_only`).
    pub executed_tx: Option<B256>,
}

impl Withdrawal<'_> {
    /// Runs it.
    pub async fn run(self) -> anyhow::Result<Outcome> {
        let deadline = Instant::now() + self.timeout;
        let network = self.registry.network()?;
        let chain = network.chain(self.registry, self.chain)?.clone();
        let Some(vault) = chain.vault else {
            bail!("{} has no reserve vault in {}", chain.name, self.registry.path().display());
        };
        let owner = self.account.address();
        let reply_key = X25519KeyPair::generate();
        let request = WithdrawalRequest {
            chainSelector: chain.selector,
            vault,
            owner,
            amount: self.amount,
            nonce: self.nonce,
            replyKey: B256::from(reply_key.public().0),
        };
        let enclave = network.enclave.hpke_public_key;
        let (http, base) = client(&self.aggregator)?;
        let sent =
            Sent::new(self.registry, &request, &self.account, &reply_key, &http, &base).await?;
        let id = request.id();
        info!(target: "maker", %id, chain = %chain.name, "withdrawal requested; waiting for an epoch to authorize it");

        let latest = || async {
            let state = sent.state(&http, &base).await?;
            match state {
                WithdrawalState::Authorized { epoch, reply, .. } => {
                    let reply =
                        open_reply(&reply, &self.registry.deployment_id, &reply_key, &enclave)
                            .context("the reply does not open with this request's reply key")?;
                    if reply.authorization.id != id || reply.epoch != epoch {
                        bail!("the reply is not this request's authorization");
                    }
                    Ok(Some(reply))
                }
                WithdrawalState::Queued => Ok(None),
                WithdrawalState::Refused { error } => {
                    bail!("the enclave refused the request: {error}")
                }
                WithdrawalState::Expired { .. } => bail!(
                    "not authorized: the amount is more than this account has available in the vault, or nonce {} was not above its previous ones",
                    self.nonce
                ),
                WithdrawalState::Settled { .. } => bail!("already paid"),
            }
        };
        let first = loop {
            if let Some(reply) = latest().await? {
                break reply;
            }
            wait(deadline, self.poll, "an epoch to authorize the withdrawal").await?;
        };
        let authorized_in = first.epoch;
        info!(target: "maker", %id, epoch = authorized_in, "authorized");

        let wallet = solvency_chain_adapters::ChainClient::new(&chain, Default::default())
            .sender(self.account.clone());
        let contract = ReserveVault::new(vault, &wallet);
        // A proof is under one epoch's leaf: if the next epoch lands first, take its reply.
        let queued_tx = with_fresh_proof(first, &latest, deadline, self.poll, |reply| {
            let contract = contract.clone();
            async move {
                let pending = contract
                    .queueWithdrawal((&reply.authorization).into(), reply.proof.clone())
                    .send()
                    .await?;
                Ok(solvency_chain_adapters::rpc::confirm(pending).await?.transaction_hash)
            }
        })
        .await
        .context("queueing the withdrawal on the vault")?;
        let delay = contract.getWithdrawalDelay().call().await?;
        let queued = contract.getWithdrawal(id).call().await?;
        let executable_at = queued.queuedAt + delay;
        info!(target: "maker", %id, %queued_tx, executable_at, "queued");
        if self.queue_only {
            return Ok(Outcome {
                id,
                chain: chain.name,
                authorized_in,
                queued_tx,
                executed_tx: None,
            });
        }
        loop {
            let now = chain_time(&wallet).await?;
            if now >= executable_at {
                break;
            }
            wait(deadline, self.poll, "the vault's withdrawal delay").await?;
        }
        let reply = loop {
            if let Some(reply) = latest().await? {
                break reply;
            }
            wait(deadline, self.poll, "the authorization").await?;
        };
        let executed_tx = with_fresh_proof(reply, &latest, deadline, self.poll, |reply| {
            let contract = contract.clone();
            async move {
                let pending = contract
                    .executeWithdrawal((&reply.authorization).into(), reply.proof.clone())
                    .send()
                    .await?;
                Ok(solvency_chain_adapters::rpc::confirm(pending).await?.transaction_hash)
            }
        })
        .await
        .context("executing the withdrawal on the vault")?;
        info!(target: "maker", %id, %executed_tx, "paid");
        Ok(Outcome {
            id,
            chain: chain.name,
            authorized_in,
            queued_tx,
            executed_tx: Some(executed_tx),
        })
    }
}

/// Sends with `reply`'s proof. The vault checks it against its chain's latest leaf, which may
/// not have arrived yet (the aggregator answers once the hub publishes; CCIP delivers after) or
/// may already be newer: on a refusal, it tries again with the latest reply until the deadline,
/// and then says what the vault said last.
async fn with_fresh_proof<F, Fut, L, LFut>(
    mut reply: WithdrawalReply,
    latest: &L,
    deadline: Instant,
    poll: Duration,
    send: F,
) -> anyhow::Result<B256>
where
    F: Fn(WithdrawalReply) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<B256>>,
    L: Fn() -> LFut,
    LFut: std::future::Future<Output = anyhow::Result<Option<WithdrawalReply>>>,
{
    loop {
        let refused = match send(reply.clone()).await {
            Ok(tx) => return Ok(tx),
            Err(e) => e,
        };
        if let Err(gave_up) = wait(deadline, poll, "the vault to take the authorization").await {
            return Err(refused.context(gave_up));
        }
        if let Some(newer) = latest().await? {
            reply = newer;
        }
    }
}

/// An HTTP client for the aggregator's API, and its base URL.
fn client(aggregator: &url::Url) -> anyhow::Result<(reqwest::Client, String)> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .context("an HTTP client")?;
    Ok((http, aggregator.as_str().trim_end_matches('/').to_owned()))
}

/// A request handed to the aggregator: its sealed bytes and its handle.
struct Sent {
    sealed: alloy::primitives::Bytes,
    handle: B256,
}

impl Sent {
    /// Signs `request` with the owner's account, seals it from `reply_key` to the registry's
    /// enclave and hands it to the aggregator.
    async fn new(
        registry: &Registry,
        request: &WithdrawalRequest,
        account: &PrivateKeySigner,
        reply_key: &X25519KeyPair,
        http: &reqwest::Client,
        base: &str,
    ) -> anyhow::Result<Self> {
        let signature = account.sign_hash_sync(&request.digest())?.as_bytes();
        let sealed = seal_request(
            request,
            &signature,
            &registry.deployment_id,
            reply_key,
            &registry.network()?.enclave.hpke_public_key,
        )?;
        let handle = post(http, base, &sealed).await?;
        Ok(Self { sealed, handle })
    }

    /// Where the request stands. An aggregator that no longer knows it (it restarted: requests
    /// live in its memory) is given the very same bytes again: the same request, so the same
    /// authorization, never a second one.
    async fn state(&self, http: &reqwest::Client, base: &str) -> anyhow::Result<WithdrawalState> {
        let response = http
            .get(format!("{base}/api/v1/withdrawals/{}", self.handle))
            .send()
            .await
            .context("asking the aggregator")?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            post(http, base, &self.sealed).await?;
            return Ok(WithdrawalState::Queued);
        }
        response
            .error_for_status()
            .context("the aggregator's answer")?
            .json()
            .await
            .context("reading the aggregator's answer")
    }
}

/// Hands sealed request bytes to the aggregator; returns their handle.
async fn post(
    http: &reqwest::Client,
    base: &str,
    sealed: &alloy::primitives::Bytes,
) -> anyhow::Result<B256> {
    let answer: serde_json::Value = http
        .post(format!("{base}/api/v1/withdrawals"))
        .json(&serde_json::json!({ "request": sealed }))
        .send()
        .await
        .context("sending the request to the aggregator")?
        .json()
        .await
        .context("reading the aggregator's answer")?;
    answer["handle"]
        .as_str()
        .and_then(|h| h.parse().ok())
        .with_context(|| format!("the aggregator did not take the request: {answer}"))
}

/// Subscribes an owner to statements: a request of amount zero whose reply key — the owner's
/// statement key — every later statement is sealed to.
pub struct Subscription<'a> {
    /// The registry.
    pub registry: &'a Registry,
    /// The statement key (keep it: statements are sealed to it).
    pub key: &'a X25519KeyPair,
    /// Above every nonce this owner used before.
    pub nonce: u64,
    /// The owner's account (signs the request; pays nothing).
    pub account: PrivateKeySigner,
    /// The aggregator's API.
    pub aggregator: url::Url,
    /// The whole wait is bounded by this.
    pub timeout: Duration,
    /// How often to ask.
    pub poll: Duration,
}

impl Subscription<'_> {
    /// Runs it: returns the epoch that took the subscription (statements come from it on).
    pub async fn run(self) -> anyhow::Result<u64> {
        let deadline = Instant::now() + self.timeout;
        let network = self.registry.network()?;
        // Any vault names the request; a subscription covers every vault.
        let chain = network.chains.iter().find(|c| c.vault.is_some()).with_context(|| {
            format!("no chain of {} has a reserve vault", self.registry.path().display())
        })?;
        let request = WithdrawalRequest {
            chainSelector: chain.selector,
            vault: chain.vault.expect("a vault chain"),
            owner: self.account.address(),
            amount: U256::ZERO,
            nonce: self.nonce,
            replyKey: B256::from(self.key.public().0),
        };
        let enclave = network.enclave.hpke_public_key;
        let deployment = self.registry.deployment_id;
        let (http, base) = client(&self.aggregator)?;
        let sent =
            Sent::new(self.registry, &request, &self.account, self.key, &http, &base).await?;
        loop {
            match sent.state(&http, &base).await? {
                WithdrawalState::Authorized { epoch, reply, .. } => {
                    let ack = open_reply(&reply, &deployment, self.key, &enclave)
                        .context("the acknowledgement does not open with the statement key")?;
                    if ack.authorization.id != request.id() || !ack.authorization.amount.is_zero() {
                        bail!("the acknowledgement is not this subscription's");
                    }
                    return Ok(epoch);
                }
                WithdrawalState::Settled { epoch, .. } => return Ok(epoch),
                WithdrawalState::Queued => {}
                WithdrawalState::Refused { error } => {
                    bail!("the enclave refused the subscription: {error}")
                }
                WithdrawalState::Expired { .. } => bail!(
                    "not taken: nonce {} is not above this account's previous ones",
                    self.nonce
                ),
            }
            wait(deadline, self.poll, "an epoch to take the subscription").await?;
        }
    }
}

/// An owner's latest statement, opened with its statement key and checked against the ledger
/// root a chain holds for the statement's epoch. Returns the statement and the chain that
/// vouched for it.
pub async fn statement(
    registry: &Registry,
    owner: alloy::primitives::Address,
    key: &X25519KeyPair,
    aggregator: &url::Url,
) -> anyhow::Result<(solvency_enclave::statement::Statement, String)> {
    // Each chain keeps only its latest root: if an epoch lands between fetching the statement
    // and reading the chains, fetch the new statement.
    let mut attempts = 3;
    loop {
        attempts -= 1;
        match statement_once(registry, owner, key, aggregator).await? {
            Some(proven) => return Ok(proven),
            None if attempts > 0 => continue,
            None => bail!(
                "no chain holds the epoch of the latest statement (epochs are landing faster than it can be checked): ask again"
            ),
        }
    }
}

async fn statement_once(
    registry: &Registry,
    owner: alloy::primitives::Address,
    key: &X25519KeyPair,
    aggregator: &url::Url,
) -> anyhow::Result<Option<(solvency_enclave::statement::Statement, String)>> {
    let network = registry.network()?;
    let (http, base) = client(aggregator)?;
    let response = http
        .get(format!("{base}/api/v1/statements/{owner}"))
        .send()
        .await
        .context("asking the aggregator")?;
    if response.status() == reqwest::StatusCode::NOT_FOUND {
        bail!(
            "no statement for {owner} yet: subscribe (solvency maker subscribe) and wait for an epoch"
        );
    }
    let answer: serde_json::Value =
        response.error_for_status()?.json().await.context("reading the aggregator's answer")?;
    let sealed: alloy::primitives::Bytes = serde_json::from_value(answer["statement"].clone())
        .context("the aggregator's answer has no statement")?;
    let statement = solvency_enclave::statement::open_statement(
        &sealed,
        &registry.deployment_id,
        key,
        &network.enclave.hpke_public_key,
    )
    .context("the statement does not open with this key: not this owner's statement key, or not sealed by the enclave")?;
    if statement.owner != owner {
        bail!("the statement is of another owner");
    }
    let readings = solvency_chain_adapters::read_all(
        &network.chains,
        solvency_chain_adapters::Backoff::default(),
    )
    .await;
    for reading in readings {
        let Ok(state) = reading.state else { continue };
        if state.attestation.epoch == statement.epoch {
            if !statement.verifies(state.attestation.ledgerRoot) {
                bail!(
                    "the statement of epoch {} does not prove under the ledger root {} holds: do not trust it",
                    statement.epoch,
                    reading.chain
                );
            }
            return Ok(Some((statement, reading.chain)));
        }
    }
    Ok(None)
}

async fn chain_time(provider: &impl Provider) -> anyhow::Result<u64> {
    Ok(provider
        .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
        .await?
        .context("the chain has no latest block")?
        .header
        .timestamp)
}

async fn wait(deadline: Instant, poll: Duration, what: &str) -> anyhow::Result<()> {
    if Instant::now() + poll > deadline {
        bail!("gave up waiting for {what} (--timeout)");
    }
    tokio::time::sleep(poll).await;
    Ok(())
}

/// The default nonce: Unix time in milliseconds (above any earlier one of the same owner).
pub fn default_nonce() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Deposits `amount` of a chain's vault collateral from `account` (approve, then deposit): the
/// account's standby (or, for the protocol's account, its reserve share). Returns the deposit's
/// transaction.
pub async fn deposit(
    registry: &Registry,
    chain: &str,
    amount: U256,
    account: PrivateKeySigner,
) -> anyhow::Result<B256> {
    use solvency_ccip::bindings::erc20::IERC20;
    let network = registry.network()?;
    let chain = network.chain(registry, chain)?;
    let Some(vault) = chain.vault else {
        bail!("{} has no reserve vault in {}", chain.name, registry.path().display());
    };
    let owner = account.address();
    let wallet =
        solvency_chain_adapters::ChainClient::new(chain, Default::default()).sender(account);
    let contract = ReserveVault::new(vault, &wallet);
    let token = contract.getToken().call().await.context("reading the vault's collateral")?;
    let erc20 = IERC20::new(token, &wallet);
    let held = erc20.balanceOf(owner).call().await.context("reading the account's balance")?;
    if held < amount {
        bail!(
            "{owner} holds less of the vault's collateral ({token}) on {} than it would deposit",
            chain.name
        );
    }
    let approve = erc20.approve(vault, amount).send().await?;
    solvency_chain_adapters::rpc::confirm(approve).await.context("approving the vault")?;
    let pending = contract.deposit(amount).send().await.context("depositing")?;
    Ok(solvency_chain_adapters::rpc::confirm(pending).await?.transaction_hash)
}

/// How much of `owner`'s collateral is on its way into `chain`'s vault and not yet in a
/// statement of `epoch`: its deposits the vault logged after the log count that epoch's leaf
/// vouches for, or `None` when that cannot be told now (the chain holds another epoch, or one
/// of the owner's transactions is still pending) — then the caller waits for the next epoch.
///
/// Read from the chains alone, so an agent restarted after a deposit (a kill, a crash) sees
/// the deposit it made before and does not make it twice.
pub async fn deposits_in_flight(
    registry: &Registry,
    chain: &str,
    owner: alloy::primitives::Address,
    epoch: u64,
) -> anyhow::Result<Option<U256>> {
    use solvency_ccip::bindings::oracle::SolvencyOracleBase;
    use solvency_enclave::ownership::EntryKind;
    let network = registry.network()?;
    let chain = network.chain(registry, chain)?;
    let Some(vault) = chain.vault else {
        bail!("{} has no reserve vault in {}", chain.name, registry.path().display());
    };
    let client = solvency_chain_adapters::ChainClient::new(chain, Default::default());
    let provider = client.provider();
    let pending = provider.get_transaction_count(owner).pending().await?;
    let mined = provider.get_transaction_count(owner).latest().await?;
    if pending > mined {
        return Ok(None);
    }
    let oracle = SolvencyOracleBase::new(chain.oracle(), provider);
    let block = provider.get_block_number().await?;
    let attestation = oracle.latestAttestation().block(block.into()).call().await?;
    if attestation.epoch != epoch {
        return Ok(None);
    }
    let vouched = oracle.latestLeaf().block(block.into()).call().await?.leaf.logCount;
    // Up to the latest block: a deposit mined but not yet past the chain's confirmations is on
    // its way too.
    let mut latest = chain.clone();
    latest.confirmations = 0;
    let entries = solvency_chain_adapters::vault::VaultReader::new(&latest, vault).read().await?;
    Ok(Some(
        entries
            .iter()
            .filter(|e| e.kind == EntryKind::Deposit && e.account == owner && e.index > vouched)
            .fold(U256::ZERO, |sum, e| sum + e.amount),
    ))
}

/// What a maker offers in one quote: `size` units of `asset` (zero: a null quote) at
/// `premium_bps`, counting until hub time `expires_at`. `Debug` leaves size and premium out.
#[derive(Clone)]
pub struct QuoteOffer {
    /// The collateral's symbol, as the registry lists it.
    pub asset: String,
    /// Units offered (zero: a null quote, which withdraws the offer).
    pub size: U256,
    /// The premium asked, in basis points.
    pub premium_bps: u32,
    /// Hub time from which the quote no longer counts.
    pub expires_at: u64,
    /// Above every sequence number this maker used (its latest quote wins).
    pub seq: u64,
}

impl std::fmt::Debug for QuoteOffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QuoteOffer")
            .field("asset", &self.asset)
            .field("expires_at", &self.expires_at)
            .field("seq", &self.seq)
            .finish_non_exhaustive()
    }
}

/// A quote the board took: its transaction and the board round it went into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SubmittedQuote {
    /// The transaction.
    pub tx: B256,
    /// The round (`QuoteSubmitted`'s): the quote counts once this round has closed.
    pub round: u64,
}

/// Seals `offer` from `quote_key` to the enclave and submits it on the hub's quote board as
/// `account`; returns the transaction and its round. Refused, before anything is sent, when
/// the hub has no board or the board does not hold `quote_key` for the account.
pub async fn submit_quote(
    registry: &Registry,
    account: PrivateKeySigner,
    quote_key: &solvency_enclave::X25519KeyPair,
    offer: &QuoteOffer,
) -> anyhow::Result<SubmittedQuote> {
    use solvency_ccip::bindings::quote_board::QuoteBoard;
    use solvency_enclave::{market::Class, quote::QuoteTerms};
    let network = registry.network()?;
    let hub = network.hub();
    let (client, board) = hub_board(hub).await?;
    let asset = network.chains.iter().find_map(|c| c.asset(&offer.asset)).with_context(|| {
        format!("no chain of {} lists the asset {}", registry.path().display(), offer.asset)
    })?;
    let maker = account.address();
    let wallet = client.sender(account);
    let contract = QuoteBoard::new(board, &wallet);
    let registered =
        contract.getMakerKey(maker).call().await.context("reading the board's maker registry")?;
    let key = alloy::primitives::B256::from(quote_key.public());
    if registered != key {
        bail!(
            "the quote board {board} does not hold this quote key for {maker} (it holds {registered}): \
             its owner registers {key} (solvency admin set-maker {maker} {key})"
        );
    }
    let terms = QuoteTerms {
        class: Class { asset: asset.id, decimals: asset.decimals },
        size: offer.size,
        premium_bps: offer.premium_bps,
        expires_at: offer.expires_at,
    };
    let sealed = solvency_enclave::quote::seal_quote(
        &registry.deployment_id,
        hub.selector,
        maker,
        offer.seq,
        &terms,
        quote_key,
        &network.enclave.hpke_public_key,
    )
    .context("sealing the quote")?;
    let pending =
        contract.submitQuote(sealed.into()).send().await.context("submitting the quote")?;
    let receipt = solvency_chain_adapters::rpc::confirm(pending).await?;
    let round = receipt
        .inner
        .logs()
        .iter()
        .filter(|log| log.address() == board)
        .find_map(|log| log.log_decode::<QuoteBoard::QuoteSubmitted>().ok())
        .map(|event| event.inner.data.round)
        .with_context(|| {
            format!(
                "transaction {} has no QuoteSubmitted event of the board",
                receipt.transaction_hash
            )
        })?;
    Ok(SubmittedQuote { tx: receipt.transaction_hash, round })
}

/// A client of the hub chain and the quote board its hub names; refused when it names none.
pub(crate) async fn hub_board(
    hub: &solvency_registry::ChainConfig,
) -> anyhow::Result<(solvency_chain_adapters::ChainClient, alloy::primitives::Address)> {
    let client = solvency_chain_adapters::ChainClient::new(hub, Default::default());
    match solvency_chain_adapters::quotes::quote_board(&client, hub.oracle()).await? {
        Some(board) => Ok((client, board)),
        None => {
            bail!(
                "the hub on {} has no quote board: its owner sets one (solvency admin set-quote-board)",
                hub.name
            )
        }
    }
}

/// The hub's quote board's current round, the hub's time, and the round's length.
pub async fn board_round(registry: &Registry) -> anyhow::Result<(u64, u64, u64)> {
    use solvency_ccip::bindings::quote_board::QuoteBoard;
    let (client, board) = hub_board(registry.network()?.hub()).await?;
    let seconds = QuoteBoard::new(board, client.provider())
        .getRoundSeconds()
        .call()
        .await
        .context("reading the board's round length")?;
    let (_, hub_time) = client.latest_block().await?;
    Ok((hub_time / seconds.max(1), hub_time, seconds))
}
