//! `solvency enclave register`: fresh evidence in, a signer registered on every chain.

use std::path::PathBuf;

use alloy::primitives::B256;
use anyhow::{Context, bail};
use clap::Args;

use super::EnclaveSource;
use crate::{cli::args::ConfigArgs, registration::Registrar};

/// `solvency enclave register`
#[derive(Debug, Args)]
pub struct RegisterArgs {
    #[command(flatten)]
    config: ConfigArgs,
    #[command(flatten)]
    source: EnclaveSource,
    /// Secret key of the contracts' owner on every chain.
    #[arg(long, env = "SOLVENCY_OWNER_KEY", hide_env_values = true, conflicts_with = "devnet", value_parser = crate::cli::args::secret_key)]
    owner_key: Option<B256>,
    /// The owner's account from an encrypted keystore instead (password from
    /// SOLVENCY_KEYSTORE_PASSWORD or SOLVENCY_KEYSTORE_PASSWORD_FILE).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["owner_key", "devnet"])]
    owner_keystore: Option<PathBuf>,
    /// A devnet state directory: each chain's owner is its deployer (deployment.json).
    #[arg(long)]
    devnet: Option<PathBuf>,
    /// Renew with fresh evidence every this many seconds, until Ctrl-C.
    #[arg(long)]
    every: Option<u64>,
}

pub(super) async fn run(args: RegisterArgs) -> anyhow::Result<()> {
    let registry = args.config.load()?;
    let deployment = args.devnet.as_deref().map(solvency_devnet::Deployment::read).transpose()?;
    let owner = crate::accounts::account(args.owner_key, args.owner_keystore.as_deref())?;
    let registrar = Registrar::new(&registry, |chain| match (&deployment, &owner) {
        (Some(d), _) => Ok(d
            .chain_by_name(chain)
            .with_context(|| format!("{chain} is not in the devnet"))?
            .deployer
            .signer()),
        (None, Some(owner)) => Ok(owner.clone()),
        (None, None) => {
            bail!(
                "give --owner-keystore FILE, --owner-key (or SOLVENCY_OWNER_KEY), or --devnet DIR"
            )
        }
    })?;
    loop {
        let nonce = Registrar::nonce();
        let evidence = args.source.evidence(&nonce).await?;
        let registration = registrar.register(&evidence, &nonce).await?;
        eprintln!(
            "registered {} with evidence {}",
            registration.signer, registration.evidence_digest
        );
        println!("{}", serde_json::to_string_pretty(&registration)?);
        let Some(every) = args.every else { return Ok(()) };
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(every)) => {}
            _ = crate::shutdown::signal() => return Ok(()),
        }
    }
}
