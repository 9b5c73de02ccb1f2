//! A chain's treasury agent (`solvency treasury run`): every epoch the chain's oracle delivers a
//! sealed instruction for it; the agent opens it with the chain's treasury key and checks that
//! it is this chain's, for that epoch, sealed by the enclave. An empty instruction — every
//! epoch but the calendar slots that move value — needs no transaction, and the agent sends
//! none. At a slot, the instruction lists lots (docs/self-healing.md, "Calendar lots"): with an
//! account to pay gas and the lanes' fees, the agent sends each from the chain's vault
//! (`sendLot`), once — a lot the vault logged sent is skipped, and the vault refuses one twice —
//! while the slot's leaf is the chain's latest (its proof is under that leaf's `authRoot`). A
//! lot it could not send in time is listed again at the next slot. The agent keeps no state: a
//! restarted agent catches up at the next slot, and never sends a lot twice. Logs name epochs,
//! lot ids and transactions, never amounts.

use alloy::{
    primitives::{B256, U256},
    providers::DynProvider,
    signers::local::PrivateKeySigner,
};
use solvency_ccip::bindings::{hub::SolvencyHub, vault::ReserveVault};
use solvency_chain_adapters::instructions::{Delivered, InstructionReader};
use solvency_enclave::{
    X25519KeyPair, X25519Public,
    instruction::{LotOrder, SEALED_INSTRUCTION_LEN, open_instruction},
};
use solvency_registry::{ChainConfig, Registry};

/// Gas added to a `sendLot` estimate (docs/devnet.md, "Token lanes").
const GAS_MARGIN: u64 = 50_000;
/// A fifth over the quoted fee is sent with a lot (the vault refunds what it did not charge).
const FEE_MARGIN_DIVISOR: u64 = 5;

/// What the agent made of one delivered instruction.
#[derive(Clone, PartialEq, Eq)]
pub enum Checked {
    /// Opened and checked; nothing to do (no transaction sent).
    Empty {
        /// The epoch.
        epoch: u64,
    },
    /// Opened and checked: a calendar slot's lots to send.
    Lots {
        /// The epoch (the slot).
        epoch: u64,
        /// The lots, with their proofs under that epoch's leaf.
        lots: Vec<LotOrder>,
    },
    /// It does not open with this treasury key, or is not this chain's instruction for its
    /// epoch: nothing is done, and the operator should look.
    Refused {
        /// The epoch.
        epoch: u64,
        /// Why.
        reason: String,
    },
}

impl std::fmt::Debug for Checked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Empty { epoch } => f.debug_struct("Empty").field("epoch", epoch).finish(),
            Self::Lots { epoch, lots } => {
                f.debug_struct("Lots").field("epoch", epoch).field("lots", &lots.len()).finish()
            }
            Self::Refused { epoch, reason } => {
                f.debug_struct("Refused").field("epoch", epoch).field("reason", reason).finish()
            }
        }
    }
}

/// What became of one lot of a slot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LotOutcome {
    /// Sent now: the lane carries it to the destination vault.
    Sent {
        /// The lot.
        id: B256,
        /// The `sendLot` transaction.
        tx: B256,
        /// The lane's fee quoted before the send, in wei (the vault refunds what was sent over
        /// the fee it charged).
        fee: U256,
        /// Gas the transaction used.
        gas_used: u64,
    },
    /// The vault logged it sent before (this agent before a restart, or another).
    AlreadySent {
        /// The lot.
        id: B256,
    },
    /// A later epoch's leaf is the chain's latest: the proof no longer holds, and the lot
    /// waits for the next slot, which lists it again.
    Superseded {
        /// The lot.
        id: B256,
    },
    /// The send failed (the lane's bucket, the outflow limit, gas, the RPC): the lot waits for
    /// the next slot.
    Failed {
        /// The lot.
        id: B256,
        /// Why.
        reason: String,
    },
}

/// One chain's treasury.
pub struct Treasury {
    chain: ChainConfig,
    key: X25519KeyPair,
    enclave: X25519Public,
    deployment_id: B256,
    reader: InstructionReader,
    /// The account that sends lots, and its provider; `None`: lots are checked, not sent.
    sender: Option<DynProvider>,
}

impl Treasury {
    /// The treasury of `chain`, reading instructions delivered from `from_block` on; with an
    /// `account`, it sends the lots its slots list (the account pays gas and the lanes' fees).
    /// Refuses a key that is not the chain's registered treasury key.
    pub fn new(
        registry: &Registry,
        chain: &str,
        key: X25519KeyPair,
        from_block: u64,
        account: Option<PrivateKeySigner>,
    ) -> anyhow::Result<Self> {
        let network = registry.network()?;
        let chain = network.chain(registry, chain)?.clone();
        if key.public() != chain.treasury {
            anyhow::bail!(
                "this key is not {}'s treasury key in {}: its instructions would not open",
                chain.name,
                registry.path().display()
            );
        }
        let reader = InstructionReader::new(&chain, from_block);
        let sender = account.map(|account| {
            solvency_chain_adapters::ChainClient::new(&chain, Default::default()).sender(account)
        });
        Ok(Self {
            chain,
            key,
            enclave: network.enclave.hpke_public_key,
            deployment_id: registry.deployment_id,
            reader,
            sender,
        })
    }

