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

/// One chain's side of the books, as the reports value it (USD, scaled by 10^18).
#[derive(Clone, PartialEq, Eq)]
pub struct ChainBook {
    /// The chain.
    pub selector: u64,
    /// Reserves it reports held elsewhere, after haircuts (zero when its report is stale).
    pub reserves: U256,
    /// What it owes.
    pub liabilities: U256,
    /// Its vault's collateral, when it has a vault whose share counts (not for a stale chain).
    pub vault: Option<VaultTerms>,
}

impl std::fmt::Debug for ChainBook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChainBook").field("selector", &self.selector).finish_non_exhaustive()
    }
}

/// How a vault's collateral is valued.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VaultTerms {
    /// Its asset id (swaps move collateral of one asset id and decimals only).
    pub asset: B256,
    /// Decimals of its smallest unit.
    pub decimals: u8,
    /// Price of one whole unit, scaled by 10^18.
    pub price_e18: U256,
    /// Its haircut.
    pub haircut_bps: u16,
}

impl VaultTerms {
    /// What `amount` of the collateral counts for, after the haircut.
    pub fn value(&self, amount: U256) -> Option<U256> {
        value(amount, self.price_e18, self.decimals)?
            .checked_mul(U256::from(BPS - u64::from(self.haircut_bps.min(10_000))))
            .map(|v| v / U256::from(BPS))
    }

    /// The least amount of the collateral that counts for at least `worth`; `None` if the
    /// collateral counts for nothing or the arithmetic overflows.
    pub fn amount_for(&self, worth: U256) -> Option<U256> {
        if worth.is_zero() {
            return Some(U256::ZERO);
        }
        let kept = U256::from(BPS - u64::from(self.haircut_bps.min(10_000)));
        if kept.is_zero() || self.price_e18.is_zero() {
            return None;
        }
        let scale = U256::from(10u64).checked_pow(U256::from(self.decimals))?;
        let gross = worth.checked_mul(U256::from(BPS))?.div_ceil(kept);
        let mut amount = gross.checked_mul(scale)?.div_ceil(self.price_e18);
        // Valuing floors twice: step up the few units the floors may have lost.
        for _ in 0..4 {
            if self.value(amount)? >= worth {
                return Some(amount);
            }
            amount = amount.checked_add(U256::from(1))?;
        }
        (self.value(amount)? >= worth).then_some(amount)
    }

    /// The most collateral that counts for at most `worth`.
    pub fn amount_within(&self, worth: U256) -> Option<U256> {
        // The least amount worth more, less one unit.
        Some(self.amount_for(worth.checked_add(U256::from(1))?)?.saturating_sub(U256::from(1)))
    }
}

/// A report an assessment used: (chain selector, seq, payload digest).
pub type UsedReport = (u64, u64, B256);

/// Every chain's books under the policy at `now`, by ascending selector, with the reports used
/// (selector, seq, payload digest). Errors as [`assess`].
pub fn chain_books(
    ledger: &Ledger,
    policy: &Policy,
    now: u64,
) -> Result<(Vec<ChainBook>, Vec<UsedReport>), AssessError> {
    let mut chains: Vec<_> = policy.chains.iter().collect();
    chains.sort_by_key(|c| c.selector);
    let mut books = Vec::new();
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
        let mut book = ChainBook {
            selector: chain.selector,
            reserves: U256::ZERO,
            liabilities: U256::ZERO,
            vault: None,
        };
        for position in &entry.positions {
            let asset = chain.asset(&position.assetId).ok_or_else(|| {
                AssessError::UnknownAsset { chain: chain.name.clone(), asset_id: position.assetId }
            })?;
            let overflow = || AssessError::Overflow {
                context: format!("{} asset {}", chain.name, asset.symbol),
            };
            let terms = VaultTerms {
                asset: asset.id,
                decimals: asset.decimals,
                price_e18: asset.price_e18,
                haircut_bps: asset.haircut_bps,
            };
            let held = terms.value(position.reserves).ok_or_else(overflow)?;
            let held = if trust_reserves { held } else { U256::ZERO };
            let owed = value(position.liabilities, asset.price_e18, asset.decimals)
                .ok_or_else(overflow)?;
            book.reserves = book.reserves.checked_add(held).ok_or_else(overflow)?;
            book.liabilities = book.liabilities.checked_add(owed).ok_or_else(overflow)?;
        }
        if trust_reserves && !chain.vault.is_zero() {
            let asset = chain.asset(&chain.vault_asset).ok_or_else(|| {
                AssessError::UnknownAsset { chain: chain.name.clone(), asset_id: chain.vault_asset }
            })?;
            book.vault = Some(VaultTerms {
                asset: asset.id,
                decimals: asset.decimals,
                price_e18: asset.price_e18,
                haircut_bps: asset.haircut_bps,
            });
        }
        books.push(book);
        used.push((chain.selector, entry.seq, entry.payload_digest));
    }
    if used.is_empty() {
        return Err(AssessError::NoReports);
    }
    Ok((books, used))
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
    let (books, used) = chain_books(ledger, policy, now)?;
    assess_books(&books, &used, policy, vault_share)
}

/// The assessment of books already drawn up ([`chain_books`]), with the protocol's vault
/// shares.
pub fn assess_books(
    books: &[ChainBook],
    used: &[UsedReport],
    policy: &Policy,
    vault_share: impl Fn(u64) -> U256,
) -> Result<Assessment, AssessError> {
    let totals = || AssessError::Overflow { context: "cross-chain totals".into() };
    let mut reserves = U256::ZERO;
    let mut liabilities = U256::ZERO;
    for book in books {
        reserves = reserves.checked_add(book.reserves).ok_or_else(totals)?;
        liabilities = liabilities.checked_add(book.liabilities).ok_or_else(totals)?;
        let Some(terms) = book.vault else { continue };
        let held = terms.value(vault_share(book.selector)).ok_or_else(|| {
            AssessError::Overflow { context: format!("chain {} vault share", book.selector) }
        })?;
        reserves = reserves.checked_add(held).ok_or_else(totals)?;
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
        reports_digest: reports_digest(used),
        reports: used.iter().map(|&(selector, seq, _)| (selector, seq)).collect(),
    })
}
