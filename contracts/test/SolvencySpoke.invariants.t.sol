// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {SolvencySpoke} from "../src/SolvencySpoke.sol";
import {SolvencyAttestation} from "../src/libraries/SolvencyAttestation.sol";
import {SolvencyOracleHandler} from "./helpers/SolvencyOracleHandler.t.sol";
import {SolvencyOracleInvariants} from "./helpers/SolvencyOracleInvariants.t.sol";

import {MockCCIPRouter} from "@chainlink/local/src/vendor/chainlink-ccip/test/mocks/MockRouter.sol";

/// @notice The oracle invariants on a spoke, whose attestations arrive from the hub over CCIP.
contract SolvencySpoke_invariants is SolvencyOracleInvariants {
  /// The hub lives on another chain: the spoke only knows its selector and address.
  address internal constant REMOTE_HUB = address(0x4B1B);

  function setUp() public override {
    super.setUp();
    SolvencySpoke spoke = _deploySpoke(HUB_SELECTOR, REMOTE_HUB);
    _configureSigners(spoke, 3, 2);
    s_oracle = spoke;
    s_handler = new SolvencySpokeHandler(spoke, s_router, HUB_SELECTOR, REMOTE_HUB, s_signerKeys);
    _targetHandler();
  }
}

/// @notice Delivers attestations to the spoke as CCIP does: the router routes a message from
/// the hub's (selector, address) to the spoke's ccipReceive, with the hub's gas limit.
contract SolvencySpokeHandler is SolvencyOracleHandler {
  SolvencySpoke internal immutable i_spoke;
  uint64 internal immutable i_hubSelector;
  address internal immutable i_hub;

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

  function _submit(
    SolvencyAttestation.Attestation memory attestation,
    bytes[] memory signatures
  ) internal override {
    // A refusal comes back as success == false (the message would stay FAILED on CCIP).
    s_router.routeMessage(
      _attestationMessage(i_hubSelector, i_hub, attestation, signatures),
      s_router.GAS_FOR_CALL_EXACT_CHECK(),
      ATTESTATION_GAS_LIMIT,
      address(i_spoke)
    );
  }
}
