//! Ingest: the acceptance rules for a delivered report, and the ledger of each chain's latest
//! accepted report.
//!
//! A report is accepted only if: its chain is registered; CCIP source selector = header (aad)
//! selector = plaintext selector; the event's seq = header seq = plaintext seq; it opens under
//! HPKE Auth with that chain's reporter key; `seq` is above the last accepted one; `observedAt` is
//! neither beyond the clock skew in the future nor older than `max_report_age`; every asset is
//! known and appears once; no sum overflows. Each rejection is its own [`IngestError`] variant,
//! with context but never an amount.

use std::collections::BTreeMap;

use alloy::primitives::{B256, Bytes, U256, keccak256};
use serde::{Deserialize, Serialize};

use crate::{
    Position, Purpose, ReportError, ReportV1, SealError, SealedHeader, X25519KeyPair,
    policy::{ChainPolicy, Policy},
    seal,
};

/// A sealed report as the hub emitted it in `ReportDelivered`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveredReport {
    /// CCIP message id (or the hub's id for its own chain's report).
    pub message_id: B256,
    /// The CCIP source chain selector (the hub's own selector for a local report).
    pub source_chain_selector: u64,
    /// The seq the hub saw beside the payload.
    pub seq: u64,
    /// The sealed report: header, `enc`, ciphertext.
    pub payload: Bytes,
    /// The head of the chain's reserve vault log the report carried (zero without a vault):
    /// the hub keeps it per (chain, seq) and checks the attestation's chain leaf against it.
    #[serde(default)]
    pub head: VaultHead,
}

/// A reserve vault's log head: how many entries, and the running hash after the last.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VaultHead {
    /// Entries in the log.
    pub count: u64,
    /// The running hash (zero for an empty log).
    pub head: B256,
}

