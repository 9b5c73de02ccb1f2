//! Withdrawal requests: how an owner (a market maker, or the protocol) gets collateral out of a
//! vault while the quorum lives (exodus is for when it does not).
//!
//! The owner signs an EIP-712 `WithdrawalRequest` (domain as the attestation's) with the key of
//! its vault address, and seals it, with the signature, to the enclave's HPKE key from a reply
//! key pair of its own (HPKE Auth mode, `Purpose::Withdrawal`): the sealed bytes go to the
//! aggregator, which hands them to every enclave instance until they are authorized or expire.
//! The enclave checks the signature, the chain's vault, that the nonce is above every nonce of
//! that owner it authorized, and — at the next attestation — that the owner's available balance
//! (balance less what is already authorized and not yet paid) covers the amount. It then commits
//! an [`Authorization`] under the chain leaf's `authRoot` in every attestation until the vault
//! logs the payment, and seals each epoch's authorization and Merkle proof to the reply key
//! (`Purpose::WithdrawalReply`): only the owner reads its amount before the vault pays it.
//!
//! A request of amount zero withdraws nothing: it sets the owner's **statement key** to its
//! `replyKey` ([`crate::statement`]).
//!
//! Wire: `replyKey (32 bytes) || sealed`, the sealed message's header carrying the chain
//! selector and the nonce, its plaintext `abi.encode(WithdrawalRequest, bytes signature)`.

use alloy::{
    primitives::{Address, B256, Bytes, keccak256},
    sol,
    sol_types::{SolStruct, SolValue},
};
use serde::{Deserialize, Serialize};

use crate::{
    ATTESTATION_DOMAIN, Authorization, Purpose, SealedHeader, X25519KeyPair, X25519Public,
    policy::Policy, seal,
};

sol! {
    /// What an owner signs to ask for a withdrawal.
    #[derive(Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
    struct WithdrawalRequest {
        /// The vault's chain.
        uint64 chainSelector;
        /// The vault.
        address vault;
        /// The owner, who signs and is paid.
        address owner;
        /// How much, in the collateral's smallest unit.
        uint256 amount;
        /// Above every nonce of this owner authorized before (one counter across chains).
        uint64 nonce;
        /// The X25519 key the request is sealed from and the replies are sealed to.
        bytes32 replyKey;
    }

    /// What the enclave seals to the reply key every epoch the withdrawal is authorized.
    #[derive(Debug, Default, PartialEq, Eq)]
    struct WithdrawalReply {
        /// The epoch whose chain leaf commits it.
        uint64 epoch;
        /// The authorization.
        Authorization authorization;
        /// Its proof under that leaf's `authRoot`.
        bytes32[] proof;
    }
}

impl WithdrawalRequest {
    /// The id of the authorization it asks for: `keccak256(abi.encode("withdrawal", chain,
    /// vault, owner, nonce))`; unique per owner and nonce, so never reused.
    pub fn id(&self) -> B256 {
        keccak256(
            ("withdrawal".to_owned(), self.chainSelector, self.vault, self.owner, self.nonce)
                .abi_encode_params(),
        )
    }

    /// The EIP-712 digest the owner signs.
    pub fn digest(&self) -> B256 {
        self.eip712_signing_hash(&ATTESTATION_DOMAIN)
    }
}

/// Why a withdrawal request was refused. Never carries its amount.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum WithdrawalError {
    /// Not `replyKey || sealed`, or it does not open with this enclave's key and that reply
    /// key, or its contents are not a request.
    #[error("not a withdrawal request sealed to this enclave (wrong key, damaged or truncated)")]
    Malformed,
    /// The signature is not the owner's.
    #[error("the request is not signed by its owner {owner}")]
    BadSignature {
        /// The owner it names.
        owner: Address,
    },
    /// The chain has no vault, or another one.
    #[error("chain {chain_selector} has no vault {vault} in the policy")]
    UnknownVault {
        /// The chain.
        chain_selector: u64,
        /// The vault named.
        vault: Address,
    },
}

