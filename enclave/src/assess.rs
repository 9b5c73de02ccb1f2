//! Assessment: from the ledger and the policy to one boolean. Pure: no keys, no I/O.
//!
//! Each position is valued in USD (scaled by 10^18) as `amount × price / 10^decimals`; reserves
//! count after their haircut. Solvent iff total reserves value × 10 000 ≥ total liabilities value
//! × `solvency_ratio_bps`. All arithmetic is checked 256-bit: an overflow is an error, never a
//! wrapped number.

use alloy::{
    primitives::{B256, U256, keccak256},
    sol_types::SolValue,
};

use crate::{
    ledger::{Ledger, value},
    policy::Policy,
};

/// Basis points in one.
const BPS: u64 = 10_000;

/// The outcome of an assessment. `Debug` hides the health ratio: it is private.
#[derive(Clone, PartialEq, Eq)]
pub struct Assessment {
    /// The public outcome.
    pub solvent: bool,
    /// True when the ratio is under the recovery threshold (private).
    pub needs_recovery: bool,
    /// Reserves value / liabilities value in basis points, `u64::MAX` without liabilities
    /// (private: never log it).
    pub health_bps: u64,
    /// Digest of the reports used: `keccak256(abi.encode((uint64 selector, uint64 seq,
    /// bytes32 keccak256(payload))[]))`, by ascending selector.
    pub reports_digest: B256,
    /// `(selector, seq)` of every report used.
    pub reports: Vec<(u64, u64)>,
}

impl std::fmt::Debug for Assessment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Assessment")
            .field("solvent", &self.solvent)
            .field("reports_digest", &self.reports_digest)
            .field("reports", &self.reports)
            .finish_non_exhaustive()
    }
}

/// Why no assessment (and so no attestation) can be made.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum AssessError {
    /// A required chain has not reported since the enclave started.
    #[error("no report yet from required chain {chain}")]
    MissingReport {
        /// The chain.
        chain: String,
    },
    /// A required chain's latest report is too old.
    #[error(
        "required chain {chain}: latest report observed at {observed_at} is older than {max_age} s (now {now})"
    )]
    StaleReport {
        /// The chain.
        chain: String,
        /// Its `observedAt`.
        observed_at: u64,
        /// Now.
        now: u64,
        /// The allowed age.
        max_age: u64,
    },
    /// No chain has a fresh report at all.
    #[error("no fresh report from any chain")]
    NoReports,
    /// A report carries an asset the policy no longer registers.
    #[error("chain {chain}: asset {asset_id} of its latest report is no longer registered")]
    UnknownAsset {
        /// The chain.
        chain: String,
        /// The asset.
        asset_id: B256,
    },
    /// A sum or product overflowed 256 bits.
    #[error("valuing the reports overflows 256 bits ({context})")]
    Overflow {
        /// Where (a chain and asset, or the totals), never an amount.
        context: String,
    },
}

/// The digest an attestation commits to for the reports it used:
/// `keccak256(abi.encode((uint64 selector, uint64 seq, bytes32 keccak256(payload))[]))`, by
/// ascending selector (the caller's order is kept: give them sorted).
pub fn reports_digest(used: &[(u64, u64, B256)]) -> B256 {
    keccak256(used.abi_encode())
}

/// Assesses the ledger under the policy at `now`.
pub fn assess(ledger: &Ledger, policy: &Policy, now: u64) -> Result<Assessment, AssessError> {
    assess_with_vaults(ledger, policy, now, |_| U256::ZERO)
}

