//! The fault suite: a devnet, its relayer, three enclave instances (2 of 3 must sign) and the
//! aggregator, each a real `solvency` process, while reporters submit healthy and insolvent
//! rounds and faults land at random points: `kill -9` and restart of the aggregator, the
//! relayer or an enclave instance, a paused chain (SIGSTOP), a dead RPC endpoint, a full disk
//! under the aggregator's or an instance's state.
//!
//! After every round every chain must show that round's answer; after every run:
//! - no report lost: every round was attested with exactly its reports;
//! - every published epoch was judged on reports that were submitted, gives the verdict those
//!   figures call for, and never goes back to older reports than an earlier epoch (no superseded
//!   answer);
//! - no epoch accepted twice on any chain;
//! - no process left behind.
//!
//! `FAULT_RUNS` (default 1), `FAULT_ROUNDS` (default 6) and `FAULT_SEED` set the size; the
//! same seed injects the same faults at the same points; `FAULT_KEEP=1` keeps each run's
//! directory (logs of every process). `make faults RUNS=50`.

mod procs;
mod proxy;

/// The password in the proxied spoke endpoint's URL.
const RPC_SECRET: &str = "FAULT-RPC-SECRET";

use std::{
    collections::{BTreeMap, HashMap},
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use alloy::{
    primitives::{B256, Bytes, U256, keccak256},
    providers::Provider,
    rpc::types::Filter,
    sol_types::SolEvent,
};
use procs::{Proc, alive, signal};
use proxy::Proxy;
use solvency_ccip::bindings::oracle::SolvencyOracleBase;
use solvency_chain_adapters::{Backoff, read_all, rpc};
use solvency_devnet::Deployment;
use solvency_enclave::{Position, ReportV1, X25519KeyPair, reports_digest, seal_report};
use solvency_registry::Registry;

/// xorshift64*: small, seeded, and the same everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Fault {
    KillAggregator,
    KillRelayer,
    KillEnclave,
    PauseChain,
    DeadRpc,
    FullDiskAggregator,
    FullDiskEnclave,
}

const FAULTS: [Fault; 7] = [
    Fault::KillAggregator,
    Fault::KillRelayer,
    Fault::KillEnclave,
    Fault::PauseChain,
    Fault::DeadRpc,
    Fault::FullDiskAggregator,
    Fault::FullDiskEnclave,
];

#[derive(Default)]
struct Counts {
    runs: u32,
    rounds: u32,
    reports: u32,
    faults: BTreeMap<Fault, u32>,
    restarts_after_exit: u32,
    lost_reports: u32,
    epochs: u32,
    wrong_verdicts: u32,
    superseded: u32,
    unknown_report_sets: u32,
    duplicate_epochs: u32,
    processes_left: u32,
    round_times: Vec<Duration>,
    slowest: (Duration, String),
    problems: Vec<String>,
}

impl Counts {
    fn violations(&self) -> u32 {
        self.lost_reports
            + self.wrong_verdicts
            + self.superseded
            + self.unknown_report_sets
            + self.duplicate_epochs
            + self.processes_left
    }
}

const CHAINS: usize = 3;
const INSTANCES: usize = 3;
/// How long one round may take to reach every chain, faults and restarts included.
const ROUND_DEADLINE: Duration = Duration::from_secs(90);

fn env_u64(name: &str, default: u64) -> u64 {
    let Ok(text) = std::env::var(name) else { return default };
    let text = text.trim();
    let parsed = match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => text.parse(),
    };
    parsed.unwrap_or_else(|_| panic!("{name}={text:?} is not a number"))
}

