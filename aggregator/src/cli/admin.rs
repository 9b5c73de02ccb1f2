//! `solvency admin …`: every owner operation on the deployment's contracts, sent from the
//! owner's account or written as Safe Transaction Builder batches (`--dry-run DIR`), because
//! production owners are multisigs. Changes under an oracle's timelock are scheduled first and
//! made by running the same command again once they are ready.

use std::path::{Path, PathBuf};

use alloy::{
    primitives::{Address, B256, U256},
    signers::local::PrivateKeySigner,
};
use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use solvency_ccip::bindings::{
    hub::SolvencyHub, oracle::SolvencyOracleBase, quote_board::QuoteBoard,
};
use solvency_chain_adapters::{
    Backoff, ChainClient,
    admin::{self, Note, OwnerCall, Step},
};
use solvency_registry::{ChainConfig, Registry};

use crate::cli::args::ConfigArgs;

/// `solvency admin …`
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Bring the contracts to what the registry says: the hub's spokes, every oracle's policy
    /// digest, threshold (once enough signers are registered), the validity the policy's
    /// attestations need, and `reporter_account` where a chain names one.
    ///
    /// Example: `solvency admin sync --config networks.toml --owner-keystore owner.json`
    Sync(Owner),
    /// Set k, the signatures an attestation needs (timelocked).
    SetThreshold {
        /// k.
        threshold: u8,
        /// Chains, owner or dry run.
        #[command(flatten)]
        owner: Owner,
    },
    /// Set the policy digest attestations must carry (timelocked); default: the registry's.
    SetPolicyDigest {
        /// The digest (default: `solvency attestation policy-digest` of the registry).
        digest: Option<B256>,
        /// Chains, owner or dry run.
        #[command(flatten)]
        owner: Owner,
    },
    /// Stop counting an enclave signer (timelocked).
    RemoveSigner {
        /// The signer's address.
        signer: Address,
        /// Chains, owner or dry run.
        #[command(flatten)]
        owner: Owner,
    },
    /// Let an account submit a chain's reports.
    SetReporter {
        /// The account.
        account: Address,
        /// Chains, owner or dry run.
        #[command(flatten)]
        owner: Owner,
    },
    /// Set the longest validity an attestation may claim, in seconds.
    SetMaxValidity {
        /// Seconds.
        seconds: u64,
        /// Chains, owner or dry run.
        #[command(flatten)]
        owner: Owner,
    },
    /// Emergency brake: consumers read not solvent until the next valid attestation.
    InvalidateLatest(Owner),
    /// Send native currency to the hub for CCIP fees (anyone may).
    FundHub {
        /// Wei.
        wei: U256,
        /// Chains, owner or dry run.
        #[command(flatten)]
        owner: Owner,
    },
    /// Take native currency back from an oracle.
    WithdrawFees {
        /// Where it goes.
        to: Address,
        /// Wei.
        wei: U256,
        /// Chains, owner or dry run.
        #[command(flatten)]
        owner: Owner,
    },
    /// Set a chain's ReserveVault, once (timelocked).
    SetVault {
        /// The vault.
        vault: Address,
        /// Chains, owner or dry run.
        #[command(flatten)]
        owner: Owner,
    },
    /// Set the timelock of trust changes, in seconds (a shorter one is itself timelocked).
    SetConfigTimelock {
        /// Seconds.
        seconds: u64,
        /// Chains, owner or dry run.
        #[command(flatten)]
        owner: Owner,
    },
    /// Cancel a scheduled change.
    CancelChange {
        /// Its id (`keccak256` of its calldata, as `ChangeScheduled` says).
        change_id: B256,
        /// Chains, owner or dry run.
        #[command(flatten)]
        owner: Owner,
    },
    /// Set the hub's quote board (the dark pool's sealed quotes), once (timelocked). The hub
    /// then refuses an attestation that does not commit to the board's closed round and head.
    SetQuoteBoard {
        /// The `QuoteBoard` on the hub chain.
        board: Address,
        /// Chains, owner or dry run.
        #[command(flatten)]
        owner: Owner,
    },
    /// Register (or replace) a market maker's quote key on the hub's quote board; a zero key
    /// removes the maker. Its quotes are sealed from that key.
    SetMaker {
        /// The maker's account (it submits the quotes).
        maker: Address,
        /// The maker's X25519 quote key (`solvency maker quote` prints it).
        quote_key: B256,
        /// Chains, owner or dry run.
        #[command(flatten)]
        owner: Owner,
    },
    /// Start handing the contracts to another owner (a Safe), which must then accept.
    TransferOwnership {
        /// The new owner.
        new_owner: Address,
        /// Chains, owner or dry run.
        #[command(flatten)]
        owner: Owner,
    },
    /// Accept ownership offered to this owner (from a Safe: with --dry-run).
    AcceptOwnership(Owner),
}

