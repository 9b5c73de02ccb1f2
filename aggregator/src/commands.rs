//! The `solvency` subcommands that are not the devnet or the demo.

use std::{
    path::{Path, PathBuf},
    time::{SystemTime, UNIX_EPOCH},
};

use alloy::{
    primitives::{B256, Bytes, keccak256},
    signers::local::PrivateKeySigner,
};
use anyhow::{Context, bail};
use solvency_chain_adapters::{Backoff, EvmAdapter};
use solvency_enclave::{
    EnclaveKeys, Position, Purpose, ReportV1, SolvencyAttestation, X25519KeyPair, X25519Public,
    seal,
};
use tokio_util::sync::CancellationToken;

use crate::{
    cli::PositionArg,
    config::NetworksFile,
    devnet_setup::{enclave_key_file, reporter_key_file, treasury_key_file},
    orchestrator::{self, Setup},
    table,
};

fn deployment_id(text: &str) -> B256 {
    text.parse().unwrap_or_else(|_| keccak256(text.as_bytes()))
}

/// A path from the registry, relative to the registry's directory.
fn resolve(networks: &NetworksFile, path: &Path) -> PathBuf {
    if path.is_absolute() {
        return path.to_owned();
    }
    Path::new(networks.path()).parent().map_or_else(|| path.to_owned(), |dir| dir.join(path))
}

fn require_chains(networks: &NetworksFile) -> anyhow::Result<()> {
    if networks.chains.is_empty() {
        bail!(
            "{} registers no [[chains]]: use a deployment's registry, such as the one \
             `solvency devnet up` writes to its state directory (--config .devnet/networks.toml)",
            networks.path()
        );
    }
    Ok(())
}

/// `solvency run`
pub(crate) async fn run_aggregator(networks: NetworksFile) -> anyhow::Result<()> {
    require_chains(&networks)?;
    let enclave = networks.enclave.clone().expect("validated with chains");
    let publisher = match &networks.aggregator.publisher_key {
        Some(key) => key.clone(),
        None => std::env::var("SOLVENCY_PUBLISHER_KEY").context(
            "set [aggregator] publisher_key or SOLVENCY_PUBLISHER_KEY (the account that sends publish)",
        )?,
    };
    let publisher = PrivateKeySigner::from_bytes(
        &publisher.parse().context("the publisher key is not 32 bytes of hex")?,
    )?;
    let state_dir = resolve(&networks, &networks.aggregator.state_dir);
    let setup = if enclave.instances.is_empty() {
        let key_file = enclave.key_file.as_ref().context(
            "[enclave] has neither instances (served enclaves) nor key_file (an in-process enclave)",
        )?;
        let keys = EnclaveKeys::load(&resolve(&networks, key_file))?;
        if !enclave.signers.contains(&keys.signer.address()) {
            bail!(
                "the enclave key's signer {} is not among [enclave] signers: the contracts would refuse its attestations",
                keys.signer.address()
            );
        }
        Setup::single(networks, keys, publisher, state_dir)?
    } else {
        let enclaves = enclave
            .instances
            .iter()
            .map(|socket| crate::enclave_service::EnclaveClient::remote(resolve(&networks, socket)))
            .collect();
        Setup { networks, enclaves, threshold: enclave.threshold.into(), publisher, state_dir }
    };
    let cancel = CancellationToken::new();
    let mut task = tokio::spawn(orchestrator::run(setup, cancel.clone(), None));
    eprintln!("aggregator running; Ctrl-C or SIGTERM stops it");
    tokio::select! {
        result = &mut task => return result.context("the aggregator panicked")?,
        _ = crate::devnet_cmd::shutdown_signal() => {}
    }
    eprintln!("stopping…");
    cancel.cancel();
    task.await.context("the aggregator panicked")?
}

