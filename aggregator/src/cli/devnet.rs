//! `solvency devnet up|relay|status|messages|retry`: the local devnet.

use std::time::{Duration, Instant};

use alloy::primitives::{Address, B256};
use anyhow::Context;
use clap::{Args, Subcommand};
use solvency_chain_adapters::{Backoff, read_all};
use solvency_devnet::{
    Deployment, ForkSpec, RelayMessage,
    relayer::{ControlClient, Relayer, RelayerConfig},
    upstream::{Upstream, UpstreamConfig},
};
use solvency_registry::Registry;

use crate::{
    cli::args::{ConfigArgs, DevnetDirArgs, JsonArgs},
    table,
    wired::{REGISTRY_FILE, WiredDevnet, WiredOptions},
};

/// `solvency devnet …`
#[derive(Debug, Subcommand)]
pub enum DevnetCommand {
    /// Start anvil chains with CCIP routers and the solvency contracts, write
    /// DIR/deployment.json and DIR/networks.toml, and relay CCIP messages until Ctrl-C or
    /// SIGTERM.
    ///
    /// Example: `solvency devnet up --chains 3 --state-dir .devnet`, or with `--detach` to get
    /// the terminal back once the devnet is ready (stop it with `solvency devnet down`).
    Up(UpArgs),
    /// Start local chains that stand in for public chains where CCIP runs (CCIP's real Router,
    /// an on-ramp emitting OnRamp 1.6's events, an off-ramp it accepts, lanes between all, each
    /// carrying a burn/mint "USDC" through CCIP's token pools), print the `--fork`/`--router`
    /// arguments that fork them, and run until Ctrl-C or SIGTERM.
    ///
    /// Example: `solvency devnet upstream --chains 3`, then in another terminal `solvency devnet
    /// up --state-dir .forks` with the printed arguments.
    Upstream {
        /// Number of chains (CCIP test chain ids 90000001..).
        #[arg(long, default_value_t = 3)]
        chains: usize,
        /// Each lane's token bucket, outbound and inbound, in whole USDC: its capacity …
        #[arg(long, value_name = "USDC", default_value_t = 1_000_000)]
        lane_capacity: u64,
        /// … and what refills it each second.
        #[arg(long, value_name = "USDC", default_value_t = 1_000)]
        lane_rate: u64,
        /// Mint this many whole USDC to each devnet user account on every chain (to try
        /// transfers on the forks).
        #[arg(long, value_name = "USDC", default_value_t = 0)]
        mint: u64,
    },
    /// Stop a devnet started with `--detach` (or any devnet running in the directory).
    ///
    /// Example: `solvency devnet down --state-dir .devnet`
    Down(DevnetDirArgs),
    /// Relay the CCIP messages of a devnet started with `--no-relay`, as a process of its own
    /// that can be stopped and restarted (its journal makes a restart lose and repeat nothing).
    ///
    /// Example: `solvency devnet relay --state-dir .devnet`
    Relay(RelayArgs),
    /// Per chain: head block, oracle state and relayer progress of a running devnet.
    Status(ViewArgs),
    /// Every CCIP message the relayer has seen, with its state.
    Messages(ViewArgs),
    /// Deliver a FAILED message again (after fixing its receiver).
    ///
    /// Example: `solvency devnet retry 0x3f…`
    Retry {
        /// The message id, from `solvency devnet messages`.
        message_id: B256,
        /// The devnet.
        #[command(flatten)]
        dir: DevnetDirArgs,
        /// Output.
        #[command(flatten)]
        json: JsonArgs,
    },
}

impl DevnetCommand {
    pub(super) async fn run(self) -> anyhow::Result<()> {
        match self {
            Self::Up(args) => up(args).await,
            Self::Upstream { chains, lane_capacity, lane_rate, mint } => {
                upstream(chains, lane_capacity, lane_rate, mint).await
            }
            Self::Down(dir) => down(&dir.state_dir).await,
            Self::Relay(args) => relay(args).await,
            Self::Status(args) => status(args).await,
            Self::Messages(args) => messages(args).await,
            Self::Retry { message_id, dir, json } => {
                let deployment = Deployment::read(&dir.state_dir)?;
                let message = ControlClient::new(&deployment.relayer_url).retry(message_id).await?;
                eprintln!("message {message_id} queued for delivery again");
                if json.json {
                    println!("{}", serde_json::to_string_pretty(&message)?);
                }
                Ok(())
            }
        }
    }
}

