//! Delivering one message: sign a `routeMessage` call on the destination router, journal it,
//! send it, and read the outcome from the router's `MsgExecuted` event. On a fork the call is
//! sent as the off-ramp the real Router accepts, and its outcome read from the Router's
//! `MessageExecuted` event and the call's return value.

use std::{collections::HashMap, time::Duration};

use alloy::{
    eips::eip2718::Encodable2718,
    network::{EthereumWallet, NetworkTransactionBuilder, TransactionBuilder},
    primitives::{Address, B256, Bytes},
    providers::{DynProvider, Provider},
    rpc::types::{TransactionReceipt, TransactionRequest},
    sol_types::{SolCall, SolValue},
};
use solvency_ccip::bindings::{
    router::{Client, MockCCIPRouter},
    upstream::{Internal, StandInOffRamp},
};

use super::{MessageState, RelayChain, RelayMessage, Shared};
use crate::{Error, Result};

/// `MockCCIPRouter.GAS_FOR_CALL_EXACT_CHECK`, what real CCIP off-ramps pass too.
const GAS_FOR_CALL_EXACT_CHECK: u16 = 5_000;
/// Gas for `routeMessage` itself around the receiver's limit: ERC-165 checks, the exact-gas
/// check, events, the intrinsic 21,000.
const ROUTE_OVERHEAD_GAS: u64 = 300_000;
/// Calldata gas per byte, counted as if every byte were non-zero and priced at the EIP-7623
/// floor (10 per token, 4 tokens per non-zero byte): at least what both the standard (16 per
/// byte) and the floor pricing charge, so a large message never gets less than its intrinsic
/// gas (a node drops such a transaction without a receipt).
const CALLDATA_GAS_PER_BYTE: u64 = 40;
/// anvil's default block gas limit.
const BLOCK_GAS_LIMIT: u64 = 30_000_000;
/// How long a sent delivery is polled for its receipt before the attempt is retried.
const RECEIPT_WAIT: Duration = Duration::from_secs(30);

/// What a deliverer needs for its destination chain.
pub(crate) struct DeliveryContext {
    pub(crate) chain: RelayChain,
    provider: DynProvider,
    wallet: EthereumWallet,
    from: Address,
    chain_id: u64,
    /// On a fork: the off-ramp the Router accepts for each source chain.
    off_ramps: Option<HashMap<u64, Address>>,
}

impl DeliveryContext {
    pub(crate) async fn connect(
        chain: &RelayChain,
        off_ramps: Option<HashMap<u64, Address>>,
    ) -> Result<Self> {
        let provider = solvency_chain_adapters::rpc::connect_str(&chain.rpc_url)
            .map_err(|e| Error::Control { url: chain.rpc_url.clone(), reason: e.to_string() })?;
        let chain_id = provider.get_chain_id().await.map_err(|source| Error::Rpc {
            chain: chain.name.clone(),
            action: "read chain id".into(),
            source: Box::new(source),
        })?;
        Ok(Self {
            chain: chain.clone(),
            provider,
            wallet: EthereumWallet::from(chain.relayer.signer()),
            from: chain.relayer.address,
            chain_id,
            off_ramps,
        })
    }

    fn rpc(&self, action: &str) -> impl FnOnce(alloy::transports::TransportError) -> Error + '_ {
        let action = action.to_owned();
        move |source| Error::Rpc {
            chain: self.chain.name.clone(),
            action,
            source: Box::new(source),
        }
    }
}