/// `solvency status`
pub(crate) async fn status(networks: &NetworksFile, json: bool) -> anyhow::Result<()> {
    require_chains(networks)?;
    let now = crate::unix_now();
    let mut rows = Vec::new();
    let mut out = Vec::new();
    for chain in &networks.chains {
        let adapter = EvmAdapter::connect(
            &chain.name,
            chain.selector,
            &chain.rpc_url,
            Backoff { attempts: 2, ..Backoff::default() },
        )?;
        let oracle = chain.hub.or(chain.spoke).expect("validated");
        match adapter.read_oracle(oracle).await {
            Ok(state) => {
                let a = &state.attestation;
                let age = (a.epoch > 0).then(|| state.block_timestamp.saturating_sub(a.issuedAt));
                let stale = a.epoch == 0 || state.block_timestamp > a.validUntil;
                rows.push(vec![
                    chain.name.clone(),
                    state.solvent.to_string(),
                    a.epoch.to_string(),
                    age.map_or("-".into(), |s| format!("{s} s")),
                    if stale { "stale" } else { "fresh" }.into(),
                ]);
                out.push(serde_json::json!({
                    "chain": chain.name, "selector": chain.selector, "is_solvent": state.solvent,
                    "epoch": a.epoch, "issued_at": a.issuedAt, "valid_until": a.validUntil,
                    "age_secs": age, "stale": stale, "block": state.block,
                }));
            }
            Err(e) => {
                rows.push(vec![
                    chain.name.clone(),
                    "unreachable".into(),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                ]);
                out.push(serde_json::json!({ "chain": chain.name, "selector": chain.selector, "error": e.to_string() }));
            }
        }
    }
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "checked_at": now, "chains": out }))?
        );
    } else {
        println!(
            "{}",
            table::render(&["chain", "isSolvent()", "epoch", "age", "attestation"], &rows)
        );
    }
    Ok(())
}

fn positions(args: &[PositionArg]) -> Vec<Position> {
    args.iter().map(|p| Position::new(&p.symbol, p.reserves, p.liabilities)).collect()
}

/// `solvency report submit`
pub(crate) async fn report_submit(
    networks: &NetworksFile,
    chain: &str,
    key: &Path,
    account_key: B256,
    seq: Option<u64>,
    observed_at: Option<u64>,
    args: &[PositionArg],
) -> anyhow::Result<()> {
    require_chains(networks)?;
    let chain = networks.chains.iter().find(|c| c.name == chain).with_context(|| {
        let names: Vec<&str> = networks.chains.iter().map(|c| c.name.as_str()).collect();
        format!("no chain {chain:?} in {} (chains: {})", networks.path(), names.join(", "))
    })?;
    for p in args {
        if !chain.assets.iter().any(|a| a.symbol == p.symbol) {
            bail!("{} is not an asset of {} in {}", p.symbol, chain.name, networks.path());
        }
    }
    let reporter = X25519KeyPair::load(key, "reporter")?;
    if reporter.public().to_string() != chain.reporter_public_key {
        bail!(
            "{} is not {}'s registered reporter key: the enclave would refuse the report",
            key.display(),
            chain.name
        );
    }
    let enclave: X25519Public =
        networks.enclave.as_ref().expect("validated").hpke_public_key.parse().expect("validated");
    let seq = seq.unwrap_or_else(|| {
        SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
    });
    let report = ReportV1::new(
        chain.selector,
        seq,
        observed_at.unwrap_or_else(crate::unix_now),
        positions(args),
    );
    let sender = PrivateKeySigner::from_bytes(&account_key)
        .context("the account key is not a valid secp256k1 key")?;
    let tx = crate::reporter::submit(
        chain,
        &networks.deployment_id(),
        &enclave,
        &reporter,
        sender,
        &report,
    )
    .await?;
    println!("submitted {}'s report seq {seq} in transaction {tx}", chain.name);
    Ok(())
}

/// `solvency report seal`
pub(crate) fn report_seal(
    enclave: &X25519Public,
    key: &Path,
    deployment: &str,
    chain_selector: u64,
    seq: u64,
    observed_at: Option<u64>,
    args: &[PositionArg],
) -> anyhow::Result<()> {
    let reporter = X25519KeyPair::load(key, "reporter")?;
    let report = ReportV1::new(
        chain_selector,
        seq,
        observed_at.unwrap_or_else(crate::unix_now),
        positions(args),
    );
    let payload =
        solvency_enclave::seal_report(&report, &deployment_id(deployment), &reporter, enclave)?;
    println!("enc: 0x{}", alloy::hex::encode(&payload[seal::HEADER_LEN..seal::PREFIX_LEN]));
    println!("ciphertext: 0x{}", alloy::hex::encode(&payload[seal::PREFIX_LEN..]));
    println!("payload: {payload}");
    Ok(())
}

