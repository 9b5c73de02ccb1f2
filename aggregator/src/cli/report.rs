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

/// Who reports for a chain: the chain, its reporter key and its reporter account.
#[derive(Debug, Args)]
pub struct ReporterIdentity {
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
    /// The reporter account from an encrypted keystore instead (password from
    /// SOLVENCY_KEYSTORE_PASSWORD or SOLVENCY_KEYSTORE_PASSWORD_FILE).
    #[arg(long, value_name = "FILE", conflicts_with = "account_key")]
    account_keystore: Option<std::path::PathBuf>,
}

/// A chain's reporter, checked against the registry and the chain.
pub struct Reporter {
    /// The chain.
    pub chain: solvency_registry::ChainConfig,
    /// Its reporter key.
    pub key: X25519KeyPair,
    /// Its reporter account.
    pub account: PrivateKeySigner,
}

impl ReporterIdentity {
    /// The chain, the key and the account, checked before anything is paid for: the key is
    /// the registry's reporter key of the chain, and the account the contract's reporter.
    pub async fn resolve(
        &self,
        registry: &solvency_registry::Registry,
    ) -> anyhow::Result<Reporter> {
        let network = registry.network()?;
        let chain = network.chain(registry, &self.chain)?.clone();
        let deployment =
            self.devnet.as_deref().map(solvency_devnet::Deployment::read).transpose()?;
        let key = match (&self.key, &self.devnet) {
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
        let given = crate::accounts::account(self.account_key, self.account_keystore.as_deref())?;
        let account = match (given, &deployment) {
            (Some(account), _) => account,
            (None, Some(deployment)) => deployment
                .chain_by_name(&chain.name)
                .with_context(|| format!("{} is not a chain of the devnet", chain.name))?
                .reporter
                .signer(),
            (None, None) => {
                bail!(
                    "give --account-keystore FILE, --account-key (or SOLVENCY_REPORTER_ACCOUNT_KEY), or --devnet DIR"
                )
            }
        };
        // Only the chain's reporter account may submit: say so before paying for a transaction
        // the contract would refuse.
        let client = solvency_chain_adapters::ChainClient::new(
            &chain,
            solvency_chain_adapters::Backoff::default(),
        );
        let expected = solvency_chain_adapters::reporter(&client, chain.oracle()).await?;
        if expected != account.address() {
            bail!(
                "{} is not {}'s reporter account; the contract takes reports from {expected} only{}",
                account.address(),
                chain.name,
                if self.devnet.is_some() {
                    String::new()
                } else {
                    " (on a devnet: that chain's `reporter` in DIR/deployment.json, or --devnet DIR)"
                        .into()
                }
            );
        }
        Ok(Reporter { chain, key: reporter, account })
    }
}

/// `solvency report submit`
#[derive(Debug, Args)]
pub struct SubmitArgs {
    #[command(flatten)]
    config: ConfigArgs,
    #[command(flatten)]
    identity: ReporterIdentity,
    #[command(flatten)]
    figures: Figures,
    /// Wait up to this many seconds for the aggregator's answer: exit 0 once the enclave
    /// accepted the report, 1 if it refused it (saying why) or did not answer in time.
    #[arg(long, value_name = "SECS", requires = "aggregator")]
    wait: Option<u64>,
    /// The aggregator's API (`solvency run --http`), for --wait.
    #[arg(long, env = "SOLVENCY_AGGREGATOR_URL", value_name = "URL")]
    aggregator: Option<url::Url>,
    #[command(flatten)]
    json: crate::cli::args::JsonArgs,
}

/// What can be checked before paying: the assets are the chain's, and the observation time
/// and seq are inside the policy's windows (the enclave would refuse them otherwise).
fn precheck(
    registry: &solvency_registry::Registry,
    chain: &solvency_registry::ChainConfig,
    figures: &Figures,
    report: &ReportV1,
) -> anyhow::Result<()> {
    for p in &figures.positions {
        if chain.asset(&p.symbol).is_none() {
            bail!(
                "{} is not an asset of {} in {}",
                p.symbol,
                chain.name,
                registry.path().display()
            );
        }
    }
    let now = crate::unix_now();
    let skew = registry.policy.max_clock_skew.as_secs();
    let max_age = registry.policy.max_report_age.as_secs();
    if report.observedAt > now + skew {
        bail!(
            "--observed-at {} is more than {skew} s ([policy] max_clock_skew_secs) in the future: the enclave would refuse the report (from_the_future); leave it out to use now",
            report.observedAt
        );
    }
    if report.observedAt + max_age < now {
        bail!(
            "--observed-at {} is more than {max_age} s ([policy] max_report_age_secs) ago: the enclave would refuse the report (stale)",
            report.observedAt
        );
    }
    if report.seq > (now + skew).saturating_mul(1_000) {
        bail!(
            "--seq {} is above the current time in milliseconds: the enclave would refuse the report (seq_too_large); leave it out to use the time",
            report.seq
        );
    }
    Ok(())
}

async fn submit(args: SubmitArgs) -> anyhow::Result<()> {
    let registry = args.config.load()?;
    let network = registry.network()?;
    let reporter = args.identity.resolve(&registry).await?;
    let chain = &reporter.chain;
    let report = args.figures.report(chain.selector, None);
    precheck(&registry, chain, &args.figures, &report)?;
    let api = match (&args.aggregator, args.wait) {
        (Some(url), Some(_)) => Some(crate::reporter::feedback::AggregatorApi::new(url)?),
        _ => None,
    };
    // Asked before paying: an aggregator that cannot answer is said now, and what it had
    // accepted tells its later answer apart.
    let before = match &api {
        Some(api) => api.chain(&chain.name).await?.accepted,
        None => None,
    };
    let tx = crate::reporter::submit(
        chain,
        &registry.deployment_id,
        &network.enclave.hpke_public_key,
        &reporter.key,
        reporter.account,
        &report,
    )
    .await?;
    let answer = match (args.wait, &api) {
        (Some(secs), Some(api)) => Some(
            api.wait_for(&chain.name, report.seq, before, std::time::Duration::from_secs(secs))
                .await?,
        ),
        _ => None,
    };
    use crate::reporter::feedback::{Answer, advice};
    if args.json.json {
        let verdict = match &answer {
            None => serde_json::Value::Null,
            Some(Answer::Accepted { latest }) => {
                serde_json::json!({ "accepted": true, "latest_accepted_seq": latest })
            }
            Some(Answer::Refused { rule }) => {
                serde_json::json!({ "accepted": false, "rule": rule, "advice": advice(rule) })
            }
            Some(Answer::Pending) => serde_json::json!({ "accepted": null }),
        };
        let out = serde_json::json!({ "chain": chain.name, "seq": report.seq, "tx": tx, "enclave": verdict });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!("submitted {}'s report seq {} in transaction {tx}", chain.name, report.seq);
    }
    match answer {
        None => Ok(()),
        Some(Answer::Accepted { latest }) => {
            if !args.json.json {
                if latest == report.seq {
                    println!("the enclave accepted it");
                } else {
                    println!("the enclave accepted it, or a later report (seq {latest})");
                }
            }
            Ok(())
        }
        Some(Answer::Refused { rule }) => {
            bail!(
                "the enclave refused report seq {} of {} ({rule}): {}",
                report.seq,
                chain.name,
                advice(&rule)
            )
        }
        Some(Answer::Pending) => bail!(
            "no answer from the aggregator about report seq {} of {} within {} s: its CCIP message may still be on its way (`solvency devnet messages`, or the CCIP explorer), or the aggregator is not reading the hub",
            report.seq,
            chain.name,
            args.wait.unwrap_or(0)
        ),
    }
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