/// Why a delivered report was refused. No variant carries an amount.
///
/// Serializable: a served enclave instance answers with these variants, and callers match them.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum IngestError {
    /// The source chain is not in `networks.toml`.
    #[error("report {message_id}: source selector {selector} is not a registered chain")]
    UnknownChain {
        /// The message.
        message_id: B256,
        /// The CCIP source selector.
        selector: u64,
    },
    /// The payload is not a sealed message.
    #[error("report {message_id} from {chain}: malformed payload: {reason}")]
    Malformed {
        /// The message.
        message_id: B256,
        /// The chain.
        chain: String,
        /// What is wrong.
        reason: SealError,
    },
    /// The header's selector is not the CCIP source selector.
    #[error(
        "report {message_id} from {chain}: header says selector {header}, CCIP delivered it from {ccip}"
    )]
    SelectorMismatch {
        /// The message.
        message_id: B256,
        /// The chain it came from.
        chain: String,
        /// The CCIP source selector.
        ccip: u64,
        /// The header (aad) selector.
        header: u64,
    },
    /// The header's seq is not the seq the hub emitted.
    #[error(
        "report {message_id} from {chain}: header seq {header} differs from the delivered seq {delivered}"
    )]
    SeqMismatch {
        /// The message.
        message_id: B256,
        /// The chain.
        chain: String,
        /// The seq in `ReportDelivered`.
        delivered: u64,
        /// The header seq.
        header: u64,
    },
    /// The report opens with another registered chain's reporter key.
    #[error(
        "report {message_id} from {chain}: sealed with {sealed_by}'s reporter key, not {chain}'s"
    )]
    WrongReporter {
        /// The message.
        message_id: B256,
        /// The chain it came from.
        chain: String,
        /// Whose key sealed it.
        sealed_by: String,
    },
    /// HPKE Auth open failed with every registered reporter key: altered, or sealed to another
    /// enclave key or deployment.
    #[error(
        "report {message_id} from {chain}: does not open (altered, or sealed to another enclave key or deployment)"
    )]
    OpenFailed {
        /// The message.
        message_id: B256,
        /// The chain.
        chain: String,
    },
    /// Sealed to the enclave's previous HPKE key after its grace period ended.
    #[error(
        "report {message_id} from {chain}: sealed to the enclave's previous HPKE key, retired at {valid_until}; the reporter must seal to the key in networks.toml"
    )]
    RetiredKey {
        /// The message.
        message_id: B256,
        /// The chain.
        chain: String,
        /// When the previous key stopped being accepted (Unix seconds).
        valid_until: u64,
    },
    /// The plaintext is not a valid padded ReportV1.
    #[error("report {message_id} from {chain}: {reason}")]
    BadPlaintext {
        /// The message.
        message_id: B256,
        /// The chain.
        chain: String,
        /// What is wrong.
        reason: ReportError,
    },
    /// A plaintext field disagrees with the authenticated header.
    #[error(
        "report {message_id} from {chain}: plaintext {field} {plaintext} differs from header {header}"
    )]
    PlaintextMismatch {
        /// The message.
        message_id: B256,
        /// The chain.
        chain: String,
        /// Which field.
        field: ReportField,
        /// Header value.
        header: u64,
        /// Plaintext value.
        plaintext: u64,
    },
    /// `seq` is not above the last accepted one: a replay or a reordering.
    #[error(
        "report {message_id} from {chain}: seq {seq} is not above the last accepted {last_seq} (replay?)"
    )]
    Replay {
        /// The message.
        message_id: B256,
        /// The chain.
        chain: String,
        /// The report's seq.
        seq: u64,
        /// The last accepted seq.
        last_seq: u64,
    },
    /// `seq` is above what any clock could give (the enclave's clock in milliseconds plus the
    /// allowed skew): accepting it would lock the chain out, since every later report must be
    /// above it.
    #[error(
        "report {message_id} from {chain}: seq {seq} is above {max} (the enclave's clock in milliseconds plus the allowed skew); use a counter or the Unix time in milliseconds"
    )]
    SeqTooLarge {
        /// The message.
        message_id: B256,
        /// The chain.
        chain: String,
        /// The report's seq.
        seq: u64,
        /// The largest acceptable seq now.
        max: u64,
    },
    /// `observedAt` is further in the future than the allowed clock skew.
    #[error(
        "report {message_id} from {chain}: observed at {observed_at}, more than {max_skew} s after now ({now}); check the reporter's clock"
    )]
    FromTheFuture {
        /// The message.
        message_id: B256,
        /// The chain.
        chain: String,
        /// The report's `observedAt`.
        observed_at: u64,
        /// The enclave's now.
        now: u64,
        /// The allowed skew.
        max_skew: u64,
    },
    /// `observedAt` is older than `max_report_age`.
    #[error(
        "report {message_id} from {chain}: observed at {observed_at}, older than {max_age} s before now ({now})"
    )]
    Stale {
        /// The message.
        message_id: B256,
        /// The chain.
        chain: String,
        /// The report's `observedAt`.
        observed_at: u64,
        /// The enclave's now.
        now: u64,
        /// The allowed age.
        max_age: u64,
    },
    /// A position's asset is not registered for the chain.
    #[error("report {message_id} from {chain}: asset {asset_id} is not registered for this chain")]
    UnknownAsset {
        /// The message.
        message_id: B256,
        /// The chain.
        chain: String,
        /// The asset id.
        asset_id: B256,
    },
    /// The same asset appears twice.
    #[error("report {message_id} from {chain}: asset {asset_id} appears more than once")]
    DuplicateAsset {
        /// The message.
        message_id: B256,
        /// The chain.
        chain: String,
        /// The asset id.
        asset_id: B256,
    },
    /// Valuing the report overflows 256 bits.
    #[error("report {message_id} from {chain}: valuing asset {asset_id} overflows 256 bits")]
    Overflow {
        /// The message.
        message_id: B256,
        /// The chain.
        chain: String,
        /// The asset whose value overflowed.
        asset_id: B256,
    },
}

/// A plaintext field checked against the authenticated header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportField {
    /// `chainSelector`.
    ChainSelector,
    /// `seq`.
    Seq,
}

impl std::fmt::Display for ReportField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::ChainSelector => "chainSelector",
            Self::Seq => "seq",
        })
    }
}

