//! `solvency enclave serve`: one enclave instance behind a Unix socket.

use std::{path::PathBuf, sync::Arc};

use clap::Args;
use solvency_enclave::{EnclaveKeys, SealingKey};
use solvency_enclave_host::{Host, Store};
use tokio_util::sync::CancellationToken;

use crate::cli::args::ConfigArgs;

/// `solvency enclave serve`
#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// The instance's key file (not needed to resume from sealed state).
    #[arg(long)]
    key: Option<PathBuf>,
    /// Where to listen (created 0600).
    #[arg(long)]
    socket: PathBuf,
    /// Where the instance keeps its state (default: beside the socket). One instance owns it
    /// at a time.
    #[arg(long)]
    state: Option<PathBuf>,
    /// Seal keys, ledger and epochs under this key and the binary's measurement, and resume
    /// from them on restart (dev: a local key file; `solvency keys sealing`).
    #[arg(long)]
    sealing_key: Option<PathBuf>,
}

pub(super) async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let registry = args.config.load()?;
    let network = registry.network()?;
    let policy = network.policy.clone();
    // Outside AWS Nitro the only attestor is the insecure dev one; evidence says so.
    let attestor = solvency_enclave::DevAttestor::from_current_exe()?;
    let keys = args.key.as_deref().map(EnclaveKeys::load).transpose()?;
    let (store, enclave) = match &args.sealing_key {
        Some(sealing_key) => {
            let path = args.state.clone().unwrap_or_else(|| args.socket.with_extension("sealed"));
            let (store, enclave, resumed) = Store::open_sealed(
                &path,
                SealingKey::load(sealing_key)?,
                attestor.measurement(),
                keys,
                policy,
            )?;
            if resumed {
                eprintln!(
                    "resumed from sealed state {} (epoch {})",
                    path.display(),
                    enclave.state().last_epoch
                );
            }
            (store, enclave)
        }
        None => {
            let keys = keys.ok_or_else(|| {
                anyhow::anyhow!(
                    "give --key (and optionally --sealing-key to keep keys and ledger sealed)"
                )
            })?;
            let path =
                args.state.clone().unwrap_or_else(|| args.socket.with_extension("state.json"));
            Store::open_state_file(&path, keys, policy)?
        }
    };
    let signer = enclave.public().signer;
    if !network.enclave.signers.contains(&signer) {
        eprintln!(
            "warning: signer {signer} is not among [enclave] signers; register it before its signatures count"
        );
    }
    let host = Arc::new(Host::new(enclave, Box::new(attestor), store));
    let cancel = CancellationToken::new();
    let serving = solvency_enclave_host::serve(host, &args.socket, cancel.clone());
    eprintln!("enclave {signer} serving on {}; Ctrl-C or SIGTERM stops it", args.socket.display());
    tokio::pin!(serving);
    tokio::select! {
        result = &mut serving => return Ok(result?),
        _ = crate::shutdown::signal() => {}
    }
    // Let the server close its connections and remove its socket.
    cancel.cancel();
    Ok(serving.await?)
}
