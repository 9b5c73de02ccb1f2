//! `solvency attestation digest|policy-digest`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Subcommand;
use solvency_enclave::SolvencyAttestation;

use crate::cli::args::ConfigArgs;

/// `solvency attestation …`
#[derive(Debug, Subcommand)]
pub enum AttestationCommand {
    /// Print the EIP-712 digest of an attestation given as JSON (a file, or - for stdin).
    ///
    /// Example: `echo '{"deploymentId":"0x…","epoch":1,…}' | solvency attestation digest -`
    Digest {
        /// The JSON file.
        file: PathBuf,
    },
    /// Print the digest of the registry's policy, which the contracts' owner sets with
    /// `setPolicyDigest` on every chain (attestations judged by any other policy are refused).
    PolicyDigest {
        /// The registry.
        #[command(flatten)]
        config: ConfigArgs,
    },
}

impl AttestationCommand {
    pub(super) fn run(self) -> anyhow::Result<()> {
        match self {
            Self::Digest { file } => digest(&file),
            Self::PolicyDigest { config } => {
                let registry = config.load()?;
                println!("{}", registry.network()?.policy.digest());
                Ok(())
            }
        }
    }
}

fn digest(file: &Path) -> anyhow::Result<()> {
    let text = if file == Path::new("-") {
        std::io::read_to_string(std::io::stdin())?
    } else {
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?
    };
    let attestation: SolvencyAttestation = serde_json::from_str(&text).context(
        "not an attestation: expected JSON with deploymentId, epoch, solvent, issuedAt, validUntil, reportsDigest, chainsRoot, ledgerRoot, parentLedgerRoot, policyDigest",
    )?;
    println!("{}", attestation.digest());
    Ok(())
}
