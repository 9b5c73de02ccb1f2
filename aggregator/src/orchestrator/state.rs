//! What the aggregator keeps in its state directory: which hub it reads, how far it has judged
//! the hub's reports, and where each chain's last accepted report is (so that a restarted
//! enclave gets its ledger back from the hub). No secret and no amount.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use alloy::primitives::{Address, B256};
use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use solvency_chain_adapters::LogPosition;

/// The file inside the state directory.
pub const STATE_FILE: &str = "aggregator-state.json";

/// The hub a state directory belongs to. A cursor means nothing on another chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HubIdentity {
    /// The deployment.
    pub deployment_id: B256,
    /// The hub chain's id.
    pub chain_id: u64,
    /// The hub chain's block 0: a chain started again under the same id has another.
    pub genesis: B256,
    /// The `SolvencyHub`.
    pub hub: Address,
}

/// A chain's last accepted report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LatestReport {
    /// Where it is in the hub's log.
    pub at: LogPosition,
    /// Its seq.
    pub seq: u64,
}

/// The aggregator's persisted state.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AggregatorState {
    /// Whose it is.
    pub identity: HubIdentity,
    /// The next report to judge: every report before it has been judged by the enclave.
    pub cursor: LogPosition,
    /// Per chain selector, its last accepted report.
    pub latest: BTreeMap<u64, LatestReport>,
    /// Per chain selector, the seq the last round's attestation covered: a round is complete
    /// when every required chain has reported after it.
    #[serde(default)]
    pub covered: BTreeMap<u64, u64>,
}

/// The state file and the lock that makes this process its only writer.
pub(crate) struct StateFile {
    path: PathBuf,
    pub(crate) state: AggregatorState,
}

impl StateFile {
    /// Opens the state of `dir` for `identity`: a fresh state starting at `from_block` when the
    /// directory has none, an error when it belongs to another hub.
    pub(crate) fn open(dir: &Path, identity: HubIdentity, from_block: u64) -> anyhow::Result<Self> {
        let path = dir.join(STATE_FILE);
        let state = match std::fs::read(&path) {
            Ok(bytes) => {
                let state: AggregatorState = serde_json::from_slice(&bytes).with_context(|| {
                    format!(
                        "{}: not an aggregator state file; move it away to read the hub from its first block again",
                        path.display()
                    )
                })?;
                if state.identity != identity {
                    bail!(
                        "{} belongs to another deployment or chain (hub {} on chain {} with genesis {}); \
                         this registry's hub is {} on chain {} with genesis {}. Give this registry a state \
                         directory of its own ([aggregator] state_dir), or move the old one away to start afresh",
                        dir.display(),
                        state.identity.hub,
                        state.identity.chain_id,
                        state.identity.genesis,
                        identity.hub,
                        identity.chain_id,
                        identity.genesis
                    );
                }
                state
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => AggregatorState {
                identity,
                cursor: LogPosition::block_start(from_block),
                latest: BTreeMap::new(),
                covered: BTreeMap::new(),
            },
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        Ok(Self { path, state })
    }

    /// Writes the state durably; callers call this only after the effect it records.
    pub(crate) fn save(&self) -> anyhow::Result<()> {
        let json = serde_json::to_vec_pretty(&self.state).expect("state serializes");
        solvency_durable::write_atomic(&self.path, &json, 0o600)?;
        Ok(())
    }
}
