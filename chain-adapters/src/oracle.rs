//! Every chain's `ISolvencyOracle` (the hub or a spoke, both `SolvencyOracleBase`): what
//! consumers read, and what the contracts' owner sets.

use alloy::{
    primitives::{Address, B256},
    providers::DynProvider,
    signers::local::PrivateKeySigner,
};
use solvency_ccip::bindings::oracle::SolvencyOracleBase;
use solvency_enclave::SolvencyAttestation;
use solvency_registry::ChainConfig;

use crate::{Backoff, ChainClient, Error, rpc};

/// What a chain's oracle says now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OracleState {
    /// `isSolvent()`.
    pub solvent: bool,
    /// `latestAttestation()`.
    pub attestation: SolvencyAttestation,
    /// The block the reads were made at.
    pub block: u64,
    /// That block's timestamp.
    pub block_timestamp: u64,
}

impl OracleState {
    /// How long ago (chain time) the attestation was issued; `None` before the first one.
    pub fn age(&self) -> Option<u64> {
        (self.attestation.epoch > 0)
            .then(|| self.block_timestamp.saturating_sub(self.attestation.issuedAt))
    }

    /// True when there is no attestation or its validity has passed (consumers read false).
    pub fn stale(&self) -> bool {
        self.attestation.epoch == 0 || self.block_timestamp > self.attestation.validUntil
    }

    /// Seconds of validity left (chain time).
    pub fn valid_for(&self) -> u64 {
        self.attestation.validUntil.saturating_sub(self.block_timestamp)
    }
}

/// Reads `isSolvent()` and `latestAttestation()` of `oracle`, both at the latest block.
pub async fn read_oracle(client: &ChainClient, oracle: Address) -> Result<OracleState, Error> {
    let (number, timestamp) = client.latest_block().await?;
    let instance = SolvencyOracleBase::new(oracle, client.provider());
    let solvent = match client
        .call("call isSolvent()", || async {
            instance.isSolvent().block(number.into()).call().await
        })
        .await
    {
        Ok(solvent) => solvent,
        Err(e @ Error::Refused { .. }) => {
            return Err(no_contract(client, oracle, "oracle").await.unwrap_or(e));
        }
        Err(e) => return Err(e),
    };
    let attestation = client
        .call("call latestAttestation()", || async {
            instance.latestAttestation().block(number.into()).call().await
        })
        .await?;
    Ok(OracleState {
        solvent,
        attestation: attestation.into(),
        block: number,
        block_timestamp: timestamp,
    })
}

/// `Some(NoContract)` when there is no code at `address`: a call there "fails" with an empty
/// answer, and the real cause is a wrong address (or a chain without the deployment).
pub async fn no_contract(
    client: &ChainClient,
    address: Address,
    what: &'static str,
) -> Option<Error> {
    use alloy::providers::Provider;
    let code = client.provider().get_code_at(address).await.ok()?;
    code.is_empty().then(|| Error::NoContract { chain: client.name().to_owned(), address, what })
}

/// The account allowed to submit the chain's report (`getReporter()`).
pub async fn reporter(client: &ChainClient, oracle: Address) -> Result<Address, Error> {
    let instance = SolvencyOracleBase::new(oracle, client.provider());
    match client.call("call getReporter()", || async { instance.getReporter().call().await }).await
    {
        Ok(reporter) => Ok(reporter),
        Err(e @ Error::Refused { .. }) => {
            Err(no_contract(client, oracle, "oracle").await.unwrap_or(e))
        }
        Err(e) => Err(e),
    }
}

/// One chain's oracle as read now, or why it could not be read.
#[derive(Debug)]
pub struct ChainReading {
    /// The chain's name.
    pub chain: String,
    /// Its selector.
    pub selector: u64,
    /// `hub` or `spoke`.
    pub role: &'static str,
    /// The oracle's state.
    pub state: Result<OracleState, Error>,
}

/// Every chain's oracle, read concurrently (`status`, the demo, `devnet status`, tests).
pub async fn read_all(chains: &[ChainConfig], backoff: Backoff) -> Vec<ChainReading> {
    futures::future::join_all(chains.iter().map(|chain| async move {
        let client = ChainClient::new(chain, backoff);
        ChainReading {
            chain: chain.name.clone(),
            selector: chain.selector,
            role: chain.role.name(),
            state: read_oracle(&client, chain.oracle()).await,
        }
    }))
    .await
}

/// The owner of one chain's oracle, for the owner's operations.
#[derive(Clone, Debug)]
pub struct OracleOwner {
    client: ChainClient,
    sender: DynProvider,
    oracle: Address,
}

impl OracleOwner {
    /// `owner` must be the oracle's owner (its deployer on a devnet).
    pub fn new(client: ChainClient, oracle: Address, owner: PrivateKeySigner) -> Self {
        let sender = client.sender(owner);
        Self { client, sender, oracle }
    }

    /// The chain.
    pub fn client(&self) -> &ChainClient {
        &self.client
    }

    async fn send(
        &self,
        action: &str,
        call: alloy::contract::CallBuilder<
            &&DynProvider,
            std::marker::PhantomData<impl alloy::sol_types::SolCall>,
        >,
    ) -> Result<B256, Error> {
        let pending = call.send().await.map_err(|e| self.client.contract_error(action, &e))?;
        let receipt =
            rpc::confirm(pending).await.map_err(|e| self.client.confirm_error(action, e))?;
        Ok(receipt.transaction_hash)
    }

    /// Registers (or renews) an enclave signer until `expires_at` (chain time) on the strength
    /// of evidence with this digest.
    pub async fn set_signer(
        &self,
        signer: Address,
        expires_at: u64,
        evidence: B256,
    ) -> Result<B256, Error> {
        let oracle = SolvencyOracleBase::new(self.oracle, &self.sender);
        self.send("setSigner", oracle.setSigner(signer, expires_at, evidence)).await
    }

    /// Sets the policy digest attestations must carry.
    pub async fn set_policy_digest(&self, digest: B256) -> Result<B256, Error> {
        let oracle = SolvencyOracleBase::new(self.oracle, &self.sender);
        self.send("setPolicyDigest", oracle.setPolicyDigest(digest)).await
    }

    /// Sets k, the signatures an attestation needs.
    pub async fn set_threshold(&self, threshold: u8) -> Result<B256, Error> {
        let oracle = SolvencyOracleBase::new(self.oracle, &self.sender);
        self.send("setThreshold", oracle.setThreshold(threshold)).await
    }
}

/// When `signer`'s registration on `oracle` ends (chain time; 0 when not registered).
pub async fn signer_expiry(
    client: &ChainClient,
    oracle: Address,
    signer: Address,
) -> Result<u64, Error> {
    let instance = SolvencyOracleBase::new(oracle, client.provider());
    let info =
        client.call("read a signer", || async { instance.getSigner(signer).call().await }).await?;
    Ok(info.expiresAt)
}
