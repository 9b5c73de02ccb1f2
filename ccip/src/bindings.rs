//! Contract bindings, generated from the Foundry artifacts in `contracts/out`.
//!
//! Each contract gets its own module, because each artifact carries its own copy of the library
//! types it uses (`Client`, `SolvencyAttestation`).

#![allow(missing_docs, unreachable_pub, clippy::too_many_arguments)]

/// chainlink-local's `MockCCIPRouter`, deployed on every devnet chain.
pub mod router {
    alloy::sol!(
        #[sol(rpc)]
        #[derive(Debug)]
        MockCCIPRouter,
        concat!(env!("CARGO_MANIFEST_DIR"), "/../contracts/out/MockRouter.sol/MockCCIPRouter.json")
    );
}

/// `SolvencyOracleBase`: what the hub and every spoke share — `isSolvent()`, the latest
/// attestation, signers, threshold, policy digest and their owner setters.
pub mod oracle {
    alloy::sol!(
        #[sol(rpc)]
        #[derive(Debug)]
        SolvencyOracleBase,
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../contracts/out/SolvencyOracleBase.sol/SolvencyOracleBase.json"
        )
    );
}

/// `SolvencyHub`: reports in, attestations out.
pub mod hub {
    alloy::sol!(
        #[sol(rpc)]
        #[derive(Debug)]
        SolvencyHub,
        concat!(env!("CARGO_MANIFEST_DIR"), "/../contracts/out/SolvencyHub.sol/SolvencyHub.json")
    );
}

/// `SolvencySpoke`: a non-hub chain's report sender and attestation receiver.
pub mod spoke {
    alloy::sol!(
        #[sol(rpc)]
        #[derive(Debug)]
        SolvencySpoke,
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../contracts/out/SolvencySpoke.sol/SolvencySpoke.json"
        )
    );
}

/// `ReserveBackedToken`: the example consumer.
pub mod token {
    alloy::sol!(
        #[sol(rpc)]
        #[derive(Debug)]
        ReserveBackedToken,
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../contracts/out/ReserveBackedToken.sol/ReserveBackedToken.json"
        )
    );
}

/// `SolvencyFeed`: a chain's oracle as a Chainlink `AggregatorV3Interface` feed (answer 1 while
/// solvent and valid, else 0; the round is the epoch).
pub mod feed {
    alloy::sol!(
        #[sol(rpc)]
        #[derive(Debug)]
        SolvencyFeed,
        concat!(env!("CARGO_MANIFEST_DIR"), "/../contracts/out/SolvencyFeed.sol/SolvencyFeed.json")
    );
}

/// `SecureMintToken`: the example Proof-of-Reserve secure mint, written only against
/// `AggregatorV3Interface`.
pub mod secure_mint {
    alloy::sol!(
        #[sol(rpc)]
        #[derive(Debug)]
        SecureMintToken,
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../contracts/out/SecureMintToken.sol/SecureMintToken.json"
        )
    );
}

/// `DevnetFeed`: chainlink-local's mock data feed, a reporter's `chainlink_feed` source in
/// devnet tests.
pub mod devnet_feed {
    alloy::sol!(
        #[sol(rpc)]
        #[derive(Debug)]
        DevnetFeed,
        concat!(env!("CARGO_MANIFEST_DIR"), "/../contracts/out/DevnetFeed.sol/DevnetFeed.json")
    );
}

/// `DevnetToken`: an ERC-20 anyone can mint and burn, for reporter source tests (devnet only).
pub mod devnet_token {
    alloy::sol!(
        #[sol(rpc)]
        #[derive(Debug)]
        DevnetToken,
        concat!(env!("CARGO_MANIFEST_DIR"), "/../contracts/out/DevnetToken.sol/DevnetToken.json")
    );
}

/// `ProbeSender`: a third-party CCIP sender for devnet tests.
pub mod probe_sender {
    alloy::sol!(
        #[sol(rpc)]
        #[derive(Debug)]
        ProbeSender,
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../contracts/out/DevnetContracts.sol/ProbeSender.json"
        )
    );
}

/// `ProbeReceiver`: a third-party CCIP receiver for devnet tests.
pub mod probe_receiver {
    alloy::sol!(
        #[sol(rpc)]
        #[derive(Debug)]
        ProbeReceiver,
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../contracts/out/DevnetContracts.sol/ProbeReceiver.json"
        )
    );
}

/// Converts the enclave's attestation types into one contract module's copies of them.
macro_rules! attestation_conversions {
    ($module:ident) => {
        impl From<&solvency_enclave::SolvencyAttestation>
            for $module::SolvencyAttestation::Attestation
        {
            fn from(a: &solvency_enclave::SolvencyAttestation) -> Self {
                Self {
                    deploymentId: a.deploymentId,
                    epoch: a.epoch,
                    solvent: a.solvent,
                    issuedAt: a.issuedAt,
                    validUntil: a.validUntil,
                    reportsDigest: a.reportsDigest,
                    instructionsDigest: a.instructionsDigest,
                    policyDigest: a.policyDigest,
                }
            }
        }

        impl From<$module::SolvencyAttestation::Attestation>
            for solvency_enclave::SolvencyAttestation
        {
            fn from(a: $module::SolvencyAttestation::Attestation) -> Self {
                Self {
                    deploymentId: a.deploymentId,
                    epoch: a.epoch,
                    solvent: a.solvent,
                    issuedAt: a.issuedAt,
                    validUntil: a.validUntil,
                    reportsDigest: a.reportsDigest,
                    instructionsDigest: a.instructionsDigest,
                    policyDigest: a.policyDigest,
                }
            }
        }
    };
}

attestation_conversions!(oracle);
attestation_conversions!(hub);
attestation_conversions!(spoke);

impl From<&solvency_enclave::Instruction> for hub::SolvencyAttestation::Instruction {
    fn from(i: &solvency_enclave::Instruction) -> Self {
        Self { chainSelector: i.chainSelector, payload: i.payload.clone() }
    }
}