/// `solvency devnet up`
#[derive(Debug, Args)]
pub struct UpArgs {
    /// The registry whose `[devnet]`, `[policy]` and `[aggregator]` the devnet starts from.
    #[command(flatten)]
    config: ConfigArgs,
    #[command(flatten)]
    dir: DevnetDirArgs,
    /// Number of chains (default from `[devnet] chains` in the registry).
    #[arg(long, conflicts_with = "forks")]
    chains: Option<usize>,
    /// Fork a chain where CCIP runs instead of starting empty chains: its name in the devnet,
    /// and the endpoint to fork (repeatable; the first is the hub). Each needs `--router`.
    #[arg(long = "fork", value_name = "NAME=URL")]
    forks: Vec<String>,
    /// The CCIP Router deployed on a forked chain (from CCIP's directory of deployments);
    /// without it, the `router` of the registry's chain of that name.
    #[arg(long = "router", value_name = "NAME=ADDRESS")]
    routers: Vec<String>,
    /// Also make keys for this many served enclave instances and list their sockets in the
    /// registry, instead of one in-process enclave.
    #[arg(long, default_value_t = 0)]
    instances: usize,
    /// Another enclave signer address to register on every chain (repeatable).
    #[arg(long = "signer")]
    signers: Vec<Address>,
    /// How many of the signers an attestation needs (written to the contracts and the registry).
    #[arg(long)]
    threshold: Option<u8>,
    /// Do not relay in this process: run `solvency devnet relay` beside it.
    #[arg(long)]
    no_relay: bool,
    /// Run in the background (output in DIR/devnet.log) and return once the devnet is ready.
    #[arg(long)]
    detach: bool,
    #[command(flatten)]
    json: JsonArgs,
}

async fn up(args: UpArgs) -> anyhow::Result<()> {
    if args.detach {
        return detach(&args).await;
    }
    let base = args.config.load()?;
    // A registry of real chains names their Routers: forking its chains needs only their names.
    let listed = |name: &str| {
        base.source().chains.iter().find(|c| c.name == name).and_then(|c| c.router.parse().ok())
    };
    let forks = fork_specs(&args.forks, &args.routers, listed)?;
    let started = Instant::now();
    let wired = WiredDevnet::start(
        &base,
        WiredOptions {
            chains: args.chains,
            forks,
            state_dir: Some(args.dir.state_dir.clone()),
            instances: args.instances,
            threshold: args.threshold,
            extra_signers: args.signers,
            external_relayer: args.no_relay,
            ..WiredOptions::default()
        },
    )
    .await?;
    eprintln!(
        "devnet ready in {:.2?}; {} and {} written",
        started.elapsed(),
        wired.dir().join(solvency_devnet::DEPLOYMENT_FILE).display(),
        wired.registry_path().display()
    );
    print_devnet(wired.dir(), wired.devnet.deployment(), args.json.json)?;
    eprintln!(
        "run the aggregator against it with: solvency run --config {}",
        wired.registry_path().display()
    );
    if args.no_relay {
        eprintln!(
            "not relaying: start `solvency devnet relay --state-dir {}`",
            wired.dir().display()
        );
    } else {
        eprintln!("relaying CCIP messages; Ctrl-C or SIGTERM stops every chain");
    }
    crate::shutdown::signal().await;
    eprintln!("stopping…");
    wired.shutdown().await;
    eprintln!("every anvil stopped");
    Ok(())
}

