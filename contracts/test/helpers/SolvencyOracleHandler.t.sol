// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {SolvencyOracleBase} from "../../src/SolvencyOracleBase.sol";
import {SolvencyAttestation} from "../../src/libraries/SolvencyAttestation.sol";
import {BaseTest} from "./BaseTest.t.sol";

import {Vm} from "forge-std/Vm.sol";

/// @notice Drives a hub or a spoke through random sequences of owner calls, time warps and
/// attestation submissions, and keeps the ghost state the invariant suites check.
/// @dev Inherits BaseTest for its signing helpers only; BaseTest's set-up never runs here.
/// The handler keeps its own model of the signer registry (expiries and threshold), updated only
/// by its own owner calls that succeeded, and judges every signature list it builds against that
/// model. So it knows, without asking the contract, whether a submission carried genuine
/// signatures of at least k distinct registered, unexpired signers. Calls that revert roll back
/// the ghosts with the contract's state: only what the contract accepted is recorded.
abstract contract SolvencyOracleHandler is BaseTest {
  /// @notice How a submission's signature list departs from an honest one.
  enum Tamper {
    None,
    Duplicate, // Cut to k - 1 signatures, then one of them repeated to make k.
    HighS, // One signature is replaced by its malleable twin (s' = n - s).
    OtherStatement, // One signer signed a different digest.
    BelowThreshold, // The list is cut to k - 1 signatures.
    Unordered // The list is reversed, so signers are not in ascending order.
  }

  /// @notice One attestation the contract accepted (it emitted AttestationAccepted).
  struct Acceptance {
    uint64 epoch;
    bytes32 digest;
    /// The handler's belief, at the moment of acceptance, that this very attestation carried
    /// genuine signatures of at least k distinct registered, unexpired signers.
    bool quorum;
  }

  /// @notice Keys that are never registered: signatures the contract must never count.
  uint256 internal constant OUTSIDER_COUNT = 2;
  uint256 internal constant SHORT_WARP = 1 hours;
  uint256 internal constant LONG_WARP = 1 days;
  uint256 internal constant MIN_SIGNER_LIFETIME = 1 hours;
  uint256 internal constant MAX_SIGNER_LIFETIME = 10 days;
  /// @notice Attestations are valid from 1 hour in the past (already expired) to 1 hour past the
  /// oracle's 1-day maximum validity (refused as too long).
  uint64 internal constant VALIDITY_BEFORE_NOW = 1 hours;
  uint64 internal constant VALIDITY_RANGE = 1 days + 2 hours;

  SolvencyOracleBase internal immutable i_oracle;
  /// @notice The first `i_registrableCount` keys of s_signerKeys are the enclave keys the owner
  /// may register; the rest are outsiders.
  uint256 internal immutable i_registrableCount;

  // The handler's model of the signer registry.
  mapping(uint256 keyIndex => uint64 expiresAt) internal s_modelExpiresAt;
  uint8 internal s_modelThreshold;
  uint256 internal s_evidenceNonce;

  // Ghost state.
  uint64[] internal s_observedEpochs;
  uint64 internal s_maxEpochSeen;
  Acceptance[] internal s_acceptances;
  SolvencyAttestation.Attestation internal s_lastAccepted;
  bool internal s_invalidated;
  uint64 internal s_invalidatedEpoch;
  uint256 internal s_staleOverwrites;

  /// @param oracle The hub or spoke under test, with its signer set already configured.
  /// @param enclaveKeys The keys the owner may register; the model starts from their current
  /// registration.
  constructor(
    SolvencyOracleBase oracle,
    uint256[] memory enclaveKeys
  ) {
    i_oracle = oracle;
    i_registrableCount = enclaveKeys.length;
    for (uint256 i = 0; i < enclaveKeys.length; ++i) {
      address signer = vm.addr(enclaveKeys[i]);
      s_signerKeys.push(enclaveKeys[i]);
      s_signerAddrs.push(signer);
      s_modelExpiresAt[i] = oracle.getSigner(signer).expiresAt;
    }
    for (uint256 i = 0; i < OUTSIDER_COUNT; ++i) {
      (address outsider, uint256 key) = makeAddrAndKey(string.concat("outsider-", vm.toString(i)));
      s_signerKeys.push(key);
      s_signerAddrs.push(outsider);
    }
    (, s_modelThreshold) = oracle.getSigners();
    s_maxEpochSeen = oracle.latestAttestation().epoch;
    s_observedEpochs.push(s_maxEpochSeen);
  }

  /// @dev Records the stored epoch after every action that did not revert (a reverted one
  /// changed nothing).
  modifier observed() {
    _;
    uint64 epoch = i_oracle.latestAttestation().epoch;
    s_observedEpochs.push(epoch);
    if (epoch > s_maxEpochSeen) s_maxEpochSeen = epoch;
  }

  // ================================================================
  // │                          Actions                             │
  // ================================================================

  /// @notice Moves time forwards, by minutes as often as by hours: attestations and signer
  /// registrations expire, and some are checked just after their deadline.
  function warp(
    uint256 seconds_
  ) external observed {
    vm.warp(block.timestamp + _bound(seconds_ >> 1, 1, seconds_ & 1 == 0 ? SHORT_WARP : LONG_WARP));
  }

  /// @notice Registers or renews an enclave signer, sometimes with fresh evidence.
  function setSigner(
    uint256 signerSeed,
    uint256 lifetimeSeed,
    bool withEvidence
  ) external observed {
    uint256 index = _bound(signerSeed, 0, i_registrableCount - 1);
    uint64 expiresAt = uint64(block.timestamp + _bound(lifetimeSeed, MIN_SIGNER_LIFETIME, MAX_SIGNER_LIFETIME));
    bytes32 evidence = withEvidence ? keccak256(abi.encode("invariant-evidence", ++s_evidenceNonce)) : bytes32(0);
    vm.prank(s_owner);
    i_oracle.setSigner(s_signerAddrs[index], expiresAt, evidence);
    s_modelExpiresAt[index] = expiresAt;
  }

  /// @notice Removes an enclave signer (reverts when not registered or k would be unreachable).
  function removeSigner(
    uint256 signerSeed
  ) external observed {
    uint256 index = _bound(signerSeed, 0, i_registrableCount - 1);
    vm.prank(s_owner);
    i_oracle.removeSigner(s_signerAddrs[index]);
    delete s_modelExpiresAt[index];
  }

  /// @notice Sets k, including 0 and more than the signer count (both revert).
  function setThreshold(
    uint256 thresholdSeed
  ) external observed {
    uint8 threshold = uint8(_bound(thresholdSeed, 0, i_registrableCount + 1));
    vm.prank(s_owner);
    i_oracle.setThreshold(threshold);
    s_modelThreshold = threshold;
  }

  /// @notice The owner's emergency brake.
  function invalidateLatest() external observed {
    vm.prank(s_owner);
    i_oracle.invalidateLatest();
    s_invalidated = true;
    s_invalidatedEpoch = i_oracle.latestAttestation().epoch;
  }

  /// @notice Submits an attestation signed by any subset of all keys, registered or not,
  /// possibly tampered with.
  function submitAttestation(
    uint256 epochSeed,
    uint256 validitySeed,
    bool solvent,
    uint256 signerMask,
    uint256 tamperSeed
  ) external observed {
    _attempt(epochSeed, validitySeed, solvent, _chooseSigners(signerMask, false), tamperSeed);
  }

  /// @notice Submits an attestation signed by registered signers only (expired ones included),
  /// topped up to k when the mask picked fewer, possibly tampered with: the tampering then
  /// decides alone whether k valid signatures remain.
  function submitAttestationByRegistered(
    uint256 epochSeed,
    uint256 validitySeed,
    bool solvent,
    uint256 signerMask,
    uint256 tamperSeed
  ) external observed {
    _attempt(epochSeed, validitySeed, solvent, _chooseSigners(signerMask, true), tamperSeed);
  }

  // ================================================================
  // │                        Ghost views                           │
  // ================================================================

  /// @notice The stored epoch after set-up and after every successful action, in order.
  function getObservedEpochs() external view returns (uint64[] memory) {
    return s_observedEpochs;
  }

  function getMaxEpochSeen() external view returns (uint64) {
    return s_maxEpochSeen;
  }

  function getAcceptances() external view returns (Acceptance[] memory) {
    return s_acceptances;
  }

  /// @notice The last attestation the contract accepted, as submitted.
  function getLastAccepted() external view returns (SolvencyAttestation.Attestation memory) {
    return s_lastAccepted;
  }

  /// @notice Whether invalidateLatest was called and no newer epoch was accepted since.
  function isInvalidated() external view returns (bool) {
    return s_invalidated;
  }

  /// @notice Submissions at or below the stored epoch that changed the stored attestation.
  function getStaleOverwrites() external view returns (uint256) {
    return s_staleOverwrites;
  }

  // ================================================================
  // │                         Internal                             │
  // ================================================================

  /// @dev Hands the attestation to the contract the way production does. A refusal must not
  /// revert the handler: what the contract did (or did not) accept is checked afterwards.
  function _submit(
    SolvencyAttestation.Attestation memory attestation,
    bytes[] memory signatures
  ) internal virtual;

  /// @dev Sets whatever the attestation must commit to before it is signed (the hub's
  /// instructions digest).
  function _beforeSigning(
    SolvencyAttestation.Attestation memory attestation
  ) internal view virtual {}

  function _attempt(
    uint256 epochSeed,
    uint256 validitySeed,
    bool solvent,
    uint256[] memory signers,
    uint256 tamperSeed
  ) internal {
    SolvencyAttestation.Attestation memory before = i_oracle.latestAttestation();
    SolvencyAttestation.Attestation memory attestation = _attestation(_pickEpoch(before.epoch, epochSeed), solvent);
    attestation.validUntil =
      uint64(block.timestamp) + uint64(_bound(validitySeed, 0, VALIDITY_RANGE)) - VALIDITY_BEFORE_NOW;
    _beforeSigning(attestation);
    // Half the submissions are honest, so that accepting states are reached often.
    uint256 mode = _bound(tamperSeed, 0, 9);
    Tamper tamper = mode < 5 ? Tamper.None : Tamper(mode - 4);
    (bytes[] memory signatures, bool quorum) = _signatures(attestation, signers, tamper, tamperSeed >> 8);

    vm.recordLogs();
    _submit(attestation, signatures);
    _recordAcceptances(vm.getRecordedLogs(), attestation, quorum);

    if (
      attestation.epoch <= before.epoch
        && keccak256(abi.encode(i_oracle.latestAttestation())) != keccak256(abi.encode(before))
    ) {
      ++s_staleOverwrites;
    }
  }

  /// @dev Mostly the next few epochs, sometimes an older or the same one, sometimes one too far.
  function _pickEpoch(
    uint64 latest,
    uint256 epochSeed
  ) internal view returns (uint64) {
    uint64 choice = uint64(_bound(epochSeed, 0, 7));
    if (choice == 0) return latest - uint64(_bound(epochSeed >> 8, 0, latest < 3 ? latest : 3));
    if (choice == 7) return latest + i_oracle.MAX_EPOCH_STEP() + 1;
    return latest + choice - 1; // choice 1 repeats the latest epoch
  }

  /// @dev The indices of the chosen keys, sorted by signer address as the contracts require.
  function _chooseSigners(
    uint256 mask,
    bool registeredOnly
  ) internal view returns (uint256[] memory chosen) {
    uint256 universe = s_signerKeys.length;
    chosen = new uint256[](universe);
    bool[] memory taken = new bool[](universe);
    uint256 n;
    for (uint256 i = 0; i < universe; ++i) {
      if (registeredOnly && s_modelExpiresAt[i] == 0) continue;
      if ((mask >> i) & 1 == 1) {
        chosen[n++] = i;
        taken[i] = true;
      }
    }
    for (uint256 i = 0; registeredOnly && n < s_modelThreshold && i < universe; ++i) {
      if (s_modelExpiresAt[i] != 0 && !taken[i]) chosen[n++] = i;
    }
    assembly {
      mstore(chosen, n)
    }
    for (uint256 i = 1; i < n; ++i) {
      for (uint256 j = i; j > 0 && s_signerAddrs[chosen[j - 1]] > s_signerAddrs[chosen[j]]; --j) {
        (chosen[j - 1], chosen[j]) = (chosen[j], chosen[j - 1]);
      }
    }
  }

  /// @dev Signs with the chosen keys, applies the tampering, and judges the result against the
  /// model: `quorum` is true when genuine signatures of at least k distinct registered,
  /// unexpired signers are in the list (order is not judged: a refused order is only a refusal).
  function _signatures(
    SolvencyAttestation.Attestation memory attestation,
    uint256[] memory signers,
    Tamper tamper,
    uint256 position
  ) internal view returns (bytes[] memory signatures, bool quorum) {
    bytes32 digest = _digest(attestation);
    uint256 n = signers.length;
    if (
      (tamper == Tamper.BelowThreshold || tamper == Tamper.Duplicate) && s_modelThreshold > 0 && n >= s_modelThreshold
    ) {
      n = s_modelThreshold - 1;
    }
    bool duplicate = tamper == Tamper.Duplicate && n > 0;
    position = n > 0 ? position % n : 0;

    signatures = new bytes[](duplicate ? n + 1 : n);
    uint256[] memory keyOf = new uint256[](signatures.length);
    bool[] memory genuine = new bool[](signatures.length);
    for (uint256 i = 0; i < n; ++i) {
      (signatures[i], keyOf[i], genuine[i]) = (_sign(s_signerKeys[signers[i]], digest), signers[i], true);
    }
    if (duplicate) {
      // Appended: right after its original when that was the last, out of order otherwise.
      (signatures[n], keyOf[n], genuine[n]) = (signatures[position], keyOf[position], true);
    }
    if (n > 0 && tamper == Tamper.HighS) {
      signatures[position] = _malleate(signatures[position]);
      genuine[position] = false;
    } else if (n > 0 && tamper == Tamper.OtherStatement) {
      signatures[position] = _sign(s_signerKeys[keyOf[position]], keccak256(abi.encode("other statement", digest)));
      genuine[position] = false;
    } else if (tamper == Tamper.Unordered) {
      for (uint256 i = 0; i < n / 2; ++i) {
        (signatures[i], signatures[n - 1 - i]) = (signatures[n - 1 - i], signatures[i]);
      }
    }
    quorum = _isQuorum(keyOf, genuine);
  }

  /// @dev The model's verdict: genuine signatures of at least k distinct signers whose
  /// registration has not expired at this block.
  function _isQuorum(
    uint256[] memory keyOf,
    bool[] memory genuine
  ) internal view returns (bool) {
    if (s_modelThreshold == 0) return false;
    bool[] memory counted = new bool[](s_signerKeys.length);
    uint256 count;
    for (uint256 i = 0; i < keyOf.length; ++i) {
      uint256 key = keyOf[i];
      if (!genuine[i] || counted[key]) continue;
      counted[key] = true;
      uint64 expiresAt = s_modelExpiresAt[key];
      if (expiresAt != 0 && expiresAt >= block.timestamp) ++count;
    }
    return count >= s_modelThreshold;
  }

  /// @dev Logs every AttestationAccepted the oracle emitted for this submission.
  function _recordAcceptances(
    Vm.Log[] memory logs,
    SolvencyAttestation.Attestation memory attestation,
    bool quorum
  ) internal {
    bytes32 submitted = _digest(attestation);
    for (uint256 i = 0; i < logs.length; ++i) {
      Vm.Log memory log = logs[i];
      if (
        log.emitter != address(i_oracle) || log.topics.length == 0
          || log.topics[0] != SolvencyOracleBase.AttestationAccepted.selector
      ) continue;
      (,, bytes32 accepted) = abi.decode(log.data, (bool, uint64, bytes32));
      uint64 epoch = uint64(uint256(log.topics[1]));
      s_acceptances.push(Acceptance({epoch: epoch, digest: accepted, quorum: quorum && accepted == submitted}));
      s_lastAccepted = attestation;
      if (epoch > s_invalidatedEpoch) s_invalidated = false;
    }
  }
}
