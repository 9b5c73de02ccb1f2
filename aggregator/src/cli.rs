//! The `solvency` command line.

use std::path::PathBuf;

use alloy::primitives::{Address, B256};
use clap::{Args, Parser, Subcommand};

use crate::config;

/// Self-Healing Reserve: confidential, cross-chain proof of solvency.
#[derive(Debug, Parser)]
#[command(name = "solvency", version, about)]
pub struct Cli {
    /// The chain registry.
    #[arg(long, global = true, env = "SOLVENCY_CONFIG", default_value = "networks.toml")]
    pub config: PathBuf,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// A local multi-chain CCIP devnet.
    #[command(subcommand)]
    Devnet(DevnetCommand),
    /// The main job for a newcomer: on a fresh devnet, reports sealed on every chain, the
    /// enclave's one boolean on every chain — healthy, insolvent, restored.
    ///
    /// Example: `solvency demo`
    Demo(DemoArgs),
    /// Run the aggregator against a registry until Ctrl-C or SIGTERM.
    ///
    /// Example: `solvency run --config .devnet/networks.toml`
    Run,
    /// Per chain: isSolvent(), epoch, age and staleness, read from every chain of the registry.
    Status {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Reporters: seal a chain's figures and send them, or seal offline.
    #[command(subcommand)]
    Report(ReportCommand),
    /// Enclave tools.
    #[command(subcommand)]
    Enclave(EnclaveCommand),
    /// Key management.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Attestation tools.
    #[command(subcommand)]
    Attestation(AttestationCommand),
}

/// One asset's figures: `SYMBOL=RESERVES:LIABILITIES`, in the asset's smallest unit.
#[derive(Debug, Clone)]
pub struct PositionArg {
    /// The asset symbol.
    pub symbol: String,
    /// Reserves, smallest unit.
    pub reserves: alloy::primitives::U256,
    /// Liabilities, smallest unit.
    pub liabilities: alloy::primitives::U256,
}

impl std::str::FromStr for PositionArg {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || {
            "expected SYMBOL=RESERVES:LIABILITIES in the asset's smallest unit, e.g. USDC=2500000000:1000000".to_owned()
        };
        let (symbol, amounts) = s.split_once('=').ok_or_else(bad)?;
        let (reserves, liabilities) = amounts.split_once(':').ok_or_else(bad)?;
        let parse =
            |v: &str| alloy::primitives::U256::from_str_radix(v.trim(), 10).map_err(|_| bad());
        Ok(Self {
            symbol: symbol.trim().to_owned(),
            reserves: parse(reserves)?,
            liabilities: parse(liabilities)?,
        })
    }
}

/// `solvency report …`
#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Seal a chain's figures to the enclave and submit them on that chain.
    ///
    /// Example: `solvency report submit --config .devnet/networks.toml --chain devnet-2
    /// --key .devnet/keys/reporter-devnet-2.key --position USDC=2500000000:1000000`
    Submit {
        /// The chain (its name in the registry).
        #[arg(long)]
        chain: String,
        /// The reporter's X25519 key file.
        #[arg(long)]
        key: PathBuf,
        /// Secret key of the chain's reporter account (pays gas and the CCIP fee).
        #[arg(long, env = "SOLVENCY_REPORTER_ACCOUNT_KEY", hide_env_values = true)]
        account_key: B256,
        /// Strictly increasing per chain (default: Unix time in milliseconds).
        #[arg(long)]
        seq: Option<u64>,
        /// When the figures were observed, Unix seconds (default: now).
        #[arg(long)]
        observed_at: Option<u64>,
        /// `SYMBOL=RESERVES:LIABILITIES`, smallest units (repeatable).
        #[arg(long = "position", required = true)]
        positions: Vec<PositionArg>,
    },
    /// Seal offline and print `enc`, the ciphertext and the payload as hex.
    Seal {
        /// The enclave's HPKE public key.
        #[arg(long)]
        enclave_public_key: solvency_enclave::X25519Public,
        /// The reporter's X25519 key file.
        #[arg(long)]
        key: PathBuf,
        /// The deployment id (0x bytes32, or a name hashed with keccak256).
        #[arg(long)]
        deployment_id: String,
        /// The reporting chain's selector.
        #[arg(long)]
        chain_selector: u64,
        /// The report's seq.
        #[arg(long)]
        seq: u64,
        /// Unix seconds (default: now).
        #[arg(long)]
        observed_at: Option<u64>,
        /// `SYMBOL=RESERVES:LIABILITIES`, smallest units (repeatable).
        #[arg(long = "position", required = true)]
        positions: Vec<PositionArg>,
    },
}