/// Takes one PENDING or IN_FLIGHT message to SUCCESS or FAILED. An error leaves it where it is
/// (journaled), to be attempted again.
pub(crate) async fn deliver(
    shared: &Shared,
    ctx: &DeliveryContext,
    message: &RelayMessage,
) -> Result<()> {
    if let Some(off_ramps) = &ctx.off_ramps {
        return deliver_as_off_ramp(shared, ctx, off_ramps, message).await;
    }
    let (tx_hash, raw_tx) = match &message.state {
        MessageState::InFlight { tx_hash, raw_tx } => (*tx_hash, raw_tx.clone()),
        MessageState::Pending => {
            let (tx_hash, raw_tx) = sign_route_message(ctx, message).await?;
            // Journal before sending: from here on, only these bytes can deliver the message.
            shared.set_state(
                message.id,
                MessageState::InFlight { tx_hash, raw_tx: raw_tx.clone() },
                true,
            )?;
            (tx_hash, raw_tx)
        }
        _ => return Ok(()),
    };

    let receipt = match receipt(ctx, tx_hash).await? {
        Some(receipt) => receipt,
        None => {
            if let Err(e) = ctx.provider.send_raw_transaction(&raw_tx).await {
                // "already known" or "nonce too low" after a restart: the receipt decides. A
                // transaction the node neither knows nor mined was refused outright (too little
                // gas, a bad fee): those bytes can never deliver, so the message fails and a
                // retry signs new ones, instead of every later message waiting behind it.
                tracing::debug!(target: "devnet::relayer", %tx_hash, error = %e, "send refused");
                if refused_outright(ctx, tx_hash, decode_nonce(&raw_tx)).await? {
                    return shared.set_state(
                        message.id,
                        refused(format!(
                            "the node refused the delivery transaction ({e}); retry signs a new one"
                        )),
                        false,
                    );
                }
            }
            match wait_receipt(ctx, tx_hash).await? {
                Some(receipt) => receipt,
                None => return stuck(shared, ctx, message, tx_hash).await,
            }
        }
    };
    shared.set_state(message.id, outcome(&ctx.chain, &receipt), false)
}

/// The `routeMessage` call that delivers a message, and the gas its transaction gets.
fn route_message_call(message: &RelayMessage) -> (Bytes, u64) {
    let call = MockCCIPRouter::routeMessageCall {
        message: Client::Any2EVMMessage {
            messageId: message.id,
            sourceChainSelector: message.source_chain_selector,
            sender: message.sender.abi_encode().into(),
            data: message.data.clone(),
            destTokenAmounts: vec![],
        },
        gasForCallExactCheck: GAS_FOR_CALL_EXACT_CHECK,
        gasLimit: message.gas_limit,
        receiver: message.receiver,
    };
    let input = call.abi_encode();
    let receiver_gas = u64::try_from(message.gas_limit).unwrap_or(u64::MAX);
    let gas = receiver_gas
        .saturating_add(ROUTE_OVERHEAD_GAS)
        .saturating_add(CALLDATA_GAS_PER_BYTE.saturating_mul(input.len() as u64))
        .min(BLOCK_GAS_LIMIT);
    (input.into(), gas)
}

async fn sign_route_message(
    ctx: &DeliveryContext,
    message: &RelayMessage,
) -> Result<(B256, Bytes)> {
    let (input, gas) = route_message_call(message);
    let nonce = ctx
        .provider
        .get_transaction_count(ctx.from)
        .pending()
        .await
        .map_err(ctx.rpc("read relayer nonce"))?;
    let base_fee = ctx
        .provider
        .get_block(Default::default())
        .await
        .map_err(ctx.rpc("read latest block"))?
        .and_then(|b| b.header.base_fee_per_gas);
    sign(ctx, ctx.chain.router, input, nonce, gas, base_fee).await
}

/// A transaction from the relayer's account, signed: its hash and its bytes.
async fn sign(
    ctx: &DeliveryContext,
    to: Address,
    input: Bytes,
    nonce: u64,
    gas: u64,
    base_fee: Option<u64>,
) -> Result<(B256, Bytes)> {
    let base_fee = base_fee.unwrap_or(1_000_000_000) as u128;
    let tx = TransactionRequest::default()
        .with_from(ctx.from)
        .with_to(to)
        .with_input(input)
        .with_nonce(nonce)
        .with_chain_id(ctx.chain_id)
        .with_gas_limit(gas)
        .with_max_priority_fee_per_gas(1_000_000_000)
        .with_max_fee_per_gas(base_fee * 2 + 1_000_000_000);
    let envelope = tx.build(&ctx.wallet).await.map_err(|e| Error::Control {
        url: ctx.chain.rpc_url.clone(),
        reason: format!("cannot sign the delivery transaction: {e}"),
    })?;
    Ok((*envelope.tx_hash(), envelope.encoded_2718().into()))
}

async fn receipt(ctx: &DeliveryContext, tx_hash: B256) -> Result<Option<TransactionReceipt>> {
    ctx.provider.get_transaction_receipt(tx_hash).await.map_err(ctx.rpc("read delivery receipt"))
}

