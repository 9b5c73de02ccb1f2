//! Delivering one message: sign a `routeMessage` call on the destination router, journal it,
//! send it, and read the outcome from the router's `MsgExecuted` event.

use std::time::Duration;

use alloy::{
    eips::eip2718::Encodable2718,
    network::{EthereumWallet, NetworkTransactionBuilder, TransactionBuilder},
    primitives::{Address, B256, Bytes},
    providers::{DynProvider, Provider},
    rpc::types::{TransactionReceipt, TransactionRequest},
    sol_types::{SolCall, SolValue},
};
use solvency_ccip::bindings::router::{Client, MockCCIPRouter};

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
}

impl DeliveryContext {
    pub(crate) async fn connect(chain: &RelayChain) -> Result<Self> {
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
                let known = ctx
                    .provider
                    .get_transaction_by_hash(tx_hash)
                    .await
                    .map_err(ctx.rpc("read delivery transaction"))?
                    .is_some();
                if !known && receipt(ctx, tx_hash).await?.is_none() {
                    let mined_nonce = ctx
                        .provider
                        .get_transaction_count(ctx.from)
                        .await
                        .map_err(ctx.rpc("read relayer nonce"))?;
                    let replaced = decode_nonce(&raw_tx).is_some_and(|n| n < mined_nonce);
                    if !replaced {
                        return shared.set_state(
                            message.id,
                            MessageState::Failed {
                                tx_hash: None,
                                revert_data: Bytes::new(),
                                reason: format!(
                                    "the node refused the delivery transaction ({e}); retry signs a new one"
                                ),
                            },
                            false,
                        );
                    }
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

async fn sign_route_message(
    ctx: &DeliveryContext,
    message: &RelayMessage,
) -> Result<(B256, Bytes)> {
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
        .and_then(|b| b.header.base_fee_per_gas)
        .unwrap_or(1_000_000_000) as u128;
    let tx = TransactionRequest::default()
        .with_from(ctx.from)
        .with_to(ctx.chain.router)
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
            MessageState::Failed {
                tx_hash: None,
                revert_data: Bytes::new(),
                reason:
                    "the delivery transaction was replaced and never mined; retry to send a new one"
                        .into(),
            },
            false,
        );
    }
    Err(Error::Timeout {
        what: format!("receipt of delivery {tx_hash}"),
        seconds: RECEIPT_WAIT.as_secs(),
    })
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
