//! `solvency enclave rotate`: every served instance to the next HPKE key.

use anyhow::bail;
use clap::Args;
use solvency_enclave_host::EnclaveClient;
use solvency_registry::EnclaveMode;

use crate::cli::args::ConfigArgs;

/// `solvency enclave rotate`
#[derive(Debug, Args)]
pub struct RotateArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// How long reports sealed to the old key stay acceptable, in seconds.
    #[arg(long, default_value_t = 3600)]
    grace: u64,
    /// Publish the new key: set `[enclave] hpke_public_key` in the registry, in place (comments,
    /// layout and `${VAR}` templates are kept; reporters read the key from there).
    #[arg(long)]
    write_config: bool,
    #[command(flatten)]
    json: crate::cli::args::JsonArgs,
}

pub(super) async fn run(args: RotateArgs) -> anyhow::Result<()> {
    let registry = args.config.load()?;
    let network = registry.network()?;
    let Some(EnclaveMode::Quorum { instances, .. }) = &network.enclave.mode else {
        bail!(
            "[enclave] lists no served instances: rotation is for instances run with `solvency enclave serve`"
        );
    };
    let grace_until = crate::unix_now() + args.grace;
    let mut keys = Vec::new();
    for socket in instances {
        keys.push(EnclaveClient::remote(socket).rotate(grace_until).await?);
    }
    if keys.windows(2).any(|w| w[0] != w[1]) {
        bail!("the instances rotated to different keys ({keys:?}): they do not share one key file");
    }
    let new = keys[0];
    if args.json.json {
        let out =
            serde_json::json!({ "hpke_public_key": new, "previous_accepted_until": grace_until });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!("new HPKE public key: {new} (the previous one is accepted until {grace_until})");
    }
    if args.write_config {
        solvency_registry::edit::set_hpke_public_key(registry.path(), &new)?;
        eprintln!("{} now publishes the new key", registry.path().display());
    }
    Ok(())
}
