//! `solvency demo`: the main job on a fresh local devnet.

use std::time::Instant;

use alloy::primitives::{Bytes, U256};
use anyhow::{Context, bail};
use solvency_ccip::{
    ExtraArgs,
    bindings::{probe_receiver::ProbeReceiver, probe_sender::ProbeSender},
    provider,
};
use solvency_devnet::{DevAccount, Devnet, MessageState};

use crate::{cli::DemoArgs, config::NetworksFile};

pub(crate) async fn run(networks: NetworksFile, args: DemoArgs) -> anyhow::Result<()> {
    let mut config = networks.devnet_config();
    if let Some(chains) = args.chains {
        config.chains = chains;
    }
    if config.chains < 2 {
        bail!("the demo needs at least 2 chains (asked for {})", config.chains);
    }
    eprintln!("starting a {}-chain devnet…", config.chains);
    let started = Instant::now();
    let devnet = Devnet::start(config).await?;
    eprintln!("devnet ready in {:.2?}", started.elapsed());
    let outcome = round_trip(&devnet).await;
    devnet.shutdown().await;
    eprintln!("devnet stopped");
    outcome
}

async fn round_trip(devnet: &Devnet) -> anyhow::Result<()> {
    let (a, b) = (devnet.chain(0), devnet.chain(1));
    let user = DevAccount::user(0);
    let on_a = provider::connect_with_signer(&a.rpc_url, a.deployer.signer())?;
    let on_b = provider::connect_with_signer(&b.rpc_url, b.deployer.signer())?;
    let sender = ProbeSender::deploy(&on_a, a.router).await.context("deploying a sender")?;
    let receiver = ProbeReceiver::deploy(&on_b, b.router).await.context("deploying a receiver")?;

    let as_user = provider::connect_with_signer(&a.rpc_url, user.signer())?;
    let sent_at = Instant::now();
    let receipt = ProbeSender::new(*sender.address(), &as_user)
        .send(
            b.selector,
            *receiver.address(),
            Bytes::from_static(b"hello from the hub chain"),
            ExtraArgs::v2(250_000).encode(),
        )
        .value(U256::from(10u64.pow(16)))
        .send()
        .await?
        .get_receipt()
        .await?;
    println!("sent     {} → {} in tx {}", a.name, b.name, receipt.transaction_hash);

    let relayer = devnet.relayer()?;
    let seen = relayer
        .wait_for("the relayer to see the message", std::time::Duration::from_secs(60), |m| {
            !m.is_empty()
        })
        .await?;
    let message = relayer.wait_final(seen[0].id, std::time::Duration::from_secs(60)).await?;
    let took = sent_at.elapsed();
    println!("message  {}", message.id);
    println!(
        "state    {} after {} attempt(s), {:.1?} after the send was mined",
        message.state.name(),
        message.attempts,
        took
    );
    let probe = ProbeReceiver::new(*receiver.address(), &on_b);
    let source = probe.s_lastSourceChainSelector().call().await?;
    let from = probe.s_lastSender().call().await?;
    let data = probe.s_lastData().call().await?;
    println!(
        "received on {}: source selector {source} ({}), sender {from}, data {:?}",
        b.name,
        a.name,
        String::from_utf8_lossy(&data)
    );
    let MessageState::Success { receiver_called: true, .. } = message.state else {
        bail!("the message was not delivered: {:?}", message.state);
    };
    if source != a.selector || from != *sender.address() {
        bail!("the receiver saw the wrong source selector or sender");
    }
    println!(
        "ok: CCIP message relayed between two chains with the real source selector and sender"
    );
    Ok(())
}