/// `solvency enclave open` (dev keys only).
pub(crate) fn enclave_open(
    key: &Path,
    reporter: &X25519Public,
    deployment: &str,
    payload: &Bytes,
) -> anyhow::Result<()> {
    eprintln!(
        "DEV ONLY: this prints a report's plaintext figures. A production enclave key never leaves its enclave."
    );
    let keys = EnclaveKeys::load(key)?;
    let (header, plaintext) =
        seal::open(Purpose::Report, &deployment_id(deployment), payload, &keys.hpke, reporter)?;
    let report = ReportV1::from_padded(&plaintext)?;
    println!(
        "chain selector {} (header {}), seq {} (header {}), observed at {}",
        report.chainSelector, header.chain_selector, report.seq, header.counter, report.observedAt
    );
    let rows: Vec<Vec<String>> = report
        .positions
        .iter()
        .map(|p| vec![p.assetId.to_string(), p.reserves.to_string(), p.liabilities.to_string()])
        .collect();
    println!("{}", table::render(&["asset id", "reserves", "liabilities"], &rows));
    Ok(())
}

/// `solvency enclave serve`
pub(crate) async fn enclave_serve(
    networks: NetworksFile,
    key: Option<&Path>,
    socket: &Path,
    state: Option<PathBuf>,
    sealing_key: Option<&Path>,
) -> anyhow::Result<()> {
    use crate::enclave_service::Persist;
    require_chains(&networks)?;
    // Outside AWS Nitro the only attestor is the insecure dev one; evidence says so.
    let attestor = solvency_enclave::DevAttestor::from_current_exe()?;
    let policy = networks.enclave_policy();
    let (enclave, persist) = match sealing_key {
        Some(sealing_key) => {
            let sealing_key = solvency_enclave::SealingKey::load(sealing_key)?;
            let path = state.unwrap_or_else(|| socket.with_extension("sealed"));
            let measurement = attestor.measurement();
            let enclave = match std::fs::read(&path) {
                Ok(blob) => {
                    let enclave =
                        solvency_enclave::unseal_enclave(&blob, &sealing_key, &measurement, policy)
                            .with_context(|| format!("unsealing {}", path.display()))?;
                    eprintln!(
                        "resumed from sealed state {} (epoch {})",
                        path.display(),
                        enclave.state().last_epoch
                    );
                    enclave
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    let key = key.context("no sealed state yet: give --key for the first start")?;
                    solvency_enclave::Enclave::new(
                        EnclaveKeys::load(key)?,
                        policy,
                        Default::default(),
                    )
                }
                Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
            };
            (enclave, Persist::Sealed { path, key: sealing_key, measurement })
        }
        None => {
            let key = key.context(
                "give --key (and optionally --sealing-key to keep keys and ledger sealed)",
            )?;
            let path = state.unwrap_or_else(|| socket.with_extension("state.json"));
            let enclave = solvency_enclave::Enclave::new(
                EnclaveKeys::load(key)?,
                policy,
                crate::enclave_service::load_state(&path)?,
            );
            (enclave, Persist::State(path))
        }
    };
    let signer = enclave.public().signer;
    if !networks.enclave.as_ref().expect("validated").signers.contains(&signer) {
        eprintln!(
            "warning: signer {signer} is not among [enclave] signers; register it before its signatures count"
        );
    }
    let cancel = CancellationToken::new();
    let serving = crate::enclave_service::serve(
        enclave,
        Box::new(attestor),
        socket.to_owned(),
        persist,
        cancel.clone(),
    );
    eprintln!("enclave {signer} serving on {}; Ctrl-C or SIGTERM stops it", socket.display());
    tokio::pin!(serving);
    tokio::select! {
        result = &mut serving => return result,
        _ = crate::devnet_cmd::shutdown_signal() => {}
    }
    // Let the server close its connections and remove its socket.
    cancel.cancel();
    serving.await
}

