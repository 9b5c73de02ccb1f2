//! The typed values a [`crate::Registry`] holds: parsed once, never parsed again downstream.

use std::{fmt, path::PathBuf, time::Duration};

use alloy::{
    primitives::{Address, U256},
    signers::local::PrivateKeySigner,
};
use solvency_enclave::{AssetPolicy, EvidencePolicy, X25519Public};

/// The `[policy]` section: windows, ratios and cadence. The enclave's full
/// [`solvency_enclave::Policy`] is these plus the chains ([`crate::Network::policy`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicySettings {
    /// The protocol's account in the reserve vaults: its share counts as reserves.
    pub protocol: Option<Address>,
    /// Solvent iff reserves value ≥ liabilities value × this / 10 000.
    pub solvency_ratio_bps: u32,
    /// Recovery is due under this ratio (at least the solvency ratio).
    pub recovery_ratio_bps: u32,
    /// The planner's other terms.
    pub recovery: solvency_enclave::planner::RecoveryTerms,
    /// Oldest acceptable report.
    pub max_report_age: Duration,
    /// How far in the future a report's `observedAt` may be.
    pub max_clock_skew: Duration,
    /// How long an attestation is valid.
    pub attestation_validity: Duration,
    /// Re-attest at least this often while every required chain is fresh.
    pub attestation_interval: Duration,
}

/// What a chain's contract is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChainRole {
    /// The hub chain: its `SolvencyHub`.
    Hub(Address),
    /// Every other chain: its `SolvencySpoke`.
    Spoke(Address),
}

impl ChainRole {
    /// The contract consumers read (`ISolvencyOracle`): the hub or the spoke.
    pub fn oracle(&self) -> Address {
        match self {
            Self::Hub(address) | Self::Spoke(address) => *address,
        }
    }

    /// True on the hub chain.
    pub fn is_hub(&self) -> bool {
        matches!(self, Self::Hub(_))
    }

    /// `hub` or `spoke`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Hub(_) => "hub",
            Self::Spoke(_) => "spoke",
        }
    }
}

/// A JSON-RPC endpoint, or another HTTP URL a secret may be part of. Its full text may carry an API key (in the path, the query or the user
/// part), so `Display` and `Debug` show only scheme, host and port; [`RpcUrl::expose`] gives the
/// URL to connect to.
#[derive(Clone, PartialEq, Eq)]
pub struct RpcUrl(url::Url);

impl RpcUrl {
    /// Parses and checks an endpoint: `http[s]://` or `ws[s]://host[:port][/path]`. TLS is
    /// verified against the system's roots (`SSL_CERT_FILE` or `SSL_CERT_DIR` add others).
    pub fn parse(text: &str) -> Result<Self, String> {
        let url = url::Url::parse(text).map_err(|e| {
            format!("is not a URL ({e}); give a full URL such as https://rpc.example or http://127.0.0.1:8545")
        })?;
        match url.scheme() {
            "http" | "https" | "ws" | "wss" => {}
            other => {
                return Err(format!(
                    "{other}:// is not a JSON-RPC transport; use https:// or wss://"
                ));
            }
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err("has no host; give a full URL such as http://127.0.0.1:8545".into());
        }
        Ok(Self(url))
    }

    /// The whole URL, secrets included: for connecting only, never for a message.
    pub fn expose(&self) -> &url::Url {
        &self.0
    }
}

impl fmt::Display for RpcUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.0.scheme(), self.0.host_str().unwrap_or(""))?;
        if let Some(port) = self.0.port() {
            write!(f, ":{port}")?;
        }
        if self.0.path() != "/" || self.0.query().is_some() || !self.0.username().is_empty() {
            f.write_str("/…")?;
        }
        Ok(())
    }
}

impl fmt::Debug for RpcUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RpcUrl({self})")
    }
}