    /// The chain.
    pub fn chain(&self) -> &ChainConfig {
        &self.chain
    }

    /// Whether it sends lots (it has an account).
    pub fn sends(&self) -> bool {
        self.sender.is_some()
    }

    /// Opens and checks every instruction delivered since the last call.
    pub async fn check_new(&mut self) -> anyhow::Result<Vec<Checked>> {
        Ok(self.reader.read().await?.iter().map(|d| self.check(d)).collect())
    }

    fn check(&self, delivered: &Delivered) -> Checked {
        let epoch = delivered.epoch;
        let refused = |reason: &str| Checked::Refused { epoch, reason: reason.into() };
        if delivered.payload.len() != SEALED_INSTRUCTION_LEN {
            return refused("not the fixed instruction size");
        }
        let Ok(instruction) =
            open_instruction(&self.deployment_id, &delivered.payload, &self.key, &self.enclave)
        else {
            return refused(
                "does not open with this treasury key and the registry's enclave key (rotated?)",
            );
        };
        if instruction.chainSelector != self.chain.selector || instruction.epoch != epoch {
            return refused("sealed for another chain or epoch");
        }
        if instruction.lots.is_empty() {
            Checked::Empty { epoch }
        } else {
            Checked::Lots { epoch, lots: instruction.lots }
        }
    }

    /// Sends the lots of the slot `epoch` that the vault has not logged sent, one after
    /// another, each with the lane's fee. Nothing is sent without an account, or once a later
    /// epoch's leaf is the chain's latest.
    pub async fn send_lots(
        &self,
        epoch: u64,
        lots: &[LotOrder],
    ) -> anyhow::Result<Vec<LotOutcome>> {
        let Some(sender) = &self.sender else {
            anyhow::bail!(
                "{}: a slot lists lots, and this agent has no account to send them (give --account-key or --account-keystore)",
                self.chain.name
            );
        };
        let Some(vault) = self.chain.vault else {
            anyhow::bail!("{}: a slot lists lots, and the chain has no vault", self.chain.name);
        };
        let oracle = SolvencyHub::new(self.chain.oracle(), sender);
        let contract = ReserveVault::new(vault, sender);
        let mut outcomes = Vec::with_capacity(lots.len());
        for order in lots {
            let id = order.id;
            if contract.isLotSent(id).call().await? {
                outcomes.push(LotOutcome::AlreadySent { id });
                continue;
            }
            let latest = oracle.latestAttestation().call().await?.epoch;
            if latest != epoch {
                outcomes.push(LotOutcome::Superseded { id });
                continue;
            }
            let lot = order.lot(self.chain.selector, vault);
            let lot = solvency_ccip::bindings::vault::SolvencyAttestation::Lot::from(&lot);
            let quoted = contract.getLotFee(lot.clone()).call().await?;
            // The lane's fee may rise before the send is mined; the vault pays the fee it reads
            // then and refunds the rest.
            let paid = quoted.saturating_add(quoted / U256::from(FEE_MARGIN_DIVISOR));
            let call = contract.sendLot(lot, order.proof.clone()).value(paid);
            // What the lane pool's token bucket writes depends on the block's second (a refill
            // a second after the estimate writes more): a margin over the estimate, which a
            // lot over the bucket still fails, as the chain would.
            let sent = match call.estimate_gas().await {
                Ok(estimate) => call.gas(estimate.saturating_add(GAS_MARGIN)).send().await,
                Err(e) => Err(e),
            };
            let outcome = match sent {
                Ok(pending) => match solvency_chain_adapters::rpc::confirm(pending).await {
                    Ok(receipt) => LotOutcome::Sent {
                        id,
                        tx: receipt.transaction_hash,
                        fee: quoted,
                        gas_used: receipt.gas_used,
                    },
                    Err(e) => LotOutcome::Failed { id, reason: e.to_string() },
                },
                Err(e) => LotOutcome::Failed { id, reason: decode_vault_revert(&e) },
            };
            outcomes.push(outcome);
        }
        Ok(outcomes)
    }
}

/// Why a send was refused, by name only: a revert's arguments may be amounts (the outflow
/// left, a bucket's capacity), which stay out of the logs.
fn decode_vault_revert(error: &alloy::contract::Error) -> String {
    if let Some(decoded) = error.as_decoded_interface_error::<ReserveVault::ReserveVaultErrors>() {
        let shown = format!("{decoded:?}");
        let name = shown.split(['(', ' ', '{']).next().unwrap_or_default();
        return format!("the vault refused it: {name}");
    }
    match error.as_revert_data() {
        Some(data) if data.len() >= 4 => format!(
            "reverted with error selector 0x{} (the lane's pool or Router: its bucket, a curse, a missing lane)",
            alloy::primitives::hex::encode(&data[..4])
        ),
        Some(_) => "reverted without a reason".to_owned(),
        None => error.to_string(),
    }
}
