//! Nothing leaks: a whole `solvency demo` run at `RUST_LOG=trace` writes none of the reserve or
//! liability figures, in any unit or format, to stdout, stderr or its state directory.

#[path = "support/leak.rs"]
mod leak;

use std::{path::Path, process::Command};

use alloy::primitives::U256;
use leak::{find_leaks, scan_dir};
use solvency_aggregator::cli::demo::{FALLEN, HEALTHY};

#[test]
fn a_trace_level_demo_run_writes_no_figure_anywhere() {
    let state = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_solvency"))
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
        .args(["demo", "--state-dir"])
        .arg(state.path())
        .env("RUST_LOG", "trace")
        .output()
        .expect("the demo runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the demo failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("ok: every chain showed the expected value at every step"));
    // The run really was at trace level, and really left state behind: the check has teeth.
    assert!(
        output.stderr.len() > 100_000,
        "expected a trace-level log, got {} bytes",
        output.stderr.len()
    );

    assert!(!output.stderr.contains(&0x1b), "a log written to a file carries no colour codes");
    let mut leaks = Vec::new();
    find_leaks(&output.stdout, "stdout", &mut leaks);
    find_leaks(&output.stderr, "stderr", &mut leaks);
    let mut files = 0;
    scan_dir(state.path(), &mut leaks, &mut files);
    assert!(files >= 5, "the state directory holds the run's files ({files})");
    assert!(leaks.is_empty(), "figures leaked:\n{}", leaks.join("\n"));
}

#[test]
fn the_leak_check_finds_a_figure_when_there_is_one() {
    let units = U256::from(HEALTHY.0) * U256::from(10u64.pow(6));
    let weth = U256::from(FALLEN.2) * U256::from(10u64).pow(U256::from(18));
    for (probe, should_find) in [
        (format!("reserves={units}"), true),
        (format!("calldata 0xabcd{:064x}ef01", weth), true),
        (format!("amount: 0x{units:x}"), true),
        (format!("total {}", "271,828,182"), true),
        (format!("{{\"liabilities\":{}}}", HEALTHY.1), true),
        // Right after a colour code, as a terminal log would write it.
        (format!("\x1b[2mreserves\x1b[0m{}\x1b[0m", HEALTHY.1), true),
        (format!("\x1b[0m{units}"), true),
        // The digits of a figure inside a hash are not a figure.
        (format!("0xdeadbeef{}cafe", HEALTHY.1), false),
        (format!("block 9{}", HEALTHY.3), false),
    ] {
        let mut leaks = Vec::new();
        find_leaks(probe.as_bytes(), "probe", &mut leaks);
        assert_eq!(!leaks.is_empty(), should_find, "{probe}: {leaks:?}");
    }
}
