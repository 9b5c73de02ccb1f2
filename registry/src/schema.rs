//! The file format of `networks.toml`: plain serde structs, one per section. [`crate::Registry`]
//! is built from them; nothing outside this crate reads these strings again.
//!
//! The structs also serialize, so that a derived registry (the one `solvency devnet up` writes
//! for the devnet it started) can be written from a template.

use std::{collections::BTreeMap, fmt, path::PathBuf};

use serde::{Deserialize, Serialize};

/// The whole file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NetworksFile {
    /// The deployment id: a 0x-prefixed 32-byte hex value, or any other string, which is hashed
    /// with keccak256.
    pub deployment_id: String,
    /// What the enclave accepts and when it attests.
    #[serde(default)]
    pub policy: PolicySection,
    /// The enclave's public keys and how the aggregator reaches it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enclave: Option<EnclaveSection>,
    /// The aggregator daemon (`solvency run`).
    #[serde(default)]
    pub aggregator: AggregatorSection,
    /// The local devnet (`solvency devnet up`, `solvency demo`).
    #[serde(default)]
    pub devnet: DevnetSection,
    /// Every registered chain; exactly one is the hub.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chains: Vec<ChainSection>,
}

/// `[policy]`: acceptance windows, the solvency ratio and the attestation cadence.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct PolicySection {
    /// The protocol's account in the reserve vaults (its deposits, and the vaults' inflows, are
    /// its share, counted as reserves). Default: none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// Solvent iff reserves value ≥ liabilities value × this / 10 000. Default 10000 (100 %).
    pub solvency_ratio_bps: u32,
    /// Recovery instructions are due under this ratio; at least the solvency ratio. Default 11000.
    pub recovery_ratio_bps: u32,
    /// A chain whose own coverage falls under this takes standby by a location swap (0: no
    /// swaps). Default 10000.
    pub local_recovery_bps: u32,
    /// Drawn standby is released while the ratio stays at or above this; at least
    /// recovery_ratio_bps. Default recovery_ratio_bps + 1000.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release_ratio_bps: Option<u32>,
    /// The premium on each draw of standby, owed to the market maker drawn. Default 100.
    pub draw_premium_bps: u32,
    /// The fee on market makers' standby, per year. Default 200.
    pub standby_fee_bps_per_year: u32,
    /// The most value, in whole USD, one epoch's recovery may move. Default: no cap.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_moved_per_epoch_usd: Option<u64>,
    /// The most value, in whole USD, the standby fees and premiums of one epoch may add to
    /// market makers' claims. Default: no cap.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_paid_per_epoch_usd: Option<u64>,
    /// The dark pool: draws clear against market makers' sealed quotes, at one premium per
    /// class and epoch under a sliding reserve price. Default: none (every maker's standby is
    /// drawable at draw_premium_bps).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub market: Option<MarketSection>,
    /// Calendar lots: collateral moves between chains' vaults only at these public slots, in
    /// fixed lots, over the chains' CCIP token lanes. Default: none (nothing ever moves).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calendar: Option<CalendarSection>,
    /// Reports observed longer ago than this are refused, and a required chain whose latest
    /// report is this old blocks attestation. Default 600.
    pub max_report_age_secs: u64,
    /// How far in the future `observedAt` may be. Default 30.
    pub max_clock_skew_secs: u64,
    /// How long an attestation is valid. Default 900.
    pub attestation_validity_secs: u64,
    /// Re-attest at least this often while every required chain is fresh. Default 60.
    pub attestation_interval_secs: u64,
}

impl Default for PolicySection {
    fn default() -> Self {
        Self {
            protocol: None,
            solvency_ratio_bps: 10_000,
            recovery_ratio_bps: 11_000,
            local_recovery_bps: 10_000,
            release_ratio_bps: None,
            draw_premium_bps: 100,
            standby_fee_bps_per_year: 200,
            max_moved_per_epoch_usd: None,
            max_paid_per_epoch_usd: None,
            market: None,
            calendar: None,
            max_report_age_secs: 600,
            max_clock_skew_secs: 30,
            attestation_validity_secs: 900,
            attestation_interval_secs: 60,
        }
    }
}

