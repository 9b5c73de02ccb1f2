//! The reporter's side: seal a chain's figures to the enclave and submit them on that chain.

use alloy::{
    primitives::{B256, Bytes},
    signers::local::PrivateKeySigner,
};
use anyhow::{Context, bail};
use solvency_ccip::bindings::{hub::SolvencyHub, spoke::SolvencySpoke};
use solvency_enclave::{ReportV1, X25519KeyPair, X25519Public, seal_report};

use crate::config::ChainSection;

/// Seals `report` and submits it on `chain` from `sender` (the chain's registered reporter
/// account): directly on the hub chain, through the spoke (paying the CCIP fee) elsewhere.
/// Returns the submitting transaction.
pub async fn submit(
    chain: &ChainSection,
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
    send(chain, sender, report.seq, payload).await
}

/// Submits an already sealed payload.
pub async fn send(
    chain: &ChainSection,
    sender: PrivateKeySigner,
    seq: u64,
    payload: Bytes,
) -> anyhow::Result<B256> {
    let provider = solvency_ccip::provider::connect_with_signer(&chain.rpc_url, sender)?;
    let pending = match (chain.hub, chain.spoke) {
        (Some(hub), _) => SolvencyHub::new(hub, &provider).submitReport(seq, payload).send().await,
        (None, Some(spoke)) => {
            let spoke = SolvencySpoke::new(spoke, &provider);
            let fee = spoke
                .getReportFee(seq, payload.clone())
                .call()
                .await
                .with_context(|| format!("{}: quoting the report fee", chain.name))?;
            spoke.submitReport(seq, payload).value(fee).send().await
        }
        (None, None) => bail!("{}: neither hub nor spoke configured", chain.name),
    }
    .map_err(|e| {
        anyhow::anyhow!(
            "{}: submitReport refused: {}",
            chain.name,
            solvency_ccip::broadcast::decode_revert(&e)
        )
    })?;
    let receipt = solvency_ccip::provider::confirm(pending)
        .await
        .with_context(|| format!("{}: submitReport", chain.name))?;
    Ok(receipt.transaction_hash)
}
