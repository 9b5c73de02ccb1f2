//! `solvency maker withdraw`: a market maker (or the protocol) takes collateral out of a
//! reserve vault ([`crate::maker`]).

use std::{io::Write, time::Duration};

use alloy::{
    primitives::{B256, U256},
    signers::local::PrivateKeySigner,
};
use clap::{Args, Subcommand};

use crate::cli::args::ConfigArgs;

/// `solvency maker …`
#[derive(Debug, Subcommand)]
pub enum MakerCommand {
    /// Withdraw from a chain's reserve vault: the request is signed by the account, sealed to
    /// the enclave, authorized at the next epoch if the account's available balance covers it,
    /// then queued and — after the vault's delay, in chain time — executed. Exits 0 once paid.
    ///
    /// Example: `solvency maker withdraw --config .devnet/networks.toml --chain devnet-2
    /// --amount 1000000 --aggregator http://127.0.0.1:8080` (with SOLVENCY_MAKER_KEY set)
    Withdraw(WithdrawArgs),
    /// Subscribe to statements: every epoch, the enclave seals what the ledger says this
    /// account owns in every vault — with Merkle proofs under the ledger root the chains hold,
    /// and its junior claims — to the X25519 key in FILE (created if missing).
    ///
    /// Example: `solvency maker subscribe --config .devnet/networks.toml --key maker.key
    /// --aggregator http://127.0.0.1:8080` (with SOLVENCY_MAKER_KEY set)
    Subscribe(SubscribeArgs),
    /// Fetch this owner's latest statement, open it with the statement key, check it against
    /// the ledger root a chain holds, and print it (to this terminal only).
    ///
    /// Example: `solvency maker statement --config .devnet/networks.toml --key maker.key
    /// --owner 0x… --aggregator http://127.0.0.1:8080`
    Statement(StatementArgs),
    /// Deposit collateral into a chain's reserve vault: standby for a market maker, reserves
    /// for the protocol's account (public: a deposit shows its account and amount).
    ///
    /// Example: `solvency maker deposit --config .devnet/networks.toml --chain devnet-2
    /// --amount 1000000` (with SOLVENCY_MAKER_KEY set)
    Deposit(DepositArgs),
    /// Verify this owner's statement every epoch until Ctrl-C or SIGTERM: each is opened and
    /// proven under the ledger root a chain holds; a statement that does not prove is an error.
    /// Logs epochs and verdicts, never amounts.
    ///
    /// Example: `solvency maker run --config .devnet/networks.toml --key maker.key --owner 0x…
    /// --aggregator http://127.0.0.1:8080`
    Run(MakerRunArgs),
    /// Seal a quote to the enclave and submit it on the hub's quote board: SIZE units of the
    /// asset at a premium, counting for a while of hub time; `--size 0` is a null quote (it
    /// withdraws the offer, and looks like any other). The quote key is an X25519 key (FILE,
    /// created if missing) the board's owner registers for the account (`setMaker`).
    ///
    /// Example: `solvency maker quote --config .devnet/networks.toml --quote-key quote.key
    /// --asset USDC --size 1000000000 --premium-bps 30` (with SOLVENCY_MAKER_KEY set)
    Quote(QuoteArgs),
}

impl MakerCommand {
    pub(super) async fn run(self) -> anyhow::Result<()> {
        match self {
            Self::Withdraw(args) => withdraw(args).await,
            Self::Subscribe(args) => subscribe(args).await,
            Self::Statement(args) => statement(args).await,
            Self::Deposit(args) => deposit(args).await,
            Self::Run(args) => run_daemon(args).await,
            Self::Quote(args) => quote(args).await,
        }
    }
}

/// `solvency maker subscribe`
#[derive(Debug, Args)]
pub struct SubscribeArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// The statement key file (an X25519 key; created if missing). Keep it: statements are
    /// sealed to it.
    #[arg(long)]
    key: std::path::PathBuf,
    #[command(flatten)]
    account: MakerAccount,
    #[command(flatten)]
    api: AggregatorApi,
    /// Above every nonce this account used before (default: Unix time in milliseconds).
    #[arg(long)]
    nonce: Option<u64>,
    /// Give up after this many seconds.
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    timeout: u64,
}