/// `solvency enclave …`
#[derive(Debug, Subcommand)]
pub enum EnclaveCommand {
    /// Host one enclave instance behind a Unix socket, for a k-of-n quorum (list the socket in
    /// `[enclave] instances`).
    ///
    /// Example: `solvency enclave serve --config .devnet/networks.toml --key keys/enclave-0.key
    /// --socket /run/solvency/enclave-0.sock`
    Serve {
        /// The instance's key file (not needed to resume from sealed state).
        #[arg(long)]
        key: Option<PathBuf>,
        /// Where to listen (created 0600).
        #[arg(long)]
        socket: PathBuf,
        /// Where the instance keeps its state (default: beside the socket).
        #[arg(long)]
        state: Option<PathBuf>,
        /// Seal keys, ledger and epochs under this key and the binary's measurement, and resume
        /// from them on restart (dev: a local key file; `solvency keys sealing`).
        #[arg(long)]
        sealing_key: Option<PathBuf>,
    },
    /// Print evidence binding an enclave's keys and a nonce (JSON). Outside AWS Nitro this is
    /// insecure dev evidence, and it says so.
    ///
    /// Example: `solvency enclave attest --key keys/enclave.key --nonce 0x1234`
    Attest {
        /// The enclave key file (or use --instance).
        #[arg(long, conflicts_with = "instance")]
        key: Option<PathBuf>,
        /// A served instance's socket.
        #[arg(long)]
        instance: Option<PathBuf>,
        /// The verifier's nonce, hex.
        #[arg(long)]
        nonce: alloy::primitives::Bytes,
    },
    /// Verify evidence and print the verified facts as JSON, or a clear error (exit code 1).
    ///
    /// Example: `solvency enclave verify --evidence doc.bin --at 2024-02-26T07:30:00Z
    /// --expect-pcr 0=17bf8f04…`
    Verify {
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
        nonce: Option<alloy::primitives::Bytes>,
        /// Oldest acceptable evidence, in seconds.
        #[arg(long, default_value_t = 300)]
        max_age: u64,
        /// Accept insecure dev evidence.
        #[arg(long)]
        allow_dev: bool,
    },
    /// Verify an enclave's evidence (fresh nonce) against `[enclave.evidence]` and register its
    /// signer on the hub and every spoke, with the evidence digest and an expiry.
    ///
    /// Example: `solvency enclave register --config .devnet/networks.toml --instance
    /// /run/solvency/enclave-0.sock --devnet .devnet --every 3600`
    Register {
        /// The enclave key file (or use --instance).
        #[arg(long, conflicts_with = "instance")]
        key: Option<PathBuf>,
        /// A served instance's socket.
        #[arg(long)]
        instance: Option<PathBuf>,
        /// Secret key of the contracts' owner on every chain.
        #[arg(long, env = "SOLVENCY_OWNER_KEY", hide_env_values = true, conflicts_with = "devnet")]
        owner_key: Option<B256>,
        /// A devnet state directory: each chain's owner is its deployer (deployment.json).
        #[arg(long)]
        devnet: Option<PathBuf>,
        /// Renew with fresh evidence every this many seconds, until Ctrl-C.
        #[arg(long)]
        every: Option<u64>,
    },
    /// Rotate the HPKE key of every served instance (`[enclave] instances`): they derive the
    /// same new key; reports sealed to the old one are accepted for `--grace` seconds.
    ///
    /// Example: `solvency enclave rotate --config .devnet/networks.toml --grace 3600
    /// --write-config`
    Rotate {
        /// How long reports sealed to the old key stay acceptable, in seconds.
        #[arg(long, default_value_t = 3600)]
        grace: u64,
        /// Publish the new key: rewrite the registry's `[enclave] hpke_public_key` (reporters
        /// read it from there).
        #[arg(long)]
        write_config: bool,
    },
    /// DEV ONLY: open a sealed report with an enclave key file and print its figures.
    Open {
        /// The enclave key file.
        #[arg(long)]
        key: PathBuf,
        /// The reporter's X25519 public key the report must be sealed with.
        #[arg(long)]
        reporter_public_key: solvency_enclave::X25519Public,
        /// The deployment id (0x bytes32, or a name hashed with keccak256).
        #[arg(long)]
        deployment_id: String,
        /// The sealed payload, hex.
        #[arg(long)]
        payload: alloy::primitives::Bytes,
    },
}

