//! The reporter's side: seal a chain's figures to the enclave and submit them on that chain;
//! read them from their sources ([`sources`]); report on a heartbeat and on deviation
//! ([`daemon`]); learn from the aggregator whether a report was accepted ([`feedback`]).

pub mod daemon;
pub mod feedback;
pub mod sources;

use alloy::{primitives::B256, signers::local::PrivateKeySigner};
use anyhow::bail;
use solvency_enclave::{ReportV1, X25519KeyPair, X25519Public, seal_report};
use solvency_registry::ChainConfig;

/// Seals `report` and submits it on `chain` from `sender` (the chain's registered reporter
/// account): directly on the hub chain, through the spoke (paying the CCIP fee) elsewhere.
/// Returns the submitting transaction.
pub async fn submit(
    chain: &ChainConfig,
    deployment_id: &B256,
    enclave: &X25519Public,
    reporter: &X25519KeyPair,
    sender: PrivateKeySigner,
    report: &ReportV1,
) -> anyhow::Result<B256> {
    if report.chainSelector != chain.selector {
        bail!(
            "the report is for selector {}, not {} ({})",
            report.chainSelector,
            chain.selector,
            chain.name
        );
    }
    let payload = seal_report(report, deployment_id, reporter, enclave)?;
    Ok(solvency_chain_adapters::submit_report(chain, sender, report.seq, payload).await?)
}