/// `[policy.market]`: the sliding premium schedule's public bounds.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct MarketSection {
    /// The reserve price (the most premium paid) of a need's first epoch, in basis points.
    pub start_bps: u32,
    /// What it rises by each epoch the need stays unfilled.
    pub step_bps: u32,
    /// The most it ever reaches.
    pub max_bps: u32,
    /// Epochs a need is offered before it waits: for the next calendar slot with
    /// `[policy.calendar]`, else until nothing is lacking.
    pub timeout_epochs: u32,
}

/// `[policy.calendar]`: when and how much collateral moves between chains (all public).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CalendarSection {
    /// A slot every this many epochs (the epochs divisible by it).
    pub period_epochs: u64,
    /// One lot, in whole units of each vault's collateral.
    pub lot: u64,
    /// The most lots one lane (source to destination) carries per slot: keep `lots_per_lane`
    /// × `lot` within the lane's token bucket (`solvency check` compares them).
    pub lots_per_lane: u32,
}

/// `[enclave]`
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct EnclaveSection {
    /// The X25519 key reporters seal to (0x + 64 hex digits).
    pub hpke_public_key: String,
    /// The enclave signer addresses registered on the contracts.
    pub signers: Vec<String>,
    /// The enclave's secret key file (`solvency keys generate`); `solvency run` hosts this
    /// enclave in-process when no `instances` are given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_file: Option<PathBuf>,
    /// Unix sockets of served enclave instances (`solvency enclave serve`), for a k-of-n
    /// quorum.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub instances: Vec<PathBuf>,
    /// k: matching signatures an attestation needs (the contracts' threshold). Default 1.
    #[serde(default = "one")]
    pub threshold: u8,
    /// What evidence an enclave must show to be registered.
    #[serde(default)]
    pub evidence: EvidenceSection,
    /// The deployment's ledger key and the code it may be released to. Without it the ledger
    /// key is derived from the HPKE key (a dev registry).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ledger: Option<LedgerSection>,
}

/// `[enclave.ledger]`: the key the ownership ledger's checkpoints are sealed to. Instances get
/// it from an instance that holds it (`solvency enclave serve --join`), by evidence of code
/// `measurements` lists, checked against `[enclave.evidence]`'s `allow_dev` and `max_age_secs`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LedgerSection {
    /// Its X25519 public key (0x + 64 hex digits).
    pub public_key: String,
    /// Measurements of the code it may be released to (0x + 64 hex digits each): dev evidence,
    /// the binary's SHA-256; Nitro, `keccak256(PCR0 || PCR1 || PCR2)`.
    pub measurements: Vec<String>,
    /// The key's file, for the instance that starts the deployment (`solvency keys generate`
    /// makes `ledger.key`) and for an in-process enclave. Others join instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_file: Option<PathBuf>,
}

fn one() -> u8 {
    1
}

/// `[enclave.evidence]`: the policy `solvency enclave register` verifies evidence against.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct EvidenceSection {
    /// Accept insecure software (`dev-insecure`) evidence. Default false; the devnet sets it.
    pub allow_dev: bool,
    /// Expected Nitro PCR values, `"<index>" = "0x<48 bytes of hex>"`; unlisted PCRs are not
    /// checked.
    pub pcrs: BTreeMap<String, String>,
    /// Oldest acceptable evidence, in seconds. Default 300.
    pub max_age_secs: u64,
    /// How long a registration lasts before it must be renewed with fresh evidence. Default
    /// 86400.
    pub registration_ttl_secs: u64,
}

impl Default for EvidenceSection {
    fn default() -> Self {
        Self {
            allow_dev: false,
            pcrs: BTreeMap::new(),
            max_age_secs: 300,
            registration_ttl_secs: 86_400,
        }
    }
}