/// Polls for a receipt (anvil mines on arrival, so normally the first poll has it).
async fn wait_receipt(ctx: &DeliveryContext, tx_hash: B256) -> Result<Option<TransactionReceipt>> {
    let deadline = tokio::time::Instant::now() + RECEIPT_WAIT;
    let mut pause = Duration::from_millis(5);
    loop {
        if let Some(receipt) = receipt(ctx, tx_hash).await? {
            return Ok(Some(receipt));
        }
        if tokio::time::Instant::now() >= deadline {
            return Ok(None);
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(500));
    }
}

/// No receipt after waiting. If the relayer's nonce has moved past the transaction, it can never
/// be mined: the message is FAILED (retry signs a new one). Otherwise it is still pending.
async fn stuck(
    shared: &Shared,
    ctx: &DeliveryContext,
    message: &RelayMessage,
    tx_hash: B256,
) -> Result<()> {
    let mined_nonce = ctx
        .provider
        .get_transaction_count(ctx.from)
        .await
        .map_err(ctx.rpc("read relayer nonce"))?;
    let tx_nonce = match &message.state {
        MessageState::InFlight { raw_tx, .. } => decode_nonce(raw_tx),
        _ => None,
    };
    if tx_nonce.is_some_and(|n| n < mined_nonce) {
        return shared.set_state(
            message.id,
            refused(
                "the delivery transaction was replaced and never mined; retry to send a new one",
            ),
            false,
        );
    }
    Err(Error::Timeout {
        what: format!("receipt of delivery {tx_hash}"),
        seconds: RECEIPT_WAIT.as_secs(),
    })
}

/// Balance an off-ramp is given on a fork to pay for the deliveries sent as it (100 ETH).
const OFF_RAMP_BALANCE: u128 = 100 * 10u128.pow(18);

/// On a fork: delivers as the off-ramp the destination's Router accepts for the message's source
/// (anvil impersonation, as chainlink-local's fork simulator pranks a real OffRamp).
///
/// Exactly once: the off-ramp's nonce for the delivery is journaled before the transaction is
/// sent, and only one transaction can be mined at a nonce. An attempt after a stop asks whether
/// that nonce was used — then the Router's `MessageExecuted` events since the fork tell whether
/// it executed the message or reverted — and sends again only if it was not.
async fn deliver_as_off_ramp(
    shared: &Shared,
    ctx: &DeliveryContext,
    off_ramps: &HashMap<u64, Address>,
    message: &RelayMessage,
) -> Result<()> {
    if !message.tokens.is_empty() {
        return deliver_tokens(shared, ctx, off_ramps, message).await;
    }
    let (off_ramp, nonce) = match &message.state {
        // The off-ramp and nonce journaled before sending, whatever the Router's off-ramps are
        // now: only a transaction at that nonce of that account can have delivered it.
        MessageState::Routing { off_ramp, nonce, .. } => {
            let off_ramp = *off_ramp;
            let mined = ctx
                .provider
                .get_transaction_count(off_ramp)
                .await
                .map_err(ctx.rpc("read the off-ramp's nonce"))?;
            if mined > *nonce {
                // The transaction at this nonce was mined: it executed the message, or it
                // reverted.
                let outcome = match executed_at(ctx, message.id, off_ramp, *nonce).await? {
                    Some(tx_hash) => routed_outcome(ctx, tx_hash).await?,
                    None => refused(
                        "the delivery transaction was mined without executing the message (it reverted); retry sends a new one",
                    ),
                };
                return shared.set_state(message.id, outcome, false);
            }
            // Not sent at that nonce yet; executed some other way meanwhile, it is not sent.
            if let Some(done) = succeeded(ctx, message.id).await? {
                return shared.set_state(message.id, done, false);
            }
            (off_ramp, *nonce)
        }
        MessageState::Pending => {
            // Executed successfully already (by hand, or before a journal was lost): nothing
            // to deliver. A failed execution does not count: a retry delivers again, as CCIP's
            // manual execution does.
            if let Some(done) = succeeded(ctx, message.id).await? {
                return shared.set_state(message.id, done, false);
            }
            let off_ramp = match off_ramp_for(ctx, off_ramps, message) {
                Ok(off_ramp) => off_ramp,
                Err(refusal) => return shared.set_state(message.id, refusal, false),
            };
            (off_ramp, journal_next_nonce(shared, ctx, message, off_ramp, "the off-ramp's").await?)
        }
        _ => return Ok(()),
    };
    impersonate(ctx, off_ramp).await?;
    let (input, gas) = route_message_call(message);
    // A fork keeps its chain's block gas limit, which may be below anvil's default.
    let block_gas = ctx
        .provider
        .get_block(Default::default())
        .await
        .map_err(ctx.rpc("read latest block"))?
        .map_or(BLOCK_GAS_LIMIT, |b| b.header.gas_limit);
    let tx = TransactionRequest::default()
        .with_from(off_ramp)
        .with_to(ctx.chain.router)
        .with_input(input)
        .with_nonce(nonce)
        .with_gas_limit(gas.min(block_gas));
    // An error here ("nonce too low" after a stop, a node that went away) leaves the message
    // ROUTING: the next attempt finds out what happened at this nonce.
    let tx_hash: B256 = ctx
        .provider
        .raw_request("eth_sendTransaction".into(), (tx,))
        .await
        .map_err(ctx.rpc("send the delivery as the off-ramp"))?;
    shared.set_state(
        message.id,
        MessageState::Routing { off_ramp, nonce, tx_hash: Some(tx_hash) },
        false,
    )?;
    match wait_receipt(ctx, tx_hash).await? {
        Some(_) => shared.set_state(message.id, routed_outcome(ctx, tx_hash).await?, false),
        None => Err(Error::Timeout {
            what: format!("receipt of delivery {tx_hash}"),
            seconds: RECEIPT_WAIT.as_secs(),
        }),
    }
}