/// One registered chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainConfig {
    /// A unique name.
    pub name: String,
    /// EVM chain id.
    pub chain_id: u64,
    /// CCIP chain selector.
    pub selector: u64,
    /// JSON-RPC endpoint.
    pub rpc_url: RpcUrl,
    /// More endpoints of the chain (`fallback_rpc_urls`), tried in order after `rpc_url`.
    pub fallback_rpc_urls: Vec<RpcUrl>,
    /// The chain's CCIP router.
    pub router: Address,
    /// Hub or spoke, with the contract's address.
    pub role: ChainRole,
    /// Blocks a `ReportDelivered` log must be under before it is read (hub).
    pub confirmations: u64,
    /// Blocks per `eth_getLogs` page.
    pub log_page_blocks: u64,
    /// Where a fresh aggregator starts reading the hub.
    pub from_block: u64,
    /// No attestation without a fresh report from a required chain.
    pub required: bool,
    /// The reporter's X25519 key.
    pub reporter: X25519Public,
    /// The treasury's X25519 key.
    pub treasury: X25519Public,
    /// Assets a report from this chain may carry.
    pub assets: Vec<AssetPolicy>,
    /// Where the reporter daemon reads each asset's figures (assets without sources left out).
    pub sources: Vec<AssetSources>,
    /// When the reporter daemon reports.
    pub reporting: Reporting,
    /// The chain's reserve vault, if it has one (part of the policy).
    pub vault: Option<Address>,
    /// The symbol of the vault's collateral (one of `assets`), when there is a vault.
    pub vault_asset: Option<String>,
    /// The hub's quote board, if the registry names one (hub chain only).
    pub quote_board: Option<Address>,
    /// How long CCIP takes to deliver a message sent from this chain (`ccip_latency_secs`).
    pub ccip_latency: Duration,
    /// The account allowed to submit the chain's report, if the registry names it.
    pub reporter_account: Option<Address>,
}

/// When the reporter daemon reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reporting {
    /// At least this often.
    pub heartbeat: Duration,
    /// At once when a figure moves by more than this (basis points of the last reported
    /// figure); 0: on the heartbeat only.
    pub deviation_bps: u32,
    /// How often the sources are read.
    pub poll: Duration,
}

/// One asset's sources.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssetSources {
    /// The asset's symbol.
    pub symbol: String,
    /// Its decimals.
    pub decimals: u8,
    /// Summed into the reserves.
    pub reserves: Vec<Source>,
    /// Summed into the liabilities.
    pub liabilities: Vec<Source>,
}

/// One source of a figure, with how long a read may take.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    /// What is read.
    pub kind: SourceKind,
    /// The longest a read may take.
    pub timeout: Duration,
}

/// What a source reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceKind {
    /// The sum of `balanceOf(holder)` of an ERC-20 on the chain.
    Erc20Balance {
        /// The token.
        token: Address,
        /// The holders.
        holders: Vec<Address>,
    },
    /// `totalSupply()` of an ERC-20 on the chain.
    Erc20Supply {
        /// The token.
        token: Address,
    },
    /// The answer of a Chainlink `AggregatorV3Interface` feed on the chain.
    ChainlinkFeed {
        /// The feed.
        feed: Address,
        /// The oldest `updatedAt` accepted.
        max_age: Duration,
    },
    /// A figure in a JSON document.
    HttpJson {
        /// The document (its text may carry an API key: shown as scheme, host and port only).
        url: RpcUrl,
        /// An RFC 6901 pointer to the figure.
        pointer: String,
        /// Request headers and the environment variables their values come from.
        headers_from_env: Vec<(String, String)>,
        /// The figure is in whole units (a decimal), not in the smallest unit (an integer).
        whole_units: bool,
    },
}

impl SourceKind {
    /// A short description that names the source without any secret (an HTTP source by its
    /// host and path only).
    pub fn describe(&self) -> String {
        match self {
            Self::Erc20Balance { token, holders } => {
                format!("balanceOf {} holder(s) of token {token}", holders.len())
            }
            Self::Erc20Supply { token } => format!("totalSupply of token {token}"),
            Self::ChainlinkFeed { feed, .. } => format!("feed {feed}"),
            Self::HttpJson { url, pointer, .. } => format!("{url} at {pointer}"),
        }
    }
}