/// `[aggregator]`
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct AggregatorSection {
    /// Where the aggregator keeps its cursor and the in-process enclave's state.
    pub state_dir: PathBuf,
    /// Hex secret key of the account that sends `publish` (pays gas; fees come from the hub).
    /// Outside a devnet only as `${VAR}` (or left out and given as `SOLVENCY_PUBLISHER_KEY`):
    /// a registry whose chains are not all test chains refuses a key written in the file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub publisher_key: Option<Secret>,
    /// The publisher's encrypted keystore (password from `SOLVENCY_KEYSTORE_PASSWORD` or
    /// `SOLVENCY_KEYSTORE_PASSWORD_FILE`), instead of `publisher_key`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub publisher_keystore: Option<PathBuf>,
    /// How often chains are polled for new logs, in milliseconds. Default 1000.
    pub poll_interval_ms: u64,
    /// After this long without an attestation landing on a spoke, the aggregator says so
    /// (delivery goes on being watched). Default 3600.
    pub delivery_timeout_secs: u64,
    /// Why `publisher_key` could not be expanded (its variable is unset): an error for the
    /// command that needs the key, and for no other.
    #[serde(skip)]
    pub publisher_unset: Option<String>,
    /// Whether `publisher_key` is written in the file itself rather than `${VAR}`.
    #[serde(skip)]
    pub publisher_key_literal: bool,
}

impl Default for AggregatorSection {
    fn default() -> Self {
        Self {
            state_dir: PathBuf::from(".solvency"),
            publisher_key: None,
            publisher_keystore: None,
            poll_interval_ms: 1_000,
            delivery_timeout_secs: 3_600,
            publisher_unset: None,
            publisher_key_literal: false,
        }
    }
}

/// A secret as the file holds it: `Debug` never shows it.
#[derive(Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// `[[chains]]`: one registered chain.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ChainSection {
    /// A unique name.
    pub name: String,
    /// EVM chain id.
    pub chain_id: u64,
    /// CCIP chain selector (the official registry's), an integer or a decimal string: TOML
    /// integers stop at 2^63 − 1 and many official selectors are larger.
    #[serde(with = "selector")]
    pub selector: u64,
    /// JSON-RPC endpoint.
    pub rpc_url: String,
    /// More endpoints of the same chain, tried in order when the one in use fails.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fallback_rpc_urls: Vec<String>,
    /// The chain's CCIP router.
    pub router: String,
    /// The `SolvencyHub`, on the hub chain only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hub: Option<String>,
    /// The `SolvencySpoke`, on every other chain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spoke: Option<String>,
    /// The chain's `ReserveVault`, if it has one: part of the policy (the attestation's chain
    /// leaf names it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vault: Option<String>,
    /// The symbol of the vault's collateral, one of the chain's assets (with `vault`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vault_asset: Option<String>,
    /// The collateral's ERC-20 address, for `solvency deploy` to deploy the vault over
    /// (`vault = "deploy"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vault_token: Option<String>,
    /// The hub's `QuoteBoard` (the dark pool's sealed quotes), on the hub chain only: its
    /// address, or "deploy" for `solvency deploy` to deploy one (rounds of
    /// `--quote-round-secs`) and set it on the hub.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quote_board: Option<String>,
    /// Blocks a `ReportDelivered` log must be under before it is read (hub only). Default 0.
    #[serde(default)]
    pub confirmations: u64,
    /// Blocks per `eth_getLogs` page. Default 1000.
    #[serde(default = "default_page")]
    pub log_page_blocks: u64,
    /// The hub's deployment block: a fresh aggregator reads reports from here. Default 0.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub from_block: u64,
    /// No attestation without a fresh report from a required chain. Default true.
    #[serde(default = "default_true")]
    pub required: bool,
    /// The reporter's X25519 public key.
    pub reporter_public_key: String,
    /// The treasury's X25519 public key (instructions are sealed to it).
    pub treasury_public_key: String,
    /// Assets a report from this chain may carry.
    pub assets: Vec<AssetSection>,
    /// How `solvency reporter run` reports this chain (every key has a default).
    #[serde(default, skip_serializing_if = "ReportingSection::is_default")]
    pub reporting: ReportingSection,
    /// How long CCIP takes to deliver a message sent from this chain, in seconds: its source
    /// finality and the network's commit and execution. Default: 1,200 for a chain in the
    /// official selector table (Ethereum and OP-stack L2s finalize in about 15–20 minutes),
    /// 0 for test chains and chains the table does not know. `solvency check` warns when a
    /// freshness window is shorter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ccip_latency_secs: Option<u64>,
    /// The account allowed to submit this chain's report (`setReporter`; `solvency admin sync`
    /// sets it), if the registry says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reporter_account: Option<String>,
}