/// `solvency keys …`
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Make a dev sealing key file (0600) for `enclave serve --sealing-key`.
    Sealing {
        /// The file to create.
        #[arg(long)]
        out: PathBuf,
    },
    /// Generate the enclave key and, per chain, reporter and treasury keys (files 0600).
    ///
    /// Example: `solvency keys generate --out keys --chain base --chain arbitrum`
    Generate {
        /// The directory to write to (existing key files are kept, never overwritten).
        #[arg(long)]
        out: PathBuf,
        /// Chain names to make reporter and treasury keys for (repeatable).
        #[arg(long = "chain")]
        chains: Vec<String>,
        /// Also make keys for this many quorum instances (`enclave-<i>.key`: the same HPKE key,
        /// a signing key each).
        #[arg(long, default_value_t = 0)]
        instances: usize,
    },
}

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
    PolicyDigest,
}

/// `solvency devnet …`
#[derive(Debug, Subcommand)]
pub enum DevnetCommand {
    /// Start anvil chains with CCIP routers and the solvency contracts, write
    /// DIR/deployment.json, and relay CCIP messages until Ctrl-C or SIGTERM.
    ///
    /// Example: `solvency devnet up --chains 3 --state-dir .devnet`
    Up(UpArgs),
    /// Per chain: head block, oracle state and relayer progress of a running devnet.
    Status(StateDirArgs),
    /// Every CCIP message the relayer has seen, with its state.
    Messages(StateDirArgs),
    /// Deliver a FAILED message again (after fixing its receiver).
    ///
    /// Example: `solvency devnet retry 0x3f…`
    Retry {
        /// The message id, from `solvency devnet messages`.
        message_id: B256,
        /// Where the devnet keeps its files.
        #[command(flatten)]
        state: StateDirArgs,
    },
}