/// `solvency keys generate`
pub(crate) fn keys_generate(out: &Path, chains: &[String], instances: usize) -> anyhow::Result<()> {
    let keys = crate::devnet_setup::prepare_keys(out, chains)?;
    for (i, instance) in crate::devnet_setup::prepare_instance_keys(out, &keys.enclave, instances)?
        .iter()
        .enumerate()
    {
        println!(
            "instance {i}        {} signer {}",
            crate::devnet_setup::instance_key_file(out, i).display(),
            instance.signer.address()
        );
    }
    let public = keys.enclave.public();
    println!("enclave key      {}", enclave_key_file(out).display());
    println!("  hpke_public_key {}", public.hpke_public_key);
    println!("  signer          {}", public.signer);
    for (i, chain) in chains.iter().enumerate() {
        println!(
            "{chain}: reporter {} ({}), treasury {} ({})",
            keys.reporters[i].public(),
            reporter_key_file(out, chain).display(),
            keys.treasuries[i].public(),
            treasury_key_file(out, chain).display()
        );
    }
    Ok(())
}

/// `solvency attestation digest`
pub(crate) fn attestation_digest(file: &Path) -> anyhow::Result<()> {
    let text = if file == Path::new("-") {
        std::io::read_to_string(std::io::stdin())?
    } else {
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?
    };
    let attestation: SolvencyAttestation = serde_json::from_str(&text).context(
        "not an attestation: expected JSON with deploymentId, epoch, solvent, issuedAt, validUntil, reportsDigest, instructionsDigest",
    )?;
    println!("{}", attestation.digest());
    Ok(())
}

/// Evidence from a key file (this process) or a served instance.
async fn evidence_from(
    key: Option<PathBuf>,
    instance: Option<PathBuf>,
    nonce: &Bytes,
) -> anyhow::Result<solvency_enclave::Evidence> {
    use crate::enclave_service::{EnclaveClient, Request, Response};
    match (key, instance) {
        (Some(key), _) => {
            let keys = EnclaveKeys::load(&key)?;
            let attestor = solvency_enclave::DevAttestor::from_current_exe()?;
            Ok(solvency_enclave::Attestor::attest(&attestor, &keys, nonce, crate::unix_now())?)
        }
        (None, Some(socket)) => match EnclaveClient::remote(socket)
            .call(Request::Evidence { nonce: nonce.clone() })
            .await?
        {
            Response::Evidence { evidence } => Ok(*evidence),
            Response::Error { reason } => bail!("the enclave refused: {reason}"),
            other => bail!("unexpected answer: {other:?}"),
        },
        (None, None) => bail!("give --key FILE or --instance SOCKET"),
    }
}

/// `solvency enclave attest`
pub(crate) async fn enclave_attest(
    key: Option<PathBuf>,
    instance: Option<PathBuf>,
    nonce: &Bytes,
) -> anyhow::Result<()> {
    let evidence = evidence_from(key, instance, nonce).await?;
    if evidence.kind() == solvency_enclave::EvidenceKind::DevInsecure {
        eprintln!(
            "INSECURE: dev evidence, signed by the enclave's own key; it proves nothing about the machine"
        );
    }
    println!("{}", serde_json::to_string_pretty(&evidence)?);
    Ok(())
}