/// A message that carries tokens, on a fork of a local upstream: executed by the destination's
/// stand-in off-ramp, which has the pool mint and the Router deliver in one call (a failed
/// receiver undoes the mint), sent by its executor — the relayer's account — at a nonce
/// journaled before sending, as a data message is sent as the off-ramp. On a fork of a public
/// chain the off-ramp is CCIP's own, which executes only what its DON committed: such a
/// message is refused, its tokens left with the lane.
async fn deliver_tokens(
    shared: &Shared,
    ctx: &DeliveryContext,
    off_ramps: &HashMap<u64, Address>,
    message: &RelayMessage,
) -> Result<()> {
    let off_ramp = match off_ramp_for(ctx, off_ramps, message) {
        Ok(off_ramp) => off_ramp,
        Err(refusal) => return shared.set_state(message.id, refusal, false),
    };
    let executor = ctx.from;
    let nonce = match &message.state {
        MessageState::Routing { nonce, .. } => {
            let mined = ctx
                .provider
                .get_transaction_count(executor)
                .await
                .map_err(ctx.rpc("read the relayer's nonce"))?;
            if mined > *nonce {
                let outcome = match token_execution_at(ctx, off_ramp, message, *nonce).await? {
                    Some(tx_hash) => token_outcome(ctx, off_ramp, message, tx_hash).await?,
                    None => match token_succeeded(ctx, off_ramp, message).await? {
                        Some(done) => done,
                        None => refused(
                            "the execution transaction was mined without executing the message; retry sends a new one",
                        ),
                    },
                };
                return shared.set_state(message.id, outcome, false);
            }
            if let Some(done) = token_succeeded(ctx, off_ramp, message).await? {
                return shared.set_state(message.id, done, false);
            }
            *nonce
        }
        MessageState::Pending => {
            if let Some(done) = token_succeeded(ctx, off_ramp, message).await? {
                return shared.set_state(message.id, done, false);
            }
            // A node that does not answer is asked again later; an off-ramp that answers with
            // another version is CCIP's own.
            let version = StandInOffRamp::new(off_ramp, &ctx.provider)
                .typeAndVersion()
                .call()
                .await
                .map_err(|e| Error::Control {
                    url: ctx.chain.rpc_url.clone(),
                    reason: format!("reading the off-ramp's version: {e}"),
                })?;
            if !version.starts_with("StandInOffRamp") {
                return shared.set_state(
                    message.id,
                    refused(format!(
                        "the message carries tokens, and the off-ramp {off_ramp} on {} is CCIP's own: it executes only what its DON committed (the devnet carries tokens over local upstream lanes only); the tokens stay with the lane",
                        ctx.chain.name
                    )),
                    false,
                );
            }
            journal_next_nonce(shared, ctx, message, executor, "the relayer's").await?
        }
        _ => return Ok(()),
    };
    let call = StandInOffRamp::executeCall { message: ramp_message(message) };
    let input = call.abi_encode();
    let token_gas: u64 = message.tokens.iter().map(|t| u64::from(t.dest_gas)).sum();
    // The receiver is three calls deep (execute, the all-or-nothing self-call, the Router), each
    // passing on 63/64 of what is left: a sixteenth more than its limit covers that. The
    // on-ramp caps a message's limit, so this stays well under a block.
    let receiver_gas = u64::try_from(message.gas_limit).unwrap_or(u64::MAX);
    let latest =
        ctx.provider.get_block(Default::default()).await.map_err(ctx.rpc("read latest block"))?;
    let block_gas = latest.as_ref().map_or(BLOCK_GAS_LIMIT, |b| b.header.gas_limit);
    let gas = receiver_gas
        .saturating_add(receiver_gas / 16)
        .saturating_add(token_gas)
        .saturating_add(ROUTE_OVERHEAD_GAS * 2)
        .saturating_add(CALLDATA_GAS_PER_BYTE.saturating_mul(input.len() as u64))
        .min(block_gas);
    let base_fee = latest.and_then(|b| b.header.base_fee_per_gas);
    let (tx_hash, raw_tx) = sign(ctx, off_ramp, input.into(), nonce, gas, base_fee).await?;
    // An error here leaves the message ROUTING: the next attempt finds out what happened at this
    // nonce.
    if let Err(e) = ctx.provider.send_raw_transaction(&raw_tx).await {
        tracing::debug!(target: "devnet::relayer", %tx_hash, error = %e, "execution send refused");
        // Those bytes can never execute anything: FAILED (retry signs new ones), rather than
        // every later message to this chain waiting behind it.
        if refused_outright(ctx, tx_hash, Some(nonce)).await? {
            return shared.set_state(
                message.id,
                refused(format!(
                    "the node refused the execution transaction ({e}); retry signs a new one"
                )),
                false,
            );
        }
    }
    shared.set_state(
        message.id,
        MessageState::Routing { off_ramp: executor, nonce, tx_hash: Some(tx_hash) },
        false,
    )?;
    match wait_receipt(ctx, tx_hash).await? {
        Some(_) => shared.set_state(
            message.id,
            token_outcome(ctx, off_ramp, message, tx_hash).await?,
            false,
        ),
        None => Err(Error::Timeout {
            what: format!("receipt of execution {tx_hash}"),
            seconds: RECEIPT_WAIT.as_secs(),
        }),
    }
}

