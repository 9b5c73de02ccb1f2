//! Pre-flight: what must hold on every chain before the aggregator may run, checked against the
//! registry — the chain id each RPC serves, the contracts at the registry's addresses and their
//! wiring, the policy digest, the enclave's signer registrations and threshold, the hub's fee
//! balance — and the freshness windows against each lane's CCIP latency. `solvency check`
//! prints every finding; `solvency run` refuses to start on an error.

use std::collections::BTreeMap;

use alloy::{
    primitives::{Address, B256, Bytes, keccak256},
    providers::Provider,
};
use serde::Serialize;
use solvency_ccip::bindings::{hub::SolvencyHub, oracle::SolvencyOracleBase, spoke::SolvencySpoke};
use solvency_enclave::{
    ChainLeaf, ChainMessage, SolvencyAttestation, instruction::SEALED_INSTRUCTION_LEN,
    merkle::MerkleTree,
};
use solvency_registry::{ChainConfig, Registry};

use crate::{Backoff, ChainClient, Error};

/// What a finding is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    /// The RPC endpoint answers.
    Rpc,
    /// It serves the registry's chain id.
    ChainId,
    /// A contract is deployed at each address the registry gives.
    Contract,
    /// The contracts name each other, the router, the chain and the deployment as the registry
    /// does.
    Wiring,
    /// The oracle holds the registry's policy digest.
    PolicyDigest,
    /// The enclave's signers are registered and unexpired, with the registry's threshold.
    Signers,
    /// The hub can pay for one attestation's messages.
    Fees,
    /// A freshness window is shorter than a lane's CCIP latency.
    Timing,
    /// `[devnet] forked` is set, and the endpoint is not a local fork (anvil).
    Fork,
    /// With `[policy.calendar]`: a lane between two vaults of one collateral carries it, and its
    /// bucket and the source vault's outflow limit hold a slot's lots.
    Lanes,
}

/// How bad a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The round would go wrong: `solvency run` refuses to start.
    Error,
    /// Worth fixing; the round can run.
    Warning,
}

/// One thing wrong.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The chain (or `*` for the whole registry).
    pub chain: String,
    /// What was checked.
    pub check: Check,
    /// How bad.
    pub severity: Severity,
    /// What is wrong and what to do (never an RPC URL's secrets).
    pub message: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{severity} [{}] {}: {}", serde_plain(self.check), self.chain, self.message)
    }
}

