//! The search for figures, shared by the leak tests: every form in which the demo's reserve and
//! liability figures could be written, looked for in logs, files and HTTP responses.

#![allow(dead_code)] // each test file uses part of it

use std::path::Path;

use alloy::primitives::U256;
use solvency_aggregator::cli::demo::{FALLEN, HEALTHY, LOCAL, STEADY};

/// Every way a figure could be written: smallest units in decimal and hex (plain, 0x, upper
/// case, 32-byte ABI words), and whole units with and without digit grouping.
pub(crate) fn forms() -> Vec<(String, String)> {
    let mut forms = Vec::new();
    let scales = [("USDC", 6u32), ("WETH", 18u32)];
    for figures in [HEALTHY, FALLEN, STEADY, LOCAL] {
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
pub(crate) fn find_leaks(haystack: &[u8], where_: &str, leaks: &mut Vec<String>) {
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
pub(crate) fn strip_ansi(text: &str) -> String {
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

pub(crate) fn scan_dir(dir: &Path, leaks: &mut Vec<String>, files: &mut usize) {
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
