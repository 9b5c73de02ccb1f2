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
/// attestation and this chain's leaf of it, the ledger root, the chain's vault, signers,
/// threshold, policy digest and their owner setters.
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

/// `SolvencyHub`: reports (with vault heads) in, attestations out.
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

/// `ReserveVault`: a chain's collateral vault — its log head, deposits, inflows, withdrawals
/// against authorizations in the chain's latest leaf, and exodus by ledger proof.
pub mod vault {
    alloy::sol!(
        #[sol(rpc)]
        #[derive(Debug)]
        ReserveVault,
        concat!(env!("CARGO_MANIFEST_DIR"), "/../contracts/out/ReserveVault.sol/ReserveVault.json")
    );
}

/// An ERC-20 token, as a vault's collateral is used: allowance and balance.
pub mod erc20 {
    alloy::sol! {
        #[sol(rpc)]
        #[derive(Debug)]
        interface IERC20 {
            function approve(address spender, uint256 value) external returns (bool);
            function balanceOf(address account) external view returns (uint256);
        }
    }
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

/// CCIP's real `Router` (contracts-ccip 1.6.2): what a fork of a chain where CCIP runs has, and
/// what a local upstream chain deploys.
pub mod ccip_router {
    alloy::sol!(
        #[sol(rpc)]
        #[derive(Debug)]
        Router,
        concat!(env!("CARGO_MANIFEST_DIR"), "/../contracts/out/Router.sol/Router.json")
    );
}

/// `QuoteBoard`: the dark pool's board on the hub chain — makers' sealed quotes in rounds,
/// chained into the head attestations commit to.
pub mod quote_board {
    alloy::sol!(
        #[sol(rpc)]
        #[derive(Debug)]
        QuoteBoard,
        concat!(env!("CARGO_MANIFEST_DIR"), "/../contracts/out/QuoteBoard.sol/QuoteBoard.json")
    );
}

/// OnRamp 1.6's `CCIPMessageSent`, as `StandInOnRamp` and the real OnRamp emit it.
pub mod on_ramp {
    alloy::sol!(
        #[sol(rpc)]
        #[derive(Debug)]
        StandInOnRamp,
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../contracts/out/CcipStandIns.sol/StandInOnRamp.json"
        )
    );
}

/// The rest of a local upstream chain's CCIP: an RMN that never curses, the off-ramp identity
/// deliveries are sent as, and the canonical WETH9 the Router wraps native fees into.
pub mod upstream {
    alloy::sol!(
        #[sol(rpc)]
        #[derive(Debug)]
        StandInRMN,
        concat!(env!("CARGO_MANIFEST_DIR"), "/../contracts/out/CcipStandIns.sol/StandInRMN.json")
    );
    alloy::sol!(
        #[sol(rpc)]
        #[derive(Debug)]
        StandInOffRamp,
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../contracts/out/CcipStandIns.sol/StandInOffRamp.json"
        )
    );
    alloy::sol!(
        #[sol(rpc)]
        #[derive(Debug)]
        WETH9,
        concat!(env!("CARGO_MANIFEST_DIR"), "/../contracts/out/WETH9.sol/WETH9.json")
    );
}

/// CCIP's burn/mint token pool (contracts-ccip 1.6.2) and Chainlink's `BurnMintERC20`: a token
/// lane of a local upstream chain.
pub mod token_pool {
    alloy::sol!(
        #[sol(rpc)]
        #[derive(Debug)]
        BurnMintTokenPool,
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../contracts/out/BurnMintTokenPool.sol/BurnMintTokenPool.json"
        )
    );
    alloy::sol!(
        #[sol(rpc)]
        #[derive(Debug)]
        BurnMintERC20,
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../contracts/out/BurnMintERC20.sol/BurnMintERC20.json"
        )
    );
}

/// Converts the enclave's attestation and chain leaf into one contract module's copies of them,
/// and back.
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
                    chainsRoot: a.chainsRoot,
                    ledgerRoot: a.ledgerRoot,
                    parentLedgerRoot: a.parentLedgerRoot,
                    policyDigest: a.policyDigest,
                    quoteRound: a.quoteRound,
                    quoteHead: a.quoteHead,
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
                    chainsRoot: a.chainsRoot,
                    ledgerRoot: a.ledgerRoot,
                    parentLedgerRoot: a.parentLedgerRoot,
                    policyDigest: a.policyDigest,
                    quoteRound: a.quoteRound,
                    quoteHead: a.quoteHead,
                }
            }
        }

        impl From<&solvency_enclave::ChainLeaf> for $module::SolvencyAttestation::ChainLeaf {
            fn from(l: &solvency_enclave::ChainLeaf) -> Self {
                Self {
                    chainSelector: l.chainSelector,
                    vault: l.vault,
                    instructionHash: l.instructionHash,
                    reportSeq: l.reportSeq,
                    logCount: l.logCount,
                    logHead: l.logHead,
                    authRoot: l.authRoot,
                }
            }
        }

        impl From<$module::SolvencyAttestation::ChainLeaf> for solvency_enclave::ChainLeaf {
            fn from(l: $module::SolvencyAttestation::ChainLeaf) -> Self {
                Self {
                    chainSelector: l.chainSelector,
                    vault: l.vault,
                    instructionHash: l.instructionHash,
                    reportSeq: l.reportSeq,
                    logCount: l.logCount,
                    logHead: l.logHead,
                    authRoot: l.authRoot,
                }
            }
        }
    };
}