/// `--fork NAME=URL` and `--router NAME=ADDRESS` into one spec per fork, in the order given.
fn fork_specs(
    forks: &[String],
    routers: &[String],
    listed: impl Fn(&str) -> Option<Address>,
) -> anyhow::Result<Vec<ForkSpec>> {
    let split = |flag: &str, value: &str| -> anyhow::Result<(String, String)> {
        // A chain name: letters, digits, '-' and '_' (it names key files too). Anything else
        // is not repeated — it may be part of a URL with a key in it.
        let is_name = |name: &str| {
            !name.is_empty()
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        };
        let (name, rest) = value
            .split_once('=')
            .filter(|(name, rest)| is_name(name) && !rest.is_empty())
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "--{flag} takes NAME=VALUE, NAME a chain name (letters, digits, - and _), \
                     e.g. --{flag} ethereum=…"
                )
            })?;
        Ok((name.to_owned(), rest.to_owned()))
    };
    let mut router_of = std::collections::HashMap::new();
    for value in routers {
        let (name, address) = split("router", value)?;
        let address: Address = address
            .parse()
            .map_err(|_| anyhow::anyhow!("--router {name}=…: not an address ({address})"))?;
        anyhow::ensure!(
            router_of.insert(name.clone(), address).is_none(),
            "--router {name}=… is given twice"
        );
    }
    let mut specs = Vec::new();
    for value in forks {
        let (name, url) = split("fork", value)?;
        anyhow::ensure!(
            !specs.iter().any(|s: &ForkSpec| s.name == name),
            "--fork {name}=… is given twice"
        );
        let router = router_of.remove(&name).or_else(|| listed(&name)).ok_or_else(|| {
            anyhow::anyhow!(
                "--fork {name}: give the CCIP Router deployed on it with --router {name}=ADDRESS \
                 (or fork a chain the registry lists with its router)"
            )
        })?;
        specs.push(ForkSpec { name, url, router, collateral: None });
    }
    if let Some(name) = router_of.keys().next() {
        anyhow::bail!("--router {name}=… names no --fork");
    }
    Ok(specs)
}

/// `solvency devnet upstream`
async fn upstream(chains: usize, capacity: u64, rate: u64, mint: u64) -> anyhow::Result<()> {
    let unit = |whole: u64| u128::from(whole) * 1_000_000;
    let config = UpstreamConfig {
        chains,
        lane_capacity: unit(capacity),
        lane_rate: unit(rate),
        token_holders: if mint == 0 {
            Vec::new()
        } else {
            (0..4).map(|i| solvency_devnet::DevAccount::user(i).address).collect()
        },
        minted: alloy::primitives::U256::from(unit(mint)),
        ..UpstreamConfig::default()
    };
    let upstream = Upstream::start(config).await?;
    for chain in upstream.chains() {
        eprintln!(
            "{}: chain id {}, {} — Router {}, lane token (USDC) {}, its pool {}",
            chain.name, chain.chain_id, chain.url, chain.router, chain.token, chain.pool
        );
    }
    let args: Vec<String> = upstream
        .forks()
        .iter()
        .map(|f| format!("--fork {}={} --router {}={}", f.name, f.url, f.name, f.router))
        .collect();
    println!("{}", args.join(" "));
    eprintln!("fork these chains with: solvency devnet up --state-dir DIR {}", args.join(" "));
    eprintln!("Ctrl-C or SIGTERM stops every chain");
    crate::shutdown::signal().await;
    upstream.shutdown().await;
    Ok(())
}