/// [`assess`], with the protocol's share of each chain's vault (`vault_share(selector)`, in the
/// vault asset's smallest unit) counted as reserves of that asset, after its haircut, like the
/// reserves the chain reports (held elsewhere).
pub fn assess_with_vaults(
    ledger: &Ledger,
    policy: &Policy,
    now: u64,
    vault_share: impl Fn(u64) -> U256,
) -> Result<Assessment, AssessError> {
    let mut chains: Vec<_> = policy.chains.iter().collect();
    chains.sort_by_key(|c| c.selector);
    let mut reserves = U256::ZERO;
    let mut liabilities = U256::ZERO;
    let mut used = Vec::new();
    for chain in chains {
        // A stale optional chain still owes what it last reported, but its reserves are no
        // longer trusted: silence can only lower the ratio, never raise it.
        let mut trust_reserves = true;
        let entry = match ledger.get(chain.selector) {
            Some(entry) if entry.observed_at.saturating_add(policy.max_report_age) >= now => entry,
            Some(entry) if !chain.required => {
                trust_reserves = false;
                entry
            }
            Some(entry) => {
                return Err(AssessError::StaleReport {
                    chain: chain.name.clone(),
                    observed_at: entry.observed_at,
                    now,
                    max_age: policy.max_report_age,
                });
            }
            None if chain.required => {
                return Err(AssessError::MissingReport { chain: chain.name.clone() });
            }
            _ => continue,
        };
        for position in &entry.positions {
            let asset = chain.asset(&position.assetId).ok_or_else(|| {
                AssessError::UnknownAsset { chain: chain.name.clone(), asset_id: position.assetId }
            })?;
            let overflow = || AssessError::Overflow {
                context: format!("{} asset {}", chain.name, asset.symbol),
            };
            let held = value(position.reserves, asset.price_e18, asset.decimals)
                .and_then(|v| {
                    v.checked_mul(U256::from(BPS - u64::from(asset.haircut_bps.min(10_000))))
                })
                .map(|v| v / U256::from(BPS))
                .ok_or_else(overflow)?;
            let held = if trust_reserves { held } else { U256::ZERO };
            let owed = value(position.liabilities, asset.price_e18, asset.decimals)
                .ok_or_else(overflow)?;
            let totals = || AssessError::Overflow { context: "cross-chain totals".into() };
            reserves = reserves.checked_add(held).ok_or_else(totals)?;
            liabilities = liabilities.checked_add(owed).ok_or_else(totals)?;
        }
        let share = if trust_reserves && !chain.vault.is_zero() {
            vault_share(chain.selector)
        } else {
            U256::ZERO
        };
        if !share.is_zero() {
            let asset = chain.asset(&chain.vault_asset).ok_or_else(|| {
                AssessError::UnknownAsset { chain: chain.name.clone(), asset_id: chain.vault_asset }
            })?;
            let held = value(share, asset.price_e18, asset.decimals)
                .and_then(|v| {
                    v.checked_mul(U256::from(BPS - u64::from(asset.haircut_bps.min(10_000))))
                })
                .map(|v| v / U256::from(BPS))
                .ok_or_else(|| AssessError::Overflow {
                    context: format!("{} vault share of {}", chain.name, asset.symbol),
                })?;
            reserves = reserves
                .checked_add(held)
                .ok_or_else(|| AssessError::Overflow { context: "cross-chain totals".into() })?;
        }
        used.push((chain.selector, entry.seq, entry.payload_digest));
    }
    if used.is_empty() {
        return Err(AssessError::NoReports);
    }

    let totals = || AssessError::Overflow { context: "solvency ratio".into() };
    let lhs = reserves.checked_mul(U256::from(BPS)).ok_or_else(totals)?;
    let rhs = liabilities.checked_mul(U256::from(policy.solvency_ratio_bps)).ok_or_else(totals)?;
    let health_bps = if liabilities.is_zero() {
        u64::MAX
    } else {
        u64::try_from(lhs / liabilities).unwrap_or(u64::MAX)
    };
    Ok(Assessment {
        solvent: lhs >= rhs,
        needs_recovery: health_bps < u64::from(policy.recovery_ratio_bps),
        health_bps,
        reports_digest: reports_digest(&used),
        reports: used.iter().map(|&(selector, seq, _)| (selector, seq)).collect(),
    })
}