/// The off-ramp's input for a message read from the source's on-ramp.
fn ramp_message(message: &RelayMessage) -> Internal::Any2EVMRampMessage {
    Internal::Any2EVMRampMessage {
        header: Internal::RampMessageHeader {
            messageId: message.id,
            sourceChainSelector: message.source_chain_selector,
            destChainSelector: message.dest_chain_selector,
            sequenceNumber: message.sequence_number,
            nonce: 0,
        },
        sender: message.sender.abi_encode().into(),
        data: message.data.clone(),
        receiver: message.receiver,
        gasLimit: message.gas_limit,
        tokenAmounts: message
            .tokens
            .iter()
            .map(|t| Internal::Any2EVMTokenTransfer {
                sourcePoolAddress: t.source_pool.abi_encode().into(),
                destTokenAddress: t.dest_token,
                destGasAmount: t.dest_gas,
                extraData: t.extra_data.clone(),
                amount: t.amount,
            })
            .collect(),
    }
}

/// The off-ramp's `ExecutionStateChanged` events for message `id` since the fork.
async fn token_executions(
    ctx: &DeliveryContext,
    off_ramp: Address,
    id: B256,
) -> Result<Vec<(B256, StandInOffRamp::ExecutionStateChanged)>> {
    use alloy::{rpc::types::Filter, sol_types::SolEvent};
    let filter = Filter::new()
        .address(off_ramp)
        .event_signature(StandInOffRamp::ExecutionStateChanged::SIGNATURE_HASH)
        .topic3(id)
        .from_block(ctx.chain.fork_block.unwrap_or_default() + 1);
    let logs =
        ctx.provider.get_logs(&filter).await.map_err(ctx.rpc("read the off-ramp's executions"))?;
    Ok(logs
        .iter()
        .filter_map(|log| {
            let event = log.log_decode::<StandInOffRamp::ExecutionStateChanged>().ok()?;
            Some((log.transaction_hash?, event.inner.data))
        })
        .collect())
}

