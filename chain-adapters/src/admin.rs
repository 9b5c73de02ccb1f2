//! The owner's operations on a deployment's contracts, as calls: planned from the registry and
//! the chains (what differs), then either sent from the owner's account or written as a batch a
//! Safe multisig imports (its Transaction Builder's JSON), because production owners are
//! multisigs. Changes under the oracle's timelock are scheduled first and made once ready.

use std::collections::BTreeMap;

use alloy::{
    primitives::{Address, B256, Bytes, U256, keccak256},
    providers::Provider,
    rpc::types::TransactionRequest,
    signers::local::PrivateKeySigner,
    sol_types::SolCall,
};
use serde::Serialize;
use solvency_ccip::bindings::{hub::SolvencyHub, oracle::SolvencyOracleBase};
use solvency_registry::{ChainConfig, Network};

use crate::{ChainClient, Error, rpc};

/// One owner operation on one chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OwnerCall {
    /// The chain's name.
    pub chain: String,
    /// The contract called.
    pub to: Address,
    /// Native currency sent with it (wei).
    pub value: U256,
    /// The calldata.
    pub data: Bytes,
    /// What it does, for people.
    pub what: String,
    /// Under the oracle's timelock (`setSigner`, `removeSigner`, `setThreshold`,
    /// `setPolicyDigest`, `setVault`, a shorter `setConfigTimelock`, the hub's `setQuoteBoard`).
    pub timelocked: bool,
}

impl OwnerCall {
    /// A call of `call` on `to`.
    pub fn new<C: SolCall>(chain: &str, to: Address, call: &C, what: impl Into<String>) -> Self {
        let timelocked = [
            SolvencyOracleBase::setSignerCall::SELECTOR,
            SolvencyOracleBase::removeSignerCall::SELECTOR,
            SolvencyOracleBase::setThresholdCall::SELECTOR,
            SolvencyOracleBase::setPolicyDigestCall::SELECTOR,
            SolvencyOracleBase::setVaultCall::SELECTOR,
            SolvencyOracleBase::setConfigTimelockCall::SELECTOR,
            SolvencyHub::setQuoteBoardCall::SELECTOR,
        ]
        .contains(&C::SELECTOR);
        Self {
            chain: chain.to_owned(),
            to,
            value: U256::ZERO,
            data: call.abi_encode().into(),
            what: what.into(),
            timelocked,
        }
    }

    /// Native currency sent to `to` (no calldata).
    pub fn transfer(chain: &str, to: Address, value: U256, what: impl Into<String>) -> Self {
        Self {
            chain: chain.to_owned(),
            to,
            value,
            data: Bytes::new(),
            what: what.into(),
            timelocked: false,
        }
    }
}

/// Something the plan found but cannot do now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Note {
    /// The chain.
    pub chain: String,
    /// What and why.
    pub message: String,
}