/// Which chains, whose account, or a dry run.
#[derive(Debug, Args)]
pub struct Owner {
    #[command(flatten)]
    config: ConfigArgs,
    /// Only these chains (repeatable; default: every chain of the registry).
    #[arg(long = "chain", value_name = "NAME")]
    chains: Vec<String>,
    #[command(flatten)]
    account: OwnerAccount,
    /// Send nothing: write one Safe Transaction Builder batch per chain (`DIR/<chain>.json`)
    /// for the owner multisig to import.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["owner_key", "owner_keystore", "devnet"])]
    dry_run: Option<PathBuf>,
}

/// The contracts' owner account.
#[derive(Debug, Args)]
pub struct OwnerAccount {
    /// Secret key of the contracts' owner.
    #[arg(long, env = "SOLVENCY_OWNER_KEY", hide_env_values = true, value_parser = crate::cli::args::secret_key)]
    owner_key: Option<B256>,
    /// The owner from an encrypted keystore (password from SOLVENCY_KEYSTORE_PASSWORD or
    /// SOLVENCY_KEYSTORE_PASSWORD_FILE).
    #[arg(long, value_name = "FILE", conflicts_with = "owner_key")]
    owner_keystore: Option<PathBuf>,
    /// A devnet state directory: each chain's owner is its deployer (deployment.json).
    #[arg(long, value_name = "DIR", conflicts_with_all = ["owner_key", "owner_keystore"])]
    devnet: Option<PathBuf>,
}

impl OwnerAccount {
    /// The owner on `chain`.
    pub fn signer_for(&self, chain: &str) -> anyhow::Result<PrivateKeySigner> {
        if let Some(dir) = &self.devnet {
            let deployment = solvency_devnet::Deployment::read(dir)?;
            return Ok(deployment
                .chain_by_name(chain)
                .with_context(|| {
                    format!("{chain} is not a chain of the devnet in {}", dir.display())
                })?
                .deployer
                .signer());
        }
        crate::accounts::account(self.owner_key, self.owner_keystore.as_deref())?.ok_or_else(|| {
            anyhow::anyhow!(
                "give the owner: --owner-keystore FILE, --owner-key (or SOLVENCY_OWNER_KEY), --devnet DIR, or --dry-run DIR for a Safe"
            )
        })
    }
}