/// `solvency enclave verify`
pub(crate) fn enclave_verify(
    file: &Path,
    at: Option<&str>,
    pcrs: &[String],
    nonce: Option<Bytes>,
    max_age: u64,
    allow_dev: bool,
) -> anyhow::Result<()> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    // Evidence JSON from `enclave attest`, or a raw Nitro document.
    let evidence = match serde_json::from_slice::<solvency_enclave::Evidence>(&bytes) {
        Ok(evidence) => evidence,
        Err(_) => solvency_enclave::Evidence::Nitro(solvency_enclave::NitroEvidence {
            document: bytes.into(),
        }),
    };
    let at = match at {
        Some(text) => solvency_enclave::attestor::parse_utc(text).with_context(|| {
            format!("--at {text:?} is not a UTC time such as 2024-02-26T07:30:00Z")
        })?,
        None => crate::unix_now(),
    };
    let mut policy =
        solvency_enclave::EvidencePolicy { allow_dev, max_age, nonce, ..Default::default() };
    for pcr in pcrs {
        let (index, value) =
            pcr.split_once('=').with_context(|| format!("--expect-pcr {pcr:?}: expected N=HEX"))?;
        let index: u8 = index
            .trim()
            .parse()
            .with_context(|| format!("--expect-pcr {pcr:?}: N is not a PCR index"))?;
        let value: Bytes =
            value.trim().parse().with_context(|| format!("--expect-pcr {pcr:?}: not hex"))?;
        policy.pcrs.insert(index, value);
    }
    let facts = evidence.verify(&policy, at)?;
    if facts.is_insecure() {
        eprintln!("INSECURE: dev evidence proves nothing about the machine");
    }
    println!("{}", serde_json::to_string_pretty(&facts)?);
    Ok(())
}

/// `solvency enclave register`
pub(crate) async fn enclave_register(
    networks: &NetworksFile,
    key: Option<PathBuf>,
    instance: Option<PathBuf>,
    owner_key: Option<B256>,
    devnet: Option<PathBuf>,
    every: Option<u64>,
) -> anyhow::Result<()> {
    require_chains(networks)?;
    let deployment = devnet.as_deref().map(solvency_devnet::Deployment::read).transpose()?;
    let registrar =
        crate::registration::Registrar::new(networks, |chain| match (&deployment, owner_key) {
            (Some(d), _) => Ok(d
                .chain_by_name(chain)
                .with_context(|| format!("{chain} is not in the devnet"))?
                .deployer
                .signer()),
            (None, Some(key)) => Ok(PrivateKeySigner::from_bytes(&key)?),
            (None, None) => bail!("give --owner-key (or SOLVENCY_OWNER_KEY), or --devnet DIR"),
        })?;
    loop {
        let nonce = crate::registration::Registrar::nonce();
        let evidence = evidence_from(key.clone(), instance.clone(), &nonce).await?;
        let registration = registrar.register(&evidence, &nonce).await?;
        eprintln!(
            "registered {} with evidence {}",
            registration.signer, registration.evidence_digest
        );
        println!("{}", serde_json::to_string_pretty(&registration)?);
        let Some(every) = every else { return Ok(()) };
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(every)) => {}
            _ = crate::devnet_cmd::shutdown_signal() => return Ok(()),
        }
    }
}

/// `solvency enclave rotate`
pub(crate) async fn enclave_rotate(
    mut networks: NetworksFile,
    grace: u64,
    write_config: bool,
) -> anyhow::Result<()> {
    use crate::enclave_service::{EnclaveClient, Request, Response};
    require_chains(&networks)?;
    let enclave = networks.enclave.clone().expect("validated");
    if enclave.instances.is_empty() {
        bail!(
            "[enclave] lists no served instances: rotation is for instances run with `solvency enclave serve`"
        );
    }
    let grace_until = crate::unix_now() + grace;
    let mut keys = Vec::new();
    for socket in &enclave.instances {
        match EnclaveClient::remote(resolve(&networks, socket))
            .call(Request::Rotate { grace_until })
            .await?
        {
            Response::Rotated { hpke_public_key } => keys.push(hpke_public_key),
            other => bail!("{}: unexpected answer {other:?}", socket.display()),
        }
    }
    if keys.windows(2).any(|w| w[0] != w[1]) {
        bail!("the instances rotated to different keys ({keys:?}): they do not share one key file");
    }
    let new = keys[0];
    println!("new HPKE public key: {new} (the previous one is accepted until {grace_until})");
    if write_config {
        networks.enclave.as_mut().expect("validated").hpke_public_key = new.to_string();
        let path = PathBuf::from(networks.path());
        networks.write(&path)?;
        eprintln!("{} now publishes the new key", path.display());
    }
    Ok(())
}
