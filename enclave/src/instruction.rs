//! Bridging instructions: one per chain per epoch, sealed to the chain's treasury key from the
//! enclave's HPKE key (mode Auth), padded to one fixed size, so that an empty instruction and a
//! real one look the same on-chain. From a calendar slot ([`crate::calendar`]) until they are
//! sent, a chain's instructions list the lots its vault sends, each with its proof under the
//! chain leaf's `authRoot`, which is all the treasury needs to call the vault's `sendLot`.

use alloy::{
    primitives::{B256, Bytes},
    sol,
    sol_types::SolValue,
};

use crate::{
    EnclaveKeys, Purpose, SealError, SealedHeader, X25519KeyPair, X25519Public,
    policy::{ChainPolicy, Policy},
    seal,
};

sol! {
    /// A lot this chain's vault sends at this slot: with the chain and vault, the vault's
    /// `Lot` (`SolvencyAttestation.Lot`), and its proof under the epoch's `authRoot`.
    #[derive(PartialEq, Eq)]
    struct LotOrder {
        /// The lot's id (sent once).
        bytes32 id;
        /// The destination chain's selector.
        uint64 destChainSelector;
        /// The destination chain's vault.
        address destVault;
        /// One lot, in the collateral's smallest unit.
        uint256 amount;
        /// Its Merkle proof under the chain leaf's `authRoot` of this epoch.
        bytes32[] proof;
    }

    /// What one chain's treasury is told for one epoch.
    #[derive(PartialEq, Eq)]
    struct Instruction {
        /// Always 2.
        uint8 version;
        /// The chain.
        uint64 chainSelector;
        /// The epoch it belongs to.
        uint64 epoch;
        /// The lots to send; empty but at slots that move value.
        LotOrder[] lots;
    }
}

/// The instruction format's version.
pub const INSTRUCTION_VERSION: u8 = 2;

/// Padded plaintext size of every instruction.
pub const INSTRUCTION_PLAINTEXT_LEN: usize = 1024;
/// Size of every sealed instruction on-chain.
pub const SEALED_INSTRUCTION_LEN: usize =
    seal::PREFIX_LEN + INSTRUCTION_PLAINTEXT_LEN + seal::TAG_LEN;

impl std::fmt::Debug for LotOrder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LotOrder")
            .field("id", &self.id)
            .field("destChainSelector", &self.destChainSelector)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Instruction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Instruction")
            .field("chainSelector", &self.chainSelector)
            .field("epoch", &self.epoch)
            .field("lots", &self.lots)
            .finish()
    }
}

impl LotOrder {
    /// The vault's `Lot` this order sends from `vault` on `chain_selector`.
    pub fn lot(&self, chain_selector: u64, vault: alloy::primitives::Address) -> crate::Lot {
        crate::Lot {
            chainSelector: chain_selector,
            vault,
            destChainSelector: self.destChainSelector,
            destVault: self.destVault,
            amount: self.amount,
            id: self.id,
        }
    }
}

/// Whether an instruction listing `lots` fits the fixed size.
pub fn fits(chain_selector: u64, epoch: u64, lots: &[LotOrder]) -> bool {
    let body = Instruction {
        version: INSTRUCTION_VERSION,
        chainSelector: chain_selector,
        epoch,
        lots: lots.to_vec(),
    }
    .abi_encode_params()
    .len();
    body + 4 <= INSTRUCTION_PLAINTEXT_LEN
}

/// Seals a chain's instruction for an epoch.
///
/// Sealing is deterministic: the HPKE ephemeral key is drawn from a generator keyed by the
/// enclave's HPKE secret and bound to (epoch, chain, reports digest). Every enclave instance of
/// a quorum holds the same HPKE key and the same reports, so they seal byte-identical
/// instructions and sign one and the same attestation. Each (epoch, chain) context is sealed
/// once, so no ephemeral key is ever reused for two different messages.
pub fn seal_instruction(
    policy: &Policy,
    keys: &EnclaveKeys,
    chain: &ChainPolicy,
    epoch: u64,
    reports_digest: &B256,
    lots: Vec<LotOrder>,
) -> Result<Bytes, SealError> {
    let body =
        Instruction { version: INSTRUCTION_VERSION, chainSelector: chain.selector, epoch, lots }
            .abi_encode_params();
    // The caller lists only what `fits`.
    assert!(body.len() + 4 <= INSTRUCTION_PLAINTEXT_LEN, "an instruction over its fixed size");
    let mut plaintext = zeroize::Zeroizing::new(Vec::with_capacity(INSTRUCTION_PLAINTEXT_LEN));
    plaintext.extend_from_slice(&(body.len() as u32).to_be_bytes());
    plaintext.extend_from_slice(&body);
    plaintext.resize(INSTRUCTION_PLAINTEXT_LEN, 0);
    let header = SealedHeader { chain_selector: chain.selector, counter: epoch };
    // The plaintext is part of the context too: should two instances ever seal different
    // instructions for one (epoch, chain), they would not share an ephemeral key.
    let plaintext_digest = alloy::primitives::keccak256(plaintext.as_slice());
    let context: [&[u8]; 4] = [
        &epoch.to_be_bytes(),
        &chain.selector.to_be_bytes(),
        reports_digest.as_slice(),
        plaintext_digest.as_slice(),
    ];
    // The seed starts with the enclave's HPKE secret: unpredictable to anyone but the enclave's
    // instances; the context makes it unique per sealed message.
    let mut seed = zeroize::Zeroizing::new(b"self-healing-reserve/instruction-ephemeral".to_vec());
    seed.extend_from_slice(keys.hpke.secret_bytes().as_ref());
    for part in context {
        seed.extend_from_slice(part);
    }
    let mut rng = seal::KeccakRng::new(&seed);
    seal::seal_with_rng(
        Purpose::Instruction,
        &policy.deployment_id,
        header,
        &plaintext,
        &keys.hpke,
        &chain.treasury,
        &mut rng,
    )
    .map(Bytes::from)
}
/// Opens an instruction as a chain's treasury agent does.
pub fn open_instruction(
    deployment_id: &B256,
    sealed: &[u8],
    treasury: &X25519KeyPair,
    enclave: &X25519Public,
) -> Result<Instruction, SealError> {
    let (_, plaintext) =
        seal::open(Purpose::Instruction, deployment_id, sealed, treasury, enclave)?;
    let prefix = plaintext.get(..4).ok_or(SealError::Open)?;
    let len = u32::from_be_bytes(prefix.try_into().map_err(|_| SealError::Open)?) as usize;
    let body = plaintext.get(4..4 + len).ok_or(SealError::Open)?;
    let instruction = Instruction::abi_decode_params_validate(body).map_err(|_| SealError::Open)?;
    if instruction.version != INSTRUCTION_VERSION {
        return Err(SealError::Open);
    }
    Ok(instruction)
}