/// The X25519 key in `file`, made and saved first if the file does not exist; whether it was.
fn load_or_create_key(
    file: &std::path::Path,
    kind: &'static str,
) -> anyhow::Result<(solvency_enclave::X25519KeyPair, bool)> {
    if file.exists() {
        return Ok((solvency_enclave::X25519KeyPair::load(file, kind)?, false));
    }
    let key = solvency_enclave::X25519KeyPair::generate();
    key.save(file, kind)?;
    Ok((key, true))
}

async fn subscribe(args: SubscribeArgs) -> anyhow::Result<()> {
    let registry = args.config.load()?;
    let account = args.account.signer()?;
    let (key, _) = load_or_create_key(&args.key, "statement")?;
    let epoch = crate::maker::Subscription {
        registry: &registry,
        key: &key,
        nonce: args.nonce.unwrap_or_else(crate::maker::default_nonce),
        account: account.clone(),
        aggregator: args.api.aggregator,
        timeout: Duration::from_secs(args.timeout),
        poll: registry.aggregator.poll_interval.max(Duration::from_millis(200)),
    }
    .run()
    .await?;
    println!(
        "{} subscribed from epoch {epoch}: statements are sealed to {}",
        account.address(),
        args.key.display()
    );
    Ok(())
}

/// Whose statements, opened with which key, from which aggregator.
#[derive(Debug, Args)]
pub struct StatementReader {
    #[command(flatten)]
    config: ConfigArgs,
    /// The statement key file given to `solvency maker subscribe`.
    #[arg(long)]
    key: std::path::PathBuf,
    /// The owner (its vault address).
    #[arg(long)]
    owner: alloy::primitives::Address,
    #[command(flatten)]
    api: AggregatorApi,
}

impl StatementReader {
    /// The registry and the statement key.
    fn load(
        &self,
    ) -> anyhow::Result<(solvency_registry::Registry, solvency_enclave::X25519KeyPair)> {
        Ok((self.config.load()?, solvency_enclave::X25519KeyPair::load(&self.key, "statement")?))
    }
}

/// `solvency maker statement`
#[derive(Debug, Args)]
pub struct StatementArgs {
    #[command(flatten)]
    reader: StatementReader,
    #[command(flatten)]
    json: crate::cli::args::JsonArgs,
}

async fn statement(args: StatementArgs) -> anyhow::Result<()> {
    let (registry, key) = args.reader.load()?;
    let (statement, vouched_by) =
        crate::maker::statement(&registry, args.reader.owner, &key, &args.reader.api.aggregator)
            .await?;
    let network = registry.network()?;
    let name = |selector: u64| {
        network
            .chains
            .iter()
            .find(|c| c.selector == selector)
            .map_or_else(|| selector.to_string(), |c| c.name.clone())
    };
    if args.json.json {
        let entries: Vec<_> = statement
            .entries
            .iter()
            .map(|e| {
                serde_json::json!({
                    "chain": name(e.chainSelector), "vault": e.vault, "held": e.held,
                    "balance": e.balance, "available": e.available, "withdrawn_total": e.withdrawnTotal,
                    "drawn": e.drawn, "owed": e.owed,
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "owner": statement.owner, "epoch": statement.epoch, "ledger_root": statement.ledgerRoot,
                "verified_on": vouched_by, "entries": entries,
            }))?
        );
        return Ok(());
    }
    println!(
        "statement of {} for epoch {} — proven under the ledger root {} holds",
        statement.owner, statement.epoch, vouched_by
    );
    let rows: Vec<Vec<String>> = statement
        .entries
        .iter()
        .map(|e| {
            vec![
                name(e.chainSelector),
                e.balance.to_string(),
                e.available.to_string(),
                e.drawn.to_string(),
                e.owed.to_string(),
            ]
        })
        .collect();
    println!(
        "{}",
        crate::table::render(&["chain", "balance", "available", "drawn (junior)", "owed"], &rows)
    );
    Ok(())
}

