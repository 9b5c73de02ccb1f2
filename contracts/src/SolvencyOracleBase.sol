// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ISolvencyOracle} from "./interfaces/ISolvencyOracle.sol";
import {SolvencyAttestation} from "./libraries/SolvencyAttestation.sol";

import {Ownable2StepMsgSender} from "@chainlink/contracts/src/v0.8/shared/access/Ownable2StepMsgSender.sol";

/// @title SolvencyOracleBase
/// @notice What the hub and every spoke share: the enclave signer set with its k-of-n threshold,
/// the latest accepted attestation, and the fail-closed consumer interface.
/// @dev Signature rules: each signature is 65 bytes (r, s, v) with a low s; signers are distinct,
/// registered, unexpired, and given in strictly ascending address order (which makes the
/// distinctness check one comparison); at least `threshold` of them.
abstract contract SolvencyOracleBase is ISolvencyOracle, Ownable2StepMsgSender {
  using SolvencyAttestation for SolvencyAttestation.Attestation;

  error ZeroAddress();
  error WrongDeployment(bytes32 expected, bytes32 actual);
  error NotEnoughSignatures(uint256 provided, uint256 threshold);
  error InvalidSignature(uint256 index);
  error UnknownSigner(address signer);
  error SignerExpired(address signer, uint64 expiredAt);
  error DuplicateSigner(address signer);
  error SignersNotAscending(uint256 index);
  error InvalidThreshold(uint256 threshold, uint256 signerCount);
  error InvalidExpiry(uint64 expiresAt);
  error SignerNotFound(address signer);
  error OnlyReporter(address caller);
  error WithdrawFailed(address to, uint256 amount);
  error EvidenceAlreadyUsed(bytes32 evidenceDigest);
  error ValidityTooLong(uint64 validUntil, uint256 latestAllowed);
  error EpochJumpTooLarge(uint64 epoch, uint64 latestEpoch);
  error InvalidMaxValidity(uint64 maxValidity);
  error PolicyMismatch(bytes32 expected, bytes32 actual);

  event SignerSet(address indexed signer, uint64 expiresAt, bytes32 evidenceDigest);
  event SignerRemoved(address indexed signer);
  event ThresholdSet(uint8 threshold);
  event ReporterSet(address indexed previousReporter, address indexed newReporter);
  event AttestationAccepted(uint64 indexed epoch, bool solvent, uint64 validUntil, bytes32 digest);
  event FeesWithdrawn(address indexed to, uint256 amount);
  event FeesDeposited(address indexed from, uint256 amount);
  event MaxValiditySet(uint64 maxValidity);
  event AttestationInvalidated(uint64 indexed epoch);
  event PolicyDigestSet(bytes32 policyDigest);

  /// @notice A registered enclave signer. `expiresAt` is read on every verification and sits
  /// alone in the first slot; the evidence digest is kept for auditors.
  struct SignerInfo {
    uint64 expiresAt; // Unix seconds; 0 means not registered.
    bytes32 evidenceDigest; // Digest of the attestation evidence the signer was registered with.
  }

  /// @notice How far an epoch may jump past the latest: a signer set that misbehaves cannot
  /// push the epoch to the end of uint64 and so stop every later attestation.
  uint64 public constant MAX_EPOCH_STEP = 1_000_000;

  /// @notice The deployment this oracle speaks for; attestations for any other are refused.
  bytes32 internal immutable i_deploymentId;

  mapping(address signer => SignerInfo info) internal s_signers;
  address[] internal s_signerList;
  uint8 internal s_threshold;
  address internal s_reporter;
  SolvencyAttestation.Attestation internal s_latest;
  /// @notice The longest validity an attestation may claim from now: a signer set that
  /// misbehaves cannot make the answer outlive its own replacement.
  uint64 internal s_maxValidity = 1 days;
  /// @notice The digest of the policy attestations must have been judged by, set by the owner:
  /// whoever runs the aggregator cannot change prices, reporter keys or the ratio on their own.
  bytes32 internal s_policyDigest;
  /// @notice Evidence digests already used for a registration: evidence is fresh (its nonce was
  /// issued for one registration), so a digest seen before is a replay.
  mapping(bytes32 evidenceDigest => bool used) internal s_usedEvidence;

  constructor(
    bytes32 deploymentId
  ) {
    i_deploymentId = deploymentId;
  }

  /// @notice Lets anyone fund the contract's CCIP fees in native currency.
  receive() external payable {
    emit FeesDeposited(msg.sender, msg.value);
  }

  // ================================================================
  // │                        Consumers                             │
  // ================================================================

  /// @inheritdoc ISolvencyOracle
  function isSolvent() external view returns (bool) {
    return s_latest.solvent && block.timestamp <= s_latest.validUntil;
  }

  /// @inheritdoc ISolvencyOracle
  function latestAttestation() external view returns (SolvencyAttestation.Attestation memory) {
    return s_latest;
  }

  /// @notice The deployment id this oracle accepts attestations for.
  function getDeploymentId() external view returns (bytes32) {
    return i_deploymentId;
  }

  /// @notice The registered signers (expired ones included until removed) and the threshold.
  function getSigners() external view returns (address[] memory signers, uint8 threshold) {
    return (s_signerList, s_threshold);
  }

  /// @notice The policy digest attestations must carry.
  function getPolicyDigest() external view returns (bytes32) {
    return s_policyDigest;
  }

  /// @notice The longest validity an attestation may claim, in seconds from now.
  function getMaxValidity() external view returns (uint64) {
    return s_maxValidity;
  }

  /// @notice Registration details of one signer (`expiresAt == 0` when not registered).
  function getSigner(
    address signer
  ) external view returns (SignerInfo memory) {
    return s_signers[signer];
  }

  /// @notice The account allowed to submit this chain's sealed report.
  function getReporter() external view returns (address) {
    return s_reporter;
  }

  /// @notice The EIP-712 digest enclave signers sign for an attestation, for off-chain checks.
  function attestationDigest(
    SolvencyAttestation.Attestation memory attestation
  ) external pure returns (bytes32) {
    return attestation.digest();
  }

  /// @notice Checks an attestation's deployment and signatures, reverting on any failure.
  /// @return digest The EIP-712 digest that was signed.
  function verifyAttestation(
    SolvencyAttestation.Attestation memory attestation,
    bytes[] memory signatures
  ) public view returns (bytes32 digest) {
    if (attestation.deploymentId != i_deploymentId) {
      revert WrongDeployment(i_deploymentId, attestation.deploymentId);
    }
    uint256 threshold = s_threshold;
    // A threshold of 0 means no signer set was configured yet: nothing can be verified.
    if (threshold == 0 || signatures.length < threshold) revert NotEnoughSignatures(signatures.length, threshold);

    digest = attestation.digest();
    address previous;
    for (uint256 i = 0; i < signatures.length; ++i) {
      address signer = SolvencyAttestation.recover(digest, signatures[i]);
      if (signer == address(0)) revert InvalidSignature(i);
      if (signer == previous) revert DuplicateSigner(signer);
      if (signer < previous) revert SignersNotAscending(i);
      uint64 expiresAt = s_signers[signer].expiresAt;
      if (expiresAt == 0) revert UnknownSigner(signer);
      if (expiresAt < block.timestamp) revert SignerExpired(signer, expiresAt);
      previous = signer;
    }
    return digest;
  }

  // ================================================================
  // │                          Owner                               │
  // ================================================================

  /// @notice Registers an enclave signer, or renews its registration.
  /// @param signer The enclave's secp256k1 address.
  /// @param expiresAt When the registration stops counting (Unix seconds, in the future).
  /// @param evidenceDigest Digest of the attestation evidence the registration was based on
  /// (zero when registered without evidence); a digest can be used once.
  function setSigner(
    address signer,
    uint64 expiresAt,
    bytes32 evidenceDigest
  ) external onlyOwner {
    if (signer == address(0)) revert ZeroAddress();
    if (expiresAt <= block.timestamp) revert InvalidExpiry(expiresAt);
    if (evidenceDigest != bytes32(0)) {
      if (s_usedEvidence[evidenceDigest]) revert EvidenceAlreadyUsed(evidenceDigest);
      s_usedEvidence[evidenceDigest] = true;
    }
    if (s_signers[signer].expiresAt == 0) s_signerList.push(signer);
    s_signers[signer] = SignerInfo({expiresAt: expiresAt, evidenceDigest: evidenceDigest});
    emit SignerSet(signer, expiresAt, evidenceDigest);
  }

  /// @notice Removes a signer. The threshold must stay reachable by the remaining signers.
  function removeSigner(
    address signer
  ) external onlyOwner {
    if (s_signers[signer].expiresAt == 0) revert SignerNotFound(signer);
    uint256 count = s_signerList.length;
    if (s_threshold > count - 1) revert InvalidThreshold(s_threshold, count - 1);
    for (uint256 i = 0; i < count; ++i) {
      if (s_signerList[i] == signer) {
        s_signerList[i] = s_signerList[count - 1];
        s_signerList.pop();
        break;
      }
    }
    delete s_signers[signer];
    emit SignerRemoved(signer);
  }

  /// @notice Sets k, the number of distinct registered signers an attestation needs.
  function setThreshold(
    uint8 threshold
  ) external onlyOwner {
    if (threshold == 0 || threshold > s_signerList.length) revert InvalidThreshold(threshold, s_signerList.length);
    s_threshold = threshold;
    emit ThresholdSet(threshold);
  }

  /// @notice Sets the account allowed to submit this chain's sealed report.
  function setReporter(
    address reporter
  ) external onlyOwner {
    if (reporter == address(0)) revert ZeroAddress();
    emit ReporterSet(s_reporter, reporter);
    s_reporter = reporter;
  }

  /// @notice Sets the policy digest attestations must carry (`solvency policy digest`).
  function setPolicyDigest(
    bytes32 policyDigest
  ) external onlyOwner {
    s_policyDigest = policyDigest;
    emit PolicyDigestSet(policyDigest);
  }

  /// @notice Sets the longest validity an attestation may claim.
  function setMaxValidity(
    uint64 maxValidity
  ) external onlyOwner {
    if (maxValidity == 0) revert InvalidMaxValidity(maxValidity);
    s_maxValidity = maxValidity;
    emit MaxValiditySet(maxValidity);
  }

  /// @notice Emergency brake: consumers read not solvent until the next valid attestation (a
  /// higher epoch) arrives. For a signer set the owner no longer trusts.
  function invalidateLatest() external onlyOwner {
    s_latest.solvent = false;
    emit AttestationInvalidated(s_latest.epoch);
  }

  /// @notice Withdraws native currency held for CCIP fees.
  function withdrawFees(
    address payable to,
    uint256 amount
  ) external onlyOwner {
    if (to == address(0)) revert ZeroAddress();
    (bool ok,) = to.call{value: amount}("");
    if (!ok) revert WithdrawFailed(to, amount);
    emit FeesWithdrawn(to, amount);
  }

  // ================================================================
  // │                         Internal                             │
  // ================================================================

  /// @dev Refuses an authenticated attestation judged by another policy, or whose validity or
  /// epoch jump is out of bounds.
  function _checkBounds(
    SolvencyAttestation.Attestation memory attestation
  ) internal view {
    if (attestation.policyDigest != s_policyDigest) revert PolicyMismatch(s_policyDigest, attestation.policyDigest);
    uint256 latestAllowed = block.timestamp + s_maxValidity;
    if (attestation.validUntil > latestAllowed) revert ValidityTooLong(attestation.validUntil, latestAllowed);
    uint64 latestEpoch = s_latest.epoch;
    if (attestation.epoch > latestEpoch && attestation.epoch - latestEpoch > MAX_EPOCH_STEP) {
      revert EpochJumpTooLarge(attestation.epoch, latestEpoch);
    }
  }

  /// @dev Stores an attestation whose signatures were verified and whose epoch is newer.
  function _store(
    SolvencyAttestation.Attestation memory attestation,
    bytes32 digest
  ) internal {
    s_latest = attestation;
    emit AttestationAccepted(attestation.epoch, attestation.solvent, attestation.validUntil, digest);
  }

  modifier onlyReporter() {
    if (msg.sender != s_reporter) revert OnlyReporter(msg.sender);
    _;
  }
}