/// The successful execution of a message that carries tokens, if the off-ramp made one.
async fn token_succeeded(
    ctx: &DeliveryContext,
    off_ramp: Address,
    message: &RelayMessage,
) -> Result<Option<MessageState>> {
    let Some((tx_hash, _)) = token_executions(ctx, off_ramp, message.id)
        .await?
        .into_iter()
        .find(|(_, e)| e.state == EXECUTION_SUCCESS)
    else {
        return Ok(None);
    };
    let receipt = receipt(ctx, tx_hash).await?;
    let receiver_called = receipt.is_some_and(|r| routed(ctx, &r, message.id));
    Ok(Some(MessageState::Success { tx_hash, receiver_called }))
}

/// Whether the Router delivered message `id` in this execution (the off-ramp skips a transfer
/// to an account, or to a contract that is no CCIP receiver).
fn routed(ctx: &DeliveryContext, receipt: &TransactionReceipt, id: B256) -> bool {
    use solvency_ccip::bindings::ccip_router::Router::MessageExecuted;
    receipt
        .logs()
        .iter()
        .filter(|log| log.address() == ctx.chain.router)
        .any(|log| log.log_decode::<MessageExecuted>().is_ok_and(|e| e.inner.data.messageId == id))
}

/// The execution of message `id` sent by the relayer at `nonce`, if there is one.
async fn token_execution_at(
    ctx: &DeliveryContext,
    off_ramp: Address,
    message: &RelayMessage,
    nonce: u64,
) -> Result<Option<B256>> {
    let executions = token_executions(ctx, off_ramp, message.id).await?;
    sent_at(ctx, executions.into_iter().map(|(tx_hash, _)| tx_hash), ctx.from, nonce).await
}

/// `Internal.MessageExecutionState.SUCCESS` and `FAILURE`.
const EXECUTION_SUCCESS: u8 = 2;
const EXECUTION_FAILURE: u8 = 3;

/// SUCCESS or FAILED from a mined execution: the off-ramp's `ExecutionStateChanged` in it.
async fn token_outcome(
    ctx: &DeliveryContext,
    off_ramp: Address,
    message: &RelayMessage,
    tx_hash: B256,
) -> Result<MessageState> {
    let receipt = receipt(ctx, tx_hash).await?.ok_or_else(|| Error::Control {
        url: ctx.chain.rpc_url.clone(),
        reason: format!("execution {tx_hash} has no receipt"),
    })?;
    let changed = receipt
        .logs()
        .iter()
        .filter(|log| log.address() == off_ramp)
        .find_map(|log| log.log_decode::<StandInOffRamp::ExecutionStateChanged>().ok())
        .map(|event| event.inner.data);
    Ok(match changed {
        Some(e) if e.state == EXECUTION_SUCCESS => {
            MessageState::Success { tx_hash, receiver_called: routed(ctx, &receipt, message.id) }
        }
        Some(e) if e.state == EXECUTION_FAILURE => MessageState::Failed {
            tx_hash: Some(tx_hash),
            reason: "the execution failed (the receiver or a pool reverted): nothing was minted, the tokens stay with the lane until a retry".into(),
            revert_data: e.returnData,
        },
        // Reverted whole (executed meanwhile, or not the executor): what the off-ramp holds
        // decides.
        _ => match token_succeeded(ctx, off_ramp, message).await? {
            Some(done) => done,
            None => MessageState::Failed {
                tx_hash: Some(tx_hash),
                revert_data: Bytes::new(),
                reason: "the execution transaction reverted (is the relayer the off-ramp's executor?)".into(),
            },
        },
    })
}

/// The off-ramp the destination's Router accepts for `message`'s source, or the message's
/// refusal when there is none.
fn off_ramp_for(
    ctx: &DeliveryContext,
    off_ramps: &HashMap<u64, Address>,
    message: &RelayMessage,
) -> std::result::Result<Address, MessageState> {
    off_ramps.get(&message.source_chain_selector).copied().ok_or_else(|| {
        refused(format!(
            "the Router on {} accepts no off-ramp for source selector {}",
            ctx.chain.name, message.source_chain_selector
        ))
    })
}