/// The owner's account, from `--account-keystore`, `--account-key` or `SOLVENCY_MAKER_KEY`.
#[derive(Debug, Args)]
pub struct MakerAccount {
    /// The owner's account (its vault address): signs requests, pays gas where there is any.
    #[arg(
        long,
        env = "SOLVENCY_MAKER_KEY",
        hide_env_values = true,
        value_parser = crate::cli::args::secret_key,
        required_unless_present = "account_keystore"
    )]
    account_key: Option<B256>,
    /// The owner's account from an encrypted keystore instead (password from
    /// SOLVENCY_KEYSTORE_PASSWORD or SOLVENCY_KEYSTORE_PASSWORD_FILE).
    #[arg(long, value_name = "FILE", conflicts_with = "account_key")]
    account_keystore: Option<std::path::PathBuf>,
}

impl MakerAccount {
    fn signer(&self) -> anyhow::Result<PrivateKeySigner> {
        crate::accounts::account(self.account_key, self.account_keystore.as_deref())?
            .ok_or_else(|| anyhow::anyhow!("give --account-keystore FILE or --account-key"))
    }
}

/// The aggregator's API, from `--aggregator` or `SOLVENCY_AGGREGATOR_URL`.
#[derive(Debug, Args)]
pub struct AggregatorApi {
    /// The aggregator's API (`solvency run --http`).
    #[arg(long, env = "SOLVENCY_AGGREGATOR_URL", value_name = "URL")]
    aggregator: url::Url,
}

/// An amount of one chain's vault collateral.
#[derive(Debug, Args)]
pub struct VaultAmount {
    #[command(flatten)]
    config: ConfigArgs,
    /// The vault's chain (its name in the registry).
    #[arg(long)]
    chain: String,
    /// How much, in the collateral's smallest unit.
    #[arg(long)]
    amount: U256,
}

/// `solvency maker withdraw`
#[derive(Debug, Args)]
pub struct WithdrawArgs {
    #[command(flatten)]
    what: VaultAmount,
    #[command(flatten)]
    account: MakerAccount,
    #[command(flatten)]
    api: AggregatorApi,
    /// Above every nonce this account used before (default: Unix time in milliseconds).
    #[arg(long)]
    nonce: Option<u64>,
    /// Stop once the withdrawal is queued (anyone may execute it later; the owner alone is
    /// paid).
    #[arg(long)]
    queue_only: bool,
    /// Give up after this many seconds.
    #[arg(long, value_name = "SECS", default_value_t = 900)]
    timeout: u64,
    #[command(flatten)]
    json: crate::cli::args::JsonArgs,
}

async fn withdraw(args: WithdrawArgs) -> anyhow::Result<()> {
    let registry = args.what.config.load()?;
    let account = args.account.signer()?;
    let nonce = args.nonce.unwrap_or_else(crate::maker::default_nonce);
    // Said before anything can go wrong: the same nonce resumes this very withdrawal.
    eprintln!(
        "withdrawal nonce {nonce} (if this command is interrupted, run it again with --nonce {nonce})"
    );
    let outcome = crate::maker::Withdrawal {
        registry: &registry,
        chain: &args.what.chain,
        amount: args.what.amount,
        nonce,
        account,
        aggregator: args.api.aggregator,
        queue_only: args.queue_only,
        timeout: Duration::from_secs(args.timeout),
        poll: registry.aggregator.poll_interval.max(Duration::from_millis(200)),
    }
    .run()
    .await?;
    if args.json.json {
        println!("{}", serde_json::to_string_pretty(&outcome)?);
    } else {
        match outcome.executed_tx {
            Some(tx) => println!(
                "withdrawal {} paid on {} (authorized in epoch {}, queued in {}, executed in {tx})",
                outcome.id, outcome.chain, outcome.authorized_in, outcome.queued_tx
            ),
            None => println!(
                "withdrawal {} queued on {} (authorized in epoch {}, tx {}); execute it after the vault's delay",
                outcome.id, outcome.chain, outcome.authorized_in, outcome.queued_tx
            ),
        }
    }
    Ok(())
}

