//! `solvency enclave serve` as a separate process: it answers on its socket, keeps keys, ledger
//! and epochs sealed across a restart, refuses state sealed by other code, and owns its state
//! and socket alone; a second instance gets the ledger key by evidence of listed code, and
//! other code is refused.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use alloy::primitives::{B256, U256};
use solvency_enclave::{DeliveredReport, Position, ReportV1, X25519KeyPair, seal_report};
use solvency_enclave_host::{EnclaveClient, Refusal};

/// A child process stopped (SIGTERM, then SIGKILL) when dropped, also when a test panics.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        // SAFETY: signalling our own child.
        unsafe { libc_kill(self.0.id()) };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

unsafe fn libc_kill(pid: u32) {
    unsafe extern "C" {
        fn kill(pid: i32, sig: i32) -> i32;
    }
    // SIGTERM
    unsafe { kill(pid as i32, 15) };
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

fn run(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_solvency")).args(args).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn serve_command(binary: &Path, dir: &Path, socket: &str) -> Command {
    let mut command = Command::new(binary);
    command
        .args(["enclave", "serve", "--config"])
        .arg(dir.join("networks.toml"))
        .arg("--socket")
        .arg(dir.join(socket))
        .arg("--state")
        .arg(dir.join("e.sealed"))
        .arg("--sealing-key")
        .arg(dir.join("sealing.key"));
    command
}

fn serve(binary: &Path, dir: &Path, with_key: bool) -> Process {
    let mut command = serve_command(binary, dir, "e.sock");
    command.stdout(Stdio::null()).stderr(Stdio::null());
    if with_key {
        command.arg("--key").arg(dir.join("enclave.key"));
    }
    let process = Process(command.spawn().unwrap());
    let deadline = Instant::now() + Duration::from_secs(30);
    while !dir.join("e.sock").exists() {
        assert!(Instant::now() < deadline, "the enclave did not start");
        std::thread::sleep(Duration::from_millis(10));
    }
    process
}

fn setup(dir: &Path) -> (String, X25519KeyPair) {
    let keys = dir.to_str().unwrap();
    let generated = run(&["keys", "generate", "--out", keys, "--chain", "alpha"]);
    run(&["keys", "sealing", "--out", &format!("{keys}/sealing.key")]);
    let field = |name: &str| {
        generated.lines().find_map(|l| l.trim().strip_prefix(name)).unwrap().trim().to_owned()
    };
    let reporter = X25519KeyPair::load(&dir.join("reporter-alpha.key"), "reporter").unwrap();
    let treasury = X25519KeyPair::load(&dir.join("treasury-alpha.key"), "treasury").unwrap();
    let signer = field("signer");
    std::fs::write(
        dir.join("networks.toml"),
        format!(
            r#"deployment_id = "serve-test"
[enclave]
hpke_public_key = "{}"
signers = ["{signer}"]

[[chains]]
name = "alpha"
chain_id = 7001
selector = 7
rpc_url = "http://127.0.0.1:1"
router = "0x0000000000000000000000000000000000000001"
hub = "0x0000000000000000000000000000000000000002"
reporter_public_key = "{}"
treasury_public_key = "{}"
assets = [{{ symbol = "USDC", decimals = 6, price_usd = "1" }}]
"#,
            field("hpke_public_key"),
            reporter.public(),
            treasury.public()
        ),
    )
    .unwrap();
    (signer, reporter)
}

#[tokio::test]
async fn a_served_instance_resumes_from_sealed_state_and_other_code_cannot() {
    let dir = tempfile::tempdir().unwrap();
    let (signer, reporter) = setup(dir.path());
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_solvency"));

    let first = serve(&binary, dir.path(), true);
    let client = EnclaveClient::remote(dir.path().join("e.sock"));
    let public = client.public().await.unwrap();
    assert_eq!(public.signer.to_string(), signer);
    let report =
        ReportV1::new(7, 1, now(), vec![Position::new("USDC", U256::from(9u64), U256::from(1u64))]);
    let deployment = alloy::primitives::keccak256("serve-test");
    let payload = seal_report(&report, &deployment, &reporter, &public.hpke_public_key).unwrap();
    let delivered = DeliveredReport {
        head: Default::default(),
        message_id: B256::repeat_byte(1),
        source_chain_selector: 7,
        seq: 1,
        payload,
    };
    let accepted = client.ingest(delivered, now()).await.unwrap();
    assert_eq!((accepted.seq, accepted.again), (1, false));
    let signed = client.attest(now(), 1, alloy::primitives::B256::ZERO).await.unwrap();
    assert_eq!(signed.attestation.epoch, 1);

    // A second instance on the same state is refused while the first runs.
    let out = serve_command(&binary, dir.path(), "other.sock")
        .arg("--key")
        .arg(dir.path().join("enclave.key"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("in use by another process"), "{err}");
    drop(first);
    assert!(dir.path().join("e.sealed").exists());

    // Restarted without its key file: keys, ledger and epochs come back from the sealed state.
    let second = serve(&binary, dir.path(), false);
    let client = EnclaveClient::remote(dir.path().join("e.sock"));
    assert_eq!(client.public().await.unwrap(), public);
    assert!(client.readiness(now()).await.is_ok(), "the ledger survived");
    // Epoch 1 was signed before the restart: asked again, the instance hands out that very
    // statement, never a second one for the same epoch; the next epoch is 2.
    assert_eq!(client.attest(now(), 1, alloy::primitives::B256::ZERO).await.unwrap(), signed);
    assert_eq!(
        client.attest(now(), 2, alloy::primitives::B256::ZERO).await.unwrap().attestation.epoch,
        2
    );
    let err = client.attest(now(), 2, alloy::primitives::B256::ZERO).await;
    assert!(
        matches!(
            err.as_ref().map_err(|e| e.refusal()),
            Ok(_) | Err(Some(Refusal::EpochUsed { .. }))
        ),
        "{err:?}"
    );
    drop(second);

    // Another build (another measurement) may not read it.
    let other = other_build(&binary, dir.path());
    let out = serve_command(&other, dir.path(), "e.sock").output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("sealed by code with measurement"), "{err}");
}

/// The same program with one byte more: another build, so another measurement.
fn other_build(binary: &Path, dir: &Path) -> PathBuf {
    let other = dir.join("solvency-other");
    let mut bytes = std::fs::read(binary).unwrap();
    bytes.push(0);
    std::fs::write(&other, bytes).unwrap();
    std::fs::set_permissions(&other, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    other
}

/// `enclave serve` of `binary` on `socket` with its own state file, and `extra` arguments.
fn instance(binary: &Path, dir: &Path, socket: &str, extra: &[&std::ffi::OsStr]) -> Command {
    let mut command = Command::new(binary);
    command
        .args(["enclave", "serve", "--config"])
        .arg(dir.join("networks.toml"))
        .arg("--key")
        .arg(dir.join("enclave.key"))
        .arg("--socket")
        .arg(dir.join(socket))
        .arg("--state")
        .arg(dir.join(format!("{socket}.state.json")))
        .args(extra);
    command
}

fn wait_for(path: &Path, process: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !path.exists() {
        assert!(process.try_wait().unwrap().is_none(), "the instance exited");
        assert!(Instant::now() < deadline, "the instance did not start");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[tokio::test]
async fn a_second_instance_joins_by_evidence_of_listed_code_and_other_code_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    setup(dir);
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_solvency"));
    let ledger = X25519KeyPair::load(&dir.join("ledger.key"), "ledger").unwrap();
    let measurement = solvency_enclave::attestor::measure_file(&binary).unwrap();
    let mut registry = std::fs::read_to_string(dir.join("networks.toml")).unwrap();
    registry.push_str(&format!(
        "\n[enclave.evidence]\nallow_dev = true\n\n[enclave.ledger]\npublic_key = \"{}\"\nmeasurements = [\"{measurement}\"]\n",
        ledger.public()
    ));
    std::fs::write(dir.join("networks.toml"), registry).unwrap();

    // Neither the key nor a holder to ask: refused at start, saying what to give.
    let out = instance(&binary, dir, "lone.sock", &[]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--ledger-key") && err.contains("--join"), "{err}");

    // The joiner may start first: it waits for the holder to answer.
    let holder_socket = dir.join("a.sock");
    let join = [std::ffi::OsStr::new("--join"), holder_socket.as_os_str()];
    let mut joiner =
        Process(instance(&binary, dir, "b.sock", &join).stderr(Stdio::null()).spawn().unwrap());
    let key_file = dir.join("ledger.key");
    let mut holder = Process(
        instance(
            &binary,
            dir,
            "a.sock",
            &[std::ffi::OsStr::new("--ledger-key"), key_file.as_os_str()],
        )
        .stderr(Stdio::null())
        .spawn()
        .unwrap(),
    );
    wait_for(&holder_socket, &mut holder.0);
    wait_for(&dir.join("b.sock"), &mut joiner.0);
    // It holds the ledger key: asked to attest, it lacks reports — not the key.
    for socket in ["a.sock", "b.sock"] {
        let refused = EnclaveClient::remote(dir.join(socket)).attest(now(), 1, B256::ZERO).await;
        let refusal = refused.as_ref().err().and_then(|e| e.refusal());
        assert!(matches!(refusal, Some(Refusal::NotReady { .. })), "{socket}: {refused:?}");
    }

    // Other code is refused by the holder, and says why.
    let other = other_build(&binary, dir);
    let out = instance(&other, dir, "c.sock", &join).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("measurement") && err.contains("does not list"), "{err}");
    assert!(!dir.join("c.sock").exists());
}
