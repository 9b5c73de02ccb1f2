// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {SolvencySpoke} from "../src/SolvencySpoke.sol";
import {SolvencyAttestation} from "../src/libraries/SolvencyAttestation.sol";
import {SolvencyOracleHandler} from "./helpers/SolvencyOracleHandler.t.sol";
import {SolvencyOracleInvariants} from "./helpers/SolvencyOracleInvariants.t.sol";

import {MockCCIPRouter} from "@chainlink/local/src/vendor/chainlink-ccip/test/mocks/MockRouter.sol";

/// @notice The oracle invariants on a spoke, whose attestations arrive from the hub over CCIP,
/// and the spoke's own: the leaf it keeps is its own and committed.
contract SolvencySpoke_invariants is SolvencyOracleInvariants {
  /// The hub lives on another chain: the spoke only knows its selector and address.
  address internal constant REMOTE_HUB = address(0x4B1B);

  SolvencySpokeHandler internal s_spokeHandler;

  function setUp() public override {
    super.setUp();
    SolvencySpoke spoke = _deploySpoke(SPOKE_A, HUB_SELECTOR, REMOTE_HUB);
    _configureSigners(spoke, 3, 2);
    s_oracle = spoke;
    s_spokeHandler = new SolvencySpokeHandler(spoke, s_router, HUB_SELECTOR, REMOTE_HUB, s_signerKeys);
    s_handler = s_spokeHandler;
    _targetHandler();
  }

  /// The spoke keeps only its own leaf of the standard chains (every attestation here commits to
  /// them), and no new epoch was accepted with another chain's leaf or a bad proof.
  function invariant_keepsOnlyItsOwnCommittedLeaf() public view {
    assertEq(s_spokeHandler.getForeignLeavesAccepted(), 0, "a new epoch was accepted with a leaf not its own");
    (SolvencyAttestation.ChainLeaf memory leaf, uint64 receivedAt) = s_oracle.latestLeaf();
    if (s_oracle.latestAttestation().epoch == 0) {
      assertEq(receivedAt, 0, "a leaf was kept without an attestation");
      return;
    }
    assertEq(_leafHash(leaf), _leafHash(_chainLeaf(SPOKE_A, address(0))), "the kept leaf is not the spoke's own");
  }
}

/// @notice Delivers attestations to the spoke as CCIP does: the router routes a message from
/// the hub's (selector, address) to the spoke's ccipReceive, with the hub's gas limit. One
/// delivery in four carries another chain's leaf, and one in four a broken proof.
contract SolvencySpokeHandler is SolvencyOracleHandler {
  SolvencySpoke internal immutable i_spoke;
  uint64 internal immutable i_hubSelector;
  address internal immutable i_hub;
  uint256 internal s_foreignLeavesAccepted;

  constructor(
    SolvencySpoke spoke,
    MockCCIPRouter router,
    uint64 hubSelector,
    address hub,
    uint256[] memory enclaveKeys
  ) SolvencyOracleHandler(spoke, enclaveKeys) {
    i_spoke = spoke;
    i_hubSelector = hubSelector;
    i_hub = hub;
    s_router = router;
  }

  /// @notice New epochs accepted with a leaf that was not the spoke's own, committed one.
  function getForeignLeavesAccepted() external view returns (uint256) {
    return s_foreignLeavesAccepted;
  }

  function _submit(
    SolvencyAttestation.Attestation memory attestation,
    bytes[] memory signatures
  ) internal override {
    (, SolvencyAttestation.ChainMessage[] memory messages) = _tree(_standardLeaves());
    SolvencyAttestation.ChainMessage memory message = _messageFor(messages, SPOKE_A);
    uint256 mode = uint256(keccak256(abi.encode("leaf", attestation.epoch, attestation.validUntil))) % 4;
    if (mode == 1) message = _messageFor(messages, SPOKE_B);
    if (mode == 2) message.proof[0] = keccak256("not the sibling");
    uint64 before = i_spoke.latestAttestation().epoch;
    // A refusal comes back as success == false (the message would stay FAILED on CCIP).
    s_router.routeMessage(
      _deliveryMessage(i_hubSelector, i_hub, attestation, signatures, message),
      s_router.GAS_FOR_CALL_EXACT_CHECK(),
      ATTESTATION_GAS_LIMIT,
      address(i_spoke)
    );
    if (mode != 0 && mode != 3 && i_spoke.latestAttestation().epoch != before) ++s_foreignLeavesAccepted;
  }
}