/// `solvency maker deposit`
#[derive(Debug, Args)]
pub struct DepositArgs {
    #[command(flatten)]
    what: VaultAmount,
    #[command(flatten)]
    account: MakerAccount,
}

async fn deposit(args: DepositArgs) -> anyhow::Result<()> {
    let registry = args.what.config.load()?;
    let account = args.account.signer()?;
    let owner = account.address();
    let tx = crate::maker::deposit(&registry, &args.what.chain, args.what.amount, account).await?;
    println!(
        "deposited into {}'s vault for {owner} (tx {tx}); it counts once a report vouches for it",
        args.what.chain
    );
    Ok(())
}

/// `solvency maker quote`
#[derive(Debug, Args)]
pub struct QuoteArgs {
    #[command(flatten)]
    config: ConfigArgs,
    #[command(flatten)]
    account: MakerAccount,
    /// The quote key file (an X25519 key; created if missing, its public key printed for the
    /// board's owner to register).
    #[arg(long, value_name = "FILE")]
    quote_key: std::path::PathBuf,
    /// The collateral quoted for (an asset of the registry).
    #[arg(long, default_value = "USDC")]
    asset: String,
    /// Units offered, across the account's vaults of that collateral (0: a null quote).
    #[arg(long, default_value_t = U256::ZERO)]
    size: U256,
    /// The premium asked on what is drawn, in basis points.
    #[arg(long, default_value_t = 0)]
    premium_bps: u32,
    /// For how long, in seconds of hub time, the quote counts.
    #[arg(long, value_name = "SECS", default_value_t = 3_600)]
    expires_in: u64,
    /// Above every sequence number this account quoted with (default: Unix time in
    /// milliseconds).
    #[arg(long)]
    seq: Option<u64>,
}

async fn quote(args: QuoteArgs) -> anyhow::Result<()> {
    let registry = args.config.load()?;
    let account = args.account.signer()?;
    let (key, created) = load_or_create_key(&args.quote_key, "quote")?;
    if created {
        eprintln!(
            "created {}: its public key {} must be registered for {} on the quote board",
            args.quote_key.display(),
            alloy::primitives::B256::from(key.public()),
            account.address()
        );
    }
    let network = registry.network()?;
    let hub = solvency_chain_adapters::ChainClient::new(network.hub(), Default::default());
    let (_, hub_time) = hub.latest_block().await?;
    let offer = crate::maker::QuoteOffer {
        asset: args.asset,
        size: args.size,
        premium_bps: args.premium_bps,
        expires_at: hub_time + args.expires_in,
        seq: args.seq.unwrap_or_else(crate::maker::default_nonce),
    };
    let submitted = crate::maker::submit_quote(&registry, account, &key, &offer).await?;
    // The quote's terms stay with the maker: only its transaction and round are shown.
    println!(
        "quote {} submitted in round {} (tx {}); it counts once the round closes",
        offer.seq, submitted.round, submitted.tx
    );
    Ok(())
}