/// Reads `sender`'s next nonce and journals, before anything is sent, that only a transaction
/// of `sender` at that nonce may deliver `message` (ROUTING); returns the nonce. `whose` names
/// the account in an RPC error.
async fn journal_next_nonce(
    shared: &Shared,
    ctx: &DeliveryContext,
    message: &RelayMessage,
    sender: Address,
    whose: &str,
) -> Result<u64> {
    let nonce = ctx
        .provider
        .get_transaction_count(sender)
        .pending()
        .await
        .map_err(ctx.rpc(&format!("read {whose} nonce")))?;
    shared.set_state(
        message.id,
        MessageState::Routing { off_ramp: sender, nonce, tx_hash: None },
        true,
    )?;
    Ok(nonce)
}

/// Lets the relayer send as `off_ramp` on the fork, and gives it gas money if it has little.
async fn impersonate(ctx: &DeliveryContext, off_ramp: Address) -> Result<()> {
    ctx.provider
        .raw_request::<_, ()>("anvil_impersonateAccount".into(), (off_ramp,))
        .await
        .map_err(ctx.rpc("impersonate the off-ramp"))?;
    let balance =
        ctx.provider.get_balance(off_ramp).await.map_err(ctx.rpc("read the off-ramp's balance"))?;
    if balance < alloy::primitives::U256::from(OFF_RAMP_BALANCE / 10) {
        ctx.provider
            .raw_request::<_, ()>(
                "anvil_setBalance".into(),
                (off_ramp, alloy::primitives::U256::from(OFF_RAMP_BALANCE)),
            )
            .await
            .map_err(ctx.rpc("fund the off-ramp"))?;
    }
    Ok(())
}

/// Every transaction in which the Router executed message `id` since the fork.
async fn executions(ctx: &DeliveryContext, id: B256) -> Result<Vec<B256>> {
    use alloy::{rpc::types::Filter, sol_types::SolEvent};
    use solvency_ccip::bindings::ccip_router::Router::MessageExecuted;
    let filter = Filter::new()
        .address(ctx.chain.router)
        .event_signature(MessageExecuted::SIGNATURE_HASH)
        .from_block(ctx.chain.fork_block.unwrap_or_default() + 1);
    let logs =
        ctx.provider.get_logs(&filter).await.map_err(ctx.rpc("read the Router's executions"))?;
    Ok(logs
        .iter()
        .filter_map(|log| {
            let executed = log.log_decode::<MessageExecuted>().ok()?;
            (executed.inner.data.messageId == id).then_some(log.transaction_hash).flatten()
        })
        .collect())
}

/// The outcome of a successful execution of message `id` since the fork, if there is one.
async fn succeeded(ctx: &DeliveryContext, id: B256) -> Result<Option<MessageState>> {
    for tx_hash in executions(ctx, id).await? {
        let outcome = routed_outcome(ctx, tx_hash).await?;
        if matches!(outcome, MessageState::Success { .. }) {
            return Ok(Some(outcome));
        }
    }
    Ok(None)
}

/// The execution of message `id` sent as `off_ramp` at `nonce`, if there is one.
async fn executed_at(
    ctx: &DeliveryContext,
    id: B256,
    off_ramp: Address,
    nonce: u64,
) -> Result<Option<B256>> {
    sent_at(ctx, executions(ctx, id).await?, off_ramp, nonce).await
}

/// The one of `txs` that `from` sent at `nonce`, if there is one.
async fn sent_at(
    ctx: &DeliveryContext,
    txs: impl IntoIterator<Item = B256>,
    from: Address,
    nonce: u64,
) -> Result<Option<B256>> {
    use alloy::consensus::Transaction;
    for tx_hash in txs {
        let tx = ctx
            .provider
            .get_transaction_by_hash(tx_hash)
            .await
            .map_err(ctx.rpc("read a delivery transaction"))?;
        if tx.is_some_and(|tx| tx.inner.signer() == from && tx.nonce() == nonce) {
            return Ok(Some(tx_hash));
        }
    }
    Ok(None)
}