/// `[chains.reporting]`: when the chain's reporter daemon reports.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct ReportingSection {
    /// Report at least this often, in seconds; below `[policy] max_report_age_secs`. Default:
    /// 40 % of it (240 for the default 600).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub heartbeat_secs: Option<u64>,
    /// Report at once when a figure moves by more than this, in basis points of the last
    /// reported figure; 0 reports on the heartbeat only. Default 100 (1 %).
    pub deviation_bps: u32,
    /// Read the sources this often, in seconds; at most the heartbeat. Default: 10, or the
    /// heartbeat when shorter.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub poll_secs: Option<u64>,
}

impl Default for ReportingSection {
    fn default() -> Self {
        Self { heartbeat_secs: None, deviation_bps: 100, poll_secs: None }
    }
}

impl ReportingSection {
    fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

fn default_page() -> u64 {
    1_000
}

fn default_true() -> bool {
    true
}

fn is_zero(value: &u64) -> bool {
    *value == 0
}

/// `[[chains.assets]]` (and `[[devnet.assets]]`).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AssetSection {
    /// Symbol; the asset id is keccak256(symbol).
    pub symbol: String,
    /// Decimals of the smallest unit.
    pub decimals: u8,
    /// Price of one whole unit in USD, as a decimal string ("3000.25").
    pub price_usd: String,
    /// Haircut on reserves in basis points. Default 0.
    #[serde(default)]
    pub haircut_bps: u16,
    /// Where the reporter daemon reads the chain's reserves of this asset (summed). Reporter
    /// configuration only: not part of the policy the contracts pin.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reserves: Vec<SourceSection>,
    /// Where it reads the chain's liabilities in this asset (summed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub liabilities: Vec<SourceSection>,
}

/// `[[chains.assets.reserves]]` / `[[chains.assets.liabilities]]`: one source of a figure.
/// `kind` says which keys apply:
///
/// - `erc20_balance`: `token`, `holders` — the sum of `balanceOf(holder)` on this chain;
/// - `erc20_supply`: `token` — `totalSupply()` on this chain;
/// - `chainlink_feed`: `feed`, `max_age_secs` — a Chainlink `AggregatorV3Interface` feed on
///   this chain (a Proof-of-Reserve feed, for instance), refused when older than the limit;
/// - `http_json`: `url`, `pointer`, `headers_from_env`, `unit` — a figure in a JSON document
///   (a custodian's API), found by an RFC 6901 JSON pointer.
///
/// Figures are scaled to the asset's decimals, reserves rounded down and liabilities up.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SourceSection {
    /// `erc20_balance`, `erc20_supply`, `chainlink_feed` or `http_json`.
    pub kind: String,
    /// The ERC-20 token (`erc20_*`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Addresses whose balances are summed (`erc20_balance`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub holders: Vec<String>,
    /// The feed (`chainlink_feed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feed: Option<String>,
    /// The oldest `updatedAt` accepted, in seconds (`chainlink_feed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age_secs: Option<u64>,
    /// The document (`http_json`): `http://` or `https://`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Where the figure is in it, e.g. `/reserves/usdc` (`http_json`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pointer: Option<String>,
    /// Request headers whose values come from environment variables, `Header = "VAR"`
    /// (`http_json`): API keys stay out of the file.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers_from_env: BTreeMap<String, String>,
    /// `smallest` (default: an integer in the asset's smallest unit) or `whole` (a decimal in
    /// whole units, such as "1234.56") (`http_json`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// How long a read may take, in seconds. Default 10.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_secs: Option<u64>,
}