/// `solvency maker run`
#[derive(Debug, Args)]
pub struct MakerRunArgs {
    #[command(flatten)]
    reader: StatementReader,
    /// Keep this much standby available in a chain's vault, `CHAIN=UNITS` (repeatable): below
    /// it — after a draw, say — the agent deposits the difference (the account must hold the
    /// collateral); above it, it withdraws the excess. Needs the account (`--account-key`).
    #[arg(long = "standby", value_name = "CHAIN=UNITS")]
    standby: Vec<StandbyTarget>,
    /// The owner's account, for --standby.
    #[arg(
        long,
        env = "SOLVENCY_MAKER_KEY",
        hide_env_values = true,
        value_parser = crate::cli::args::secret_key
    )]
    account_key: Option<B256>,
    /// The owner's account from an encrypted keystore instead, for --standby.
    #[arg(long, value_name = "FILE", conflicts_with = "account_key")]
    account_keystore: Option<std::path::PathBuf>,
    /// Quote on the hub's board every round: `ASSET=UNITS@BPS` offers UNITS of the asset at a
    /// premium of BPS basis points (`ASSET=0@0`: a null quote every round, offering nothing
    /// and looking like any other). Repeatable, one per asset. Needs the account and
    /// --quote-key.
    #[arg(long = "quote", value_name = "ASSET=UNITS@BPS")]
    quotes: Vec<QuoteTarget>,
    /// The quote key file (an X25519 key the board's owner registered for the account).
    #[arg(long, value_name = "FILE")]
    quote_key: Option<std::path::PathBuf>,
    /// How long each quote counts, in seconds of hub time (default: three rounds, so one
    /// missed round does not leave the offer out).
    #[arg(long, value_name = "SECS")]
    quote_expires_in: Option<u64>,
    /// Print to standard output, each epoch, what changed in the account's claims: standby
    /// drawn (a fill) or given back, premiums and fees earned, what was paid. These are the
    /// maker's own private figures: never logged, shown only when asked.
    #[arg(long)]
    show_fills: bool,
}

/// `ASSET=UNITS@BPS`: what the agent quotes every round. `Debug` leaves size and premium out.
#[derive(Clone, PartialEq, Eq)]
pub struct QuoteTarget {
    asset: String,
    units: U256,
    premium_bps: u32,
}

impl std::fmt::Debug for QuoteTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QuoteTarget").field("asset", &self.asset).finish_non_exhaustive()
    }
}

impl std::str::FromStr for QuoteTarget {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || {
            "expected ASSET=UNITS@BPS, UNITS in the collateral's smallest unit, e.g. USDC=1000000000@30"
                .to_owned()
        };
        let (asset, terms) = s.split_once('=').ok_or_else(bad)?;
        let (units, bps) = terms.split_once('@').ok_or_else(bad)?;
        let asset = asset.trim();
        if asset.is_empty() {
            return Err(bad());
        }
        Ok(Self {
            asset: asset.to_owned(),
            units: U256::from_str_radix(units.trim(), 10).map_err(|_| bad())?,
            premium_bps: bps.trim().parse().map_err(|_| bad())?,
        })
    }
}

/// `CHAIN=UNITS`: the standby to keep available in a chain's vault.
#[derive(Debug, Clone)]
pub struct StandbyTarget {
    chain: String,
    units: U256,
}

impl std::str::FromStr for StandbyTarget {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || {
            "expected CHAIN=UNITS, the collateral's smallest unit, e.g. devnet-2=1000000".to_owned()
        };
        let (chain, units) = s.split_once('=').ok_or_else(bad)?;
        Ok(Self {
            chain: chain.trim().to_owned(),
            units: U256::from_str_radix(units.trim(), 10).map_err(|_| bad())?,
        })
    }
}

/// What the agent is doing about one chain's standby.
enum Standby {
    /// Nothing in flight.
    Idle,
    /// Deposited; waiting for a statement whose balance (with what is drawn) reaches `until`.
    Depositing { until: U256 },
    /// Withdrawing; then waiting for a statement whose balance (with what is drawn) is at most
    /// `until`.
    Withdrawing {
        /// The withdrawal, until it ended.
        task: Option<tokio::task::JoinHandle<anyhow::Result<crate::maker::Outcome>>>,
        until: U256,
    },
}

