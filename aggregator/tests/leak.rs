//! Nothing leaks: a whole `solvency demo` run at `RUST_LOG=trace` writes none of the reserve or
//! liability figures, in any unit or format, to stdout, stderr or its state directory.

use std::{path::Path, process::Command};

use alloy::primitives::U256;
use solvency_aggregator::cli::demo::{FALLEN, HEALTHY};

/// Every way a figure could be written: smallest units in decimal and hex (plain, 0x, upper
/// case, 32-byte ABI words), and whole units with and without digit grouping.
fn forms() -> Vec<(String, String)> {
    let mut forms = Vec::new();
    let scales = [("USDC", 6u32), ("WETH", 18u32)];
    for figures in [HEALTHY, FALLEN] {
        let amounts = [(figures.0, 0), (figures.1, 0), (figures.2, 1), (figures.3, 1)];
        for (whole, asset) in amounts {
            let (symbol, decimals) = scales[asset];
            let units = U256::from(whole) * U256::from(10u64).pow(U256::from(decimals));
            let label = format!("{whole} {symbol}");
            let digits = whole.to_string();
            let grouped: Vec<&str> = digits
                .as_bytes()
                .rchunks(3)
                .rev()
                .map(|c| std::str::from_utf8(c).unwrap())
                .collect();
            for form in [
                units.to_string(),
                format!("{units:x}"),
                format!("{units:X}"),
                format!("{:064x}", units),
                whole.to_string(),
                grouped.join(","),
                grouped.join("_"),
                format!("{whole}.0"),
            ] {
                forms.push((form, label.clone()));
            }
        }
    }
    forms
}

/// Forms of 16 characters or more are looked for anywhere (a 64-digit ABI word inside calldata
/// is a leak). Shorter ones only as a token of their own — not inside a longer run of letters and
/// digits, a `0x` prefix allowed — so that a random hash that happens to contain the digits of a
/// figure is not taken for one.
fn find_leaks(haystack: &[u8], where_: &str, leaks: &mut Vec<String>) {
    let text = strip_ansi(&String::from_utf8_lossy(haystack)).to_lowercase();
    let bytes = text.as_bytes();
    for (form, label) in forms() {
        let form_lower = form.to_lowercase();
        let found = text.match_indices(&form_lower).any(|(at, _)| {
            if form_lower.len() >= 16 {
                return true;
            }
            let end = at + form_lower.len();
            let before_ok = at == 0
                || !bytes[at - 1].is_ascii_alphanumeric()
                || (at >= 2
                    && &bytes[at - 2..at] == b"0x"
                    && (at == 2 || !bytes[at - 3].is_ascii_alphanumeric()));
            let after_ok = end == bytes.len() || !bytes[end].is_ascii_alphanumeric();
            before_ok && after_ok
        });
        if found {
            leaks.push(format!("{where_}: {label} written as {form}"));
        }
    }
}

/// Removes terminal escape sequences (`ESC [ … letter`): a figure right after a colour code
/// must still be seen as a token of its own.
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            if chars.peek() == Some(&'[') {
                chars.next();
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
            // A sequence is replaced by a space, which separates tokens as the terminal would.
            out.push(' ');
            continue;
        }
        out.push(c);
    }
    out
}

fn scan_dir(dir: &Path, leaks: &mut Vec<String>, files: &mut usize) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            scan_dir(&path, leaks, files);
        } else {
            *files += 1;
            find_leaks(&std::fs::read(&path).unwrap(), &path.display().to_string(), leaks);
        }
    }
}

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
