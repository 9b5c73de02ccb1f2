//! Sealed state: an enclave instance's keys, ledger and epochs, encrypted under a key bound to
//! its measurement, so that a restarted instance resumes where it stopped — and an instance
//! running other code cannot read it.
//!
//! Layout: `version (1) || measurement (32) || sealed message`. The sealed message is this
//! crate's HPKE Auth format (`Purpose::State`) from and to an X25519 key pair derived as
//! `keccak256("self-healing-reserve/sealing/v1" || sealing key || measurement)`, with the
//! deployment id in `info`. The measurement also travels in the clear, so a blob sealed by other
//! code is refused with a clear error rather than a failed decryption.
//!
//! The plaintext holds amounts (the ledger): it exists only in enclave memory and in this blob.

use alloy::primitives::{B256, U256, keccak256};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::{
    Enclave, EnclaveKeys, EnclaveState, Position, Purpose, SealedHeader, X25519KeyPair,
    keys::SealingKey,
    ledger::{Ledger, LedgerEntry, VaultHead},
    policy::Policy,
    seal,
};

const SEALED_STATE_VERSION: u8 = 1;

/// Why sealed state could not be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealedStateError {
    /// Too short, or an unknown version.
    #[error("not a sealed enclave state (bad length or version)")]
    Format,
    /// Sealed by an enclave with another measurement: this code may not read it.
    #[error(
        "sealed by code with measurement {sealed_for}, this enclave is {ours}: it may not read it"
    )]
    OtherMeasurement {
        /// The measurement it was sealed for.
        sealed_for: B256,
        /// This instance's measurement.
        ours: B256,
    },
    /// Does not open: another sealing key, another deployment, or altered.
    #[error(
        "sealed state does not open: another sealing key or deployment, or the file was altered"
    )]
    Open,
    /// Opened, but the contents are not an enclave state.
    #[error("sealed state contents are damaged")]
    Contents,
}

#[derive(Serialize, Deserialize)]
struct Contents {
    hpke_secret: B256,
    signing_secret: B256,
    /// The deployment's ledger key, when the policy names one and the instance holds it.
    #[serde(default)]
    ledger_secret: Option<B256>,
    state: EnclaveState,
    ledger: Vec<SealedEntry>,
}

impl Drop for Contents {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.hpke_secret.0.zeroize();
        self.signing_secret.0.zeroize();
        if let Some(secret) = &mut self.ledger_secret {
            secret.0.zeroize();
        }
        for entry in &mut self.ledger {
            for (_, reserves, liabilities) in &mut entry.positions {
                *reserves = U256::ZERO;
                *liabilities = U256::ZERO;
            }
        }
    }
}

#[derive(Serialize, Deserialize)]
struct SealedEntry {
    selector: u64,
    seq: u64,
    observed_at: u64,
    message_id: B256,
    payload_digest: B256,
    positions: Vec<(B256, U256, U256)>,
    #[serde(default)]
    head: VaultHead,
}

fn derived_key(key: &SealingKey, measurement: &B256) -> X25519KeyPair {
    let mut material = Zeroizing::new(b"self-healing-reserve/sealing/v1".to_vec());
    material.extend_from_slice(key.bytes());
    material.extend_from_slice(measurement.as_slice());
    X25519KeyPair::from_secret_bytes(keccak256(material.as_slice()).0)
}

/// Seals an enclave's keys, ledger and state for `measurement`.
pub fn seal_enclave(enclave: &Enclave, key: &SealingKey, measurement: &B256) -> Vec<u8> {
    let crate::enclave::Parts { base_hpke, signing, ledger_key, ledger, state } = enclave.parts();
    let contents = Contents {
        hpke_secret: B256::from(*base_hpke),
        signing_secret: B256::from(*signing),
        ledger_secret: ledger_key.map(|secret| B256::from(*secret)),
        state: state.clone(),
        ledger: ledger
            .iter()
            .map(|(&selector, e)| SealedEntry {
                selector,
                seq: e.seq,
                observed_at: e.observed_at,
                message_id: e.message_id,
                payload_digest: e.payload_digest,
                positions: e
                    .positions
                    .iter()
                    .map(|p| (p.assetId, p.reserves, p.liabilities))
                    .collect(),
                head: e.head,
            })
            .collect(),
    };
    let plaintext = Zeroizing::new(serde_json::to_vec(&contents).expect("state serializes"));
    let pair = derived_key(key, measurement);
    let header = SealedHeader { chain_selector: 0, counter: state.last_epoch };
    let sealed = seal::seal(
        Purpose::State,
        &enclave.policy().deployment_id,
        header,
        &plaintext,
        &pair,
        &pair.public(),
    )
    .expect("a derived X25519 key is valid");
    let mut out = Vec::with_capacity(33 + sealed.len());
    out.push(SEALED_STATE_VERSION);
    out.extend_from_slice(measurement.as_slice());
    out.extend_from_slice(&sealed);
    out
}

/// Restores an enclave sealed with [`seal_enclave`] by code of the same `measurement`.
pub fn unseal_enclave(
    blob: &[u8],
    key: &SealingKey,
    measurement: &B256,
    policy: Policy,
) -> Result<Enclave, SealedStateError> {
    if blob.len() < 33 || blob[0] != SEALED_STATE_VERSION {
        return Err(SealedStateError::Format);
    }
    let sealed_for = B256::from_slice(&blob[1..33]);
    if sealed_for != *measurement {
        return Err(SealedStateError::OtherMeasurement { sealed_for, ours: *measurement });
    }
    let pair = derived_key(key, measurement);
    let (_, plaintext) =
        seal::open(Purpose::State, &policy.deployment_id, &blob[33..], &pair, &pair.public())
            .map_err(|_| SealedStateError::Open)?;
    let contents: Contents =
        serde_json::from_slice(&plaintext).map_err(|_| SealedStateError::Contents)?;
    let keys = EnclaveKeys::from_secrets(&contents.hpke_secret.0, &contents.signing_secret.0)
        .ok_or(SealedStateError::Contents)?;
    let mut ledger = Ledger::default();
    for e in &contents.ledger {
        ledger.insert(
            e.selector,
            LedgerEntry {
                seq: e.seq,
                observed_at: e.observed_at,
                message_id: e.message_id,
                payload_digest: e.payload_digest,
                positions: e
                    .positions
                    .iter()
                    .map(|&(asset_id, reserves, liabilities)| Position {
                        assetId: asset_id,
                        reserves,
                        liabilities,
                    })
                    .collect(),
                head: e.head,
            },
        );
    }
    let ledger_key =
        contents.ledger_secret.map(|secret| X25519KeyPair::from_secret_bytes(secret.0));
    Ok(Enclave::from_parts(keys, policy, ledger_key, ledger, contents.state.clone()))
}