/// A request that passed every check made without the ledger.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckedRequest {
    /// The request.
    pub request: WithdrawalRequest,
}

impl std::fmt::Debug for CheckedRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckedRequest")
            .field("chain_selector", &self.request.chainSelector)
            .field("owner", &self.request.owner)
            .field("nonce", &self.request.nonce)
            .finish_non_exhaustive()
    }
}

/// Seals a signed request (the owner's side): `replyKey || sealed`.
pub fn seal_request(
    request: &WithdrawalRequest,
    signature: &[u8],
    policy_deployment: &B256,
    reply: &X25519KeyPair,
    enclave: &X25519Public,
) -> Result<Bytes, crate::SealError> {
    let plaintext = zeroize::Zeroizing::new(
        (request.clone(), Bytes::copy_from_slice(signature)).abi_encode_params(),
    );
    let sealed = seal::seal(
        Purpose::Withdrawal,
        policy_deployment,
        SealedHeader { chain_selector: request.chainSelector, counter: request.nonce },
        &plaintext,
        reply,
        enclave,
    )?;
    Ok([reply.public().0.as_slice(), &sealed].concat().into())
}

/// Opens and checks a request (the enclave's side).
pub fn open_request(
    bytes: &[u8],
    policy: &Policy,
    enclave: &X25519KeyPair,
) -> Result<CheckedRequest, WithdrawalError> {
    if bytes.len() < 32 {
        return Err(WithdrawalError::Malformed);
    }
    let reply = X25519Public(bytes[..32].try_into().expect("32 bytes"));
    let (header, plaintext) =
        seal::open(Purpose::Withdrawal, &policy.deployment_id, &bytes[32..], enclave, &reply)
            .map_err(|_| WithdrawalError::Malformed)?;
    let (request, signature) = <(WithdrawalRequest, Bytes)>::abi_decode_params(&plaintext)
        .map_err(|_| WithdrawalError::Malformed)?;
    if header.chain_selector != request.chainSelector
        || header.counter != request.nonce
        || request.replyKey != B256::from(reply.0)
    {
        return Err(WithdrawalError::Malformed);
    }
    let signed_by = alloy::primitives::Signature::try_from(signature.as_ref())
        .ok()
        .and_then(|s| s.recover_address_from_prehash(&request.digest()).ok());
    if signed_by != Some(request.owner) {
        return Err(WithdrawalError::BadSignature { owner: request.owner });
    }
    match policy.chain(request.chainSelector) {
        Some(chain) if !chain.vault.is_zero() && chain.vault == request.vault => {}
        _ => {
            return Err(WithdrawalError::UnknownVault {
                chain_selector: request.chainSelector,
                vault: request.vault,
            });
        }
    }
    Ok(CheckedRequest { request })
}

/// Seals an epoch's reply to a request's reply key (the enclave's side).
pub fn seal_reply(
    reply: &WithdrawalReply,
    deployment_id: &B256,
    reply_key: &B256,
    enclave: &X25519KeyPair,
) -> Result<Bytes, crate::SealError> {
    let plaintext = zeroize::Zeroizing::new(reply.abi_encode());
    seal::seal(
        Purpose::WithdrawalReply,
        deployment_id,
        SealedHeader { chain_selector: reply.authorization.chainSelector, counter: reply.epoch },
        &plaintext,
        enclave,
        &X25519Public(reply_key.0),
    )
    .map(Into::into)
}

/// Opens a reply (the owner's side): the enclave must have sealed it.
pub fn open_reply(
    sealed: &[u8],
    deployment_id: &B256,
    reply: &X25519KeyPair,
    enclave: &X25519Public,
) -> Result<WithdrawalReply, WithdrawalError> {
    let (_, plaintext) =
        seal::open(Purpose::WithdrawalReply, deployment_id, sealed, reply, enclave)
            .map_err(|_| WithdrawalError::Malformed)?;
    WithdrawalReply::abi_decode(&plaintext).map_err(|_| WithdrawalError::Malformed)
}
