//! `solvency enclave attest|verify`: evidence out, evidence checked.

use std::path::PathBuf;

use alloy::primitives::Bytes;
use anyhow::Context;
use clap::Args;

use super::EnclaveSource;

/// `solvency enclave attest`
#[derive(Debug, Args)]
pub struct AttestArgs {
    #[command(flatten)]
    source: EnclaveSource,
    /// The verifier's nonce, hex.
    #[arg(long)]
    nonce: Bytes,
}

pub(super) async fn attest(args: AttestArgs) -> anyhow::Result<()> {
    let evidence = args.source.evidence(&args.nonce).await?;
    if evidence.kind() == solvency_enclave::EvidenceKind::DevInsecure {
        eprintln!(
            "INSECURE: dev evidence, signed by the enclave's own key; it proves nothing about the machine"
        );
    }
    println!("{}", serde_json::to_string_pretty(&evidence)?);
    Ok(())
}

/// `solvency enclave verify`
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// A Nitro attestation document (CBOR) or evidence JSON from `enclave attest`.
    #[arg(long)]
    evidence: PathBuf,
    /// Verify as of this time (RFC 3339, UTC, e.g. 2024-02-26T07:30:00Z; default now).
    #[arg(long)]
    at: Option<String>,
    /// An expected PCR value, `N=HEX` (repeatable).
    #[arg(long = "expect-pcr")]
    pcrs: Vec<String>,
    /// The nonce the evidence must carry, hex.
    #[arg(long)]
    nonce: Option<Bytes>,
    /// Oldest acceptable evidence, in seconds before `--at`.
    #[arg(long, default_value_t = 300)]
    max_age: u64,
    /// Accept insecure dev evidence.
    #[arg(long)]
    allow_dev: bool,
}

pub(super) fn verify(args: VerifyArgs) -> anyhow::Result<()> {
    let bytes = std::fs::read(&args.evidence)
        .with_context(|| format!("reading {}", args.evidence.display()))?;
    // Evidence JSON from `enclave attest`, or a raw Nitro document.
    let evidence = match serde_json::from_slice::<solvency_enclave::Evidence>(&bytes) {
        Ok(evidence) => evidence,
        Err(_) => solvency_enclave::Evidence::Nitro(solvency_enclave::NitroEvidence {
            document: bytes.into(),
        }),
    };
    let at = match &args.at {
        Some(text) => solvency_enclave::attestor::parse_utc(text).with_context(|| {
            format!("--at {text:?} is not a UTC time such as 2024-02-26T07:30:00Z")
        })?,
        None => crate::unix_now(),
    };
    let mut policy = solvency_enclave::EvidencePolicy {
        allow_dev: args.allow_dev,
        max_age: args.max_age,
        nonce: args.nonce,
        ..Default::default()
    };
    for pcr in &args.pcrs {
        let (index, value) =
            pcr.split_once('=').with_context(|| format!("--expect-pcr {pcr:?}: expected N=HEX"))?;
        let index: u8 = index
            .trim()
            .parse()
            .with_context(|| format!("--expect-pcr {pcr:?}: N is not a PCR index"))?;
        let value: Bytes =
            value.trim().parse().with_context(|| format!("--expect-pcr {pcr:?}: not hex"))?;
        policy.pcrs.insert(index, value);
    }
    let facts = evidence.verify(&policy, at)?;
    if facts.is_insecure() {
        eprintln!("INSECURE: dev evidence proves nothing about the machine");
    }
    println!("{}", serde_json::to_string_pretty(&facts)?);
    Ok(())
}