/// Where a devnet keeps its files.
#[derive(Debug, Args)]
pub struct StateDirArgs {
    /// The devnet's state directory.
    #[arg(long, env = "SOLVENCY_DEVNET_DIR", default_value = ".devnet")]
    pub state_dir: PathBuf,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `solvency devnet up`
#[derive(Debug, Args)]
pub struct UpArgs {
    /// Number of chains (default from `[devnet] chains` in networks.toml).
    #[arg(long)]
    pub chains: Option<usize>,
    /// Where deployment.json and the relayer journal go.
    #[arg(long, env = "SOLVENCY_DEVNET_DIR", default_value = ".devnet")]
    pub state_dir: PathBuf,
    /// An enclave signer address to register on every chain (repeatable).
    #[arg(long = "signer")]
    pub signers: Vec<Address>,
    /// How many of the signers an attestation needs.
    #[arg(long, default_value_t = 1)]
    pub threshold: u8,
}

/// `solvency demo`
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Number of chains (default from `[devnet] chains` in networks.toml).
    #[arg(long)]
    pub chains: Option<usize>,
    /// Keep keys, the devnet files and the aggregator state here (default: a temporary
    /// directory, removed at the end).
    #[arg(long)]
    pub state_dir: Option<PathBuf>,
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Devnet(command) => {
            let needs_config = matches!(command, DevnetCommand::Up(_));
            let networks = if needs_config { Some(load_config(&cli.config)?) } else { None };
            crate::devnet_cmd::run(command, networks).await
        }
        Command::Demo(args) => crate::demo::run(load_config(&cli.config)?, args).await,
        Command::Run => crate::commands::run_aggregator(load_config(&cli.config)?).await,
        Command::Status { json } => crate::commands::status(&load_config(&cli.config)?, json).await,
        Command::Report(ReportCommand::Submit {
            chain,
            key,
            account_key,
            seq,
            observed_at,
            positions,
        }) => {
            let networks = load_config(&cli.config)?;
            crate::commands::report_submit(
                &networks,
                &chain,
                &key,
                account_key,
                seq,
                observed_at,
                &positions,
            )
            .await
        }
        Command::Report(ReportCommand::Seal {
            enclave_public_key,
            key,
            deployment_id,
            chain_selector,
            seq,
            observed_at,
            positions,
        }) => crate::commands::report_seal(
            &enclave_public_key,
            &key,
            &deployment_id,
            chain_selector,
            seq,
            observed_at,
            &positions,
        ),
        Command::Enclave(EnclaveCommand::Open {
            key,
            reporter_public_key,
            deployment_id,
            payload,
        }) => crate::commands::enclave_open(&key, &reporter_public_key, &deployment_id, &payload),
        Command::Keys(KeysCommand::Sealing { out }) => {
            solvency_enclave::SealingKey::generate().save(&out)?;
            eprintln!(
                "sealing key written to {} (dev only: a TEE derives it from its platform)",
                out.display()
            );
            Ok(())
        }
        Command::Keys(KeysCommand::Generate { out, chains, instances }) => {
            crate::commands::keys_generate(&out, &chains, instances)
        }
        Command::Enclave(EnclaveCommand::Attest { key, instance, nonce }) => {
            crate::commands::enclave_attest(key, instance, &nonce).await
        }
        Command::Enclave(EnclaveCommand::Verify {
            evidence,
            at,
            pcrs,
            nonce,
            max_age,
            allow_dev,
        }) => crate::commands::enclave_verify(
            &evidence,
            at.as_deref(),
            &pcrs,
            nonce,
            max_age,
            allow_dev,
        ),
        Command::Enclave(EnclaveCommand::Register { key, instance, owner_key, devnet, every }) => {
            let networks = load_config(&cli.config)?;
            crate::commands::enclave_register(&networks, key, instance, owner_key, devnet, every)
                .await
        }
        Command::Enclave(EnclaveCommand::Rotate { grace, write_config }) => {
            crate::commands::enclave_rotate(load_config(&cli.config)?, grace, write_config).await
        }
        Command::Enclave(EnclaveCommand::Serve { key, socket, state, sealing_key }) => {
            crate::commands::enclave_serve(
                load_config(&cli.config)?,
                key.as_deref(),
                &socket,
                state,
                sealing_key.as_deref(),
            )
            .await
        }
        Command::Attestation(AttestationCommand::Digest { file }) => {
            crate::commands::attestation_digest(&file)
        }
        Command::Attestation(AttestationCommand::PolicyDigest) => {
            let networks = load_config(&cli.config)?;
            anyhow::ensure!(
                !networks.chains.is_empty(),
                "{} registers no [[chains]]",
                networks.path()
            );
            println!("{}", networks.enclave_policy().digest());
            Ok(())
        }
    }
}

fn load_config(path: &std::path::Path) -> anyhow::Result<config::NetworksFile> {
    let file = config::load(path)?;
    file.validate()?;
    Ok(file)
}
