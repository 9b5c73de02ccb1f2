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
    /// The deployment's ledger key file (`[enclave.ledger]`), for the instance that starts the
    /// deployment; the others join.
    #[arg(long, conflicts_with = "join")]
    ledger_key: Option<PathBuf>,
    /// Get the ledger key (and its checkpoints) from the instance serving at this socket, by
    /// evidence of this program's code. Waits up to a minute for it to answer.
    #[arg(long, value_name = "SOCKET")]
    join: Option<PathBuf>,
}

/// How long `--join` waits for the holder to answer at all.
const JOIN_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

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
    let mut enclave = enclave;
    if let Some(file) = &args.ledger_key {
        crate::keyfiles::give_ledger_key(&mut enclave, file)?;
    }
    if network.enclave.ledger.is_some() && !enclave.holds_ledger_key() && args.join.is_none() {
        anyhow::bail!(
            "this instance does not hold the deployment's ledger key ([enclave.ledger]): give --ledger-key FILE (the deployment's first instance) or --join SOCKET (an instance that holds it)"
        );
    }
    let signer = enclave.public().signer;
    if !network.enclave.signers.contains(&signer) {
        eprintln!(
            "warning: signer {signer} is not among [enclave] signers; register it before its signatures count"
        );
    }
    let holds = enclave.holds_ledger_key();
    let host = Arc::new(Host::new(enclave, Box::new(attestor), store));
    if let Some(holder) = args.join.as_deref().filter(|_| !holds) {
        join(&host, holder).await?;
    }
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

/// Asks the instance at `holder` for the ledger key on this instance's behalf, waiting (up to
/// [`JOIN_WAIT`]) for it to answer at all; a refusal ends it at once.
async fn join(host: &Arc<Host>, holder: &std::path::Path) -> anyhow::Result<()> {
    use solvency_enclave_host::{CallError, EnclaveClient};
    let me = EnclaveClient::local(host.clone());
    let holder_client = EnclaveClient::remote(holder);
    let deadline = tokio::time::Instant::now() + JOIN_WAIT;
    loop {
        match me.join(&holder_client).await {
            Ok(checkpoints) => {
                eprintln!(
                    "joined: the ledger key came from {} with {checkpoints} checkpoint(s)",
                    holder.display()
                );
                return Ok(());
            }
            Err(CallError::Unavailable { reason, .. })
                if tokio::time::Instant::now() < deadline =>
            {
                tracing::debug!(target: "enclave", %reason, "the holder does not answer yet");
                tokio::select! {
                    _ = tokio::time::sleep(std::time::Duration::from_millis(250)) => {}
                    _ = crate::shutdown::signal() => anyhow::bail!("stopped while joining"),
                }
            }
            Err(e) => anyhow::bail!(
                "joining through {}: {e} (the holder must run this deployment's registry and hold its ledger key; this program's measurement must be in [enclave.ledger] measurements)",
                holder.display()
            ),
        }
    }
}
