//! The README runs as printed: every `sh` block, in order, in one shell, from a directory laid
//! out like the repository's root, with `solvency` on the PATH. A block is left out only when the
//! line before it says `<!-- readme-test: skip (why) -->`.

use std::{
    os::unix::process::CommandExt,
    path::Path,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

/// Longer than every block together needs; it bounds a hang.
const DEADLINE: Duration = Duration::from_secs(600);

/// The `sh` blocks of a Markdown text, without those marked to skip.
fn blocks(markdown: &str) -> (Vec<String>, usize) {
    let mut run = Vec::new();
    let mut skipped = 0;
    let mut previous = "";
    let mut lines = markdown.lines();
    while let Some(line) = lines.next() {
        if line.trim() == "```sh" {
            let body: Vec<&str> = lines.by_ref().take_while(|l| l.trim() != "```").collect();
            if previous.trim().starts_with("<!-- readme-test: skip") {
                skipped += 1;
            } else {
                run.push(body.join("\n"));
            }
        }
        if !line.trim().is_empty() {
            previous = line;
        }
    }
    (run, skipped)
}

#[test]
fn every_block_of_the_readme_runs_as_printed() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let readme = std::fs::read_to_string(repo.join("README.md")).unwrap();
    let (run, skipped) = blocks(&readme);
    assert!(run.len() >= 8, "the README has its blocks ({} run, {skipped} skipped)", run.len());

    // A directory laid out like the clone's root, for the files the blocks name.
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(repo.join("networks.toml"), dir.path().join("networks.toml")).unwrap();
    let sample = "enclave/tests/data/nitro-sample-attestation.bin";
    std::fs::create_dir_all(dir.path().join("enclave/tests/data")).unwrap();
    std::fs::copy(repo.join(sample), dir.path().join(sample)).unwrap();

    let binary = Path::new(env!("CARGO_BIN_EXE_solvency"));
    let path = format!(
        "{}:{}",
        binary.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    // On any failure, stop what the blocks started in the background.
    let script = format!(
        "set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null || true; solvency devnet down --state-dir .devnet 2>/dev/null || true' EXIT\n{}\n",
        run.join("\n")
    );
    let mut child = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(dir.path())
        .env("PATH", path)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > DEADLINE {
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    if status.is_none() {
        // SAFETY: the shell's own process group, started above.
        unsafe { libc::killpg(child.id() as i32, libc::SIGKILL) };
    }
    let output = child.wait_with_output().unwrap();
    // Whatever happened, no devnet outlives the test.
    let _ = Command::new(binary)
        .args(["devnet", "down", "--state-dir"])
        .arg(dir.path().join(".devnet"))
        .output();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        status.is_some_and(|s| s.success()),
        "the README's blocks failed ({status:?}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    // What the README promises a reader sees.
    assert!(stdout.contains("devnet-1  true         1"), "{stdout}");
    assert!(stdout.contains("devnet-3  false        2"), "{stdout}");
    assert!(stdout.contains("new HPKE public key"), "{stdout}");
}
