//! Prometheus metrics of the operator's view, in the OpenMetrics text format Prometheus scrapes.
//! Names follow Prometheus' conventions (`solvency_` prefix, base units in the name, `_total`
//! counters); labels are chain names, rule names, alert names and signer addresses — never a
//! figure.

use std::sync::atomic::AtomicU64;

use prometheus_client::{
    encoding::{EncodeLabelSet, text::encode},
    metrics::{
        counter::Counter,
        family::Family,
        gauge::Gauge,
        histogram::{Histogram, exponential_buckets},
    },
    registry::Registry,
};

use super::model::Status;

/// A chain.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ChainLabel {
    /// Its name.
    pub chain: String,
}

/// A chain and a delivery state.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MessageLabel {
    /// The spoke.
    pub chain: String,
    /// `landed`, `pending` or `late`.
    pub state: String,
}

/// An acceptance rule.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RuleLabel {
    /// Its name.
    pub rule: String,
}

/// A kind of failure.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabel {
    /// Its name.
    pub kind: String,
}

/// A signer.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SignerLabel {
    /// Its address.
    pub signer: String,
}

/// An alert.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AlertLabel {
    /// Its name.
    pub alert: String,
}

fn latency() -> Histogram {
    // 10 ms to about 5.7 days: devnet rounds and real CCIP lanes alike.
    Histogram::new(exponential_buckets(0.01, 3.0, 14))
}