async fn run_daemon(args: MakerRunArgs) -> anyhow::Result<()> {
    let (registry, key) = args.reader.load()?;
    let owner = args.reader.owner;
    let acts = !args.standby.is_empty() || !args.quotes.is_empty();
    let given = if acts {
        crate::accounts::account(args.account_key, args.account_keystore.as_deref())?
    } else {
        None
    };
    let account = match (given, acts) {
        (_, false) => None,
        (Some(account), true) => {
            if account.address() != owner {
                anyhow::bail!("--account-key is {}'s, not the owner {owner}'s", account.address());
            }
            Some(account)
        }
        (None, true) => anyhow::bail!(
            "--standby and --quote need the owner's account (--account-keystore, --account-key or SOLVENCY_MAKER_KEY)"
        ),
    };
    let quote_key = match (&args.quote_key, args.quotes.is_empty()) {
        (_, true) => None,
        (Some(file), false) => Some(solvency_enclave::X25519KeyPair::load(file, "quote")?),
        (None, false) => anyhow::bail!("--quote needs --quote-key FILE (the key the board holds)"),
    };
    let mut quoted_round = None;
    let network = registry.network()?;
    let mut targets = Vec::new();
    for target in &args.standby {
        let chain = network.chain(&registry, &target.chain)?;
        if chain.vault.is_none() {
            anyhow::bail!("{} has no reserve vault", chain.name);
        }
        targets.push((chain.name.clone(), chain.selector, target.units, Standby::Idle));
    }
    let poll = registry.aggregator.poll_interval.max(Duration::from_millis(200));
    tracing::info!(target: "maker", %owner, standby_targets = targets.len(), "verifying statements every epoch; Ctrl-C or SIGTERM stops it");
    let stop = crate::shutdown::signal();
    tokio::pin!(stop);
    let mut last = 0;
    let mut previous = None;
    let vaults = VaultUnits::of(network);
    loop {
        match crate::maker::statement(&registry, owner, &key, &args.reader.api.aggregator).await {
            Ok((statement, chain)) if statement.epoch > last => {
                last = statement.epoch;
                tracing::info!(target: "maker", epoch = statement.epoch, proven_on = %chain, "statement verified");
                if args.show_fills {
                    // Shown to the maker; a closed output does not stop the agent.
                    let mut out = std::io::stdout().lock();
                    for line in fills(&vaults, previous.as_ref(), &statement) {
                        let _ = writeln!(out, "{line}");
                    }
                    previous = Some(statement.clone());
                }
                if let Some(account) = &account {
                    for (name, selector, target, state) in &mut targets {
                        let Some(entry) =
                            statement.entries.iter().find(|e| e.chainSelector == *selector)
                        else {
                            continue;
                        };
                        keep_standby(
                            &registry,
                            &args.reader.api.aggregator,
                            account,
                            name,
                            *target,
                            entry,
                            state,
                            statement.epoch,
                        )
                        .await;
                    }
                }
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(target: "maker", error = %format!("{e:#}"), "no verified statement")
            }
        }
        if let (Some(account), Some(key)) = (&account, &quote_key) {
            match quote_round(
                &registry,
                account,
                key,
                &args.quotes,
                args.quote_expires_in,
                quoted_round,
            )
            .await
            {
                Ok(Some(round)) => {
                    quoted_round = Some(round);
                    // Which round, never what was offered.
                    tracing::info!(target: "maker", round, quotes = args.quotes.len(), "quoted");
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(target: "maker", error = %format!("{e:#}"), "quoting failed; trying again")
                }
            }
        }
        tokio::select! {
            _ = &mut stop => break,
            _ = tokio::time::sleep(poll) => {}
        }
    }
    for (_, _, _, state) in targets {
        if let Standby::Withdrawing { task: Some(task), .. } = state {
            task.abort();
        }
    }
    tracing::info!(target: "maker", "stopped");
    Ok(())
}

/// How a vault's amounts are shown: its chain's name, and its collateral's symbol and decimals
/// (as the registry lists them).
struct VaultUnits {
    selector: u64,
    chain: String,
    asset: Option<(String, u8)>,
}

impl VaultUnits {
    fn of(network: &solvency_registry::Network) -> Vec<Self> {
        network
            .chains
            .iter()
            .map(|c| Self {
                selector: c.selector,
                chain: c.name.clone(),
                asset: c
                    .vault_asset
                    .as_deref()
                    .and_then(|symbol| c.asset(symbol))
                    .map(|a| (a.symbol.clone(), a.decimals)),
            })
            .collect()
    }

    fn show(&self, units: U256) -> String {
        match &self.asset {
            Some((symbol, decimals)) => format!(
                "{} {symbol}",
                alloy::primitives::utils::format_units(units, *decimals)
                    .unwrap_or_else(|_| units.to_string())
            ),
            None => format!("{units} units"),
        }
    }
}