impl AdminCommand {
    pub(super) async fn run(self) -> anyhow::Result<()> {
        let owner = self.owner();
        let registry = owner.config.load()?;
        let network = registry.network()?;
        let chains = selected(&registry, &owner.chains)?;
        let oracle_call = |kind: OwnerCallKind, what: String| -> (Vec<OwnerCall>, Vec<Note>) {
            (chains.iter().map(|c| kind.on(c, &what)).collect(), Vec::new())
        };
        let (calls, notes) = match &self {
            Self::Sync(_) => {
                let names: Vec<String> = chains.iter().map(|c| c.name.clone()).collect();
                admin::sync_plan(network, registry.policy.attestation_validity.as_secs(), &names)
                    .await?
            }
            Self::SetThreshold { threshold, .. } => oracle_call(
                OwnerCallKind::Threshold(*threshold),
                format!("set the threshold to {threshold}"),
            ),
            Self::SetPolicyDigest { digest, .. } => {
                let digest = digest.unwrap_or_else(|| network.policy.digest());
                oracle_call(
                    OwnerCallKind::PolicyDigest(digest),
                    format!("set the policy digest to {digest}"),
                )
            }
            Self::RemoveSigner { signer, .. } => {
                oracle_call(OwnerCallKind::RemoveSigner(*signer), format!("remove signer {signer}"))
            }
            Self::SetReporter { account, .. } => {
                one_chain(&owner.chains, "set-reporter")?;
                oracle_call(
                    OwnerCallKind::Reporter(*account),
                    format!("let {account} submit reports"),
                )
            }
            Self::SetMaxValidity { seconds, .. } => oracle_call(
                OwnerCallKind::MaxValidity(*seconds),
                format!("allow attestations valid for {seconds} s"),
            ),
            Self::InvalidateLatest(_) => {
                oracle_call(OwnerCallKind::Invalidate, "invalidate the latest attestation".into())
            }
            Self::FundHub { wei, .. } => {
                let hub = network.hub();
                let call = OwnerCall::transfer(
                    &hub.name,
                    hub.oracle(),
                    *wei,
                    format!("fund the hub with {wei} wei"),
                );
                (vec![call], vec![])
            }
            Self::WithdrawFees { to, wei, .. } => oracle_call(
                OwnerCallKind::Withdraw(*to, *wei),
                format!("withdraw {wei} wei to {to}"),
            ),
            Self::SetVault { vault, .. } => {
                one_chain(&owner.chains, "set-vault")?;
                oracle_call(OwnerCallKind::Vault(*vault), format!("set the vault to {vault}"))
            }
            Self::SetConfigTimelock { seconds, .. } => oracle_call(
                OwnerCallKind::Timelock(*seconds),
                format!("set the config timelock to {seconds} s"),
            ),
            Self::CancelChange { change_id, .. } => {
                oracle_call(OwnerCallKind::Cancel(*change_id), format!("cancel change {change_id}"))
            }
            Self::SetQuoteBoard { board, .. } => {
                let hub = network.hub();
                let client = ChainClient::new(hub, Backoff::default());
                match solvency_chain_adapters::quotes::quote_board(&client, hub.oracle()).await? {
                    Some(held) if held == *board => (
                        Vec::new(),
                        vec![Note {
                            chain: hub.name.clone(),
                            message: format!("the hub's quote board is {board} already"),
                        }],
                    ),
                    Some(held) => bail!(
                        "the hub on {} holds the quote board {held}, set once and for all: {board} cannot replace it",
                        hub.name
                    ),
                    None => {
                        let owner = check_quote_board(&client, *board).await?;
                        let call = OwnerCall::new(
                            &hub.name,
                            hub.oracle(),
                            &SolvencyHub::setQuoteBoardCall { board: *board },
                            format!("set the hub's quote board to {board} (once and for all)"),
                        );
                        let note = Note {
                            chain: hub.name.clone(),
                            message: format!(
                                "{board} is a quote board; its owner, who registers makers, is {owner}"
                            ),
                        };
                        (vec![call], vec![note])
                    }
                }
            }
            Self::SetMaker { maker, quote_key, .. } => {
                let hub = network.hub();
                let (client, board) = crate::maker::hub_board(hub).await?;
                let call = OwnerCall::new(
                    &hub.name,
                    board,
                    &QuoteBoard::setMakerCall { maker: *maker, quoteKey: *quote_key },
                    if quote_key.is_zero() {
                        format!("remove maker {maker} from the quote board")
                    } else {
                        format!("register maker {maker}'s quote key {quote_key}")
                    },
                );
                // The board has an owner of its own: after the hub was handed to a Safe, the
                // board may still be the deployer's.
                let (board_owner, hub_owner) = (
                    admin::owner_of(&client, board).await?,
                    admin::owner_of(&client, hub.oracle()).await?,
                );
                let notes = (board_owner != hub_owner)
                    .then(|| Note {
                        chain: hub.name.clone(),
                        message: format!(
                            "the quote board {board} is owned by {board_owner}, not by the hub's owner {hub_owner}: only {board_owner} can register makers"
                        ),
                    })
                    .into_iter()
                    .collect();
                (vec![call], notes)
            }
            Self::TransferOwnership { new_owner, .. } => oracle_call(
                OwnerCallKind::Transfer(*new_owner),
                format!("offer ownership to {new_owner}"),
            ),
            Self::AcceptOwnership(_) => {
                oracle_call(OwnerCallKind::Accept, "accept ownership".into())
            }
        };
        execute(&registry, &owner.account, owner.dry_run.as_deref(), calls, notes).await
    }

