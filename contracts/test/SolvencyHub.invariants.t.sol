// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {SolvencyHub} from "../src/SolvencyHub.sol";
import {SolvencyAttestation} from "../src/libraries/SolvencyAttestation.sol";
import {SolvencyOracleHandler} from "./helpers/SolvencyOracleHandler.t.sol";
import {SolvencyOracleInvariants} from "./helpers/SolvencyOracleInvariants.t.sol";

/// @notice The oracle invariants on the hub, whose attestations arrive through `publish`, and the
/// hub's own: ledger roots form one chain.
contract SolvencyHub_invariants is SolvencyOracleInvariants {
  /// The spoke lives on another chain: an address without code, so the hub pays a real fee and
  /// sends a real message, and only the hub's own state is under test.
  address internal constant REMOTE_SPOKE = address(0x5B0C);
  uint256 internal constant MESSAGE_FEE = 0.001 ether;

  SolvencyHubHandler internal s_hubHandler;

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
    s_hubHandler = new SolvencyHubHandler(s_hub, s_signerKeys, chains);
    s_handler = s_hubHandler;
    _targetHandler();
  }

  /// The accepted attestations' ledger roots form one chain: the first one's parent is zero and
  /// each later one's parent is the root before it, so an enclave rolled back to an older ledger
  /// never published; the hub holds the last root.
  function invariant_ledgerRootsFormOneChain() public view {
    (bytes32[] memory parents, bytes32[] memory roots) = s_hubHandler.getAcceptedRoots();
    bytes32 previous;
    for (uint256 i = 0; i < parents.length; ++i) {
      assertEq(parents[i], previous, "an attestation was accepted on top of a root the hub did not hold");
      previous = roots[i];
    }
    assertEq(s_hub.getLedgerRoot(), previous, "the hub does not hold the last accepted root");
  }
}

/// @notice Publishes attestations on the hub, one message per chain in ascending selector order,
/// with the fees paid from the hub's balance. One submission in four is built on a root the hub
/// does not hold (a rolled-back or forked enclave).
contract SolvencyHubHandler is SolvencyOracleHandler {
  SolvencyHub internal immutable i_hub;
  uint64[] internal s_chains;
  bytes32[] internal s_acceptedParents;
  bytes32[] internal s_acceptedRoots;

  constructor(
    SolvencyHub hub,
    uint256[] memory enclaveKeys,
    uint64[] memory chains
  ) SolvencyOracleHandler(hub, enclaveKeys) {
    i_hub = hub;
    s_chains = chains;
  }

  /// @notice The parent and ledger root of every accepted attestation, in order.
  function getAcceptedRoots() external view returns (bytes32[] memory parents, bytes32[] memory roots) {
    return (s_acceptedParents, s_acceptedRoots);
  }

  function _beforeSigning(
    SolvencyAttestation.Attestation memory attestation
  ) internal view override {
    attestation.parentLedgerRoot = i_hub.getLedgerRoot();
    if (uint256(keccak256(abi.encode("rolled back", attestation.epoch, attestation.validUntil))) % 4 == 0) {
      attestation.parentLedgerRoot = keccak256(abi.encode("a root the hub never held", attestation.epoch));
    }
    _commitChains(attestation, s_chains);
  }

  function _submit(
    SolvencyAttestation.Attestation memory attestation,
    bytes[] memory signatures
  ) internal override {
    SolvencyAttestation.ChainMessage[] memory messages = _commitChains(attestation, s_chains);
    try i_hub.publish(attestation, signatures, messages) {
      s_acceptedParents.push(attestation.parentLedgerRoot);
      s_acceptedRoots.push(attestation.ledgerRoot);
    } catch {}
  }
}
