//! The policy the enclave applies: registered chains with their reporter and treasury keys and
//! assets, freshness windows and the solvency ratio. Built by the aggregator from
//! `networks.toml`; plain data, no parsing here.

use alloy::primitives::{Address, B256, U256};

use crate::X25519Public;

alloy::sol! {
    /// One asset's terms, as the policy digest encodes them.
    struct AssetTerms { bytes32 assetId; uint8 decimals; uint256 priceE18; uint16 haircutBps; }
    /// One chain's terms, as the policy digest encodes them.
    struct ChainTerms { uint64 selector; bytes32 reporter; bytes32 treasury; bool required; address vault; bytes32 vaultAsset; AssetTerms[] assets; }
    /// `[policy.market]`, as the policy digest encodes it (a static struct: its fields inline).
    struct MarketTerms { bool market; uint32 startBps; uint32 stepBps; uint32 maxBps; uint32 timeoutEpochs; }
    /// `[policy.calendar]`, as the policy digest encodes it (inline too).
    struct CalendarTerms { uint64 periodEpochs; uint64 lot; uint32 lotsPerLane; }
    /// The whole policy, as the policy digest encodes it.
    struct PolicyTerms {
        string label;
        bytes32 deploymentId;
        uint64 maxReportAge;
        uint64 maxClockSkew;
        uint32 solvencyRatioBps;
        uint32 recoveryRatioBps;
        uint64 attestationValidity;
        address protocol;
        uint32 localRecoveryBps;
        uint32 releaseRatioBps;
        uint32 drawPremiumBps;
        uint32 standbyFeeBpsPerYear;
        uint256 maxMovedPerEpoch;
        uint256 maxPaidPerEpoch;
        MarketTerms market;
        CalendarTerms calendar;
        bytes32 ledgerKey;
        bytes32[] ledgerMeasurements;
        bool ledgerAllowDev;
        uint64 ledgerMaxEvidenceAge;
        ChainTerms[] chains;
    }
}

/// Everything the enclave needs to judge reports and sign an attestation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Bound into every sealed message's `info` and every attestation.
    pub deployment_id: B256,
    /// Every registered chain.
    pub chains: Vec<ChainPolicy>,
    /// Oldest acceptable `observedAt`, in seconds before now.
    pub max_report_age: u64,
    /// How far in the future an `observedAt` may be, in seconds (clock skew).
    pub max_clock_skew: u64,
    /// Solvent iff reserves value ≥ liabilities value × this / 10 000 (10 000 = 100 %).
    pub solvency_ratio_bps: u32,
    /// Below this ratio (above the public one) recovery instructions are due.
    pub recovery_ratio_bps: u32,
    /// How long an attestation stays valid, in seconds.
    pub attestation_validity: u64,
    /// The protocol's account in the vaults: its deposits and the vaults' inflows are its
    /// share, which counts as reserves (zero: no vault share counts).
    pub protocol: Address,
    /// The recovery planner's terms.
    pub recovery: crate::planner::RecoveryTerms,
    /// The deployment's ledger key and the code it may be released to (`[enclave.ledger]`);
    /// none: the ledger key is derived from the generation-0 HPKE secret (a dev registry).
    pub ledger: Option<crate::key_release::LedgerKeyPolicy>,
}

/// One registered chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainPolicy {
    /// Name from `networks.toml`.
    pub name: String,
    /// CCIP selector.
    pub selector: u64,
    /// The reporter's X25519 key: only reports sealed with it are accepted.
    pub reporter: X25519Public,
    /// The treasury's X25519 key: instructions for this chain are sealed to it.
    pub treasury: X25519Public,
    /// No attestation is signed without a fresh report from a required chain.
    pub required: bool,
    /// Assets a report from this chain may carry.
    pub assets: Vec<AssetPolicy>,
    /// The chain's reserve vault (zero: none). Its log heads come with the chain's reports, and
    /// the chain's leaf in every attestation names it.
    pub vault: Address,
    /// The asset id of the vault's collateral: the protocol's share of the vault counts as
    /// reserves of it (the reporter reports what it holds elsewhere).
    pub vault_asset: B256,
}

