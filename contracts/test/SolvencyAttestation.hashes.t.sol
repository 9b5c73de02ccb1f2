// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {SolvencyAttestation} from "../src/libraries/SolvencyAttestation.sol";
import {BaseTest} from "./helpers/BaseTest.t.sol";

/// @notice The v2 hashes against fixed vectors computed by the enclave's Rust implementation
/// (`solvency_enclave::{SolvencyAttestation::digest, ChainLeaf::hash, Authorization::hash,
/// LedgerLeaf::hash}`) for the same inputs: the two sides of the wire agree byte for byte.
contract SolvencyAttestation_hashes is BaseTest {
  address internal constant VAULT = 0x1111111111111111111111111111111111111111;
  address internal constant OWNER = 0x2222222222222222222222222222222222222222;

  function _fixedAttestation() internal pure returns (SolvencyAttestation.Attestation memory) {
    return SolvencyAttestation.Attestation({
      deploymentId: keccak256("self-healing-reserve/test"),
      epoch: 7,
      solvent: true,
      issuedAt: 1_750_000_000,
      validUntil: 1_750_003_600,
      reportsDigest: keccak256("reports"),
      chainsRoot: keccak256("chains"),
      ledgerRoot: keccak256("ledger"),
      parentLedgerRoot: keccak256("parent"),
      policyDigest: keccak256("policy"),
      quoteRound: 29_166_666,
      quoteHead: keccak256("quotes")
    });
  }

  /// EIP-712, domain {name: "SelfHealingReserve", version: "2"}, the documented type string.
  function test_attestationDigest_IsTheEnclavesV2Digest() public view {
    SolvencyAttestation.Attestation memory a = _fixedAttestation();
    bytes32 expected = 0x735fbdaa4979fe31a83d9745fd99da434a83f9d6165e36d6fb6f9c80cb124c71;
    assertEq(s_hub.attestationDigest(a), expected, "contract digest");
    assertEq(_digest(a), expected, "the test's own digest from the literal type string");
  }

  function test_leafHash_IsTheEnclaves() public pure {
    SolvencyAttestation.ChainLeaf memory leaf = SolvencyAttestation.ChainLeaf({
      chainSelector: HUB_SELECTOR,
      vault: VAULT,
      instructionHash: keccak256("instruction"),
      reportSeq: 9,
      logCount: 3,
      logHead: keccak256("head"),
      authRoot: keccak256("auths")
    });
    bytes32 expected = 0x0a312041a1745551f3f4418329a74acfa761db97927b9944c5af11c0875dcce8;
    assertEq(SolvencyAttestation.leafHash(leaf), expected);
    assertEq(_leafHash(leaf), expected);
  }

  function test_authLeaf_IsTheEnclaves() public pure {
    SolvencyAttestation.Authorization memory auth = SolvencyAttestation.Authorization({
      chainSelector: HUB_SELECTOR, vault: VAULT, owner: OWNER, amount: 400e6, id: keccak256("withdrawal-1")
    });
    assertEq(SolvencyAttestation.authLeaf(auth), 0x7ebf2536668ab07fa21e93ff39f254ffd431ed3758e4dd533e5c99a49e2fe667);
  }

  function test_ledgerLeafHash_IsTheEnclaves() public pure {
    SolvencyAttestation.LedgerLeaf memory leaf = SolvencyAttestation.LedgerLeaf({
      owner: OWNER,
      chainSelector: HUB_SELECTOR,
      vault: VAULT,
      balance: 1000e6,
      withdrawnTotal: 300e6,
      salt: keccak256("salt")
    });
    assertEq(
      SolvencyAttestation.ledgerLeafHash(leaf), 0x54ab7166e10608114dad0de37e0cb92173165626eaa674b5324c76d852afb75b
    );
  }

  /// Any attestation: the contract's digest is the test's field-by-field EIP-712 encoding.
  function testFuzz_attestationDigest_MatchesTheTypeString(
    SolvencyAttestation.Attestation memory a
  ) public view {
    assertEq(s_hub.attestationDigest(a), _digest(a));
  }
}