fn main() {
    let runs = env_u64("FAULT_RUNS", 1);
    let rounds = env_u64("FAULT_ROUNDS", 6);
    let seed = env_u64("FAULT_SEED", 0x5348_5246_4155_4c54);
    let started = Instant::now();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let mut counts = Counts::default();
    for run in 0..runs {
        runtime.block_on(one_run(seed.wrapping_add(run), rounds, &mut counts));
        counts.runs += 1;
    }
    let faults: u32 = counts.faults.values().sum();
    let kinds: Vec<String> = counts.faults.iter().map(|(k, v)| format!("{k:?} {v}")).collect();
    println!(
        "fault suite: {runs} run(s) of {rounds} rounds, seed {seed:#x}, {:.1?}",
        started.elapsed()
    );
    println!("  faults injected          {faults} ({})", kinds.join(", "));
    println!(
        "  processes restarted after they exited on their own: {}",
        counts.restarts_after_exit
    );
    println!("  rounds {}, reports submitted {}", counts.rounds, counts.reports);
    let mut times = counts.round_times.clone();
    times.sort();
    if !times.is_empty() {
        println!(
            "  round, first report to every chain on its answer: median {:.1?}, slowest {:.1?} ({})",
            times[times.len() / 2],
            counts.slowest.0,
            counts.slowest.1
        );
    }
    println!("  reports lost             {}", counts.lost_reports);
    println!("  epochs published         {}", counts.epochs);
    println!("  wrong verdicts           {}", counts.wrong_verdicts);
    println!("  superseded answers       {}", counts.superseded);
    println!("  unknown report sets      {}", counts.unknown_report_sets);
    println!("  duplicate epochs         {}", counts.duplicate_epochs);
    println!("  processes left           {}", counts.processes_left);
    for problem in &counts.problems {
        println!("  ! {problem}");
    }
    if counts.violations() > 0 {
        std::process::exit(1);
    }
}

/// Everything one run starts.
struct World {
    dir: PathBuf,
    devnet: Proc,
    relayer: Proc,
    enclaves: Vec<Proc>,
    aggregator: Proc,
    deployment: Deployment,
    /// The registry as reporters see it (every chain's own endpoint).
    direct: Registry,
    reporters: Vec<X25519KeyPair>,
    proxy: Proxy,
}

