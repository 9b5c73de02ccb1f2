//! The offline commands, run as a user would: keys, sealing, opening, digests, config errors.

use std::process::{Command, Output};

fn solvency(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_solvency"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .expect("solvency runs")
}

fn stdout(output: &Output) -> String {
    assert!(output.status.success(), "failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn field<'a>(text: &'a str, prefix: &str) -> &'a str {
    text.lines()
        .find_map(|l| l.trim().strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no {prefix:?} in {text}"))
        .trim()
}

#[test]
fn keys_seal_and_open_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().to_str().unwrap();
    let generated = stdout(&solvency(&["keys", "generate", "--out", keys, "--chain", "alpha"]));
    let enclave_public = field(&generated, "hpke_public_key");
    let reporter_public = generated
        .lines()
        .find(|l| l.starts_with("alpha:"))
        .unwrap()
        .split_whitespace()
        .nth(2)
        .unwrap()
        .to_owned();
    let reporter_key = format!("{keys}/reporter-alpha.key");

    let sealed = stdout(&solvency(&[
        "report",
        "seal",
        "--enclave-public-key",
        enclave_public,
        "--key",
        &reporter_key,
        "--deployment-id",
        "cli-test",
        "--chain-selector",
        "42",
        "--seq",
        "7",
        "--observed-at",
        "1750000000",
        "--position",
        "USDC=2500000000:1000000000",
    ]));
    let payload = field(&sealed, "payload:");
    assert_eq!(field(&sealed, "enc:").len(), 2 + 64);
    assert!(!sealed.contains("2500000000"), "sealing prints no figure");

    let opened = solvency(&[
        "enclave",
        "open",
        "--key",
        &format!("{keys}/enclave.key"),
        "--reporter-public-key",
        &reporter_public,
        "--deployment-id",
        "cli-test",
        "--payload",
        payload,
    ]);
    assert!(String::from_utf8_lossy(&opened.stderr).contains("DEV ONLY"));
    let opened = stdout(&opened);
    assert!(opened.contains("chain selector 42") && opened.contains("seq 7"), "{opened}");
    assert!(opened.contains("2500000000") && opened.contains("1000000000"), "{opened}");

    // Another deployment id, or another reporter key: it does not open.
    let wrong = solvency(&[
        "enclave",
        "open",
        "--key",
        &format!("{keys}/enclave.key"),
        "--reporter-public-key",
        &reporter_public,
        "--deployment-id",
        "another",
        "--payload",
        payload,
    ]);
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("HPKE open failed"));
}

#[test]
fn attestation_digest_of_json() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.json");
    let attestation = solvency_enclave::SolvencyAttestation {
        epoch: 3,
        solvent: true,
        validUntil: 99,
        ..Default::default()
    };
    std::fs::write(&path, serde_json::to_string(&attestation).unwrap()).unwrap();
    let out = stdout(&solvency(&["attestation", "digest", path.to_str().unwrap()]));
    assert_eq!(out.trim(), attestation.digest().to_string());
    std::fs::write(&path, "{\"epoch\": 3}").unwrap();
    let bad = solvency(&["attestation", "digest", path.to_str().unwrap()]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("expected JSON with deploymentId"));
}

#[test]
fn a_broken_config_names_the_key_and_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("networks.toml");
    std::fs::write(&path, "deployment_id = \"${SOLVENCY_TEST_UNSET_VAR}\"").unwrap();
    let out = solvency(&["status", "--config", path.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("deployment_id: ${SOLVENCY_TEST_UNSET_VAR} is not set — export it"),
        "{err}"
    );
    std::fs::write(&path, "deployment_id = \"x\"").unwrap();
    let out = solvency(&["status", "--config", path.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("registers no [[chains]]"));
}

#[test]
fn out_of_range_counts_are_refused_before_anything_starts() {
    for (command, expected) in [
        (&["demo", "--chains", "500"][..], "--chains: 500 is outside 1..=100"),
        (&["devnet", "up", "--chains", "500"], "--chains: 500 is outside 1..=100"),
        (&["devnet", "up", "--chains", "0"], "--chains: 0 is outside 1..=100"),
        (&["devnet", "up", "--threshold", "0"], "--threshold 0: needs 1 <= k <= 1"),
        (
            &["devnet", "up", "--instances", "2", "--threshold", "3"],
            "--threshold 3: needs 1 <= k <= 2",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let mut args = command.to_vec();
        args.extend(["--config", "../networks.toml"]);
        let state = dir.path().join("state");
        if command[0] == "devnet" {
            args.extend(["--state-dir", state.to_str().unwrap()]);
        }
        let out = solvency(&args);
        assert_eq!(out.status.code(), Some(1), "{command:?} exits with an error, not a panic");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expected), "{command:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
        assert!(!state.exists(), "{command:?} created nothing");
    }
}

#[test]
fn a_closed_output_pipe_ends_the_command_quietly() {
    use std::os::unix::process::ExitStatusExt;
    let mut child = Command::new(env!("CARGO_BIN_EXE_solvency"))
        .arg("--help")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The reader goes away before anything is written, as `solvency … | head -0` would.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert!(out.status.success() || out.status.signal() == Some(13), "{:?}", out.status);
}

#[test]
fn a_placeholder_key_says_what_a_key_looks_like() {
    let out = solvency(&[
        "report",
        "submit",
        "--config",
        "x.toml",
        "--chain",
        "a",
        "--key",
        "k",
        "--account-key",
        "0x…",
        "--position",
        "USDC=1:1",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("expected a secp256k1 secret key: 0x followed by 64 hex digits"), "{err}");
}

#[test]
fn a_keystore_opens_with_its_password_only_and_says_so_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("publisher.json");
    let path = file.to_str().unwrap();
    let key = "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318";
    let with = |password: Option<&str>, args: &[&str]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_solvency"));
        command
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(args)
            .env("THE_KEY", key)
            .env_remove("SOLVENCY_KEYSTORE_PASSWORD")
            .env_remove("SOLVENCY_KEYSTORE_PASSWORD_FILE");
        if let Some(password) = password {
            command.env("SOLVENCY_KEYSTORE_PASSWORD", password);
        }
        command.output().unwrap()
    };
    // The key's address (the devnet's well-known first test key).
    let address = "0x2c7536E3605D9C16a7a3D7b1898e529396a65c23";
    let made =
        with(Some("right horse"), &["keys", "keystore", "--out", path, "--from-env", "THE_KEY"]);
    assert_eq!(stdout(&made).trim(), address);
    let stored = std::fs::read_to_string(&file).unwrap();
    assert!(!stored.contains(&key[2..]), "the key is stored encrypted");
    let opened = with(Some("right horse"), &["keys", "address", "--keystore", path]);
    assert_eq!(stdout(&opened).trim(), address);

    // A wrong password, or none: refused, saying what to do, never echoing a secret.
    for (password, says) in
        [(Some("wrong horse"), "wrong password"), (None, "SOLVENCY_KEYSTORE_PASSWORD")]
    {
        for args in [
            &["keys", "address", "--keystore", path][..],
            &["run", "--config", "../networks.toml", "--publisher-keystore", path][..],
        ] {
            let out = with(password, args);
            assert!(!out.status.success(), "{args:?}");
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(err.contains(says), "{args:?}: {err}");
            assert!(!err.contains("horse") && !err.contains(&key[2..]), "{err}");
        }
    }
    // Never overwritten.
    let again = with(Some("right horse"), &["keys", "keystore", "--out", path]);
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
}
