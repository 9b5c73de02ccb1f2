//! Helpers shared by the integration tests: devnets, providers, probe contracts, a running
//! confidential round ([`round::Round`]) and a lying enclave instance ([`liar`]).

pub mod liar;
pub mod round;

use std::time::Duration;

use alloy::{
    primitives::{Address, Bytes, U256},
    providers::{DynProvider, Provider},
};
use solvency_ccip::{
    ExtraArgs,
    bindings::{probe_receiver::ProbeReceiver, probe_sender::ProbeSender},
};
use solvency_chain_adapters::rpc;
use solvency_devnet::{ChainDeployment, DevAccount, Devnet, DevnetConfig};

/// How long a test waits for something the devnet does in milliseconds. Generous on purpose:
/// it bounds a hang, it is not a performance check.
pub const WAIT: Duration = Duration::from_secs(60);

/// Logs to the test's output when `RUST_LOG` is set (`RUST_LOG=info cargo test -- --nocapture`).
pub fn init_tracing() {
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
    }
}

/// A devnet of `chains` chains with the given enclave signers (threshold 1).
pub async fn devnet(chains: usize, signers: Vec<Address>) -> Devnet {
    Devnet::start(DevnetConfig { chains, signers, ..DevnetConfig::default() })
        .await
        .expect("devnet starts")
}

/// A devnet of `chains` chains, on token lanes (CCIP's Router and stand-in ramps, as `[devnet]
/// lanes` has it) or on `MockCCIPRouter`.
pub async fn devnet_on(chains: usize, lanes: bool) -> Devnet {
    Devnet::start(DevnetConfig { chains, lanes, ..DevnetConfig::default() })
        .await
        .expect("devnet starts")
}

/// A provider that sends from `account` on `chain`.
pub fn as_account(chain: &ChainDeployment, account: &DevAccount) -> DynProvider {
    rpc::connect_str_with_signer(&chain.rpc_url, account.signer()).expect("valid URL")
}

/// A read-only provider for `chain`.
pub fn reader(chain: &ChainDeployment) -> DynProvider {
    rpc::connect_str(&chain.rpc_url).expect("valid URL")
}

/// Deploys a `ProbeReceiver` on `chain` from the chain's own deployer (chain-specific address).
pub async fn deploy_probe_receiver(chain: &ChainDeployment) -> Address {
    *ProbeReceiver::deploy(as_account(chain, &chain.deployer), chain.router)
        .await
        .expect("probe receiver deploys")
        .address()
}

/// Deploys a `ProbeSender` on `chain` from the chain's own deployer.
pub async fn deploy_probe_sender(chain: &ChainDeployment) -> Address {
    *ProbeSender::deploy(as_account(chain, &chain.deployer), chain.router)
        .await
        .expect("probe sender deploys")
        .address()
}

/// Sends `data` from a `ProbeSender` on `from` to `receiver` on chain `to`, paying the router's
/// fee from `account`, with the given gas limit (`None`: empty extraArgs). Returns once mined.
pub async fn probe_send(
    from: &ChainDeployment,
    account: &DevAccount,
    sender: Address,
    to: &ChainDeployment,
    receiver: Address,
    data: &[u8],
    gas_limit: Option<u64>,
) {
    let provider = as_account(from, account);
    let extra_args = gas_limit.map_or_else(Bytes::new, |gas| ExtraArgs::v2(gas).encode());
    let receipt = ProbeSender::new(sender, &provider)
        .send(to.selector, receiver, Bytes::copy_from_slice(data), extra_args)
        .value(U256::from(10u64.pow(16)))
        .send()
        .await
        .expect("send accepted")
        .get_receipt()
        .await
        .expect("send mined");
    assert!(receipt.status(), "ProbeSender.send reverted");
}

/// The timestamp of a chain's latest block.
pub async fn chain_time(chain: &ChainDeployment) -> u64 {
    reader(chain).get_block(Default::default()).await.unwrap().unwrap().header.timestamp
}

/// What a bare devnet's hub publishes for an attestation no enclave made: one leaf per chain
/// (its vault, a dummy instruction, no report), in ascending selector order, with their root.
pub fn bare_messages(
    deployment: &solvency_devnet::Deployment,
) -> (alloy::primitives::B256, Vec<solvency_enclave::ChainMessage>) {
    use solvency_enclave::{ChainLeaf, ChainMessage, merkle::MerkleTree};
    let mut chains: Vec<&ChainDeployment> = deployment.chains.iter().collect();
    chains.sort_by_key(|c| c.selector);
    let instruction = Bytes::from(vec![0xab; 64]);
    let leaves: Vec<ChainLeaf> = chains
        .iter()
        .map(|c| ChainLeaf {
            chainSelector: c.selector,
            vault: c.vault,
            instructionHash: alloy::primitives::keccak256(&instruction),
            ..ChainLeaf::default()
        })
        .collect();
    let tree = MerkleTree::new(leaves.iter().map(ChainLeaf::hash).collect());
    let messages = leaves
        .into_iter()
        .enumerate()
        .map(|(i, leaf)| ChainMessage {
            leaf,
            proof: tree.proof(i),
            instruction: instruction.clone(),
        })
        .collect();
    (tree.root(), messages)
}

/// Mints `amount` of the chain's collateral to `account` and deposits it into the vault;
/// returns the vault's `Logged` entry.
pub async fn deposit(
    chain: &ChainDeployment,
    account: &DevAccount,
    amount: U256,
) -> solvency_ccip::bindings::vault::ReserveVault::Logged {
    let wallet = as_account(chain, account);
    let token = solvency_ccip::bindings::devnet_token::DevnetToken::new(chain.collateral, &wallet);
    token.mint(account.address, amount).send().await.unwrap().get_receipt().await.unwrap();
    token.approve(chain.vault, amount).send().await.unwrap().get_receipt().await.unwrap();
    let receipt = solvency_ccip::bindings::vault::ReserveVault::new(chain.vault, &wallet)
        .deposit(amount)
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(receipt.status());
    receipt
        .logs()
        .iter()
        .find_map(|l| l.log_decode::<solvency_ccip::bindings::vault::ReserveVault::Logged>().ok())
        .expect("the deposit is logged")
        .inner
        .data
}

/// Empties the hub's fee balance to its owner (the deployer); returns what it held.
pub async fn drain_hub(chain: &ChainDeployment) -> alloy::primitives::U256 {
    use alloy::providers::Provider;
    let hub = chain.hub.expect("the hub chain");
    let owner = as_account(chain, &chain.deployer);
    let balance = owner.get_balance(hub).await.unwrap();
    solvency_ccip::bindings::hub::SolvencyHub::new(hub, &owner)
        .withdrawFees(chain.deployer.address, balance)
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    balance
}

/// Appends `message` to a relayer journal as the relayer records it (what it writes before it
/// sends a delivery, for a test that stands in for a relayer killed after that line).
pub fn journal_message(journal: &std::path::Path, message: &solvency_devnet::RelayMessage) {
    use std::io::Write;
    let line = serde_json::json!({ "kind": "message", "message": message });
    let mut file = std::fs::OpenOptions::new().append(true).open(journal).unwrap();
    writeln!(file, "{line}").unwrap();
}