/// Every metric.
pub struct Metrics {
    registry: Registry,
    chain_up: Family<ChainLabel, Gauge>,
    chain_solvent: Family<ChainLabel, Gauge>,
    chain_epoch: Family<ChainLabel, Gauge>,
    chain_valid_seconds: Family<ChainLabel, Gauge>,
    chain_stale: Family<ChainLabel, Gauge>,
    chain_policy_match: Family<ChainLabel, Gauge>,
    report_age_seconds: Family<ChainLabel, Gauge>,
    messages: Family<MessageLabel, Gauge>,
    hub_fee_balance_wei: Gauge<f64, AtomicU64>,
    hub_fee_rounds_left: Gauge,
    signer_expiry_seconds: Family<SignerLabel, Gauge>,
    signer_threshold: Gauge,
    alert: Family<AlertLabel, Gauge>,
    /// RPC requests the view's reads made, per chain: the load it adds to each endpoint.
    pub view_rpc_requests: Family<ChainLabel, Counter>,
    /// Reports the enclave accepted, per chain.
    pub reports_accepted: Family<ChainLabel, Counter>,
    /// Reports refused, per rule.
    pub reports_refused: Family<RuleLabel, Counter>,
    /// Attestations mined on the hub.
    pub published: Counter,
    /// Failed publish attempts, per kind.
    pub publish_failures: Family<KindLabel, Counter>,
    /// From the decision to attest to the publish receipt.
    pub attestation_latency: Histogram,
    /// From the publish receipt to the spoke holding the epoch.
    pub delivery_latency: Family<ChainLabel, Histogram, fn() -> Histogram>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A registry with every metric.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("solvency");
        let this = Self {
            chain_up: Family::default(),
            chain_solvent: Family::default(),
            chain_epoch: Family::default(),
            chain_valid_seconds: Family::default(),
            chain_stale: Family::default(),
            chain_policy_match: Family::default(),
            report_age_seconds: Family::default(),
            messages: Family::default(),
            hub_fee_balance_wei: Gauge::default(),
            hub_fee_rounds_left: Gauge::default(),
            signer_expiry_seconds: Family::default(),
            signer_threshold: Gauge::default(),
            alert: Family::default(),
            view_rpc_requests: Family::default(),
            reports_accepted: Family::default(),
            reports_refused: Family::default(),
            published: Counter::default(),
            publish_failures: Family::default(),
            attestation_latency: latency(),
            delivery_latency: Family::new_with_constructor(latency),
            registry: Registry::default(),
        };
        let r = &mut registry;
        r.register("chain_up", "1 when the chain's oracle could be read", this.chain_up.clone());
        r.register(
            "chain_solvent",
            "isSolvent() of the chain's oracle (1 or 0)",
            this.chain_solvent.clone(),
        );
        r.register("chain_epoch", "The epoch the chain's oracle holds", this.chain_epoch.clone());
        r.register(
            "chain_attestation_valid_seconds",
            "Seconds of validity left of the chain's attestation",
            this.chain_valid_seconds.clone(),
        );
        r.register(
            "chain_attestation_stale",
            "1 when the chain has no valid attestation",
            this.chain_stale.clone(),
        );
        r.register(
            "chain_policy_digest_match",
            "1 when the chain's policy digest is the registry's",
            this.chain_policy_match.clone(),
        );
        r.register(
            "report_age_seconds",
            "Seconds since the chain's latest report (accepted, or delivered on the hub)",
            this.report_age_seconds.clone(),
        );
        r.register(
            "ccip_messages",
            "The latest attestation sent to each spoke, by delivery state",
            this.messages.clone(),
        );
        r.register(
            "hub_fee_balance_wei",
            "The hub's balance for CCIP fees, in wei",
            this.hub_fee_balance_wei.clone(),
        );
        r.register(
            "hub_fee_rounds_left",
            "Rounds the hub's balance pays for at the latest round's cost",
            this.hub_fee_rounds_left.clone(),
        );
        r.register(
            "signer_expiry_seconds",
            "Seconds until a signer's registration on the hub ends",
            this.signer_expiry_seconds.clone(),
        );
        r.register(
            "signer_threshold",
            "Signatures an attestation needs (k)",
            this.signer_threshold.clone(),
        );
        r.register("alert", "1 while an alert holds", this.alert.clone());
        r.register(
            "view_rpc_requests",
            "RPC requests the view's successful reads made, per chain",
            this.view_rpc_requests.clone(),
        );
        r.register(
            "reports_accepted",
            "Reports the enclave accepted",
            this.reports_accepted.clone(),
        );
        r.register(
            "reports_refused",
            "Reports the enclave refused, by rule",
            this.reports_refused.clone(),
        );
        r.register(
            "attestations_published",
            "Attestations mined on the hub",
            this.published.clone(),
        );
        r.register(
            "publish_failures",
            "Failed publish attempts, by kind",
            this.publish_failures.clone(),
        );
        r.register(
            "attestation_latency_seconds",
            "From the decision to attest to the publish receipt",
            this.attestation_latency.clone(),
        );
        r.register(
            "delivery_latency_seconds",
            "From the publish receipt to the spoke holding the epoch",
            this.delivery_latency.clone(),
        );
        Self { registry, ..this }
    }

    /// Sets the gauges from a status.
    pub fn observe(&self, status: &Status) {
        let chain = |name: &str| ChainLabel { chain: name.to_owned() };
        for c in &status.chains {
            let label = chain(&c.name);
            self.chain_up.get_or_create(&label).set(i64::from(c.reachable));
            if !c.reachable {
                continue;
            }
            self.chain_solvent.get_or_create(&label).set(i64::from(c.is_solvent));
            self.chain_epoch.get_or_create(&label).set(c.epoch as i64);
            self.chain_valid_seconds.get_or_create(&label).set(c.valid_for_secs as i64);
            self.chain_stale.get_or_create(&label).set(i64::from(c.stale));
            self.chain_policy_match.get_or_create(&label).set(i64::from(c.policy_digest_matches));
            if let Some(report) = &c.last_report {
                self.report_age_seconds.get_or_create(&label).set(report.age_secs as i64);
            }
            if let Some(delivery) = &c.delivery {
                for state in ["landed", "pending", "late"] {
                    let label = MessageLabel { chain: c.name.clone(), state: state.into() };
                    self.messages.get_or_create(&label).set(i64::from(delivery.state == state));
                }
            }
        }
        self.hub_fee_balance_wei.set(status.hub.balance.to_string().parse().unwrap_or(f64::MAX));
        if let Some(rounds) = status.hub.rounds_left {
            self.hub_fee_rounds_left.set(rounds.min(i64::MAX as u64) as i64);
        }
        self.signer_threshold.set(i64::from(status.signers.threshold));
        for s in &status.signers.signers {
            let label = SignerLabel { signer: s.address.to_string() };
            self.signer_expiry_seconds.get_or_create(&label).set(s.expires_in_secs as i64);
        }
        for (name, _) in super::alerts::CODES {
            let on = status.alerts.iter().any(|a| a.alert == name);
            self.alert.get_or_create(&AlertLabel { alert: name.into() }).set(i64::from(on));
        }
    }

    /// The OpenMetrics text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }
}
