//! Registration: verify an enclave's evidence off-chain against the registry's policy, with a
//! nonce issued for this registration only, then register its signer on the hub and every spoke
//! with the evidence's digest and an expiry.
//!
//! A replayed document fails twice over: its nonce is not the one just issued, and the contracts
//! refuse an evidence digest they have seen (`EvidenceAlreadyUsed`). Registrations expire;
//! renewing means fresh evidence (`solvency enclave register --every`).

use alloy::{
    primitives::{Address, B256, Bytes},
    signers::local::PrivateKeySigner,
};
use anyhow::{Context, bail};
use solvency_chain_adapters::{Backoff, ChainClient, OracleOwner};
use solvency_enclave::{Evidence, EvidencePolicy, VerifiedEvidence, X25519Public};
use solvency_registry::Registry;
use tracing::info;

/// Registers enclave signers on every chain of a registry.
#[derive(Debug)]
pub struct Registrar {
    owners: Vec<OracleOwner>,
    policy: EvidencePolicy,
    ttl: std::time::Duration,
    expected_hpke: X25519Public,
}

/// A completed registration.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Registration {
    /// The registered signer.
    pub signer: Address,
    /// The evidence digest stored on-chain.
    pub evidence_digest: B256,
    /// Per chain name: when the registration expires (that chain's time, Unix seconds).
    pub expires: std::collections::BTreeMap<String, u64>,
    /// What the verification proved.
    pub facts: VerifiedEvidence,
}

impl Registrar {
    /// `owner(chain)` gives the owner account of each chain's contracts.
    pub fn new(
        registry: &Registry,
        owner: impl Fn(&str) -> anyhow::Result<PrivateKeySigner>,
    ) -> anyhow::Result<Self> {
        let network = registry.network()?;
        let owners = network
            .chains
            .iter()
            .map(|c| {
                Ok(OracleOwner::new(
                    ChainClient::new(c, Backoff::default()),
                    c.oracle(),
                    owner(&c.name)?,
                ))
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(Self {
            owners,
            policy: network.enclave.evidence.policy.clone(),
            ttl: network.enclave.evidence.registration_ttl,
            expected_hpke: network.enclave.hpke_public_key,
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
        let mut expires = std::collections::BTreeMap::new();
        for owner in &self.owners {
            let chain = owner.client().name().to_owned();
            let (_, time) = owner.client().latest_block().await?;
            let expires_at = time + self.ttl.as_secs();
            owner.set_signer(enclave.signer, expires_at, digest).await?;
            info!(target: "registration", %chain, signer = %enclave.signer, expires_at, "signer registered");
            expires.insert(chain, expires_at);
        }
        Ok(Registration { signer: enclave.signer, evidence_digest: digest, expires, facts })
    }
}