impl World {
    async fn start(dir: &Path) -> Self {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let config = repo.join("networks.toml");
        let d = dir.to_str().unwrap();
        let mut devnet = Proc::new(
            "devnet",
            &[
                "devnet",
                "up",
                "--config",
                config.to_str().unwrap(),
                "--state-dir",
                d,
                "--chains",
                "3",
                "--instances",
                "3",
                "--threshold",
                "2",
                "--no-relay",
            ],
            dir,
        );
        devnet.start();
        let deadline = Instant::now() + Duration::from_secs(120);
        while !devnet.log().contains("devnet ready") {
            assert!(devnet.exited().is_none(), "devnet up failed:\n{}", devnet.log());
            assert!(Instant::now() < deadline, "devnet up did not get ready:\n{}", devnet.log());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let deployment = Deployment::read(dir).unwrap();
        let registry_path = dir.join("networks.toml");
        let direct = Registry::load(&registry_path).unwrap();
        // The aggregator reaches the last spoke through a proxy that can play dead; the relayer
        // and the reporters use the chain's own endpoint.
        let spoke = &deployment.chains[CHAINS - 1];
        let target = spoke.rpc_url.trim_start_matches("http://").parse().unwrap();
        let proxy = Proxy::start(target).await;
        let text = std::fs::read_to_string(&registry_path).unwrap();
        // Its URL carries a password, as provider URLs carry keys: no log may show it.
        let with_secret = proxy.url.replace("http://", &format!("http://operator:{RPC_SECRET}@"));
        let edited = text.replace(
            &format!("rpc_url = \"{}\"", spoke.rpc_url),
            &format!("rpc_url = \"{with_secret}\""),
        );
        assert_ne!(text, edited, "the spoke's endpoint is in the registry");
        std::fs::write(&registry_path, edited).unwrap();
        let reporters = (0..CHAINS)
            .map(|i| {
                let name = &deployment.chains[i].name;
                X25519KeyPair::load(&dir.join(format!("keys/reporter-{name}.key")), "reporter")
                    .unwrap()
            })
            .collect();
        let registry = registry_path.to_str().unwrap();
        let mut relayer = Proc::new("relayer", &["devnet", "relay", "--state-dir", d], dir);
        relayer.start();
        let mut enclaves = Vec::new();
        for i in 0..INSTANCES {
            let key = dir.join(format!("keys/enclave-{i}.key"));
            let socket = dir.join(format!("enclave-{i}.sock"));
            // The first instance holds the deployment's ledger key; the others (also when
            // restarted) get it from it by evidence.
            let ledger_key = dir.join("keys/ledger.key");
            let first = dir.join("enclave-0.sock");
            let ledger = if i == 0 {
                ["--ledger-key", ledger_key.to_str().unwrap()]
            } else {
                ["--join", first.to_str().unwrap()]
            };
            let mut instance = Proc::new(
                &format!("enclave-{i}"),
                &[
                    "enclave",
                    "serve",
                    "--config",
                    registry,
                    "--key",
                    key.to_str().unwrap(),
                    "--socket",
                    socket.to_str().unwrap(),
                    ledger[0],
                    ledger[1],
                ],
                dir,
            );
            instance.start();
            enclaves.push(instance);
        }
        for (i, instance) in enclaves.iter().enumerate() {
            let socket = dir.join(format!("enclave-{i}.sock"));
            let deadline = Instant::now() + Duration::from_secs(60);
            while !socket.exists() {
                assert!(
                    Instant::now() < deadline,
                    "enclave {i} did not start:\n{}",
                    instance.log()
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        let mut aggregator = Proc::new("aggregator", &["run", "--config", registry], dir);
        aggregator.start();
        Self {
            dir: dir.to_owned(),
            devnet,
            relayer,
            enclaves,
            aggregator,
            deployment,
            direct,
            reporters,
            proxy,
        }
    }

    /// Restarts whatever exited on its own (the aggregator stops on a write it cannot make).
    fn supervise(&mut self, counts: &mut Counts) {
        for proc in std::iter::once(&mut self.aggregator)
            .chain(&mut self.enclaves)
            .chain([&mut self.relayer])
        {
            if proc.exited().is_some() {
                counts.restarts_after_exit += 1;
                proc.start();
            }
        }
        assert!(self.devnet.exited().is_none(), "the devnet died:\n{}", self.devnet.log());
    }

    /// A full disk under a state file: its next write fails (the temporary file is /dev/full).
    fn fill_disk(&self, file: &Path, pid: Option<u32>) {
        let Some(pid) = pid else { return };
        let name = file.file_name().unwrap().to_str().unwrap();
        let tmp = file.with_file_name(format!(".{name}.{pid}.tmp"));
        let _ = std::os::unix::fs::symlink("/dev/full", tmp);
    }

    async fn inject(&mut self, fault: Fault, rng: &mut Rng) {
        let pause = Duration::from_millis(rng.below(300));
        match fault {
            Fault::KillAggregator => {
                self.aggregator.kill9();
                tokio::time::sleep(pause).await;
                self.aggregator.start();
            }
            Fault::KillRelayer => {
                self.relayer.kill9();
                tokio::time::sleep(pause).await;
                self.relayer.start();
            }
            Fault::KillEnclave => {
                let i = rng.below(INSTANCES as u64) as usize;
                self.enclaves[i].kill9();
                tokio::time::sleep(pause).await;
                self.enclaves[i].start();
            }
            Fault::PauseChain => {
                let pid = self.deployment.chains[rng.below(CHAINS as u64) as usize].anvil_pid;
                let held = Duration::from_millis(200 + rng.below(1_800));
                signal(pid, libc::SIGSTOP);
                tokio::spawn(async move {
                    tokio::time::sleep(held).await;
                    signal(pid, libc::SIGCONT);
                });
            }
            Fault::DeadRpc => {
                self.proxy.set_up(false);
                tokio::time::sleep(Duration::from_millis(500 + rng.below(4_500))).await;
                self.proxy.set_up(true);
            }
            Fault::FullDiskAggregator => {
                let file = self.dir.join("aggregator/aggregator-state.json");
                self.fill_disk(&file, self.aggregator.pid());
            }
            Fault::FullDiskEnclave => {
                let i = rng.below(INSTANCES as u64) as usize;
                let file = self.dir.join(format!("enclave-{i}.state.json"));
                self.fill_disk(&file, self.enclaves[i].pid());
            }
        }
    }

    async fn submit(&self, chain: usize, seq: u64, payload: Bytes) {
        let config = &self.direct.network().unwrap().chains[chain];
        let sender = self.deployment.chains[chain].reporter.signer();
        solvency_chain_adapters::submit_report(config, sender, seq, payload)
            .await
            .unwrap_or_else(|e| panic!("submitting chain {chain}'s report {seq}: {e}"));
    }

    /// Every chain's latest attestation, once they all hold `digest` with `solvent`.
    async fn wait_round(&mut self, digest: B256, solvent: bool, counts: &mut Counts) -> bool {
        let deadline = Instant::now() + ROUND_DEADLINE;
        let chains = self.direct.network().unwrap().chains.clone();
        loop {
            self.supervise(counts);
            let readings = read_all(&chains, Backoff { attempts: 1, ..Backoff::default() }).await;
            if readings.iter().all(|r| {
                r.state
                    .as_ref()
                    .is_ok_and(|s| s.attestation.reportsDigest == digest && s.solvent == solvent)
            }) {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Stops everything and counts what is still alive.
    fn shutdown(&mut self) -> u32 {
        let mut pids: Vec<u32> = self.deployment.chains.iter().map(|c| c.anvil_pid).collect();
        for c in &self.deployment.chains {
            signal(c.anvil_pid, libc::SIGCONT);
        }
        for proc in std::iter::once(&mut self.aggregator)
            .chain(&mut self.enclaves)
            .chain([&mut self.relayer, &mut self.devnet])
        {
            pids.extend(proc.pid());
            proc.stop(Duration::from_secs(15));
        }
        let deadline = Instant::now() + Duration::from_secs(15);
        while pids.iter().any(|&p| alive(p)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        pids.iter().filter(|&&p| alive(p)).count() as u32
    }
}

fn figures(insolvent: bool) -> (u64, u64) {
    if insolvent { (0, 10_000_000_000) } else { (2_000_000_000, 1_000_000_000) }
}

async fn one_run(seed: u64, rounds: u64, counts: &mut Counts) {
    let mut rng = Rng(seed | 1);
    let dir = tempfile::Builder::new().prefix("solvency-faults-").tempdir().unwrap();
    let mut world = World::start(dir.path()).await;
    let network = world.direct.network().unwrap().clone();
    let enclave_public = network.enclave.hpke_public_key;
    // (chain, seq) -> (payload digest, reserves, liabilities)
    let mut submitted: HashMap<(usize, u64), (B256, u64, u64)> = HashMap::new();
    for seq in 1..=rounds {
        counts.rounds += 1;
        // One round in three, one chain sinks the deployment.
        let sinking = (rng.below(3) == 0).then(|| rng.below(CHAINS as u64) as usize);
        let faults: Vec<(u64, Fault)> = (0..rng.below(3))
            .map(|_| {
                (rng.below(CHAINS as u64 + 1), FAULTS[rng.below(FAULTS.len() as u64) as usize])
            })
            .collect();
        let mut used = Vec::new();
        let now = solvency_enclave_host::unix_now();
        let round_started = Instant::now();
        for moment in 0..=CHAINS as u64 {
            for (_, fault) in faults.iter().filter(|(at, _)| *at == moment) {
                *counts.faults.entry(*fault).or_default() += 1;
                world.inject(*fault, &mut rng).await;
            }
            let Some(chain) = (moment < CHAINS as u64).then_some(moment as usize) else { break };
            let (held, owed) = figures(sinking == Some(chain));
            let report = ReportV1::new(
                network.chains[chain].selector,
                seq,
                now,
                vec![Position::new("USDC", U256::from(held), U256::from(owed))],
            );
            let payload = seal_report(
                &report,
                &world.direct.deployment_id,
                &world.reporters[chain],
                &enclave_public,
            )
            .unwrap();
            submitted.insert((chain, seq), (keccak256(&payload), held, owed));
            used.push((network.chains[chain].selector, seq, keccak256(&payload)));
            world.submit(chain, seq, payload).await;
            counts.reports += 1;
        }
        used.sort_by_key(|(selector, ..)| *selector);
        let digest = reports_digest(&used);
        let landed = world.wait_round(digest, sinking.is_none(), counts).await;
        let took = round_started.elapsed();
        counts.round_times.push(took);
        if took > counts.slowest.0 {
            counts.slowest = (took, format!("seed {seed:#x} round {seq}, faults {faults:?}"));
        }
        if !landed {
            counts.lost_reports += CHAINS as u32;
            counts.problems.push(format!(
                "seed {seed:#x} round {seq}: not on every chain within {ROUND_DEADLINE:?}; aggregator log tail:\n{}",
                tail(&world.aggregator.log(), 40)
            ));
            break;
        }
    }
    check_history(&world, &network, &submitted, rounds, seed, counts).await;
    // No process wrote the spoke endpoint's password, whatever failed.
    for entry in std::fs::read_dir(dir.path()).unwrap().flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "log")
            && std::fs::read_to_string(&path).unwrap_or_default().contains(RPC_SECRET)
        {
            counts
                .problems
                .push(format!("seed {seed:#x}: {} shows an RPC URL's secret", path.display()));
        }
    }
    counts.processes_left += world.shutdown();
    if std::env::var_os("FAULT_KEEP").is_some() {
        println!("  kept {}", dir.keep().display());
    }
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Every accepted epoch on every chain: judged on submitted reports, the right verdict, never
/// older reports than an earlier epoch, never twice.
async fn check_history(
    world: &World,
    network: &solvency_registry::Network,
    submitted: &HashMap<(usize, u64), (B256, u64, u64)>,
    rounds: u64,
    seed: u64,
    counts: &mut Counts,
) {
    // Every report set the enclave could have judged on: one seq per chain.
    let mut sets: HashMap<B256, Vec<u64>> = HashMap::new();
    let mut combo = vec![1u64; CHAINS];
    loop {
        let mut used: Vec<(u64, u64, B256)> = Vec::new();
        let mut complete = true;
        for (chain, &seq) in combo.iter().enumerate() {
            match submitted.get(&(chain, seq)) {
                Some((digest, ..)) => used.push((network.chains[chain].selector, seq, *digest)),
                None => complete = false,
            }
        }
        if complete {
            used.sort_by_key(|(selector, ..)| *selector);
            sets.insert(reports_digest(&used), combo.clone());
        }
        let mut i = 0;
        while i < CHAINS {
            combo[i] += 1;
            if combo[i] <= rounds {
                break;
            }
            combo[i] = 1;
            i += 1;
        }
        if i == CHAINS {
            break;
        }
    }
    let mut previous: Option<Vec<u64>> = None;
    for (index, chain) in world.deployment.chains.iter().enumerate() {
        let provider = rpc::connect_str(&chain.rpc_url).unwrap();
        let filter = Filter::new()
            .address(chain.oracle())
            .event_signature(SolvencyOracleBase::AttestationAccepted::SIGNATURE_HASH)
            .from_block(0);
        let logs = provider.get_logs(&filter).await.unwrap();
        let mut epochs = Vec::new();
        for log in &logs {
            let event =
                log.log_decode::<SolvencyOracleBase::AttestationAccepted>().unwrap().inner.data;
            if epochs.contains(&event.epoch)
                || epochs.last().is_some_and(|&last| last > event.epoch)
            {
                counts.duplicate_epochs += 1;
                counts.problems.push(format!(
                    "seed {seed:#x}: {} accepted epoch {} again or out of order",
                    chain.name, event.epoch
                ));
            }
            epochs.push(event.epoch);
            if index != 0 {
                continue;
            }
            // On the hub: what was this epoch judged on?
            counts.epochs += 1;
            let block = log.block_number.unwrap();
            let stored = SolvencyOracleBase::new(chain.oracle(), &provider)
                .latestAttestation()
                .block(block.into())
                .call()
                .await
                .unwrap();
            assert_eq!(stored.epoch, event.epoch);
            let Some(seqs) = sets.get(&stored.reportsDigest) else {
                counts.unknown_report_sets += 1;
                counts.problems.push(format!(
                    "seed {seed:#x}: epoch {} was judged on reports nobody submitted",
                    event.epoch
                ));
                continue;
            };
            let (held, owed) =
                seqs.iter().enumerate().fold((0u64, 0u64), |(h, o), (chain, seq)| {
                    let (_, held, owed) = submitted[&(chain, *seq)];
                    (h + held, o + owed)
                });
            if event.solvent != (held >= owed) {
                counts.wrong_verdicts += 1;
                counts.problems.push(format!(
                    "seed {seed:#x}: epoch {} says solvent = {} on reports {seqs:?}",
                    event.epoch, event.solvent
                ));
            }
            if let Some(before) = &previous
                && before.iter().zip(seqs).any(|(b, s)| s < b)
            {
                counts.superseded += 1;
                counts.problems.push(format!(
                    "seed {seed:#x}: epoch {} went back from reports {before:?} to {seqs:?}",
                    event.epoch
                ));
            }
            previous = Some(seqs.clone());
        }
    }
}