    fn owner(&self) -> &Owner {
        match self {
            Self::Sync(owner) | Self::InvalidateLatest(owner) | Self::AcceptOwnership(owner) => {
                owner
            }
            Self::SetThreshold { owner, .. }
            | Self::SetPolicyDigest { owner, .. }
            | Self::RemoveSigner { owner, .. }
            | Self::SetReporter { owner, .. }
            | Self::SetMaxValidity { owner, .. }
            | Self::FundHub { owner, .. }
            | Self::WithdrawFees { owner, .. }
            | Self::SetVault { owner, .. }
            | Self::SetConfigTimelock { owner, .. }
            | Self::CancelChange { owner, .. }
            | Self::SetQuoteBoard { owner, .. }
            | Self::SetMaker { owner, .. }
            | Self::TransferOwnership { owner, .. } => owner,
        }
    }
}

/// One owner operation on an oracle (hub or spoke: `SolvencyOracleBase`).
#[derive(Clone, Copy)]
enum OwnerCallKind {
    Threshold(u8),
    PolicyDigest(B256),
    RemoveSigner(Address),
    Reporter(Address),
    MaxValidity(u64),
    Invalidate,
    Withdraw(Address, U256),
    Vault(Address),
    Timelock(u64),
    Cancel(B256),
    Transfer(Address),
    Accept,
}

impl OwnerCallKind {
    fn on(self, chain: &ChainConfig, what: &str) -> OwnerCall {
        use SolvencyOracleBase as O;
        let (name, at) = (chain.name.as_str(), chain.oracle());
        match self {
            Self::Threshold(threshold) => {
                OwnerCall::new(name, at, &O::setThresholdCall { threshold }, what)
            }
            Self::PolicyDigest(digest) => {
                OwnerCall::new(name, at, &O::setPolicyDigestCall { policyDigest: digest }, what)
            }
            Self::RemoveSigner(signer) => {
                OwnerCall::new(name, at, &O::removeSignerCall { signer }, what)
            }
            Self::Reporter(reporter) => {
                OwnerCall::new(name, at, &O::setReporterCall { reporter }, what)
            }
            Self::MaxValidity(seconds) => {
                OwnerCall::new(name, at, &O::setMaxValidityCall { maxValidity: seconds }, what)
            }
            Self::Invalidate => OwnerCall::new(name, at, &O::invalidateLatestCall {}, what),
            Self::Withdraw(to, amount) => {
                OwnerCall::new(name, at, &O::withdrawFeesCall { to, amount }, what)
            }
            Self::Vault(vault) => OwnerCall::new(name, at, &O::setVaultCall { vault }, what),
            Self::Timelock(timelock) => {
                OwnerCall::new(name, at, &O::setConfigTimelockCall { timelock }, what)
            }
            Self::Cancel(id) => {
                OwnerCall::new(name, at, &O::cancelChangeCall { changeId: id }, what)
            }
            Self::Transfer(to) => {
                OwnerCall::new(name, at, &SolvencyHub::transferOwnershipCall { to }, what)
            }
            Self::Accept => OwnerCall::new(name, at, &SolvencyHub::acceptOwnershipCall {}, what),
        }
    }
}

