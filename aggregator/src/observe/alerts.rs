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

#[cfg(test)]
mod tests {
    use alloy::primitives::Address;

    use super::*;
    use crate::observe::model::{
        AggregatorStatus, ChainStatus, Delivery, HubFees, LastReport, SignerStatus, Signers,
    };

    const LIMITS: Limits =
        Limits { max_report_age: 600, min_fee_rounds: 48, signer_horizon: 86_400 };

    /// Two chains, solvent, fresh, reporting, a lasting signer, fees for many rounds.
    fn healthy() -> Status {
        let chain = |name: &str| ChainStatus {
            name: name.into(),
            required: true,
            reachable: true,
            is_solvent: true,
            epoch: 7,
            valid_until: 2_000,
            valid_for_secs: 900,
            policy_digest_matches: true,
            last_report: Some(LastReport { seq: 1, at: 1_000, age_secs: 10, source: "accepted" }),
            ..ChainStatus::default()
        };
        let mut spoke = chain("b");
        spoke.delivery =
            Some(Delivery { epoch: 7, state: "landed", sent_at: 990, landed_at: Some(995) });
        Status {
            chains: vec![chain("a"), spoke],
            signers: Signers {
                threshold: 1,
                signers: vec![SignerStatus {
                    address: Address::ZERO,
                    expires_at: 0,
                    expires_in_secs: 10 * 86_400,
                }],
            },
            hub: HubFees { rounds_left: Some(1_000), ..HubFees::default() },
            aggregator: Some(AggregatorStatus::default()),
            ..Status::default()
        }
    }

    fn fired(status: &Status) -> Vec<&'static str> {
        evaluate(status, LIMITS).iter().map(|a| a.alert).collect()
    }

    #[test]
    fn a_healthy_deployment_raises_nothing_and_exits_zero() {
        assert!(evaluate(&healthy(), LIMITS).is_empty());
        assert_eq!(exit_code(&[]), 0);
    }

    #[test]
    fn each_condition_raises_its_alert_and_its_own_exit_code() {
        type Change = fn(&mut Status);
        let cases: [(Change, &str, u8); 10] = [
            (|s| s.chains[1].reachable = false, "chain_unreachable", 2),
            (|s| s.chains[0].is_solvent = false, "not_solvent", 3),
            (|s| s.chains[1].policy_digest_matches = false, "policy_mismatch", 4),
            (|s| s.chains[0].last_report.as_mut().unwrap().age_secs = 601, "chain_silent", 5),
            (|s| s.chains[1].last_report = None, "chain_silent", 5),
            (
                |s| {
                    s.aggregator.as_mut().unwrap().last_publish_error =
                        Some("the hub cannot pay".into())
                },
                "publish_failing",
                6,
            ),
            (|s| s.signers.signers[0].expires_in_secs = 3_600, "signer_expiring", 7),
            (|s| s.hub.rounds_left = Some(47), "fees_low", 8),
            (|s| s.chains[1].delivery.as_mut().unwrap().state = "late", "delivery_late", 9),
            // An optional chain's silence is no alert; an unreachable chain raises only that.
            (
                |s| {
                    s.chains[0].required = false;
                    s.chains[0].last_report = None;
                    s.chains[1].reachable = false;
                    s.chains[1].is_solvent = false;
                },
                "chain_unreachable",
                2,
            ),
        ];
        for (change, alert, code) in cases {
            let mut status = healthy();
            change(&mut status);
            let alerts = evaluate(&status, LIMITS);
            assert_eq!(fired(&status), [alert], "{alerts:?}");
            assert_eq!(exit_code(&alerts), code, "{alert}");
        }
        let codes: Vec<u8> = CODES.iter().map(|(_, c)| *c).collect();
        assert_eq!(codes, (2..=9).collect::<Vec<u8>>(), "distinct codes, 1 left for failures");
    }

    #[test]
    fn the_most_urgent_alert_sets_the_exit_code() {
        let mut status = healthy();
        status.hub.rounds_left = Some(0);
        status.chains[1].is_solvent = false;
        status.chains[0].last_report = None;
        let alerts = evaluate(&status, LIMITS);
        assert_eq!(
            fired(&status),
            ["chain_silent", "not_solvent", "fees_low"],
            "per chain, then the rest"
        );
        assert_eq!(exit_code(&alerts), 3);
    }

    #[test]
    fn signers_alert_only_when_fewer_than_k_would_remain() {
        let mut status = healthy();
        status.signers.threshold = 2;
        let lasting = status.signers.signers[0].clone();
        let expiring = SignerStatus { expires_in_secs: 60, ..lasting.clone() };
        status.signers.signers = vec![lasting.clone(), lasting.clone(), expiring.clone()];
        assert!(fired(&status).is_empty(), "two of three last: k = 2 still met");
        status.signers.signers = vec![lasting, expiring];
        assert_eq!(fired(&status), ["signer_expiring"]);
    }
}
