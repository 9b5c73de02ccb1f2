//! The reporter's write: a sealed report submitted on its chain — directly on the hub chain,
//! through the spoke (paying the CCIP fee) anywhere else.

use alloy::{
    primitives::{B256, Bytes},
    signers::local::PrivateKeySigner,
};
use solvency_ccip::bindings::{hub::SolvencyHub, spoke::SolvencySpoke};
use solvency_registry::{ChainConfig, ChainRole};

use crate::{Backoff, ChainClient, Error, rpc};

/// Submits an already sealed payload from `sender` (the chain's registered reporter account).
/// Returns the submitting transaction once it is mined.
pub async fn submit_report(
    chain: &ChainConfig,
    sender: PrivateKeySigner,
    seq: u64,
    payload: Bytes,
) -> Result<B256, Error> {
    let client = ChainClient::new(chain, Backoff::default());
    let provider = client.sender(sender);
    let action = "submitReport";
    let pending = match chain.role {
        ChainRole::Hub(hub) => {
            SolvencyHub::new(hub, &provider).submitReport(seq, payload).send().await
        }
        ChainRole::Spoke(spoke) => {
            let spoke = SolvencySpoke::new(spoke, &provider);
            let fee = client
                .call("quote the report fee", || async {
                    spoke.getReportFee(seq, payload.clone()).call().await
                })
                .await?;
            spoke.submitReport(seq, payload).value(fee).send().await
        }
    }
    .map_err(|e| client.contract_error(action, &e))?;
    let receipt = rpc::confirm(pending).await.map_err(|e| client.confirm_error(action, e))?;
    Ok(receipt.transaction_hash)
}