/// The calls that bring every chain's contracts (or `only` these chains') to what the registry
/// says: the hub's spokes, each oracle's policy digest, threshold (once enough signers are
/// registered), the longest validity the policy's attestations need, the hub's quote board and
/// each chain's vault where the contract holds none yet, and each chain's reporter account
/// where the registry names it. Empty when all agree.
pub async fn sync_plan(
    network: &Network,
    attestation_validity: u64,
    only: &[String],
) -> Result<(Vec<OwnerCall>, Vec<Note>), Error> {
    let mut calls = Vec::new();
    let mut notes = Vec::new();
    let digest = network.policy.digest();
    let threshold =
        u8::try_from(network.enclave.mode.as_ref().map_or(1, |m| m.threshold())).unwrap_or(u8::MAX);
    let validity = attestation_validity;
    for chain in network.chains.iter().filter(|c| only.is_empty() || only.contains(&c.name)) {
        let client = ChainClient::new(chain, crate::Backoff::default());
        let oracle = SolvencyOracleBase::new(chain.oracle(), client.provider());
        let name = &chain.name;
        let at = chain.oracle();
        if chain.role.is_hub() {
            calls.extend(spoke_calls(network, chain, &client).await?);
        }
        let held = client
            .call("call getPolicyDigest()", || async { oracle.getPolicyDigest().call().await })
            .await?;
        if held != digest {
            calls.push(OwnerCall::new(
                name,
                at,
                &SolvencyOracleBase::setPolicyDigestCall { policyDigest: digest },
                format!("set the policy digest to the registry's {digest} (was {held})"),
            ));
        }
        let signers =
            client.call("call getSigners()", || async { oracle.getSigners().call().await }).await?;
        if signers.threshold != threshold {
            if signers.signers.len() >= usize::from(threshold) {
                calls.push(OwnerCall::new(
                    name,
                    at,
                    &SolvencyOracleBase::setThresholdCall { threshold },
                    format!("set the threshold to {threshold} (was {})", signers.threshold),
                ));
            } else {
                notes.push(Note {
                    chain: name.clone(),
                    message: format!(
                        "threshold {threshold} needs {threshold} registered signers, {} are: register them (`solvency enclave register`), then sync again",
                        signers.signers.len()
                    ),
                });
            }
        }
        if let Some(board) = chain.quote_board.filter(|_| chain.role.is_hub()) {
            let held = crate::quotes::quote_board(&client, at).await?;
            match held {
                None => calls.push(OwnerCall::new(
                    name,
                    at,
                    &SolvencyHub::setQuoteBoardCall { board },
                    format!("set the hub's quote board to {board} (once and for all)"),
                )),
                Some(held) if held != board => notes.push(Note {
                    chain: name.clone(),
                    message: format!(
                        "the hub's quote board is {held}, the registry's {board}: a board is set once; fix the registry"
                    ),
                }),
                Some(_) => {}
            }
        }
        if let Some(vault) = chain.vault {
            let held =
                client.call("call getVault()", || async { oracle.getVault().call().await }).await?;
            if held.is_zero() {
                calls.push(OwnerCall::new(
                    name,
                    at,
                    &SolvencyOracleBase::setVaultCall { vault },
                    format!("set the chain's vault to {vault}"),
                ));
            } else if held != vault {
                notes.push(Note {
                    chain: name.clone(),
                    message: format!(
                        "the oracle's vault is {held}, the registry's {vault}: a vault is set once; fix the registry"
                    ),
                });
            }
        }
        let max_validity = client
            .call("call getMaxValidity()", || async { oracle.getMaxValidity().call().await })
            .await?;
        if max_validity < validity {
            calls.push(OwnerCall::new(
                name,
                at,
                &SolvencyOracleBase::setMaxValidityCall { maxValidity: validity },
                format!("allow attestations valid for {validity} s (was {max_validity})"),
            ));
        }
        if let Some(reporter) = chain.reporter_account {
            let held = crate::oracle::reporter(&client, at).await?;
            if held != reporter {
                calls.push(OwnerCall::new(
                    name,
                    at,
                    &SolvencyOracleBase::setReporterCall { reporter },
                    format!("let {reporter} submit the chain's reports (was {held})"),
                ));
            }
        }
    }
    Ok((calls, notes))
}

/// The hub's spokes against the registry's: added, replaced, removed.
async fn spoke_calls(
    network: &Network,
    hub: &ChainConfig,
    client: &ChainClient,
) -> Result<Vec<OwnerCall>, Error> {
    let contract = SolvencyHub::new(hub.oracle(), client.provider());
    let held =
        client.call("call getSpokes()", || async { contract.getSpokes().call().await }).await?;
    let held: BTreeMap<u64, Address> = held.chainSelectors.into_iter().zip(held.spokes).collect();
    let wanted: BTreeMap<u64, (&str, Address)> =
        network.spokes().map(|s| (s.selector, (s.name.as_str(), s.oracle()))).collect();
    let mut calls = Vec::new();
    let remove = |selector: u64, why: String| {
        OwnerCall::new(
            &hub.name,
            hub.oracle(),
            &SolvencyHub::removeSpokeCall { chainSelector: selector },
            why,
        )
    };
    for (&selector, &address) in &held {
        match wanted.get(&selector) {
            None => calls.push(remove(
                selector,
                format!(
                    "remove the spoke of selector {selector}, which the registry does not list"
                ),
            )),
            Some((name, wanted)) if *wanted != address => {
                calls.push(remove(selector, format!("remove {name}'s old spoke {address}")));
            }
            Some(_) => {}
        }
    }
    for (&selector, &(name, spoke)) in &wanted {
        if held.get(&selector) != Some(&spoke) {
            calls.push(OwnerCall::new(
                &hub.name,
                hub.oracle(),
                &SolvencyHub::addSpokeCall { chainSelector: selector, spoke },
                format!("add {name}'s spoke {spoke}"),
            ));
        }
    }
    Ok(calls)
}

