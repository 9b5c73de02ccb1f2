//! `solvency devnet up|status|messages|retry`.

use std::time::Instant;

use alloy::providers::Provider;
use anyhow::Context;
use solvency_ccip::{bindings::hub::SolvencyHub, provider};
use solvency_devnet::{Deployment, Devnet, RelayMessage, relayer::ControlClient};

use crate::{
    cli::{DevnetCommand, StateDirArgs, UpArgs},
    config::NetworksFile,
    table,
};

pub(crate) async fn run(
    command: DevnetCommand,
    networks: Option<NetworksFile>,
) -> anyhow::Result<()> {
    match command {
        DevnetCommand::Up(args) => up(args, networks.expect("loaded for up")).await,
        DevnetCommand::Status(args) => status(&args).await,
        DevnetCommand::Messages(args) => messages(&args).await,
        DevnetCommand::Retry { message_id, state } => {
            let deployment = Deployment::read(&state.state_dir)?;
            let message = ControlClient::new(&deployment.relayer_url).retry(message_id).await?;
            eprintln!("message {message_id} queued for delivery again");
            if state.json {
                println!("{}", serde_json::to_string_pretty(&message)?);
            }
            Ok(())
        }
    }
}

async fn up(args: UpArgs, networks: NetworksFile) -> anyhow::Result<()> {
    let mut config = networks.devnet_config();
    if let Some(chains) = args.chains {
        config.chains = chains;
    }
    std::fs::create_dir_all(&args.state_dir)?;
    let state_dir = args.state_dir.canonicalize()?;
    let names: Vec<String> = (0..config.chains)
        .filter_map(solvency_devnet::chains::test_chain)
        .map(|c| solvency_devnet::chain_name(c.chain_id))
        .collect();
    let keys = crate::devnet_setup::prepare_keys(&state_dir.join("keys"), &names)?;
    config.signers = std::iter::once(keys.enclave.public().signer).chain(args.signers).collect();
    config.threshold = args.threshold;
    config.state_dir = Some(state_dir.clone());
    eprintln!("starting {} anvil chains with CCIP routers…", config.chains);
    let started = Instant::now();
    let devnet = Devnet::start(config).await?;
    let registry = crate::devnet_setup::registry(&networks, devnet.deployment(), &keys, &state_dir);
    registry.validate()?;
    let registry_path = state_dir.join("networks.toml");
    registry.write(&registry_path)?;
    crate::devnet_setup::apply_policy(devnet.deployment(), &registry).await?;
    eprintln!(
        "devnet ready in {:.2?}; {} and {} written",
        started.elapsed(),
        state_dir.join(solvency_devnet::DEPLOYMENT_FILE).display(),
        registry_path.display()
    );
    println!("{}", chain_table(devnet.deployment()));
    eprintln!(
        "run the aggregator against it with: solvency run --config {}",
        registry_path.display()
    );
    eprintln!("relaying CCIP messages; Ctrl-C or SIGTERM stops every chain");
    shutdown_signal().await;
    eprintln!("stopping…");
    devnet.shutdown().await;
    eprintln!("every anvil stopped");
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
pub(crate) async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler installs");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
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

async fn status(args: &StateDirArgs) -> anyhow::Result<()> {
    let deployment = Deployment::read(&args.state_dir)?;
    let relayer = ControlClient::new(&deployment.relayer_url).status().await?;
    let mut rows = Vec::new();
    let mut json = Vec::new();
    for chain in &deployment.chains {
        let provider = provider::connect(&chain.rpc_url)?;
        let oracle = SolvencyHub::new(chain.oracle(), &provider);
        let head = provider.get_block_number().await.ok();
        let solvent = oracle.isSolvent().call().await.ok();
        let epoch = oracle.latestAttestation().call().await.ok().map(|a| a.epoch);
        let scanned = relayer
            .chains
            .iter()
            .find(|s| s.selector == chain.selector)
            .and_then(|s| s.scanned_block);
        let show = |v: Option<String>| v.unwrap_or_else(|| "unreachable".into());
        rows.push(vec![
            chain.name.clone(),
            if chain.is_hub() { "hub" } else { "spoke" }.into(),
            show(head.map(|h| h.to_string())),
            scanned.map_or("-".into(), |b| b.to_string()),
            show(solvent.map(|s| s.to_string())),
            show(epoch.map(|e| e.to_string())),
        ]);
        json.push(serde_json::json!({
            "chain": chain.name, "selector": chain.selector, "head_block": head,
            "relayer_scanned_block": scanned, "is_solvent": solvent, "epoch": epoch,
        }));
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({ "chains": json, "messages": relayer.counts })
            )?
        );
    } else {
        println!(
            "{}",
            table::render(&["chain", "role", "head", "relayed to", "isSolvent", "epoch"], &rows)
        );
        let counts: Vec<String> = relayer.counts.iter().map(|(k, v)| format!("{k} {v}")).collect();
        println!("\nmessages: {}", counts.join(", "));
    }
    Ok(())
}

async fn messages(args: &StateDirArgs) -> anyhow::Result<()> {
    let deployment = Deployment::read(&args.state_dir)?;
    let messages = ControlClient::new(&deployment.relayer_url)
        .messages()
        .await
        .context("reading the relayer's messages")?;
    if args.json {
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
