//! Conditions an operator must act on. Each is a log line when it starts (WARN or ERROR) and
//! when it clears (INFO), a metric (`solvency_alert{alert="…"}`), and an exit code of
//! `solvency status --check`:
//!
//! | exit | alert | when |
//! |---|---|---|
//! | 0 | — | nothing to act on |
//! | 2 | `chain_unreachable` | a chain's RPC endpoint or oracle cannot be read |
//! | 3 | `not_solvent` | a chain's `isSolvent()` is false (insolvent, stale or never attested) |
//! | 4 | `policy_mismatch` | a chain's policy digest is not the registry's (its attestations are refused) |
//! | 5 | `chain_silent` | a required chain's latest report is older than `max_report_age_secs` |
//! | 6 | `publish_failing` | the aggregator's last publish attempt failed (aggregator only) |
//! | 7 | `signer_expiring` | within a day, fewer than k registered signers would remain |
//! | 8 | `fees_low` | the hub's balance pays for fewer rounds than the limit |
//! | 9 | `delivery_late` | an attestation has not reached a spoke within `delivery_timeout_secs` |
//!
//! With several, the exit code is the lowest (the most urgent). 1 stays "the command failed".

use super::model::{Alert, Status};

/// What the alerts compare against.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// A required chain silent longer than this is an alert (the policy's report age).
    pub max_report_age: u64,
    /// The hub's balance must pay for at least this many rounds.
    pub min_fee_rounds: u64,
    /// Signers must stay registered at least this long (a day).
    pub signer_horizon: u64,
}

/// Every alert's name and exit code, in order of urgency.
pub const CODES: [(&str, u8); 8] = [
    ("chain_unreachable", 2),
    ("not_solvent", 3),
    ("policy_mismatch", 4),
    ("chain_silent", 5),
    ("publish_failing", 6),
    ("signer_expiring", 7),
    ("fees_low", 8),
    ("delivery_late", 9),
];

/// The exit code for a set of alerts (0 when empty).
pub fn exit_code(alerts: &[Alert]) -> u8 {
    CODES
        .iter()
        .find(|(name, _)| alerts.iter().any(|a| a.alert == *name))
        .map_or(0, |(_, code)| *code)
}

/// The alerts a status calls for.
pub fn evaluate(status: &Status, limits: Limits) -> Vec<Alert> {
    let mut alerts = Vec::new();
    let mut push = |alert, severity, subject: &str, message: String| {
        alerts.push(Alert { alert, severity, subject: subject.to_owned(), message })
    };
    for chain in &status.chains {
        if !chain.reachable {
            push(
                "chain_unreachable",
                "error",
                &chain.name,
                format!(
                    "{} cannot be read ({}): check its RPC endpoint",
                    chain.name,
                    chain.error.as_deref().unwrap_or("unknown")
                ),
            );
            continue;
        }
        if !chain.is_solvent {
            let why = if chain.epoch == 0 {
                "no attestation yet"
            } else if chain.stale {
                "its attestation expired: no newer one arrived"
            } else {
                "the latest attestation says not solvent"
            };
            push(
                "not_solvent",
                "error",
                &chain.name,
                format!("{} reads isSolvent() == false: {why}", chain.name),
            );
        }
        if !chain.policy_digest_matches {
            push(
                "policy_mismatch",
                "error",
                &chain.name,
                format!(
                    "{}'s policy digest is not the registry's: its owner must setPolicyDigest to `solvency attestation policy-digest`, or the registry is not the deployment's",
                    chain.name
                ),
            );
        }
        if chain.required {
            match &chain.last_report {
                None => push(
                    "chain_silent",
                    "error",
                    &chain.name,
                    format!("no report from required chain {} seen", chain.name),
                ),
                Some(report) if report.age_secs > limits.max_report_age => push(
                    "chain_silent",
                    "error",
                    &chain.name,
                    format!(
                        "required chain {} last reported {} s ago (seq {}), more than {} s: no attestation until it reports",
                        chain.name, report.age_secs, report.seq, limits.max_report_age
                    ),
                ),
                Some(_) => {}
            }
        }
        if let Some(delivery) = &chain.delivery
            && delivery.state == "late"
        {
            push(
                "delivery_late",
                "warning",
                &chain.name,
                format!(
                    "epoch {} has not reached {} yet (sent at {})",
                    delivery.epoch, chain.name, delivery.sent_at
                ),
            );
        }
    }
    if let Some(aggregator) = &status.aggregator
        && let Some(error) = &aggregator.last_publish_error
    {
        push("publish_failing", "error", "aggregator", format!("publishing fails: {error}"));
    }
    let signers = &status.signers;
    if !signers.signers.is_empty() {
        let lasting =
            signers.signers.iter().filter(|s| s.expires_in_secs > limits.signer_horizon).count();
        if lasting < usize::from(signers.threshold) {
            let expiring: Vec<String> = signers
                .signers
                .iter()
                .filter(|s| s.expires_in_secs <= limits.signer_horizon)
                .map(|s| format!("{} in {} s", s.address, s.expires_in_secs))
                .collect();
            push(
                "signer_expiring",
                "warning",
                "signers",
                format!(
                    "within a day only {lasting} signer(s) stay registered, {} needed: renew with `solvency enclave register` ({})",
                    signers.threshold,
                    expiring.join(", ")
                ),
            );
        }
    }
    if let Some(rounds) = status.hub.rounds_left
        && rounds < limits.min_fee_rounds
    {
        push(
            "fees_low",
            "warning",
            "hub",
            format!(
                "the hub's balance ({} wei) pays for {rounds} more rounds, fewer than {}: fund it by sending native currency to the hub",
                status.hub.fee_balance_wei, limits.min_fee_rounds
            ),
        );
    }
    alerts
}