/// A chain's latest accepted report. Holds amounts: lives in enclave memory only.
#[derive(Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    /// Its seq.
    pub seq: u64,
    /// Its `observedAt`.
    pub observed_at: u64,
    /// The CCIP message that carried it.
    pub message_id: B256,
    /// keccak256 of the sealed payload, for the attestation's reports digest.
    pub payload_digest: B256,
    /// The figures.
    pub positions: Vec<Position>,
    /// The chain's vault head the report carried.
    pub head: VaultHead,
}

impl std::fmt::Debug for LedgerEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LedgerEntry")
            .field("seq", &self.seq)
            .field("observed_at", &self.observed_at)
            .field("message_id", &self.message_id)
            .field("positions", &self.positions.len())
            .finish_non_exhaustive()
    }
}

/// Latest accepted report per chain selector.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ledger {
    entries: BTreeMap<u64, LedgerEntry>,
}

impl Ledger {
    /// The latest report of a chain.
    pub fn get(&self, selector: u64) -> Option<&LedgerEntry> {
        self.entries.get(&selector)
    }

    /// Every chain's latest report, by ascending selector.
    pub fn iter(&self) -> impl Iterator<Item = (&u64, &LedgerEntry)> {
        self.entries.iter()
    }

    /// Records a chain's report (replacing the previous one).
    pub fn insert(&mut self, selector: u64, entry: LedgerEntry) {
        self.entries.insert(selector, entry);
    }
}

/// A report that passed every rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accepted {
    /// The chain's name.
    pub chain: String,
    /// Its selector.
    pub selector: u64,
    /// The report's seq.
    pub seq: u64,
    /// The CCIP message.
    pub message_id: B256,
    /// True when this is the very report accepted last for its chain, seen again (a re-read
    /// after a restart): it refills the ledger if a restart emptied it, and changes nothing else.
    pub again: bool,
}

/// The enclave's HPKE keys a report may be sealed to: the current one, and during a rotation's
/// grace period the previous one.
#[derive(Clone, Copy, Debug)]
pub struct Recipients<'a> {
    /// The key in force.
    pub current: &'a X25519KeyPair,
    /// The key before the last rotation, and until when reports sealed to it are accepted.
    pub previous: Option<(&'a X25519KeyPair, u64)>,
}

