// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {SolvencyHub} from "../src/SolvencyHub.sol";
import {SolvencyAttestation} from "../src/libraries/SolvencyAttestation.sol";
import {SolvencyOracleHandler} from "./helpers/SolvencyOracleHandler.t.sol";
import {SolvencyOracleInvariants} from "./helpers/SolvencyOracleInvariants.t.sol";

/// @notice The oracle invariants on the hub, whose attestations arrive through `publish`.
contract SolvencyHub_invariants is SolvencyOracleInvariants {
  uint64 internal constant SPOKE_A = 5_548_718_428_018_410_741; // test chain 90000002
  /// The spoke lives on another chain: an address without code, so the hub pays a real fee and
  /// sends a real message, and only the hub's own state is under test.
  address internal constant REMOTE_SPOKE = address(0x5B0C);
  uint256 internal constant MESSAGE_FEE = 0.001 ether;

  function setUp() public override {
    super.setUp();
    _configureSigners(s_hub, 3, 2);
    vm.prank(s_owner);
    s_hub.addSpoke(SPOKE_A, REMOTE_SPOKE);
    s_router.setFee(MESSAGE_FEE);
    uint64[] memory chains = new uint64[](2);
    chains[0] = HUB_SELECTOR;
    chains[1] = SPOKE_A;
    s_oracle = s_hub;
    s_handler = new SolvencyHubHandler(s_hub, s_signerKeys, chains);
    _targetHandler();
  }
}

/// @notice Publishes attestations on the hub, one instruction per chain in ascending selector
/// order, with the fees paid from the hub's balance.
contract SolvencyHubHandler is SolvencyOracleHandler {
  SolvencyHub internal immutable i_hub;
  uint64[] internal s_chains;

  constructor(
    SolvencyHub hub,
    uint256[] memory enclaveKeys,
    uint64[] memory chains
  ) SolvencyOracleHandler(hub, enclaveKeys) {
    i_hub = hub;
    s_chains = chains;
  }

  function _beforeSigning(
    SolvencyAttestation.Attestation memory attestation
  ) internal view override {
    _instructions(attestation, s_chains);
  }

  function _submit(
    SolvencyAttestation.Attestation memory attestation,
    bytes[] memory signatures
  ) internal override {
    SolvencyAttestation.Instruction[] memory instructions = _instructions(attestation, s_chains);
    try i_hub.publish(attestation, signatures, instructions) {} catch {}
  }
}
