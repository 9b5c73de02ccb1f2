// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IReserveOracle} from "./interfaces/IReserveOracle.sol";
import {IReserveVault} from "./interfaces/IReserveVault.sol";
import {ISolvencyOracle} from "./interfaces/ISolvencyOracle.sol";
import {SolvencyAttestation} from "./libraries/SolvencyAttestation.sol";

import {Ownable2StepMsgSender} from "@chainlink/contracts/src/v0.8/shared/access/Ownable2StepMsgSender.sol";
import {MerkleProof} from "@openzeppelin/contracts@5.0.2/utils/cryptography/MerkleProof.sol";

/// @title SolvencyOracleBase
/// @notice What the hub and every spoke share: the enclave signer set with its k-of-n threshold,
/// the latest accepted attestation and this chain's leaf of it, the chain's ReserveVault, and
/// the fail-closed consumer interface.
/// @dev Signature rules: each signature is 65 bytes (r, s, v) with a low s; signers are distinct,
/// registered, unexpired, and given in strictly ascending address order (which makes the
/// distinctness check one comparison); at least `threshold` of them.
abstract contract SolvencyOracleBase is ISolvencyOracle, IReserveOracle, Ownable2StepMsgSender {
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
  error InvalidChainSelector(uint64 chainSelector);
  error VaultAlreadySet(address vault);
  error VaultOfAnotherOracle(address vault, address vaultOracle);
  error InstructionHashMismatch(uint64 chainSelector, bytes32 expected, bytes32 actual);
  error InvalidLeafProof(uint64 chainSelector, bytes32 leafHash);
  error LeafVaultMismatch(uint64 chainSelector, address expected, address actual);
  error ChangeNotScheduled(bytes32 changeId);
  error ChangeNotReady(bytes32 changeId, uint64 readyAt);
  error NotATimelockedChange(bytes4 selector);

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
  event VaultSet(address indexed vault);
  event ChangeScheduled(bytes32 indexed changeId, bytes call, uint64 readyAt);
  event ChangeCancelled(bytes32 indexed changeId);
  event ConfigTimelockSet(uint64 timelock);

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
  /// @notice The CCIP selector of the chain this oracle lives on: the only chain leaf it keeps.
  uint64 internal immutable i_localChainSelector;

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
  /// @notice This chain's leaf of the latest accepted attestation: the vault pays against its
  /// `authRoot`.
  SolvencyAttestation.ChainLeaf internal s_latestLeaf;
  /// @notice The chain's ReserveVault, set once by the owner.
  address internal s_vault;
  /// @notice When `s_latestLeaf` arrived (block timestamp): the vault's exodus clock. It shares
  /// the vault's slot and, on a spoke, the report gas limit's, set at deployment: a separate
  /// slot would cost a first write from zero and a cold slot every epoch.
  uint64 internal s_leafReceivedAt;
  /// @dev Seconds between scheduling a change of who signs, how many must, the policy or the
  /// vault, and making it (0: changes are immediate). Owners of vault collateral see a scheduled
  /// change and can withdraw under the configuration they trusted first: a deployment sets it
  /// longer than the vaults' withdrawal delay plus an attestation interval.
  uint64 internal s_configTimelock;
  /// @dev When each scheduled change (keccak256 of its calldata) may be made.
  mapping(bytes32 changeId => uint64 readyAt) internal s_scheduled;

  constructor(
    bytes32 deploymentId,
    uint64 localChainSelector
  ) {
    if (localChainSelector == 0) revert InvalidChainSelector(localChainSelector);
    i_deploymentId = deploymentId;
    i_localChainSelector = localChainSelector;
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

  /// @inheritdoc IReserveOracle
  function latestLeaf() external view returns (SolvencyAttestation.ChainLeaf memory leaf, uint64 receivedAt) {
    return (s_latestLeaf, s_leafReceivedAt);
  }

  /// @inheritdoc IReserveOracle
  function getLedgerRoot() external view returns (bytes32) {
    return s_latest.ledgerRoot;
  }

  /// @inheritdoc IReserveOracle
  function getLocalChainSelector() external view returns (uint64) {
    return i_localChainSelector;
  }

  /// @inheritdoc IReserveOracle
  function getVault() external view returns (address) {
    return s_vault;
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

  /// @dev With a timelock, the exact call must have been scheduled and its time have come;
  /// the schedule is used up. Without one, changes are immediate.
  modifier timelocked() {
    if (s_configTimelock != 0) {
      bytes32 changeId = keccak256(msg.data);
      uint64 readyAt = s_scheduled[changeId];
      if (readyAt == 0) revert ChangeNotScheduled(changeId);
      if (block.timestamp < readyAt) revert ChangeNotReady(changeId, readyAt);
      delete s_scheduled[changeId];
    }
    _;
  }

  /// @notice Schedules a timelocked change — `call` is the calldata of `setSigner`,
  /// `removeSigner`, `setThreshold`, `setPolicyDigest`, `setVault` or a shorter
  /// `setConfigTimelock` — to be made, by that very call, once the timelock has passed.
  /// @return changeId keccak256 of `call`.
  function scheduleChange(
    bytes calldata call
  ) external onlyOwner returns (bytes32 changeId) {
    bytes4 selector = call.length >= 4 ? bytes4(call[:4]) : bytes4(0);
    if (!_isTimelockedChange(selector)) revert NotATimelockedChange(selector);
    changeId = keccak256(call);
    uint64 readyAt = uint64(block.timestamp) + s_configTimelock;
    s_scheduled[changeId] = readyAt;
    emit ChangeScheduled(changeId, call, readyAt);
  }

  /// @dev The owner functions whose calls `scheduleChange` takes.
  function _isTimelockedChange(
    bytes4 selector
  ) internal view virtual returns (bool) {
    return selector == this.setSigner.selector || selector == this.removeSigner.selector
      || selector == this.setThreshold.selector || selector == this.setPolicyDigest.selector
      || selector == this.setVault.selector || selector == this.setConfigTimelock.selector;
  }

  /// @notice Cancels a scheduled change.
  function cancelChange(
    bytes32 changeId
  ) external onlyOwner {
    if (s_scheduled[changeId] == 0) revert ChangeNotScheduled(changeId);
    delete s_scheduled[changeId];
    emit ChangeCancelled(changeId);
  }

  /// @notice Sets the timelock of trust changes. A longer one takes effect at once (owners only
  /// gain time); a shorter one is itself a timelocked change.
  function setConfigTimelock(
    uint64 timelock
  ) external onlyOwner {
    if (timelock < s_configTimelock) {
      bytes32 changeId = keccak256(msg.data);
      uint64 readyAt = s_scheduled[changeId];
      if (readyAt == 0) revert ChangeNotScheduled(changeId);
      if (block.timestamp < readyAt) revert ChangeNotReady(changeId, readyAt);
      delete s_scheduled[changeId];
    }
    s_configTimelock = timelock;
    emit ConfigTimelockSet(timelock);
  }

  /// @notice The timelock of trust changes, in seconds (0: none).
  function getConfigTimelock() external view returns (uint64) {
    return s_configTimelock;
  }

  /// @notice When a scheduled change may be made (0: not scheduled).
  function getScheduledChange(
    bytes32 changeId
  ) external view returns (uint64 readyAt) {
    return s_scheduled[changeId];
  }

  /// @notice Registers an enclave signer, or renews its registration.
  /// @param signer The enclave's secp256k1 address.
  /// @param expiresAt When the registration stops counting (Unix seconds, in the future).
  /// @param evidenceDigest Digest of the attestation evidence the registration was based on
  /// (zero when registered without evidence); a digest can be used once.
  function setSigner(
    address signer,
    uint64 expiresAt,
    bytes32 evidenceDigest
  ) external onlyOwner timelocked {
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
  ) external onlyOwner timelocked {
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
  ) external onlyOwner timelocked {
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

  /// @notice Sets the chain's ReserveVault, once: its log head travels with every report, and
  /// every chain leaf from then on must name it. A vault can only be set over this oracle.
  /// @dev Set once because the enclave's ledger follows one log per chain: a second vault would
  /// start a second log the ledger never saw.
  function setVault(
    address vault
  ) external onlyOwner timelocked {
    if (vault == address(0)) revert ZeroAddress();
    if (s_vault != address(0)) revert VaultAlreadySet(s_vault);
    address vaultOracle = IReserveVault(vault).getOracle();
    if (vaultOracle != address(this)) revert VaultOfAnotherOracle(vault, vaultOracle);
    s_vault = vault;
    emit VaultSet(vault);
  }

  /// @notice Sets the policy digest attestations must carry (`solvency policy digest`).
  function setPolicyDigest(
    bytes32 policyDigest
  ) external onlyOwner timelocked {
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

  /// @dev The head of this chain's vault log, sent with every report; `(0, 0x0)` while no vault
  /// is set.
  function _localLogHead() internal view returns (uint64 logCount, bytes32 logHead) {
    address vault = s_vault;
    if (vault != address(0)) (logCount, logHead) = IReserveVault(vault).getLogHead();
  }

  /// @dev Refuses a chain's message unless its instruction is the one the leaf commits to and
  /// the leaf is under the attestation's `chainsRoot`.
  function _checkLeaf(
    bytes32 chainsRoot,
    SolvencyAttestation.ChainLeaf memory leaf,
    bytes32[] memory proof,
    bytes memory instruction
  ) internal pure {
    bytes32 instructionHash = keccak256(instruction);
    if (instructionHash != leaf.instructionHash) {
      revert InstructionHashMismatch(leaf.chainSelector, leaf.instructionHash, instructionHash);
    }
    bytes32 leafHash = SolvencyAttestation.leafHash(leaf);
    if (!MerkleProof.verify(proof, chainsRoot, leafHash)) revert InvalidLeafProof(leaf.chainSelector, leafHash);
  }

  /// @dev Refuses this chain's leaf unless it names this chain's vault (zero while none is set).
  function _checkLocalVault(
    SolvencyAttestation.ChainLeaf memory leaf
  ) internal view {
    address vault = s_vault;
    if (leaf.vault != vault) revert LeafVaultMismatch(leaf.chainSelector, vault, leaf.vault);
  }

  /// @dev Stores an attestation whose signatures were verified and whose epoch is newer, with
  /// this chain's leaf of it (checked by the caller) and the instant it arrived.
  function _store(
    SolvencyAttestation.Attestation memory attestation,
    bytes32 digest,
    SolvencyAttestation.ChainLeaf memory leaf
  ) internal {
    s_latest = attestation;
    s_latestLeaf = leaf;
    s_leafReceivedAt = uint64(block.timestamp);
    emit AttestationAccepted(attestation.epoch, attestation.solvent, attestation.validUntil, digest);
  }

  modifier onlyReporter() {
    if (msg.sender != s_reporter) revert OnlyReporter(msg.sender);
    _;
  }
}