/// SUCCESS or FAILED from a mined delivery: its receipt, then what `routeMessage` returned
/// (the Router does not revert when the receiver does: it returns `success = false` and the
/// receiver's revert data, which CCIP's off-ramp records as a failed execution).
async fn routed_outcome(ctx: &DeliveryContext, tx_hash: B256) -> Result<MessageState> {
    use solvency_ccip::bindings::ccip_router::Router;
    let receipt = receipt(ctx, tx_hash).await?.ok_or_else(|| Error::Control {
        url: ctx.chain.rpc_url.clone(),
        reason: format!("delivery {tx_hash} has no receipt"),
    })?;
    if !receipt.status() {
        return Ok(MessageState::Failed {
            tx_hash: Some(tx_hash),
            revert_data: Bytes::new(),
            reason: "the delivery transaction reverted (an off-ramp the Router no longer \
                     accepts, a cursed lane, or too little gas?)"
                .into(),
        });
    }
    let frame: super::scan::CallFrame = ctx
        .provider
        .raw_request(
            "debug_traceTransaction".into(),
            (tx_hash, serde_json::json!({ "tracer": "callTracer" })),
        )
        .await
        .map_err(ctx.rpc("trace the delivery"))?;
    let output = frame.output.unwrap_or_default();
    let returned =
        Router::routeMessageCall::abi_decode_returns(&output).map_err(|e| Error::Control {
            url: ctx.chain.rpc_url.clone(),
            reason: format!("delivery {tx_hash}: cannot read what routeMessage returned: {e}"),
        })?;
    Ok(if returned.success {
        MessageState::Success { tx_hash, receiver_called: true }
    } else {
        MessageState::Failed {
            tx_hash: Some(tx_hash),
            reason: if returned.retData.is_empty() {
                "receiver reverted without data (out of gas?)".into()
            } else {
                "receiver reverted".into()
            },
            revert_data: returned.retData,
        }
    })
}

/// FAILED without a mined delivery: nothing ran, so no revert data.
fn refused(reason: impl Into<String>) -> MessageState {
    MessageState::Failed { tx_hash: None, revert_data: Bytes::new(), reason: reason.into() }
}

/// Whether a transaction of the relayer's whose send failed was refused outright: the node
/// neither knows nor mined it, and nothing used its nonce (`None`: unknown, taken as unused).
async fn refused_outright(
    ctx: &DeliveryContext,
    tx_hash: B256,
    nonce: Option<u64>,
) -> Result<bool> {
    let known = ctx
        .provider
        .get_transaction_by_hash(tx_hash)
        .await
        .map_err(ctx.rpc("read a relayer transaction"))?
        .is_some();
    if known || receipt(ctx, tx_hash).await?.is_some() {
        return Ok(false);
    }
    let mined_nonce = ctx
        .provider
        .get_transaction_count(ctx.from)
        .await
        .map_err(ctx.rpc("read relayer nonce"))?;
    Ok(nonce.is_none_or(|n| n >= mined_nonce))
}

fn decode_nonce(raw_tx: &Bytes) -> Option<u64> {
    use alloy::{consensus::Transaction, eips::eip2718::Decodable2718};
    alloy::consensus::TxEnvelope::decode_2718(&mut raw_tx.as_ref()).ok().map(|tx| tx.nonce())
}

/// SUCCESS or FAILED from the delivery receipt and the router's `MsgExecuted` event.
fn outcome(chain: &RelayChain, receipt: &TransactionReceipt) -> MessageState {
    let tx_hash = receipt.transaction_hash;
    if !receipt.status() {
        return MessageState::Failed {
            tx_hash: Some(tx_hash),
            revert_data: Bytes::new(),
            reason: "the delivery transaction reverted (gas limit above what the block allows?)"
                .into(),
        };
    }
    let executed = receipt
        .logs()
        .iter()
        .filter(|log| log.address() == chain.router)
        .find_map(|log| log.log_decode::<MockCCIPRouter::MsgExecuted>().ok());
    match executed {
        None => MessageState::Success { tx_hash, receiver_called: false },
        Some(event) if event.inner.success => {
            MessageState::Success { tx_hash, receiver_called: true }
        }
        Some(event) => MessageState::Failed {
            tx_hash: Some(tx_hash),
            revert_data: event.inner.retData.clone(),
            reason: if event.inner.retData.is_empty() {
                "receiver reverted without data (out of gas?)".into()
            } else {
                "receiver reverted".into()
            },
        },
    }
}