/// Checks that `board` is a `QuoteBoard` the hub can call at every publish — a contract that
/// answers `getRoundSeconds()` (not zero) and `getClosedQuotes()` — since the hub takes its
/// board once and for all; returns the board's owner.
async fn check_quote_board(client: &ChainClient, board: Address) -> anyhow::Result<Address> {
    use alloy::providers::Provider;
    let not_a_board = |why: String| {
        anyhow::anyhow!(
            "{board} is not a quote board on {} ({why}): the hub would refuse every publish, and its board cannot be changed",
            client.name()
        )
    };
    let code = client.provider().get_code_at(board).await.context("reading the board's code")?;
    if code.is_empty() {
        return Err(not_a_board("no contract there".into()));
    }
    let contract = QuoteBoard::new(board, client.provider());
    match contract.getRoundSeconds().call().await {
        Ok(seconds) if seconds > 0 => {}
        Ok(_) => return Err(not_a_board("its round is zero seconds".into())),
        Err(e) => return Err(not_a_board(format!("getRoundSeconds() failed: {e}"))),
    }
    contract
        .getClosedQuotes()
        .call()
        .await
        .map_err(|e| not_a_board(format!("getClosedQuotes() failed: {e}")))?;
    Ok(admin::owner_of(client, board).await?)
}

/// The registry's chains, or those named.
fn selected<'a>(registry: &'a Registry, names: &[String]) -> anyhow::Result<Vec<&'a ChainConfig>> {
    let network = registry.network()?;
    if names.is_empty() {
        return Ok(network.chains.iter().collect());
    }
    names.iter().map(|n| Ok(network.chain(registry, n)?)).collect()
}

fn one_chain(names: &[String], command: &str) -> anyhow::Result<()> {
    if names.len() != 1 {
        bail!("{command} is per chain: give exactly one --chain NAME");
    }
    Ok(())
}

/// Makes `calls` (scheduling what a timelock holds back) from the owner's account, or writes
/// them as Safe batches; prints what it did and what waits.
pub async fn execute(
    registry: &Registry,
    account: &OwnerAccount,
    dry_run: Option<&Path>,
    calls: Vec<OwnerCall>,
    notes: Vec<Note>,
) -> anyhow::Result<()> {
    let network = registry.network()?;
    for note in &notes {
        println!("{}: {}", note.chain, note.message);
    }
    if calls.is_empty() {
        println!("nothing to do: the contracts already say what was asked");
        return Ok(());
    }
    for chain in &network.chains {
        let mine: Vec<OwnerCall> =
            calls.iter().filter(|c| c.chain == chain.name).cloned().collect();
        if mine.is_empty() {
            continue;
        }
        let client = ChainClient::new(chain, Backoff::default());
        let mut now = Vec::with_capacity(mine.len());
        for call in mine {
            match admin::under_timelock(&client, call).await? {
                Step::Call(call) => now.push(call),
                Step::Waiting { call, ready_at } => println!(
                    "{}: {} — scheduled, ready at chain time {ready_at}: run this again then",
                    chain.name, call.what
                ),
            }
        }
        if now.is_empty() {
            continue;
        }
        match dry_run {
            Some(dir) => write_batch(dir, chain, &client, &now).await?,
            None => {
                let signer = account.signer_for(&chain.name)?;
                for call in &now {
                    let tx = admin::send(&client, &signer, call).await?;
                    println!("{}: {} (tx {tx})", chain.name, call.what);
                }
            }
        }
    }
    Ok(())
}

async fn write_batch(
    dir: &Path,
    chain: &ChainConfig,
    client: &ChainClient,
    calls: &[OwnerCall],
) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let owner = admin::owner_of(client, chain.oracle()).await.ok();
    let created = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let batch = admin::safe_batch(
        chain.chain_id,
        owner,
        &format!("Self-Healing Reserve: {}", chain.name),
        calls,
        created,
    );
    let path = dir.join(format!("{}.json", chain.name));
    solvency_durable::write_atomic(&path, serde_json::to_string_pretty(&batch)?.as_bytes(), 0o644)?;
    println!(
        "{}: {} call(s) for the owner {} in {}",
        chain.name,
        calls.len(),
        owner.map_or_else(|| "?".into(), |o| o.to_string()),
        path.display()
    );
    for call in calls {
        println!("  {}", call.what);
    }
    Ok(())
}