fn print_devnet(dir: &std::path::Path, deployment: &Deployment, json: bool) -> anyhow::Result<()> {
    if json {
        let chains: Vec<_> = deployment
            .chains
            .iter()
            .map(|c| {
                serde_json::json!({
                    "name": c.name, "chain_id": c.chain_id, "selector": c.selector,
                    "role": if c.is_hub() { "hub" } else { "spoke" }, "rpc_url": c.rpc_url,
                    "oracle": c.oracle(), "router": c.router, "reporter": c.reporter.address,
                })
            })
            .collect();
        let out = serde_json::json!({
            "state_dir": dir, "registry": dir.join(REGISTRY_FILE), "chains": chains,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!("{}", chain_table(deployment));
    }
    Ok(())
}

/// Runs this `devnet up` again without `--detach`, in the background and in a process group
/// of its own (a Ctrl-C in this terminal does not reach it), and returns once it is ready.
async fn detach(args: &UpArgs) -> anyhow::Result<()> {
    use std::os::unix::process::CommandExt;
    let dir = &args.dir.state_dir;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let log_path = dir.join("devnet.log");
    let log = std::fs::File::create(&log_path)
        .with_context(|| format!("creating {}", log_path.display()))?;
    let mut child = std::process::Command::new(std::env::current_exe()?)
        .args(std::env::args_os().skip(1).filter(|a| a != "--detach"))
        .stdin(std::process::Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .process_group(0)
        .spawn()
        .context("starting the devnet in the background")?;
    let pid = child.id();
    let ready = dir.join(crate::wired::READY_FILE);
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        if let Some(status) = child.try_wait()? {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(20).collect();
            anyhow::bail!(
                "the devnet stopped ({status}); the end of {}:\n{}",
                log_path.display(),
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
        let holder =
            std::fs::read_to_string(&ready).ok().and_then(|p| p.trim().parse::<u32>().ok());
        if holder == Some(pid) {
            break;
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the devnet was not ready after 5 minutes; see {}",
            log_path.display()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    print_devnet(&dir.canonicalize()?, &Deployment::read(dir)?, args.json.json)?;
    eprintln!(
        "devnet ready, running in the background (pid {pid}, log {}); stop it with: solvency devnet down --state-dir {}",
        log_path.display(),
        dir.display()
    );
    Ok(())
}

/// `solvency devnet down`: SIGTERM to the process that holds the devnet's lock, then wait until
/// it has let go (it stops its relayer and every anvil first).
async fn down(dir: &std::path::Path) -> anyhow::Result<()> {
    let lock = dir.join("devnet.lock");
    let holder = match solvency_durable::StateLock::acquire(&lock) {
        Ok(_free) => {
            eprintln!("no devnet runs in {}", dir.display());
            return Ok(());
        }
        Err(solvency_durable::Error::Locked { holder: Some(pid), .. }) => pid,
        Err(e) => return Err(e.into()),
    };
    // SAFETY: a signal to the pid that holds the devnet's lock, as it wrote it there.
    unsafe {
        libc::kill(holder as libc::pid_t, libc::SIGTERM);
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if solvency_durable::StateLock::acquire(&lock).is_ok() {
            eprintln!("devnet in {} stopped (pid {holder})", dir.display());
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the devnet (pid {holder}) did not stop within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `solvency devnet relay`
#[derive(Debug, Args)]
pub struct RelayArgs {
    #[command(flatten)]
    dir: DevnetDirArgs,
    /// How often each chain is polled for new blocks, in milliseconds.
    #[arg(long, default_value_t = 20)]
    poll_ms: u64,
}

async fn relay(args: RelayArgs) -> anyhow::Result<()> {
    let dir = &args.dir.state_dir;
    let mut deployment = Deployment::read(dir)?;
    let relayer = Relayer::start(RelayerConfig::for_deployment(
        &deployment,
        dir,
        Duration::from_millis(args.poll_ms.max(1)),
    ))
    .await?;
    deployment.relayer_url = relayer.control_url().to_owned();
    deployment.write(dir)?;
    eprintln!(
        "relaying the devnet in {} (control {}); Ctrl-C or SIGTERM stops it",
        dir.display(),
        relayer.control_url()
    );
    crate::shutdown::signal().await;
    relayer.shutdown().await;
    eprintln!("relayer stopped");
    Ok(())
}

/// A running devnet to look at.
#[derive(Debug, Args)]
pub struct ViewArgs {
    #[command(flatten)]
    dir: DevnetDirArgs,
    #[command(flatten)]
    json: JsonArgs,
}

fn chain_table(deployment: &Deployment) -> String {
    let rows: Vec<Vec<String>> = deployment
        .chains
        .iter()
        .map(|c| {
            vec![
                c.name.clone(),
                c.chain_id.to_string(),
                c.selector.to_string(),
                if c.is_hub() { "hub" } else { "spoke" }.into(),
                c.rpc_url.clone(),
                c.oracle().to_string(),
                c.router.to_string(),
            ]
        })
        .collect();
    table::render(&["chain", "chain id", "selector", "role", "rpc", "oracle", "router"], &rows)
}

async fn status(args: ViewArgs) -> anyhow::Result<()> {
    let dir = &args.dir.state_dir;
    let registry = Registry::load(&dir.join(REGISTRY_FILE))?;
    let deployment = Deployment::read(dir)?;
    let relayer = ControlClient::new(&deployment.relayer_url).status().await;
    let readings =
        read_all(&registry.network()?.chains, Backoff { attempts: 2, ..Backoff::default() }).await;
    let mut rows = Vec::new();
    let mut json = Vec::new();
    for reading in &readings {
        let scanned = relayer.as_ref().ok().and_then(|r| {
            r.chains.iter().find(|s| s.selector == reading.selector).and_then(|s| s.scanned_block)
        });
        let state = reading.state.as_ref().ok();
        let show = |v: Option<String>| v.unwrap_or_else(|| "unreachable".into());
        rows.push(vec![
            reading.chain.clone(),
            reading.role.into(),
            show(state.map(|s| s.block.to_string())),
            scanned.map_or("-".into(), |b| b.to_string()),
            show(state.map(|s| s.solvent.to_string())),
            show(state.map(|s| s.attestation.epoch.to_string())),
        ]);
        json.push(serde_json::json!({
            "chain": reading.chain, "selector": reading.selector, "head_block": state.map(|s| s.block),
            "relayer_scanned_block": scanned, "is_solvent": state.map(|s| s.solvent),
            "epoch": state.map(|s| s.attestation.epoch),
        }));
    }
    let counts = relayer.as_ref().map(|r| r.counts.clone()).ok();
    if args.json.json {
        let out = serde_json::json!({ "chains": json, "messages": counts });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!(
            "{}",
            table::render(&["chain", "role", "head", "relayed to", "isSolvent", "epoch"], &rows)
        );
        match &relayer {
            Ok(r) => {
                let counts: Vec<String> =
                    r.counts.iter().map(|(k, v)| format!("{k} {v}")).collect();
                println!("\nmessages: {}", counts.join(", "));
            }
            Err(e) => println!("\nrelayer: {e}"),
        }
    }
    Ok(())
}

async fn messages(args: ViewArgs) -> anyhow::Result<()> {
    let deployment = Deployment::read(&args.dir.state_dir)?;
    let messages = ControlClient::new(&deployment.relayer_url)
        .messages()
        .await
        .context("reading the relayer's messages")?;
    if args.json.json {
        println!("{}", serde_json::to_string_pretty(&messages)?);
        return Ok(());
    }
    let name = |selector| {
        deployment.chain(selector).map_or_else(|| selector.to_string(), |c| c.name.clone())
    };
    let rows: Vec<Vec<String>> = messages
        .iter()
        .map(|m: &RelayMessage| {
            vec![
                m.id.to_string(),
                format!("{} → {}", name(m.source_chain_selector), name(m.dest_chain_selector)),
                m.state.name().into(),
                m.attempts.to_string(),
                m.sender.to_string(),
                m.receiver.to_string(),
                m.finished_at_ms
                    .map_or("-".into(), |f| format!("{} ms", f.saturating_sub(m.detected_at_ms))),
            ]
        })
        .collect();
    println!(
        "{}",
        table::render(&["id", "route", "state", "attempts", "sender", "receiver", "took"], &rows)
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn specs(forks: &[&str], routers: &[&str]) -> anyhow::Result<Vec<ForkSpec>> {
        let owned = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let listed = |name: &str| (name == "listed").then(|| Address::repeat_byte(7));
        fork_specs(&owned(forks), &owned(routers), listed)
    }

    #[test]
    fn forks_pair_with_their_routers_in_order_and_mistakes_are_named() {
        let router = "0x0000000000000000000000000000000000000001";
        let other = "0x0000000000000000000000000000000000000002";
        let given = specs(
            &["hub=https://rpc.example/v3/KEY", "base=wss://b.example/?key=A=B"],
            &[&format!("base={other}"), &format!("hub={router}")],
        )
        .unwrap();
        assert_eq!(given.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["hub", "base"]);
        assert_eq!(given[0].router, router.parse::<Address>().unwrap());
        assert_eq!(given[1].router, other.parse::<Address>().unwrap());
        assert_eq!(given[1].url, "wss://b.example/?key=A=B", "split at the first '=' only");
        assert!(!format!("{:?}", given[0]).contains("KEY"), "Debug hides the URL's path");
        assert_eq!(given[0].url, "https://rpc.example/v3/KEY");
        // A chain the registry lists takes its router from there.
        let listed = specs(&["listed=http://x"], &[]).unwrap();
        assert_eq!(listed[0].router, Address::repeat_byte(7));

        let error =
            |forks: &[&str], routers: &[&str]| specs(forks, routers).unwrap_err().to_string();
        let no_router = error(&["hub=https://rpc.example/v3/KEY"], &[]);
        assert!(no_router.contains("--router hub=ADDRESS"), "{no_router}");
        for forgotten in ["https://rpc.example/v3/KEY", "https://rpc.example/v3/KEY?a=1"] {
            let no_name = error(&[forgotten], &[]);
            assert!(no_name.contains("NAME=VALUE") && !no_name.contains("KEY"), "{no_name}");
        }
        let stray = error(&[], &[&format!("base={router}")]);
        assert!(stray.contains("names no --fork"), "{stray}");
        let twice = error(&["a=http://x", "a=http://y"], &[&format!("a={router}")]);
        assert!(twice.contains("twice"), "{twice}");
        let bad = error(&["a=http://x"], &["a=0x12"]);
        assert!(bad.contains("not an address"), "{bad}");
    }
}
