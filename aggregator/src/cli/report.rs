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
    /// On a devnet, `--devnet DIR` takes the chain's reporter key file and account from the
    /// devnet's state directory. Elsewhere give `--key` and the account (`--account-key` or
    /// `SOLVENCY_REPORTER_ACCOUNT_KEY`).
    ///
    /// Example: `solvency report submit --config .devnet/networks.toml --devnet .devnet --chain
    /// devnet-2 --position USDC=2500000000:1000000`
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
    /// A devnet's state directory: the reporter key file and account of the chain come from it.
    #[arg(long)]
    devnet: Option<PathBuf>,
    /// The reporter's X25519 key file (default with --devnet: DIR/keys/reporter-<chain>.key).
    #[arg(long, required_unless_present = "devnet")]
    key: Option<PathBuf>,
    /// Secret key of the chain's reporter account, which pays gas and the CCIP fee (default
    /// with --devnet: the chain's reporter account in DIR/deployment.json).
    #[arg(
        long,
        env = "SOLVENCY_REPORTER_ACCOUNT_KEY",
        hide_env_values = true,
        required_unless_present = "devnet",
        value_parser = crate::cli::args::secret_key
    )]
    account_key: Option<B256>,
    #[command(flatten)]
    figures: Figures,
    #[command(flatten)]
    json: crate::cli::args::JsonArgs,
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
    let deployment = args.devnet.as_deref().map(solvency_devnet::Deployment::read).transpose()?;
    let key = match (&args.key, &args.devnet) {
        (Some(key), _) => key.clone(),
        (None, Some(dir)) => crate::keyfiles::reporter_key_file(&dir.join("keys"), &chain.name),
        (None, None) => bail!("give --key FILE (or --devnet DIR)"),
    };
    let reporter = X25519KeyPair::load(&key, "reporter")?;
    if reporter.public() != chain.reporter {
        bail!(
            "{} is not {}'s registered reporter key: the enclave would refuse the report",
            key.display(),
            chain.name
        );
    }
    let sender = match (args.account_key, &deployment) {
        (Some(secret), _) => PrivateKeySigner::from_bytes(&secret)
            .context("the account key is not a valid secp256k1 key")?,
        (None, Some(deployment)) => deployment
            .chain_by_name(&chain.name)
            .with_context(|| format!("{} is not a chain of the devnet", chain.name))?
            .reporter
            .signer(),
        (None, None) => {
            bail!("give --account-key (or SOLVENCY_REPORTER_ACCOUNT_KEY, or --devnet DIR)")
        }
    };
    // Only the chain's reporter account may submit: say so before paying for a transaction
    // the contract would refuse.
    let client = solvency_chain_adapters::ChainClient::new(
        chain,
        solvency_chain_adapters::Backoff::default(),
    );
    let expected = solvency_chain_adapters::reporter(&client, chain.oracle()).await?;
    if expected != sender.address() {
        bail!(
            "{} is not {}'s reporter account; the contract takes reports from {expected} only{}",
            sender.address(),
            chain.name,
            if deployment.is_some() || args.devnet.is_some() {
                String::new()
            } else {
                " (on a devnet: that chain's `reporter` in DIR/deployment.json, or --devnet DIR)"
                    .into()
            }
        );
    }
    let report = args.figures.report(chain.selector, None);
    let tx = crate::reporter::submit(
        chain,
        &registry.deployment_id,
        &network.enclave.hpke_public_key,
        &reporter,
        sender,
        &report,
    )
    .await?;
    if args.json.json {
        let out = serde_json::json!({ "chain": chain.name, "seq": report.seq, "tx": tx });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!("submitted {}'s report seq {} in transaction {tx}", chain.name, report.seq);
    }
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
