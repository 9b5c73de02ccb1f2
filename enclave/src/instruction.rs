//! Bridging instructions: one per chain per epoch, sealed to the chain's treasury key from the
//! enclave's HPKE key (mode Auth), padded to one fixed size, so that an empty instruction and a
//! real one look the same on-chain.

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
    /// Move `amount` of an asset between this chain and a counterparty chain.
    #[derive(PartialEq, Eq)]
    struct Transfer {
        /// The asset id.
        bytes32 assetId;
        /// The other chain's selector.
        uint64 counterpartySelector;
        /// Smallest units; positive amounts leave this chain.
        uint256 amount;
    }

    /// What one chain's treasury is told for one epoch.
    #[derive(PartialEq, Eq)]
    struct InstructionV1 {
        /// Always 1.
        uint8 version;
        /// The chain.
        uint64 chainSelector;
        /// The epoch it belongs to.
        uint64 epoch;
        /// What to move; empty most epochs.
        Transfer[] transfers;
    }
}

/// Padded plaintext size of every instruction (room for 8 transfers).
pub const INSTRUCTION_PLAINTEXT_LEN: usize = 1024;
/// Size of every sealed instruction on-chain.
pub const SEALED_INSTRUCTION_LEN: usize =
    seal::PREFIX_LEN + INSTRUCTION_PLAINTEXT_LEN + seal::TAG_LEN;

impl std::fmt::Debug for Transfer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transfer")
            .field("assetId", &self.assetId)
            .field("counterpartySelector", &self.counterpartySelector)
            .field("amount", &"<redacted>")
            .finish()
    }
}

impl std::fmt::Debug for InstructionV1 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InstructionV1")
            .field("chainSelector", &self.chainSelector)
            .field("epoch", &self.epoch)
            .field("transfers", &self.transfers)
            .finish()
    }
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
    transfers: Vec<Transfer>,
) -> Result<Bytes, SealError> {
    let body = InstructionV1 { version: 1, chainSelector: chain.selector, epoch, transfers }
        .abi_encode_params();
    assert!(body.len() + 4 <= INSTRUCTION_PLAINTEXT_LEN, "at most 8 transfers per instruction");
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
) -> Result<InstructionV1, SealError> {
    let (_, plaintext) =
        seal::open(Purpose::Instruction, deployment_id, sealed, treasury, enclave)?;
    let prefix = plaintext.get(..4).ok_or(SealError::Open)?;
    let len = u32::from_be_bytes(prefix.try_into().map_err(|_| SealError::Open)?) as usize;
    let body = plaintext.get(4..4 + len).ok_or(SealError::Open)?;
    InstructionV1::abi_decode_params_validate(body).map_err(|_| SealError::Open)
}
