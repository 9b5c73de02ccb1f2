//! `solvency report submit|seal`: a reporter seals its chain's figures to the enclave.

use std::path::PathBuf;

use alloy::{primitives::B256, signers::local::PrivateKeySigner};
use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use solvency_enclave::{ReportV1, X25519KeyPair, X25519Public, seal};

use crate::cli::args::{ConfigArgs, PositionArg, deployment_id};

/// `solvency report …`
#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Seal a chain's figures to the enclave and submit them on that chain.
    ///
    /// Example: `SOLVENCY_REPORTER_ACCOUNT_KEY=0x… solvency report submit --config
    /// .devnet/networks.toml --chain devnet-2 --key .devnet/keys/reporter-devnet-2.key
    /// --position USDC=2500000000:1000000`
    Submit(SubmitArgs),
    /// Seal offline and print `enc`, the ciphertext and the payload as hex.
    Seal(SealArgs),
}

impl ReportCommand {
    pub(super) async fn run(self) -> anyhow::Result<()> {
        match self {
            Self::Submit(args) => submit(args).await,
            Self::Seal(args) => seal_offline(args),
        }
    }
}

/// The figures of one report.
#[derive(Debug, Args)]
pub struct Figures {
    /// Strictly increasing per chain (default: Unix time in milliseconds).
    #[arg(long)]
    seq: Option<u64>,
    /// When the figures were observed, Unix seconds (default: now).
    #[arg(long)]
    observed_at: Option<u64>,
    /// `SYMBOL=RESERVES:LIABILITIES`, smallest units (repeatable).
    #[arg(long = "position", required = true)]
    positions: Vec<PositionArg>,
}

impl Figures {
    fn report(&self, selector: u64, seq: Option<u64>) -> ReportV1 {
        let seq = seq.or(self.seq).unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64)
        });
        ReportV1::new(
            selector,
            seq,
            self.observed_at.unwrap_or_else(crate::unix_now),
            self.positions.iter().map(PositionArg::position).collect(),
        )
    }
}

/// `solvency report submit`
#[derive(Debug, Args)]
pub struct SubmitArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// The chain (its name in the registry).
    #[arg(long)]
    chain: String,
    /// The reporter's X25519 key file.
    #[arg(long)]
    key: PathBuf,
    /// Secret key of the chain's reporter account (pays gas and the CCIP fee).
    #[arg(long, env = "SOLVENCY_REPORTER_ACCOUNT_KEY", hide_env_values = true)]
    account_key: B256,
    #[command(flatten)]
    figures: Figures,
}

async fn submit(args: SubmitArgs) -> anyhow::Result<()> {
    let registry = args.config.load()?;
    let network = registry.network()?;
    let chain = network.chain(&registry, &args.chain)?;
    for p in &args.figures.positions {
        if chain.asset(&p.symbol).is_none() {
            bail!(
                "{} is not an asset of {} in {}",
                p.symbol,
                chain.name,
                registry.path().display()
            );
        }
    }
    let reporter = X25519KeyPair::load(&args.key, "reporter")?;
    if reporter.public() != chain.reporter {
        bail!(
            "{} is not {}'s registered reporter key: the enclave would refuse the report",
            args.key.display(),
            chain.name
        );
    }
    let report = args.figures.report(chain.selector, None);
    let sender = PrivateKeySigner::from_bytes(&args.account_key)
        .context("the account key is not a valid secp256k1 key")?;
    let tx = crate::reporter::submit(
        chain,
        &registry.deployment_id,
        &network.enclave.hpke_public_key,
        &reporter,
        sender,
        &report,
    )
    .await?;
    println!("submitted {}'s report seq {} in transaction {tx}", chain.name, report.seq);
    Ok(())
}

/// `solvency report seal`
#[derive(Debug, Args)]
pub struct SealArgs {
    /// The enclave's HPKE public key.
    #[arg(long)]
    enclave_public_key: X25519Public,
    /// The reporter's X25519 key file.
    #[arg(long)]
    key: PathBuf,
    /// The deployment id (0x bytes32, or a name hashed with keccak256).
    #[arg(long)]
    deployment_id: String,
    /// The reporting chain's selector.
    #[arg(long)]
    chain_selector: u64,
    #[command(flatten)]
    figures: Figures,
}

fn seal_offline(args: SealArgs) -> anyhow::Result<()> {
    let reporter = X25519KeyPair::load(&args.key, "reporter")?;
    let report = args.figures.report(args.chain_selector, None);
    let payload = solvency_enclave::seal_report(
        &report,
        &deployment_id(&args.deployment_id),
        &reporter,
        &args.enclave_public_key,
    )?;
    println!("enc: 0x{}", alloy::hex::encode(&payload[seal::HEADER_LEN..seal::PREFIX_LEN]));
    println!("ciphertext: 0x{}", alloy::hex::encode(&payload[seal::PREFIX_LEN..]));
    println!("payload: {payload}");
    Ok(())
}