/// `[devnet]`: how the local devnet is started. Every key has a default.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct DevnetSection {
    /// Number of anvil chains (the first is the hub). Default 3.
    pub chains: usize,
    /// Fee each devnet router charges per message, in wei (a decimal string). Default 0.001 ETH.
    pub ccip_fee_wei: String,
    /// What the hub is funded with for attestation fees, in wei. Default 100 ETH.
    pub hub_funding_wei: String,
    /// How often the relayer polls each chain, in milliseconds. Default 20.
    pub poll_interval_ms: u64,
    /// Gas each spoke's `ccipReceive` gets for an attestation. Default 400000.
    pub attestation_gas_limit: u32,
    /// Gas the hub's `ccipReceive` gets for a report. Default 200000.
    pub report_gas_limit: u32,
    /// Assets every devnet chain registers.
    pub assets: Vec<AssetSection>,
    /// How long a round of the hub's `QuoteBoard` lasts, in seconds of hub time: a devnet whose
    /// policy has a market (`[policy.market]`) deploys one. Default 2.
    pub quote_round_secs: u64,
    /// Token lanes: every chain runs CCIP's Router with stand-in ramps and a burn/mint
    /// "USDC" (CCIP's `BurnMintTokenPool`) as its vaults' collateral, so calendar lots cross
    /// (docs/devnet.md, "Token lanes"). Default true; false runs chainlink-local's
    /// `MockCCIPRouter`, which carries no token, and a `DevnetToken` collateral.
    pub lanes: bool,
    /// Written by `solvency devnet up --fork`: the chains are local forks of real ones, so they
    /// carry real chain ids while every endpoint is a local anvil. A key written in the file is
    /// then still a devnet key — as long as every endpoint is on loopback. Default false.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub forked: bool,
}

impl Default for DevnetSection {
    fn default() -> Self {
        Self {
            chains: 3,
            ccip_fee_wei: "1000000000000000".into(),
            hub_funding_wei: "100000000000000000000".into(),
            poll_interval_ms: 20,
            attestation_gas_limit: 400_000,
            report_gas_limit: 200_000,
            assets: vec![
                AssetSection {
                    symbol: "USDC".into(),
                    decimals: 6,
                    price_usd: "1".into(),
                    haircut_bps: 0,
                    reserves: Vec::new(),
                    liabilities: Vec::new(),
                },
                AssetSection {
                    symbol: "WETH".into(),
                    decimals: 18,
                    price_usd: "3000".into(),
                    haircut_bps: 1_000,
                    reserves: Vec::new(),
                    liabilities: Vec::new(),
                },
            ],
            quote_round_secs: 2,
            lanes: true,
            forked: false,
        }
    }
}

/// CCIP selectors in TOML: an integer up to 2^63 − 1, or a decimal string for any `u64`.
/// Written as an integer when it fits, as a string otherwise.
pub mod selector {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Form {
        Integer(i64),
        Text(String),
    }

    /// Reads an integer or a decimal string.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
        match Form::deserialize(deserializer)? {
            Form::Integer(value) => u64::try_from(value)
                .map_err(|_| D::Error::custom(format!("selector {value} is negative"))),
            Form::Text(text) => text.trim().parse::<u64>().map_err(|_| {
                D::Error::custom(format!(
                    "selector {text:?} is not a decimal number between 1 and 18446744073709551615"
                ))
            }),
        }
    }

    /// Writes an integer when TOML can hold it, a decimal string otherwise.
    pub fn serialize<S: Serializer>(value: &u64, serializer: S) -> Result<S::Ok, S::Error> {
        match i64::try_from(*value) {
            Ok(small) => serializer.serialize_i64(small),
            Err(_) => serializer.serialize_str(&value.to_string()),
        }
    }
}