attestation_conversions!(oracle);
attestation_conversions!(hub);
attestation_conversions!(spoke);

impl From<&solvency_enclave::ChainMessage> for hub::SolvencyAttestation::ChainMessage {
    fn from(m: &solvency_enclave::ChainMessage) -> Self {
        Self { leaf: (&m.leaf).into(), proof: m.proof.clone(), instruction: m.instruction.clone() }
    }
}

impl From<&solvency_enclave::Authorization> for vault::SolvencyAttestation::Authorization {
    fn from(a: &solvency_enclave::Authorization) -> Self {
        Self {
            chainSelector: a.chainSelector,
            vault: a.vault,
            owner: a.owner,
            amount: a.amount,
            id: a.id,
        }
    }
}

impl From<&solvency_enclave::Lot> for vault::SolvencyAttestation::Lot {
    fn from(l: &solvency_enclave::Lot) -> Self {
        Self {
            chainSelector: l.chainSelector,
            vault: l.vault,
            destChainSelector: l.destChainSelector,
            destVault: l.destVault,
            amount: l.amount,
            id: l.id,
        }
    }
}

impl From<&solvency_enclave::LedgerLeaf> for vault::SolvencyAttestation::LedgerLeaf {
    fn from(l: &solvency_enclave::LedgerLeaf) -> Self {
        Self {
            owner: l.owner,
            chainSelector: l.chainSelector,
            vault: l.vault,
            balance: l.balance,
            withdrawnTotal: l.withdrawnTotal,
            salt: l.salt,
        }
    }
}

#[cfg(test)]
mod tests {
    use alloy::{
        primitives::{Address, B256, U256, keccak256},
        sol_types::SolValue,
    };

    use super::*;

    fn leaf() -> solvency_enclave::ChainLeaf {
        solvency_enclave::ChainLeaf {
            chainSelector: 909_606_746_561_742_123,
            vault: Address::repeat_byte(0x11),
            instructionHash: keccak256("instruction"),
            reportSeq: 7,
            logCount: 3,
            logHead: keccak256("head"),
            authRoot: keccak256("auths"),
        }
    }

    /// The contracts' copies of the leaf types encode exactly as the enclave's: a field missing,
    /// added or reordered on either side changes every leaf hash.
    #[test]
    fn leaf_types_encode_as_the_enclaves() {
        let enclave = leaf();
        assert_eq!(
            hub::SolvencyAttestation::ChainLeaf::from(&enclave).abi_encode(),
            enclave.abi_encode()
        );
        assert_eq!(
            solvency_enclave::ChainLeaf::from(spoke::SolvencyAttestation::ChainLeaf::from(
                &enclave
            )),
            enclave
        );

        let message = solvency_enclave::ChainMessage {
            leaf: enclave,
            proof: vec![B256::repeat_byte(1), B256::repeat_byte(2)],
            instruction: vec![0xab; 1089].into(),
        };
        assert_eq!(
            hub::SolvencyAttestation::ChainMessage::from(&message).abi_encode(),
            message.abi_encode()
        );

        let auth = solvency_enclave::Authorization {
            chainSelector: 1,
            vault: Address::repeat_byte(2),
            owner: Address::repeat_byte(3),
            amount: U256::from(4),
            id: B256::repeat_byte(5),
        };
        assert_eq!(
            vault::SolvencyAttestation::Authorization::from(&auth).abi_encode(),
            auth.abi_encode()
        );

        let lot = solvency_enclave::Lot {
            chainSelector: 1,
            vault: Address::repeat_byte(2),
            destChainSelector: 3,
            destVault: Address::repeat_byte(4),
            amount: U256::from(5),
            id: B256::repeat_byte(6),
        };
        assert_eq!(vault::SolvencyAttestation::Lot::from(&lot).abi_encode(), lot.abi_encode());

        let ledger = solvency_enclave::LedgerLeaf {
            owner: Address::repeat_byte(6),
            chainSelector: 7,
            vault: Address::repeat_byte(8),
            balance: U256::from(9),
            withdrawnTotal: U256::from(10),
            salt: B256::repeat_byte(11),
        };
        assert_eq!(
            vault::SolvencyAttestation::LedgerLeaf::from(&ledger).abi_encode(),
            ledger.abi_encode()
        );
    }
}