fn serde_plain(check: Check) -> String {
    serde_json::to_value(check).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

/// Every finding on every chain of `registry`, errors first; empty when all is well. Chains
/// are checked concurrently; a chain whose RPC does not answer gets one `rpc` finding.
pub async fn preflight(
    registry: &Registry,
) -> Result<Vec<Finding>, solvency_registry::ConfigError> {
    let network = registry.network()?;
    let mut findings = timing(registry)?;
    let checks = network.chains.iter().map(|chain| check_chain(registry, chain));
    for chain_findings in futures::future::join_all(checks).await {
        findings.extend(chain_findings);
    }
    findings.extend(lane_findings(registry).await);
    findings.sort_by_key(|f| f.severity);
    Ok(findings)
}

/// The windows against each lane's latency (no RPC).
fn timing(registry: &Registry) -> Result<Vec<Finding>, solvency_registry::ConfigError> {
    let network = registry.network()?;
    let hub = network.hub();
    let max_report_age = registry.policy.max_report_age.as_secs();
    let validity = registry.policy.attestation_validity.as_secs();
    let timeout = registry.aggregator.delivery_timeout.as_secs();
    let mut out = Vec::new();
    let mut warn = |chain: &str, message: String| {
        out.push(Finding {
            chain: chain.to_owned(),
            check: Check::Timing,
            severity: Severity::Warning,
            message,
        });
    };
    for spoke in network.spokes() {
        let up = spoke.ccip_latency.as_secs();
        if up >= max_report_age {
            warn(
                &spoke.name,
                format!(
                    "its reports reach the hub after about {up} s but [policy] max_report_age_secs is {max_report_age}: every one would be too old on arrival; raise it above the lane's latency"
                ),
            );
        }
        let down = hub.ccip_latency.as_secs();
        if down >= validity {
            warn(
                &spoke.name,
                format!(
                    "attestations reach it after about {down} s (the hub's ccip_latency_secs) but [policy] attestation_validity_secs is {validity}: they would expire on arrival"
                ),
            );
        }
        if down >= timeout {
            warn(
                &spoke.name,
                format!(
                    "deliveries to it take about {down} s but [aggregator] delivery_timeout_secs is {timeout}: every one would be reported late"
                ),
            );
        }
    }
    Ok(out)
}

/// One chain's findings.
async fn check_chain(registry: &Registry, chain: &ChainConfig) -> Vec<Finding> {
    let mut out = Vec::new();
    let finding = |check, severity, message: String| Finding {
        chain: chain.name.clone(),
        check,
        severity,
        message,
    };
    let error = |check, message| finding(check, Severity::Error, message);
    let backoff = Backoff { attempts: 2, ..Backoff::default() };
    // Every endpoint, each alone: a fallback of another network would be read from and signed
    // for (the clients below refuse to use it).
    let mut answered = 0;
    for (index, url) in chain.rpc_urls().enumerate() {
        let which = if index == 0 {
            "rpc_url".to_owned()
        } else {
            format!("fallback_rpc_urls[{}]", index - 1)
        };
        let alone = ChainClient::endpoint(chain, index, backoff).expect("the endpoint exists");
        match alone.read("read the chain id", || alone.provider().get_chain_id()).await {
            Ok(actual) if actual == chain.chain_id => answered += 1,
            Ok(actual) => {
                let serves = solvency_registry::selectors::by_chain_id(actual)
                    .map_or_else(String::new, |c| format!(" ({})", c.name));
                out.push(error(
                    Check::ChainId,
                    format!(
                        "{which} ({url}) serves chain id {actual}{serves}, the registry says {}; fix the endpoint or chain_id",
                        chain.chain_id
                    ),
                ));
            }
            Err(e) => {
                out.push(error(Check::Rpc, format!("{which}: {e}; is the endpoint right and up?")))
            }
        }
    }
    if answered == 0 {
        return out;
    }
    // `[devnet] forked` lets a key written in the registry sign for real chain ids on loopback
    // endpoints: each must be an anvil fork, or the key would sign on a real chain (a local
    // node, a tunnel).
    if registry.source().devnet.forked {
        for index in 0..chain.rpc_urls().count() {
            let alone = ChainClient::endpoint(chain, index, backoff).expect("the endpoint exists");
            let info: Result<serde_json::Value, _> = alone
                .read("ask for anvil's node info", || {
                    alone.provider().raw_request("anvil_nodeInfo".into(), ())
                })
                .await;
            let forked = info.as_ref().is_ok_and(|info| !info["forkConfig"]["forkUrl"].is_null());
            if !forked {
                out.push(error(
                    Check::Fork,
                    format!(
                        "endpoint {} is not an anvil fork, but [devnet] forked says every one \
                         is (which lets a key written in the registry sign for these real \
                         chain ids): remove [devnet] forked and give the key as \"${{VAR}}\"",
                        index + 1
                    ),
                ));
                return out;
            }
        }
    }
    let client = ChainClient::new(chain, backoff);
    // Code at every address the registry gives.
    let role = if chain.role.is_hub() { "hub" } else { "spoke" };
    let mut addresses = vec![("router", chain.router), (role, chain.oracle())];
    if let Some(vault) = chain.vault {
        addresses.push(("vault", vault));
    }
    let mut oracle_missing = false;
    for (what, address) in addresses {
        match client
            .read("read code", || async { client.provider().get_code_at(address).await })
            .await
        {
            Ok(code) if code.is_empty() => {
                oracle_missing |= what == role;
                out.push(error(
                    Check::Contract,
                    format!("no contract at {address} (the registry's {what}); is it deployed on this chain?"),
                ));
            }
            Ok(_) => {}
            Err(e) => out.push(error(Check::Rpc, e.to_string())),
        }
    }
    if oracle_missing {
        return out;
    }
    match oracle_findings(registry, chain, &client).await {
        Ok(found) => out.extend(found.into_iter().map(|(check, message)| error(check, message))),
        // The contract there does not answer as this project's oracle does: the wrong contract
        // (not an endpoint that is down, which `run` tolerates on a spoke).
        Err(e @ Error::Refused { .. }) => out.push(error(
            Check::Contract,
            format!(
                "the contract at {} is not a solvency oracle of this build: {e}",
                chain.oracle()
            ),
        )),
        Err(e) => out.push(error(Check::Rpc, e.to_string())),
    }
    if chain.role.is_hub() {
        match fee_finding(registry, &client).await {
            Ok(Some(message)) => out.push(error(Check::Fees, message)),
            Ok(None) => {}
            Err(e) => out.push(finding(
                Check::Fees,
                Severity::Warning,
                format!("the fee of an attestation could not be quoted: {e}"),
            )),
        }
    }
    out
}

/// What the oracle (and, on the hub, its spokes; on a spoke, its hub) says against the
/// registry.
async fn oracle_findings(
    registry: &Registry,
    chain: &ChainConfig,
    client: &ChainClient,
) -> Result<Vec<(Check, String)>, Error> {
    let network = registry.network().expect("checked by the caller");
    let oracle = SolvencyOracleBase::new(chain.oracle(), client.provider());
    let mut out = Vec::new();
    let selector = client
        .call("call getLocalChainSelector()", || async {
            oracle.getLocalChainSelector().call().await
        })
        .await?;
    if selector != chain.selector {
        out.push((
            Check::Wiring,
            format!(
                "the oracle at {} was deployed for selector {selector}, the registry says {}",
                chain.oracle(),
                chain.selector
            ),
        ));
    }
    let deployment = client
        .call("call getDeploymentId()", || async { oracle.getDeploymentId().call().await })
        .await?;
    if deployment != registry.deployment_id {
        out.push((
            Check::Wiring,
            format!(
                "the oracle belongs to deployment {deployment}, the registry is deployment {}",
                registry.deployment_id
            ),
        ));
    }
    let vault = client.call("call getVault()", || async { oracle.getVault().call().await }).await?;
    if vault != chain.vault.unwrap_or(Address::ZERO) {
        out.push((
            Check::Wiring,
            format!(
                "the oracle's vault is {vault}, the registry's is {}",
                chain.vault.map_or_else(|| "none".into(), |v| v.to_string())
            ),
        ));
    }
    let digest = client
        .call("call getPolicyDigest()", || async { oracle.getPolicyDigest().call().await })
        .await?;
    let expected = network.policy.digest();
    if digest != expected {
        out.push((
            Check::PolicyDigest,
            format!(
                "the oracle holds policy digest {digest}, the registry's policy is {expected}: attestations would be refused (PolicyMismatch). Set it (`solvency attestation policy-digest` prints it) or fix networks.toml"
            ),
        ));
    }
    let signers =
        client.call("call getSigners()", || async { oracle.getSigners().call().await }).await?;
    let threshold = network.enclave.mode.as_ref().map_or(1, |m| m.threshold());
    if usize::from(signers.threshold) != threshold {
        out.push((
            Check::Signers,
            format!(
                "the oracle's threshold is {}, the registry's [enclave] needs {threshold}",
                signers.threshold
            ),
        ));
    }
    let (_, now) = client.latest_block().await?;
    for signer in &network.enclave.signers {
        let expiry = crate::oracle::signer_expiry(client, chain.oracle(), *signer).await?;
        if expiry == 0 {
            out.push((
                Check::Signers,
                format!("enclave signer {signer} is not registered (`solvency enclave register`)"),
            ));
        } else if expiry < now {
            out.push((
                Check::Signers,
                format!("enclave signer {signer}'s registration expired at {expiry} (chain time {now}); renew it"),
            ));
        }
    }
    if chain.role.is_hub() {
        let hub = SolvencyHub::new(chain.oracle(), client.provider());
        let router =
            client.call("call getRouter()", || async { hub.getRouter().call().await }).await?;
        out.extend(router_finding(chain, router));
        let spokes =
            client.call("call getSpokes()", || async { hub.getSpokes().call().await }).await?;
        let held: BTreeMap<u64, Address> =
            spokes.chainSelectors.into_iter().zip(spokes.spokes).collect();
        for spoke in network.spokes() {
            match held.get(&spoke.selector) {
                Some(address) if *address == spoke.oracle() => {}
                Some(address) => out.push((
                    Check::Wiring,
                    format!("the hub sends {}'s attestations to {address}, the registry's spoke is {}", spoke.name, spoke.oracle()),
                )),
                None => out.push((
                    Check::Wiring,
                    format!("the hub has no spoke for {} (selector {}): it would never receive an attestation", spoke.name, spoke.selector),
                )),
            }
        }
        for selector in held.keys().filter(|s| network.spokes().all(|c| c.selector != **s)) {
            out.push((
                Check::Wiring,
                format!("the hub has a spoke for selector {selector}, which the registry does not list: publish would need its message"),
            ));
        }
        let board = crate::quotes::quote_board(client, chain.oracle()).await?;
        if chain.quote_board.is_some() && board != chain.quote_board {
            out.push((
                Check::Wiring,
                format!(
                    "the hub's quote board is {}, the registry's {}",
                    board.map_or_else(|| "none".into(), |b| b.to_string()),
                    chain.quote_board.map_or_else(|| "none".into(), |b| b.to_string())
                ),
            ));
        }
        if network.policy.recovery.market.is_some() && board.is_none() {
            out.push((
                Check::Wiring,
                "the policy has a market ([policy.market]) but the hub has no quote board: no standby is drawable (deploy one with quote_board = \"deploy\", or set one with solvency admin set-quote-board)".into(),
            ));
        }
    } else {
        let spoke = SolvencySpoke::new(chain.oracle(), client.provider());
        let router =
            client.call("call getRouter()", || async { spoke.getRouter().call().await }).await?;
        out.extend(router_finding(chain, router));
        let held = client.call("call getHub()", || async { spoke.getHub().call().await }).await?;
        let hub = network.hub();
        if (held.chainSelector, held.hub) != (hub.selector, hub.oracle()) {
            out.push((
                Check::Wiring,
                format!(
                    "the spoke takes attestations from {} on selector {}, the registry's hub is {} on {}",
                    held.hub,
                    held.chainSelector,
                    hub.oracle(),
                    hub.selector
                ),
            ));
        }
    }
    Ok(out)
}

/// With `[policy.calendar]`, for every ordered pair of vaults of one collateral: the source's
/// Router has an on-ramp to the destination whose pool carries the vault's token, the pool's
/// outbound bucket holds `lots_per_lane` lots, and the source vault's outflow limit holds what a
/// slot may send from it. A lot over either reverts at the send.
async fn lane_findings(registry: &Registry) -> Vec<Finding> {
    use alloy::primitives::U256;
    use solvency_ccip::bindings::{
        ccip_router::Router, on_ramp::StandInOnRamp, token_pool::BurnMintTokenPool,
        vault::ReserveVault,
    };
    let Some(calendar) = registry.policy.recovery.calendar else { return Vec::new() };
    let Ok(network) = registry.network() else { return Vec::new() };
    let vaults: Vec<(&ChainConfig, Address, &str, u8)> = network
        .chains
        .iter()
        .filter_map(|c| {
            let asset = c.vault_asset.as_deref()?;
            let decimals = c.assets.iter().find(|a| a.symbol == asset)?.decimals;
            Some((c, c.vault?, asset, decimals))
        })
        .collect();
    // Each vault's collateral, read once (as a source, and as every other's destination).
    let tokens = futures::future::join_all(vaults.iter().map(|&(chain, vault, ..)| async move {
        let client = ChainClient::new(chain, Backoff { attempts: 2, ..Backoff::default() });
        let contract = ReserveVault::new(vault, client.provider());
        client.call("call getToken()", || async { contract.getToken().call().await }).await
    }))
    .await;
    let mut out = Vec::new();
    for (&(source, vault, asset, decimals), token) in vaults.iter().zip(&tokens) {
        let lot =
            U256::from(calendar.lot_whole_units) * U256::from(10u64).pow(U256::from(decimals));
        let per_lane = lot * U256::from(calendar.lots_per_lane);
        let dests: Vec<_> = vaults
            .iter()
            .zip(&tokens)
            .filter(|(d, _)| d.0.selector != source.selector && d.2 == asset)
            .collect();
        if dests.is_empty() {
            continue;
        }
        let mut finding = |severity, message: String| {
            out.push(Finding { chain: source.name.clone(), check: Check::Lanes, severity, message })
        };
        let client = ChainClient::new(source, Backoff { attempts: 2, ..Backoff::default() });
        let contract = ReserveVault::new(vault, client.provider());
        let token = match token {
            Ok(token) => *token,
            Err(e) => {
                finding(Severity::Error, format!("reading the vault's collateral: {e}"));
                continue;
            }
        };
        // The most a slot sends from this vault: lots per lane to each destination, at most
        // the instruction's lots.
        let slot = lot
            * U256::from(
                (calendar.lots_per_lane as usize * dests.len())
                    .min(solvency_enclave::calendar::MAX_LOTS_PER_SOURCE),
            );
        match client
            .call("call getOutflowLimit()", || async { contract.getOutflowLimit().call().await })
            .await
        {
            Ok(limit) if limit.limit < slot => finding(
                Severity::Error,
                format!(
                    "the vault's outflow limit ({} units a window) is below what a slot may send from it ({slot} units): lower [policy.calendar] lot or lots_per_lane",
                    limit.limit
                ),
            ),
            Ok(_) => {}
            Err(e) => finding(Severity::Error, format!("reading the vault's outflow limit: {e}")),
        }
        let router = Router::new(source.router, client.provider());
        for &(&(dest, ..), dest_token) in &dests {
            let on_ramp = match client
                .call("call getOnRamp()", || async { router.getOnRamp(dest.selector).call().await })
                .await
            {
                Ok(on_ramp) if !on_ramp.is_zero() => on_ramp,
                Ok(_) => {
                    finding(
                        Severity::Error,
                        format!("the Router has no lane to {}: a lot would revert", dest.name),
                    );
                    continue;
                }
                Err(e) => {
                    finding(
                        Severity::Error,
                        format!(
                            "the Router names no lane to {} ({e}): a router that carries no token (chainlink-local's MockCCIPRouter) cannot take lots",
                            dest.name
                        ),
                    );
                    continue;
                }
            };
            let ramp = StandInOnRamp::new(on_ramp, client.provider());
            let pool = match client
                .call("call getPoolBySourceToken()", || async {
                    ramp.getPoolBySourceToken(dest.selector, token).call().await
                })
                .await
            {
                Ok(pool) if !pool.is_zero() => pool,
                Ok(_) | Err(_) => {
                    finding(
                        Severity::Error,
                        format!(
                            "the lane to {} has no token pool for the vault's collateral ({token}): a lot would revert (a router that carries no token, such as chainlink-local's MockCCIPRouter, has none)",
                            dest.name
                        ),
                    );
                    continue;
                }
            };
            let pool = BurnMintTokenPool::new(pool, client.provider());
            match client
                .call("call getCurrentOutboundRateLimiterState()", || async {
                    pool.getCurrentOutboundRateLimiterState(dest.selector).call().await
                })
                .await
            {
                Ok(bucket) if bucket.isEnabled && U256::from(bucket.capacity) < per_lane => {
                    finding(
                        Severity::Error,
                        format!(
                            "the lane to {} holds {} units at most (its pool's outbound capacity), below {} lots of {lot}: lower [policy.calendar] lot or lots_per_lane",
                            dest.name, bucket.capacity, calendar.lots_per_lane
                        ),
                    )
                }
                // A slot's lots sent late (they are listed until sent) can meet the next
                // slot's in the bucket.
                Ok(bucket)
                    if bucket.isEnabled
                        && U256::from(bucket.capacity) < per_lane * U256::from(2) =>
                {
                    finding(
                        Severity::Warning,
                        format!(
                            "the lane to {} holds {} units at most (its pool's outbound capacity), below two slots' lots ({} of {lot} each): a slot's lots sent late would make the next slot's wait",
                            dest.name, bucket.capacity, calendar.lots_per_lane
                        ),
                    )
                }
                Ok(_) => {}
                Err(e) => finding(
                    Severity::Error,
                    format!("reading the lane's bucket to {}: {e}", dest.name),
                ),
            }
            // The token the lane mints there must be the destination vault's: any other is
            // refused by the vault, and the lot stays a failed delivery.
            let remote = client
                .call("call getRemoteToken()", || async {
                    pool.getRemoteToken(dest.selector).call().await
                })
                .await;
            match (remote.as_ref(), dest_token) {
                (Ok(remote), Ok(held))
                    if remote.len() == 32 && Address::from_slice(&remote[12..]) == *held => {}
                (Ok(_), Ok(held)) => finding(
                    Severity::Error,
                    format!(
                        "the lane to {} mints another token than its vault's collateral ({held}): every lot would fail at the destination",
                        dest.name
                    ),
                ),
                (Err(e), _) | (_, Err(e)) => finding(
                    Severity::Error,
                    format!("reading the token the lane mints on {}: {e}", dest.name),
                ),
            }
        }
    }
    out
}

fn router_finding(chain: &ChainConfig, router: Address) -> Option<(Check, String)> {
    (router != chain.router).then(|| {
        (
            Check::Wiring,
            format!("the oracle's CCIP router is {router}, the registry's is {}", chain.router),
        )
    })
}

/// `Some(what is wrong)` when the hub's balance does not cover one attestation's messages,
/// quoted by the hub itself for an attestation of the real shape (every chain's leaf, proof and
/// a sealed instruction of the fixed size; `threshold` signatures).
async fn fee_finding(registry: &Registry, client: &ChainClient) -> Result<Option<String>, Error> {
    let network = registry.network().expect("checked by the caller");
    let hub_address = network.hub().oracle();
    let hub = SolvencyHub::new(hub_address, client.provider());
    let parent =
        client.call("call getLedgerRoot()", || async { hub.getLedgerRoot().call().await }).await?;
    // What the hub will expect of the quote board, if it has one.
    let (quote_round, quote_head) = match crate::quotes::quote_board(client, hub_address).await? {
        None => (0, B256::ZERO),
        Some(board) => crate::quotes::closed_quotes(client, board).await?,
    };
    let (_, now) = client.latest_block().await?;
    let mut chains: Vec<&ChainConfig> = network.chains.iter().collect();
    chains.sort_by_key(|c| c.selector);
    let instruction = Bytes::from(vec![0u8; SEALED_INSTRUCTION_LEN]);
    let leaves: Vec<ChainLeaf> = chains
        .iter()
        .map(|c| ChainLeaf {
            chainSelector: c.selector,
            vault: c.vault.unwrap_or_default(),
            instructionHash: keccak256(&instruction),
            reportSeq: 0,
            logCount: 0,
            logHead: B256::ZERO,
            authRoot: B256::repeat_byte(1),
        })
        .collect();
    let tree = MerkleTree::new(leaves.iter().map(ChainLeaf::hash).collect());
    let attestation = SolvencyAttestation {
        deploymentId: registry.deployment_id,
        epoch: 1,
        solvent: true,
        issuedAt: now,
        validUntil: now + registry.policy.attestation_validity.as_secs(),
        reportsDigest: B256::repeat_byte(1),
        chainsRoot: tree.root(),
        ledgerRoot: B256::repeat_byte(1),
        parentLedgerRoot: parent,
        policyDigest: network.policy.digest(),
        quoteRound: quote_round,
        quoteHead: quote_head,
    };
    let messages: Vec<ChainMessage> = leaves
        .into_iter()
        .enumerate()
        .map(|(i, leaf)| ChainMessage {
            leaf,
            proof: tree.proof(i),
            instruction: instruction.clone(),
        })
        .collect();
    let threshold = network.enclave.mode.as_ref().map_or(1, |m| m.threshold());
    let signatures = vec![Bytes::from(vec![0u8; 65]); threshold];
    let att: solvency_ccip::bindings::hub::SolvencyAttestation::Attestation = (&attestation).into();
    let ins: Vec<_> = messages.iter().map(Into::into).collect();
    let fee = client
        .call("quote an attestation", || async {
            hub.quotePublish(att.clone(), signatures.clone(), ins.clone()).call().await
        })
        .await?;
    let balance = client
        .read("read the hub balance", || async { client.provider().get_balance(hub_address).await })
        .await?;
    Ok((balance < fee).then(|| {
        format!(
            "the hub holds {balance} wei and one attestation's CCIP fees are {fee} wei: fund it (send native tokens to {hub_address})"
        )
    }))
}

/// Whether any finding is an error.
pub fn has_errors(findings: &[Finding]) -> bool {
    findings.iter().any(|f| f.severity == Severity::Error)
}