/// What changed in a maker's claims from one statement to the next, a line per vault with a
/// change: standby drawn as junior capital (a fill) or given back, premiums and standby fees
/// earned, what of them was paid (into its balance). The first statement seen is compared with
/// nothing: what it shows drawn or owed is shown as such.
fn fills(
    vaults: &[VaultUnits],
    before: Option<&solvency_enclave::statement::Statement>,
    now: &solvency_enclave::statement::Statement,
) -> Vec<String> {
    let mut lines = Vec::new();
    for entry in &now.entries {
        let Some(vault) = vaults.iter().find(|v| v.selector == entry.chainSelector) else {
            continue;
        };
        let (drawn, owed) = before
            .and_then(|b| b.entries.iter().find(|e| e.chainSelector == entry.chainSelector))
            .map_or((U256::ZERO, U256::ZERO), |e| (e.drawn, e.owed));
        let mut changes = Vec::new();
        if entry.drawn > drawn {
            changes.push(format!("filled {}", vault.show(entry.drawn - drawn)));
        } else if entry.drawn < drawn {
            changes.push(format!("given back {}", vault.show(drawn - entry.drawn)));
        }
        if entry.owed > owed {
            changes.push(format!("earned {}", vault.show(entry.owed - owed)));
        } else if entry.owed < owed {
            changes.push(format!("paid {}", vault.show(owed - entry.owed)));
        }
        if !changes.is_empty() {
            lines.push(format!(
                "epoch {} {}: {} (drawn now {}, owed now {})",
                now.epoch,
                vault.chain,
                changes.join(", "),
                vault.show(entry.drawn),
                vault.show(entry.owed)
            ));
        }
    }
    lines
}

/// Submits every configured quote once per board round: `Some(round)` when it quoted in a round
/// after `last` (the hub's time says which), `None` when this round is quoted already.
async fn quote_round(
    registry: &solvency_registry::Registry,
    account: &PrivateKeySigner,
    key: &solvency_enclave::X25519KeyPair,
    quotes: &[QuoteTarget],
    expires_in: Option<u64>,
    last: Option<u64>,
) -> anyhow::Result<Option<u64>> {
    let (round, hub_time, round_seconds) = crate::maker::board_round(registry).await?;
    if last.is_some_and(|last| last >= round) {
        return Ok(None);
    }
    for target in quotes {
        let offer = crate::maker::QuoteOffer {
            asset: target.asset.clone(),
            size: target.units,
            premium_bps: target.premium_bps,
            expires_at: hub_time + expires_in.unwrap_or(3 * round_seconds),
            seq: crate::maker::default_nonce(),
        };
        crate::maker::submit_quote(registry, account.clone(), key, &offer).await?;
    }
    Ok(Some(round))
}

