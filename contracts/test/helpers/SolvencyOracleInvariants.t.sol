// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {SolvencyOracleBase} from "../../src/SolvencyOracleBase.sol";
import {SolvencyAttestation} from "../../src/libraries/SolvencyAttestation.sol";
import {BaseTest} from "./BaseTest.t.sol";
import {SolvencyOracleHandler} from "./SolvencyOracleHandler.t.sol";

/// @notice The invariants the hub and every spoke keep, whatever sequence of owner calls, time
/// warps and (valid or forged) attestations they see. Each suite deploys its oracle and handler
/// in setUp and calls `_targetHandler`; the fuzzer then calls only the handler's actions.
abstract contract SolvencyOracleInvariants is BaseTest {
  SolvencyOracleBase internal s_oracle;
  SolvencyOracleHandler internal s_handler;

  /// @dev Restricts the fuzzer to the handler's actions (not the helpers it inherits).
  function _targetHandler() internal {
    bytes4[] memory selectors = new bytes4[](7);
    selectors[0] = SolvencyOracleHandler.warp.selector;
    selectors[1] = SolvencyOracleHandler.setSigner.selector;
    selectors[2] = SolvencyOracleHandler.removeSigner.selector;
    selectors[3] = SolvencyOracleHandler.setThreshold.selector;
    selectors[4] = SolvencyOracleHandler.invalidateLatest.selector;
    selectors[5] = SolvencyOracleHandler.submitAttestation.selector;
    selectors[6] = SolvencyOracleHandler.submitAttestationByRegistered.selector;
    targetContract(address(s_handler));
    targetSelector(FuzzSelector({addr: address(s_handler), selectors: selectors}));
  }

  /// Epochs only increase: the stored epoch observed after every call never went down, and is
  /// the largest one seen.
  function invariant_latestEpochNeverDecreases() public view {
    uint64[] memory epochs = s_handler.getObservedEpochs();
    for (uint256 i = 1; i < epochs.length; ++i) {
      assertGe(epochs[i], epochs[i - 1], "the stored epoch decreased");
    }
    assertEq(
      s_oracle.latestAttestation().epoch, s_handler.getMaxEpochSeen(), "the stored epoch is not the largest seen"
    );
  }

  /// Consumers fail closed: never solvent past the latest attestation's validUntil.
  function invariant_isSolventFailsClosedAfterValidUntil() public view {
    if (block.timestamp > s_oracle.latestAttestation().validUntil) {
      assertFalse(s_oracle.isSolvent(), "solvent after validUntil");
    }
  }

  /// No attestation is accepted without genuine signatures of k distinct registered, unexpired
  /// signers: every acceptance was one the handler's own model judged a quorum at that moment,
  /// and the stored attestation is the last one accepted.
  function invariant_acceptsOnlyQuorumSignedAttestations() public view {
    SolvencyOracleHandler.Acceptance[] memory acceptances = s_handler.getAcceptances();
    for (uint256 i = 0; i < acceptances.length; ++i) {
      assertTrue(
        acceptances[i].quorum,
        string.concat("epoch ", vm.toString(acceptances[i].epoch), " was accepted without k valid signatures")
      );
    }
    SolvencyAttestation.Attestation memory stored = s_oracle.latestAttestation();
    if (acceptances.length == 0) {
      assertEq(stored.epoch, 0, "an attestation was stored without being accepted");
      assertFalse(stored.solvent, "an attestation was stored without being accepted");
      return;
    }
    SolvencyAttestation.Attestation memory accepted = s_handler.getLastAccepted();
    // invalidateLatest clears `solvent` in place; every other field is the accepted one's.
    assertEq(
      stored.solvent,
      accepted.solvent && !s_handler.isInvalidated(),
      "stored outcome is not the last accepted one's (false after invalidateLatest)"
    );
    stored.solvent = accepted.solvent;
    assertEq(_digest(stored), _digest(accepted), "the stored attestation is not the last one accepted");
  }

  /// An attestation at or below the stored epoch (a late or replayed one) never changes the
  /// stored attestation.
  function invariant_staleEpochNeverOverwritesLatest() public view {
    assertEq(s_handler.getStaleOverwrites(), 0, "a stale epoch overwrote the latest attestation");
  }

  /// After invalidateLatest, consumers read not solvent until a newer epoch is accepted.
  function invariant_invalidatedStaysNotSolventUntilNewerEpoch() public view {
    if (s_handler.isInvalidated()) assertFalse(s_oracle.isSolvent(), "solvent after invalidateLatest");
  }
}
