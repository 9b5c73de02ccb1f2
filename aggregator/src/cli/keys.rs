//! `solvency keys generate|sealing`: dev key files.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::keyfiles;

/// `solvency keys …`
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Generate the enclave key, the ledger key and, per chain, reporter and treasury keys
    /// (files 0600).
    ///
    /// Example: `solvency keys generate --out keys --chain base --chain arbitrum`
    Generate(GenerateArgs),
    /// Make a dev sealing key file (0600) for `enclave serve --sealing-key`.
    Sealing {
        /// The file to create.
        #[arg(long)]
        out: PathBuf,
    },
    /// Write an EVM account (publisher, reporter, maker, owner) to an encrypted keystore, the
    /// format geth and foundry use; the password comes from SOLVENCY_KEYSTORE_PASSWORD or
    /// SOLVENCY_KEYSTORE_PASSWORD_FILE. Prints the address.
    ///
    /// Example: `SOLVENCY_KEYSTORE_PASSWORD=… solvency keys keystore --out publisher.json`
    Keystore {
        /// The file to create (never overwritten).
        #[arg(long)]
        out: PathBuf,
        /// Encrypt the secret key this environment variable holds instead of a new random one.
        #[arg(long, value_name = "VAR")]
        from_env: Option<String>,
    },
    /// Print the address of a keystore's account (checks its password).
    Address {
        /// The keystore.
        #[arg(long)]
        keystore: PathBuf,
    },
}

/// `solvency keys generate`
#[derive(Debug, Args)]
pub struct GenerateArgs {
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
    #[command(flatten)]
    json: crate::cli::args::JsonArgs,
}

impl KeysCommand {
    pub(super) fn run(self) -> anyhow::Result<()> {
        match self {
            Self::Sealing { out } => {
                solvency_enclave::SealingKey::generate().save(&out)?;
                eprintln!(
                    "sealing key written to {} (dev only: a TEE derives it from its platform)",
                    out.display()
                );
                Ok(())
            }
            Self::Generate(args) => generate(args),
            Self::Keystore { out, from_env } => {
                let key = match from_env {
                    Some(var) => {
                        let text = std::env::var(&var)
                            .map_err(|_| anyhow::anyhow!("${var} is not set"))?;
                        Some(
                            crate::cli::args::secret_key(&text)
                                .map_err(|e| anyhow::anyhow!("${var}: {e}"))?,
                        )
                    }
                    None => None,
                };
                let address = crate::accounts::create_keystore(&out, key)?;
                println!("{address}");
                eprintln!("keystore written to {}", out.display());
                Ok(())
            }
            Self::Address { keystore } => {
                println!("{}", crate::accounts::from_keystore(&keystore)?.address());
                Ok(())
            }
        }
    }
}

fn generate(args: GenerateArgs) -> anyhow::Result<()> {
    let out = &args.out;
    let keys = keyfiles::prepare_keys(out, &args.chains)?;
    let instances = keyfiles::prepare_instance_keys(out, &keys.enclave, args.instances)?;
    if args.json.json {
        let public = keys.enclave.public();
        let chains: serde_json::Map<String, serde_json::Value> = args
            .chains
            .iter()
            .enumerate()
            .map(|(i, chain)| {
                let reporter = serde_json::json!({
                    "key_file": keyfiles::reporter_key_file(out, chain),
                    "public_key": keys.reporters[i].public(),
                });
                let treasury = serde_json::json!({
                    "key_file": keyfiles::treasury_key_file(out, chain),
                    "public_key": keys.treasuries[i].public(),
                });
                (chain.clone(), serde_json::json!({ "reporter": reporter, "treasury": treasury }))
            })
            .collect();
        let instances: Vec<_> = instances
            .iter()
            .enumerate()
            .map(|(i, k)| {
                serde_json::json!({
                    "key_file": keyfiles::instance_key_file(out, i),
                    "signer": k.signer.address(),
                })
            })
            .collect();
        let report = serde_json::json!({
            "enclave": {
                "key_file": keyfiles::enclave_key_file(out),
                "hpke_public_key": public.hpke_public_key,
                "signer": public.signer,
            },
            "ledger": {
                "key_file": keyfiles::ledger_key_file(out),
                "public_key": keys.ledger.public(),
            },
            "instances": instances,
            "chains": chains,
        });
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    for (i, instance) in instances.iter().enumerate() {
        println!(
            "instance {i}        {} signer {}",
            keyfiles::instance_key_file(out, i).display(),
            instance.signer.address()
        );
    }
    let public = keys.enclave.public();
    println!("enclave key      {}", keyfiles::enclave_key_file(out).display());
    println!("  hpke_public_key {}", public.hpke_public_key);
    println!("  signer          {}", public.signer);
    println!("ledger key       {}", keyfiles::ledger_key_file(out).display());
    println!("  public_key      {} ([enclave.ledger] public_key)", keys.ledger.public());
    for (i, chain) in args.chains.iter().enumerate() {
        println!(
            "{chain}: reporter {} ({}), treasury {} ({})",
            keys.reporters[i].public(),
            keyfiles::reporter_key_file(out, chain).display(),
            keys.treasuries[i].public(),
            keyfiles::treasury_key_file(out, chain).display()
        );
    }
    Ok(())
}
