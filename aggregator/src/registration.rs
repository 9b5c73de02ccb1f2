//! Registration: verify an enclave's evidence off-chain against the registry's policy, with a
//! nonce issued for this registration only, then register its signer on the hub and every spoke
//! with the evidence's digest and an expiry.
//!
//! A replayed document fails twice over: its nonce is not the one just issued, and the contracts
//! refuse an evidence digest they have seen (`EvidenceAlreadyUsed`). Registrations expire;
//! renewing means fresh evidence (`solvency enclave register --every`).

use std::time::Duration;

use alloy::{
    primitives::{Address, B256, Bytes},
    providers::{DynProvider, Provider},
    signers::local::PrivateKeySigner,
};
use anyhow::{Context, bail};
use solvency_ccip::bindings::hub::SolvencyHub;
use solvency_enclave::{Evidence, EvidencePolicy, VerifiedEvidence, X25519Public};
use tracing::info;

use crate::config::NetworksFile;

/// One chain's oracle and an owner account on it.
struct OwnedOracle {
    chain: String,
    oracle: Address,
    provider: DynProvider,
}

/// Registers enclave signers on every chain of a registry.
pub struct Registrar {
    oracles: Vec<OwnedOracle>,
    policy: EvidencePolicy,
    ttl: Duration,
    expected_hpke: X25519Public,
}

/// A completed registration.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Registration {
    /// The registered signer.
    pub signer: Address,
    /// The evidence digest stored on-chain.
    pub evidence_digest: B256,
    /// Per chain: (name, expiry in chain time).
    pub expires: Vec<(String, u64)>,
    /// What the verification proved.
    pub facts: VerifiedEvidence,
}

impl Registrar {
    /// `owner(chain)` gives the owner account of each chain's contracts.
    pub fn new(
        networks: &NetworksFile,
        owner: impl Fn(&str) -> anyhow::Result<PrivateKeySigner>,
    ) -> anyhow::Result<Self> {
        let enclave = networks.enclave.as_ref().context("the registry has no [enclave] section")?;
        let oracles = networks
            .chains
            .iter()
            .map(|c| {
                Ok(OwnedOracle {
                    chain: c.name.clone(),
                    oracle: c.hub.or(c.spoke).expect("validated"),
                    provider: solvency_ccip::provider::connect_with_signer(
                        &c.rpc_url,
                        owner(&c.name)?,
                    )?,
                })
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(Self {
            oracles,
            policy: enclave.evidence.policy(),
            ttl: Duration::from_secs(enclave.evidence.registration_ttl_secs),
            expected_hpke: enclave.hpke_public_key.parse().expect("validated"),
        })
    }

    /// A fresh nonce for one registration.
    pub fn nonce() -> Bytes {
        Bytes::from(solvency_enclave::X25519KeyPair::generate().public().0.to_vec())
    }

    /// Verifies `evidence` (which must carry `nonce`) and registers its signer everywhere.
    pub async fn register(
        &self,
        evidence: &Evidence,
        nonce: &Bytes,
    ) -> anyhow::Result<Registration> {
        let now = crate::unix_now();
        let policy = EvidencePolicy { nonce: Some(nonce.clone()), ..self.policy.clone() };
        let facts = evidence.verify(&policy, now).context("the evidence does not verify")?;
        let enclave = facts.enclave().context("the evidence does not bind an enclave's keys")?;
        if enclave.hpke_public_key != self.expected_hpke {
            bail!(
                "the enclave's HPKE key {} is not the registry's {}: reporters could not seal to it",
                enclave.hpke_public_key,
                self.expected_hpke
            );
        }
        let digest = evidence.fingerprint();
        let mut expires = Vec::new();
        for oracle in &self.oracles {
            let block = oracle
                .provider
                .get_block(Default::default())
                .await?
                .with_context(|| format!("{}: no latest block", oracle.chain))?;
            let expires_at = block.header.timestamp + self.ttl.as_secs();
            let pending = SolvencyHub::new(oracle.oracle, &oracle.provider)
                .setSigner(enclave.signer, expires_at, digest)
                .send()
                .await
                .map_err(|e| {
                    anyhow::anyhow!(
                        "{}: setSigner refused: {}",
                        oracle.chain,
                        solvency_ccip::broadcast::decode_revert(&e)
                    )
                })?;
            solvency_ccip::provider::confirm(pending)
                .await
                .with_context(|| format!("{}: setSigner", oracle.chain))?;
            info!(target: "registration", chain = %oracle.chain, signer = %enclave.signer, expires_at, "signer registered");
            expires.push((oracle.chain.clone(), expires_at));
        }
        Ok(Registration { signer: enclave.signer, evidence_digest: digest, expires, facts })
    }
}