/// One step of keeping a chain's available standby at `target`, from a verified statement's
/// entry. Logs what it does, never an amount.
#[allow(clippy::too_many_arguments)]
async fn keep_standby(
    registry: &solvency_registry::Registry,
    aggregator: &url::Url,
    account: &PrivateKeySigner,
    chain: &str,
    target: U256,
    entry: &solvency_enclave::statement::StatementEntry,
    state: &mut Standby,
    epoch: u64,
) {
    let held = entry.balance + entry.drawn;
    match state {
        Standby::Depositing { until } if held < *until => return,
        Standby::Withdrawing { task, until } => {
            if task.as_ref().is_some_and(|t| !t.is_finished()) {
                return;
            }
            if let Some(finished) = task.take() {
                let failure = match finished.await {
                    Ok(Ok(_)) => None,
                    Ok(Err(e)) => Some(format!("{e:#}")),
                    Err(e) => Some(e.to_string()),
                };
                if let Some(error) = failure {
                    tracing::warn!(target: "maker", %chain, %error, "withdrawing the excess standby failed");
                    *state = Standby::Idle;
                    return;
                }
            }
            // Paid: wait until a report vouches for the payment.
            if held > *until {
                return;
            }
        }
        _ => {}
    }
    *state = Standby::Idle;
    let available = entry.available;
    if available < target {
        // A deposit made before (by this agent before a restart, say) that no report has
        // vouched for yet is not made again.
        match crate::maker::deposits_in_flight(registry, chain, account.address(), epoch).await {
            Ok(Some(in_flight)) if in_flight.is_zero() => {}
            Ok(Some(in_flight)) => {
                tracing::info!(target: "maker", %chain, epoch, "a deposit is on its way: waiting for a report to vouch for it");
                *state = Standby::Depositing { until: held + in_flight };
                return;
            }
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(target: "maker", %chain, error = %format!("{e:#}"), "reading the vault's log failed; deciding at the next epoch");
                return;
            }
        }
        match crate::maker::deposit(registry, chain, target - available, account.clone()).await {
            Ok(tx) => {
                tracing::info!(target: "maker", %chain, epoch, %tx, "standby below target: deposited the difference");
                *state = Standby::Depositing { until: held + (target - available) };
            }
            Err(e) => {
                tracing::warn!(target: "maker", %chain, error = %format!("{e:#}"), "standby below target, and depositing failed")
            }
        }
    } else if available > target {
        let excess = available - target;
        let registry = registry.clone();
        let aggregator = aggregator.clone();
        let account = account.clone();
        let chain_name = chain.to_owned();
        tracing::info!(target: "maker", %chain, epoch, "standby above target: withdrawing the excess");
        let task = tokio::spawn(async move {
            crate::maker::Withdrawal {
                registry: &registry,
                chain: &chain_name,
                amount: excess,
                nonce: crate::maker::default_nonce(),
                account,
                aggregator,
                queue_only: false,
                timeout: Duration::from_secs(24 * 3600),
                poll: registry.aggregator.poll_interval.max(Duration::from_millis(200)),
            }
            .run()
            .await
        });
        *state = Standby::Withdrawing { task: Some(task), until: held - excess };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quote_target_reads_asset_units_and_premium() {
        let target: QuoteTarget = "USDC=1000000000@30".parse().unwrap();
        assert_eq!(target.asset, "USDC");
        assert_eq!((target.units, target.premium_bps), (U256::from(1_000_000_000u64), 30));
        let null: QuoteTarget = "USDC=0@0".parse().unwrap();
        assert!(null.units.is_zero());
        for bad in ["USDC=1000", "USDC@30", "=1@2", "USDC=x@1", "USDC=1@-3"] {
            assert!(bad.parse::<QuoteTarget>().is_err(), "{bad}");
        }
    }

    #[test]
    fn fills_show_what_was_drawn_earned_given_back_and_paid() {
        use solvency_enclave::statement::{Statement, StatementEntry};
        let vaults =
            [VaultUnits { selector: 7, chain: "devnet-2".into(), asset: Some(("USDC".into(), 6)) }];
        let statement = |epoch: u64, drawn: u64, owed: u64| Statement {
            epoch,
            owner: Default::default(),
            ledgerRoot: Default::default(),
            entries: vec![StatementEntry {
                chainSelector: 7,
                drawn: U256::from(drawn),
                owed: U256::from(owed),
                ..Default::default()
            }],
        };
        let (drawn, same) = (statement(7, 2_500_000, 10_000), statement(8, 2_500_000, 10_000));
        assert_eq!(
            fills(&vaults, None, &drawn),
            [
                "epoch 7 devnet-2: filled 2.500000 USDC, earned 0.010000 USDC (drawn now 2.500000 USDC, owed now 0.010000 USDC)"
            ]
        );
        assert!(fills(&vaults, Some(&drawn), &same).is_empty(), "nothing changed");
        assert_eq!(
            fills(&vaults, Some(&same), &statement(9, 0, 0)),
            [
                "epoch 9 devnet-2: given back 2.500000 USDC, paid 0.010000 USDC (drawn now 0.000000 USDC, owed now 0.000000 USDC)"
            ]
        );
    }
}