/// One asset on one chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssetPolicy {
    /// Symbol, e.g. `USDC`; the asset id is `keccak256(symbol)`.
    pub symbol: String,
    /// `keccak256(symbol)`.
    pub id: B256,
    /// Decimals of the smallest unit (6 for USDC, 18 for WETH).
    pub decimals: u8,
    /// Price of one whole unit in USD, scaled by 10^18.
    pub price_e18: U256,
    /// Reserves count for (10 000 − haircut) / 10 000 of their value.
    pub haircut_bps: u16,
}

impl Policy {
    /// What attestations commit to, so that the contracts' owner — not whoever runs the
    /// aggregator — decides which chains, keys, assets, prices and ratio a boolean is judged by:
    ///
    /// `keccak256` of the ABI parameters of [`PolicyTerms`] (label
    /// `"self-healing-reserve/policy/v6"`), chains by ascending selector, assets by ascending id;
    /// chain and asset names are left out. Without `[enclave.ledger]` the ledger fields are
    /// zero, empty and false; without `[policy.market]` the market fields are zero and false;
    /// without `[policy.calendar]` the calendar fields are zero.
    pub fn digest(&self) -> B256 {
        use alloy::sol_types::SolValue;
        let mut chains: Vec<ChainTerms> = self
            .chains
            .iter()
            .map(|c| {
                let mut assets: Vec<AssetTerms> = c
                    .assets
                    .iter()
                    .map(|a| AssetTerms {
                        assetId: a.id,
                        decimals: a.decimals,
                        priceE18: a.price_e18,
                        haircutBps: a.haircut_bps,
                    })
                    .collect();
                assets.sort_by_key(|a| a.assetId);
                ChainTerms {
                    selector: c.selector,
                    reporter: B256::from(c.reporter),
                    treasury: B256::from(c.treasury),
                    required: c.required,
                    vault: c.vault,
                    vaultAsset: c.vault_asset,
                    assets,
                }
            })
            .collect();
        chains.sort_by_key(|c| c.selector);
        let ledger = self.ledger.as_ref();
        let market = self.recovery.market.as_ref();
        let calendar = self.recovery.calendar.as_ref();
        let terms = PolicyTerms {
            label: "self-healing-reserve/policy/v6".into(),
            deploymentId: self.deployment_id,
            maxReportAge: self.max_report_age,
            maxClockSkew: self.max_clock_skew,
            solvencyRatioBps: self.solvency_ratio_bps,
            recoveryRatioBps: self.recovery_ratio_bps,
            attestationValidity: self.attestation_validity,
            protocol: self.protocol,
            localRecoveryBps: self.recovery.local_recovery_bps,
            releaseRatioBps: self.recovery.release_ratio_bps,
            drawPremiumBps: self.recovery.draw_premium_bps,
            standbyFeeBpsPerYear: self.recovery.standby_fee_bps_per_year,
            maxMovedPerEpoch: self.recovery.max_moved_per_epoch,
            maxPaidPerEpoch: self.recovery.max_paid_per_epoch,
            market: MarketTerms {
                market: market.is_some(),
                startBps: market.map_or(0, |m| m.start_bps),
                stepBps: market.map_or(0, |m| m.step_bps),
                maxBps: market.map_or(0, |m| m.max_bps),
                timeoutEpochs: market.map_or(0, |m| m.timeout_epochs),
            },
            calendar: CalendarTerms {
                periodEpochs: calendar.map_or(0, |c| c.period_epochs),
                lot: calendar.map_or(0, |c| c.lot_whole_units),
                lotsPerLane: calendar.map_or(0, |c| c.lots_per_lane),
            },
            ledgerKey: ledger.map_or(B256::ZERO, |l| l.public_key.into()),
            ledgerMeasurements: ledger.map_or_else(Vec::new, |l| l.measurements.clone()),
            ledgerAllowDev: ledger.is_some_and(|l| l.allow_dev),
            ledgerMaxEvidenceAge: ledger.map_or(0, |l| l.max_evidence_age),
            chains,
        };
        alloy::primitives::keccak256(terms.abi_encode_params())
    }

    /// The registered chain with this selector.
    pub fn chain(&self, selector: u64) -> Option<&ChainPolicy> {
        self.chains.iter().find(|c| c.selector == selector)
    }
}

impl ChainPolicy {
    /// The asset with this id.
    pub fn asset(&self, id: &B256) -> Option<&AssetPolicy> {
        self.assets.iter().find(|a| a.id == *id)
    }
}