/// Applies every acceptance rule; on success returns the ledger entry to record.
///
/// `last_seq` is the last accepted seq of the source chain (kept across restarts by the caller).
pub fn check(
    delivered: &DeliveredReport,
    policy: &Policy,
    keys: Recipients<'_>,
    last_seq: Option<u64>,
    now: u64,
) -> Result<(Accepted, LedgerEntry), IngestError> {
    let message_id = delivered.message_id;
    let chain = policy.chain(delivered.source_chain_selector).ok_or(IngestError::UnknownChain {
        message_id,
        selector: delivered.source_chain_selector,
    })?;
    let name = || chain.name.clone();

    let header = SealedHeader::parse(&delivered.payload)
        .map_err(|reason| IngestError::Malformed { message_id, chain: name(), reason })?;
    if header.chain_selector != chain.selector {
        return Err(IngestError::SelectorMismatch {
            message_id,
            chain: name(),
            ccip: chain.selector,
            header: header.chain_selector,
        });
    }
    if header.counter != delivered.seq {
        return Err(IngestError::SeqMismatch {
            message_id,
            chain: name(),
            delivered: delivered.seq,
            header: header.counter,
        });
    }

    let plaintext = open_from(delivered, policy, keys, chain, now)?;
    let report = ReportV1::from_padded(&plaintext).map_err(|reason| IngestError::BadPlaintext {
        message_id,
        chain: name(),
        reason,
    })?;
    for (field, header_value, plaintext_value) in [
        (ReportField::ChainSelector, header.chain_selector, report.chainSelector),
        (ReportField::Seq, header.counter, report.seq),
    ] {
        if header_value != plaintext_value {
            return Err(IngestError::PlaintextMismatch {
                message_id,
                chain: name(),
                field,
                header: header_value,
                plaintext: plaintext_value,
            });
        }
    }

    if let Some(last_seq) = last_seq
        && report.seq <= last_seq
    {
        return Err(IngestError::Replay { message_id, chain: name(), seq: report.seq, last_seq });
    }
    let max_seq = now.saturating_add(policy.max_clock_skew).saturating_mul(1_000);
    if report.seq > max_seq {
        return Err(IngestError::SeqTooLarge {
            message_id,
            chain: name(),
            seq: report.seq,
            max: max_seq,
        });
    }
    if report.observedAt > now.saturating_add(policy.max_clock_skew) {
        return Err(IngestError::FromTheFuture {
            message_id,
            chain: name(),
            observed_at: report.observedAt,
            now,
            max_skew: policy.max_clock_skew,
        });
    }
    if report.observedAt.saturating_add(policy.max_report_age) < now {
        return Err(IngestError::Stale {
            message_id,
            chain: name(),
            observed_at: report.observedAt,
            now,
            max_age: policy.max_report_age,
        });
    }

    let mut seen = Vec::with_capacity(report.positions.len());
    for position in &report.positions {
        let asset_id = position.assetId;
        if seen.contains(&asset_id) {
            return Err(IngestError::DuplicateAsset { message_id, chain: name(), asset_id });
        }
        seen.push(asset_id);
        let asset = chain.asset(&asset_id).ok_or(IngestError::UnknownAsset {
            message_id,
            chain: name(),
            asset_id,
        })?;
        // Every value the assessment will compute must fit: reject the report now rather than
        // fail every later attestation.
        value(position.reserves, asset.price_e18, asset.decimals)
            .and_then(|_| value(position.liabilities, asset.price_e18, asset.decimals))
            .ok_or(IngestError::Overflow { message_id, chain: name(), asset_id })?;
    }

    let accepted = Accepted {
        chain: name(),
        selector: chain.selector,
        seq: report.seq,
        message_id,
        again: false,
    };
    let entry = LedgerEntry {
        seq: report.seq,
        observed_at: report.observedAt,
        message_id,
        payload_digest: keccak256(&delivered.payload),
        positions: report.positions,
        head: delivered.head,
    };
    Ok((accepted, entry))
}

/// Opens with the chain's reporter key; on failure, names the registered reporter whose key
/// does open it, if any.
fn open_from(
    delivered: &DeliveredReport,
    policy: &Policy,
    keys: Recipients<'_>,
    chain: &ChainPolicy,
    now: u64,
) -> Result<zeroize::Zeroizing<Vec<u8>>, IngestError> {
    let open_with = |recipient, reporter| {
        seal::open(Purpose::Report, &policy.deployment_id, &delivered.payload, recipient, reporter)
    };
    let open = |reporter| open_with(keys.current, reporter);
    let message_id = delivered.message_id;
    match open(&chain.reporter) {
        Ok((_, plaintext)) => Ok(plaintext),
        Err(_)
            if let Some((previous, valid_until)) = keys.previous
                && let Ok((_, plaintext)) = open_with(previous, &chain.reporter) =>
        {
            if now <= valid_until {
                Ok(plaintext)
            } else {
                Err(IngestError::RetiredKey { message_id, chain: chain.name.clone(), valid_until })
            }
        }
        Err(_) => {
            let sealed_by = policy
                .chains
                .iter()
                .filter(|other| other.selector != chain.selector)
                .find(|other| open(&other.reporter).is_ok());
            Err(match sealed_by {
                Some(other) => IngestError::WrongReporter {
                    message_id,
                    chain: chain.name.clone(),
                    sealed_by: other.name.clone(),
                },
                None => IngestError::OpenFailed { message_id, chain: chain.name.clone() },
            })
        }
    }
}

/// `amount × price / 10^decimals`, the USD value scaled by 10^18; `None` on overflow.
pub(crate) fn value(amount: U256, price_e18: U256, decimals: u8) -> Option<U256> {
    let scale = U256::from(10u8).checked_pow(U256::from(decimals))?;
    amount.checked_mul(price_e18).map(|v| v / scale)
}