impl ChainConfig {
    /// Every endpoint of the chain, in the order to try them.
    pub fn rpc_urls(&self) -> impl Iterator<Item = &RpcUrl> {
        std::iter::once(&self.rpc_url).chain(&self.fallback_rpc_urls)
    }

    /// The chain's `ISolvencyOracle` (hub or spoke).
    pub fn oracle(&self) -> Address {
        self.role.oracle()
    }

    /// The asset with this symbol.
    pub fn asset(&self, symbol: &str) -> Option<&AssetPolicy> {
        self.assets.iter().find(|a| a.symbol == symbol)
    }
}

/// How `solvency run` reaches the enclave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EnclaveMode {
    /// One enclave hosted in the aggregator's own process, from its key file.
    InProcess {
        /// The enclave key file.
        key_file: PathBuf,
    },
    /// Served instances (`solvency enclave serve`), k of which must sign the same statement.
    Quorum {
        /// Their Unix sockets.
        instances: Vec<PathBuf>,
        /// k.
        threshold: u8,
    },
}

impl EnclaveMode {
    /// How many matching signatures an attestation needs.
    pub fn threshold(&self) -> usize {
        match self {
            Self::InProcess { .. } => 1,
            Self::Quorum { threshold, .. } => (*threshold).into(),
        }
    }
}

/// `[enclave]`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnclaveConfig {
    /// The key reporters seal to.
    pub hpke_public_key: X25519Public,
    /// The signers registered on the contracts.
    pub signers: Vec<Address>,
    /// How the aggregator reaches the enclave, if the file says.
    pub mode: Option<EnclaveMode>,
    /// What evidence registration requires.
    pub evidence: EvidenceConfig,
    /// `[enclave.ledger]`, if the file has it.
    pub ledger: Option<LedgerConfig>,
}

/// `[enclave.ledger]`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerConfig {
    /// What the policy (and its digest) says of the ledger key.
    pub policy: solvency_enclave::LedgerKeyPolicy,
    /// The key's file, if the file names one (resolved against the registry's directory).
    pub key_file: Option<PathBuf>,
}

/// `[enclave.evidence]`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvidenceConfig {
    /// What evidence must show (the registrar adds the nonce and the expected keys).
    pub policy: EvidencePolicy,
    /// How long a registration lasts.
    pub registration_ttl: Duration,
}

/// `[aggregator]`
#[derive(Clone, Debug)]
pub struct AggregatorConfig {
    /// Its state directory (resolved against the registry's directory).
    pub state_dir: PathBuf,
    /// The account that sends `publish`, when the file gives it. `Debug` shows its address only.
    pub publisher: Option<PrivateKeySigner>,
    /// Why the file's `publisher_key` is not available (its `${VAR}` is unset), if so.
    pub publisher_unset: Option<String>,
    /// The publisher's encrypted keystore (resolved against the registry's directory).
    pub publisher_keystore: Option<PathBuf>,
    /// How often chains are polled.
    pub poll_interval: Duration,
    /// When a delivery counts as late (it goes on being watched).
    pub delivery_timeout: Duration,
}

/// `[devnet]`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DevnetSettings {
    /// Number of chains; the first is the hub.
    pub chains: usize,
    /// What each devnet router charges per message.
    pub ccip_fee: U256,
    /// The hub's balance for attestation fees.
    pub hub_funding: U256,
    /// How often the relayer polls each chain.
    pub poll_interval: Duration,
    /// Gas a spoke's `ccipReceive` gets for an attestation.
    pub attestation_gas_limit: u32,
    /// Gas the hub's `ccipReceive` gets for a report.
    pub report_gas_limit: u32,
    /// Assets every devnet chain registers.
    pub assets: Vec<AssetPolicy>,
    /// The length of a quote round on the hub's `QuoteBoard`, which a devnet whose policy has
    /// a market (`[policy.market]`) deploys.
    pub quote_round: Duration,
    /// Token lanes instead of `MockCCIPRouter` (`[devnet] lanes`).
    pub lanes: bool,
}
