//! `solvency enclave open`: DEV ONLY — open a sealed report with a key file.

use std::path::PathBuf;

use alloy::primitives::Bytes;
use clap::Args;
use solvency_enclave::{EnclaveKeys, Purpose, ReportV1, X25519Public, seal};

/// `solvency enclave open`
#[derive(Debug, Args)]
pub struct OpenArgs {
    /// The enclave key file.
    #[arg(long)]
    key: PathBuf,
    /// The reporter's X25519 public key the report must be sealed with.
    #[arg(long)]
    reporter_public_key: X25519Public,
    /// The deployment id (0x bytes32, or a name hashed with keccak256).
    #[arg(long)]
    deployment_id: String,
    /// The sealed payload, hex.
    #[arg(long)]
    payload: Bytes,
}

pub(super) fn run(args: OpenArgs) -> anyhow::Result<()> {
    eprintln!(
        "DEV ONLY: this prints a report's plaintext figures. A production enclave key never leaves its enclave."
    );
    let keys = EnclaveKeys::load(&args.key)?;
    let deployment = crate::cli::args::deployment_id(&args.deployment_id);
    let (header, plaintext) = seal::open(
        Purpose::Report,
        &deployment,
        &args.payload,
        &keys.hpke,
        &args.reporter_public_key,
    )?;
    let report = ReportV1::from_padded(&plaintext)?;
    println!(
        "chain selector {} (header {}), seq {} (header {}), observed at {}",
        report.chainSelector, header.chain_selector, report.seq, header.counter, report.observedAt
    );
    let rows: Vec<Vec<String>> = report
        .positions
        .iter()
        .map(|p| vec![p.assetId.to_string(), p.reserves.to_string(), p.liabilities.to_string()])
        .collect();
    println!("{}", crate::table::render(&["asset id", "reserves", "liabilities"], &rows));
    Ok(())
}