/// What to do about a call now, given the oracle's timelock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Make this call (the change itself, or its scheduling).
    Call(OwnerCall),
    /// Scheduled; it may be made from `ready_at` (chain time).
    Waiting {
        /// The change.
        call: OwnerCall,
        /// When.
        ready_at: u64,
    },
}

/// `call` as it must be made now: itself when no timelock applies or its scheduled time has
/// come, `scheduleChange(call)` when it is not scheduled yet, or a wait.
pub async fn under_timelock(client: &ChainClient, call: OwnerCall) -> Result<Step, Error> {
    if !call.timelocked {
        return Ok(Step::Call(call));
    }
    let oracle = SolvencyOracleBase::new(call.to, client.provider());
    let timelock = client
        .call("call getConfigTimelock()", || async { oracle.getConfigTimelock().call().await })
        .await?;
    if timelock == 0 {
        return Ok(Step::Call(call));
    }
    // A longer timelock takes effect at once (owners only gain time): only a shorter one waits.
    if let Ok(longer) = SolvencyOracleBase::setConfigTimelockCall::abi_decode(&call.data)
        && longer.timelock >= timelock
    {
        return Ok(Step::Call(call));
    }
    let id = keccak256(&call.data);
    let ready_at = client
        .call("call getScheduledChange()", || async { oracle.getScheduledChange(id).call().await })
        .await?;
    let (_, now) = client.latest_block().await?;
    Ok(match ready_at {
        0 => Step::Call(OwnerCall {
            what: format!("schedule: {} (timelock {timelock} s, change {id})", call.what),
            data: SolvencyOracleBase::scheduleChangeCall { call: call.data.clone() }
                .abi_encode()
                .into(),
            timelocked: false,
            ..call
        }),
        ready_at if ready_at > now => Step::Waiting { call, ready_at },
        _ => Step::Call(call),
    })
}

/// Sends `call` from `owner` and waits for it to be mined.
pub async fn send(
    client: &ChainClient,
    owner: &PrivateKeySigner,
    call: &OwnerCall,
) -> Result<B256, Error> {
    let sender = client.sender(owner.clone());
    let tx =
        TransactionRequest::default().to(call.to).value(call.value).input(call.data.clone().into());
    let pending =
        sender.send_transaction(tx).await.map_err(|e| client.rpc_error(call.what.clone(), &e))?;
    let receipt =
        rpc::confirm(pending).await.map_err(|e| client.confirm_error(call.what.clone(), e))?;
    Ok(receipt.transaction_hash)
}

/// A Safe Transaction Builder batch of `calls` on chain `chain_id`, for the Safe at `safe`
/// (its import checks the chain; the address is shown to whoever imports it).
pub fn safe_batch(
    chain_id: u64,
    safe: Option<Address>,
    name: &str,
    calls: &[OwnerCall],
    created_at_ms: u64,
) -> serde_json::Value {
    serde_json::json!({
        "version": "1.0",
        "chainId": chain_id.to_string(),
        "createdAt": created_at_ms,
        "meta": {
            "name": name,
            "description": calls.iter().map(|c| c.what.as_str()).collect::<Vec<_>>().join("; "),
            "txBuilderVersion": "1.18.0",
            "createdFromSafeAddress": safe.map(|s| s.to_string()).unwrap_or_default(),
            "createdFromOwnerAddress": "",
        },
        "transactions": calls.iter().map(|c| serde_json::json!({
            "to": c.to.to_string(),
            "value": c.value.to_string(),
            "data": c.data.to_string(),
            "contractMethod": null,
            "contractInputsValues": null,
        })).collect::<Vec<_>>(),
    })
}

/// The oracle's owner.
pub async fn owner_of(client: &ChainClient, oracle: Address) -> Result<Address, Error> {
    let contract = SolvencyOracleBase::new(oracle, client.provider());
    client.call("call owner()", || async { contract.owner().call().await }).await
}
