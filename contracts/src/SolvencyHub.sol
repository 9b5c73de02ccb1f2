// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {SolvencyOracleBase} from "./SolvencyOracleBase.sol";
import {SolvencyAttestation} from "./libraries/SolvencyAttestation.sol";

import {IRouterClient} from "@chainlink/contracts-ccip/contracts/interfaces/IRouterClient.sol";
import {CCIPReceiver} from "@chainlink/contracts-ccip/contracts/applications/CCIPReceiver.sol";
import {Client} from "@chainlink/contracts-ccip/contracts/libraries/Client.sol";

/// @title SolvencyHub
/// @notice The hub chain's end of a deployment. It receives every spoke's sealed report over CCIP
/// (and its own chain's report directly), and publishes the enclave's attestation: it verifies
/// the k-of-n signatures, stores the attestation for its own chain's consumers, and sends it with
/// each chain's sealed instruction to every registered spoke, paying CCIP fees from its balance.
/// @dev The hub never sees an amount: reports and instructions are HPKE ciphertexts.
contract SolvencyHub is SolvencyOracleBase, CCIPReceiver {
  error UnknownSender(uint64 sourceChainSelector, bytes sender);
  error EpochNotIncreasing(uint64 epoch, uint64 latestEpoch);
  error AttestationExpired(uint64 validUntil, uint256 blockTimestamp);
  error InstructionsDigestMismatch(bytes32 expected, bytes32 actual);
  error InstructionCountMismatch(uint256 expected, uint256 actual);
  error InstructionForUnknownChain(uint64 chainSelector);
  error InstructionsNotAscending(uint256 index);
  error InsufficientFeeBalance(uint256 required, uint256 available);
  error SpokeAlreadyRegistered(uint64 chainSelector, address spoke);
  error SpokeNotRegistered(uint64 chainSelector);
  error InvalidChainSelector(uint64 chainSelector);
  error InvalidGasLimit(uint32 gasLimit);

  event SpokeAdded(uint64 indexed chainSelector, address spoke);
  event SpokeRemoved(uint64 indexed chainSelector, address spoke);
  event AttestationGasLimitSet(uint32 gasLimit);
  /// @notice A sealed report arrived, from a spoke over CCIP or from this chain's reporter.
  event ReportDelivered(bytes32 indexed messageId, uint64 indexed sourceChainSelector, uint64 seq, bytes payload);
  event AttestationSent(uint64 indexed destChainSelector, bytes32 indexed messageId, uint64 indexed epoch, uint256 fee);
  /// @notice This chain's sealed instruction for the epoch (its treasury agent reads it here).
  event InstructionDelivered(uint64 indexed epoch, bytes payload);

  /// @notice The CCIP selector of the chain this hub lives on.
  uint64 internal immutable i_localChainSelector;

  mapping(uint64 chainSelector => address spoke) internal s_spokes;
  uint64[] internal s_spokeSelectors;
  /// @notice Gas the spoke's ccipReceive gets: enough to verify k signatures and store.
  uint32 internal s_attestationGasLimit;
  /// @notice Makes the message ids of local reports unique.
  uint64 internal s_localReportNonce;

  constructor(
    address router,
    uint64 localChainSelector,
    bytes32 deploymentId,
    uint32 attestationGasLimit
  ) CCIPReceiver(router) SolvencyOracleBase(deploymentId) {
    if (localChainSelector == 0) revert InvalidChainSelector(localChainSelector);
    if (attestationGasLimit == 0) revert InvalidGasLimit(attestationGasLimit);
    i_localChainSelector = localChainSelector;
    s_attestationGasLimit = attestationGasLimit;
  }

  // ================================================================
  // │                         Reports                              │
  // ================================================================

  /// @notice Takes this chain's own sealed report (CCIP has no same-chain lane).
  /// @param seq The reporter's sequence number, bound into the ciphertext's aad.
  /// @param payload The HPKE `enc || ciphertext` blob.
  /// @return messageId A unique id standing in for a CCIP message id.
  function submitReport(
    uint64 seq,
    bytes calldata payload
  ) external onlyReporter returns (bytes32 messageId) {
    messageId = keccak256(abi.encode(block.chainid, address(this), ++s_localReportNonce));
    emit ReportDelivered(messageId, i_localChainSelector, seq, payload);
  }

  /// @dev Reports from allow-listed spokes. Authentication failures revert (the message stays
  /// FAILED on CCIP); a delivered report is only emitted, never interpreted here.
  function _ccipReceive(
    Client.Any2EVMMessage memory message
  ) internal override {
    address spoke = s_spokes[message.sourceChainSelector];
    if (spoke == address(0) || message.sender.length != 32 || abi.decode(message.sender, (address)) != spoke) {
      revert UnknownSender(message.sourceChainSelector, message.sender);
    }
    (uint64 seq, bytes memory payload) = abi.decode(message.data, (uint64, bytes));
    emit ReportDelivered(message.messageId, message.sourceChainSelector, seq, payload);
  }

  // ================================================================
  // │                        Publishing                            │
  // ================================================================

  /// @notice Verifies and stores an attestation, then sends it to every spoke over CCIP.
  /// @dev Anyone may call this: the enclave signatures are the authority, and epochs strictly
  /// increase, so an attestation can be published (and fees spent on it) only once.
  /// @param attestation The signed statement.
  /// @param signatures k-of-n signatures, signers in ascending address order.
  /// @param instructions One sealed instruction per chain of the deployment (this chain and
  /// every spoke), in strictly ascending chain selector order.
  /// @return messageIds The CCIP message ids, in ascending destination chain selector order.
  function publish(
    SolvencyAttestation.Attestation calldata attestation,
    bytes[] calldata signatures,
    SolvencyAttestation.Instruction[] calldata instructions
  ) external returns (bytes32[] memory messageIds) {
    uint64 latestEpoch = s_latest.epoch;
    if (attestation.epoch <= latestEpoch) revert EpochNotIncreasing(attestation.epoch, latestEpoch);
    if (attestation.validUntil < block.timestamp) revert AttestationExpired(attestation.validUntil, block.timestamp);
    bytes32 digest = verifyAttestation(attestation, signatures);
    _checkBounds(attestation);
    bytes32 instructionsDigest = SolvencyAttestation.instructionsDigest(instructions);
    if (instructionsDigest != attestation.instructionsDigest) {
      revert InstructionsDigestMismatch(attestation.instructionsDigest, instructionsDigest);
    }

    // Build and quote every message before sending any, so a short balance fails cleanly.
    (Outgoing[] memory outgoing, bytes memory localInstruction, uint256 totalFee) =
      _prepare(attestation, signatures, instructions);
    if (totalFee > address(this).balance) revert InsufficientFeeBalance(totalFee, address(this).balance);

    _store(attestation, digest);
    emit InstructionDelivered(attestation.epoch, localInstruction);

    IRouterClient router = IRouterClient(i_ccipRouter);
    messageIds = new bytes32[](outgoing.length);
    for (uint256 i = 0; i < outgoing.length; ++i) {
      messageIds[i] = router.ccipSend{value: outgoing[i].fee}(outgoing[i].destChainSelector, outgoing[i].message);
      emit AttestationSent(outgoing[i].destChainSelector, messageIds[i], attestation.epoch, outgoing[i].fee);
    }
    return messageIds;
  }

  /// @notice The total native fee `publish` would pay for an attestation and its instructions.
  /// @dev Reverts, as `publish` would, when the instructions do not cover the deployment.
  function quotePublish(
    SolvencyAttestation.Attestation calldata attestation,
    bytes[] calldata signatures,
    SolvencyAttestation.Instruction[] calldata instructions
  ) external view returns (uint256 totalFee) {
    (,, totalFee) = _prepare(attestation, signatures, instructions);
  }

  /// @dev One attestation message about to leave for a spoke.
  struct Outgoing {
    uint64 destChainSelector;
    uint256 fee;
    Client.EVM2AnyMessage message;
  }

  /// @dev Checks that the instructions cover the deployment exactly once per chain, and builds
  /// and quotes one message per spoke. Ascending, distinct, each the local chain or a registered
  /// spoke, and spokeCount + 1 of them: so the local chain and every spoke got exactly one.
  function _prepare(
    SolvencyAttestation.Attestation calldata attestation,
    bytes[] calldata signatures,
    SolvencyAttestation.Instruction[] calldata instructions
  ) internal view returns (Outgoing[] memory outgoing, bytes memory localInstruction, uint256 totalFee) {
    uint256 spokeCount = s_spokeSelectors.length;
    if (instructions.length != spokeCount + 1) revert InstructionCountMismatch(spokeCount + 1, instructions.length);
    outgoing = new Outgoing[](spokeCount);
    uint256 next;
    for (uint256 i = 0; i < instructions.length; ++i) {
      uint64 selector = instructions[i].chainSelector;
      if (i > 0 && selector <= instructions[i - 1].chainSelector) revert InstructionsNotAscending(i);
      if (selector == i_localChainSelector) {
        localInstruction = instructions[i].payload;
        continue;
      }
      outgoing[next] = _outgoing(selector, attestation, signatures, instructions[i].payload);
      totalFee += outgoing[next].fee;
      ++next;
    }
  }

  /// @dev Builds and quotes the message that carries an attestation and one chain's instruction
  /// to that chain's spoke.
  function _outgoing(
    uint64 destChainSelector,
    SolvencyAttestation.Attestation calldata attestation,
    bytes[] calldata signatures,
    bytes calldata instruction
  ) internal view returns (Outgoing memory out) {
    address spoke = s_spokes[destChainSelector];
    if (spoke == address(0)) revert InstructionForUnknownChain(destChainSelector);
    out.destChainSelector = destChainSelector;
    out.message = Client.EVM2AnyMessage({
      receiver: abi.encode(spoke),
      data: abi.encode(attestation, signatures, instruction),
      tokenAmounts: new Client.EVMTokenAmount[](0),
      feeToken: address(0),
      extraArgs: Client._argsToBytes(
        Client.GenericExtraArgsV2({gasLimit: s_attestationGasLimit, allowOutOfOrderExecution: true})
      )
    });
    out.fee = IRouterClient(i_ccipRouter).getFee(destChainSelector, out.message);
  }

  // ================================================================
  // │                          Views                               │
  // ================================================================

  /// @notice The CCIP selector of this hub's chain.
  function getLocalChainSelector() external view returns (uint64) {
    return i_localChainSelector;
  }

  /// @notice The registered spokes, in registration order (removal swaps in the last one).
  function getSpokes() external view returns (uint64[] memory chainSelectors, address[] memory spokes) {
    chainSelectors = s_spokeSelectors;
    spokes = new address[](chainSelectors.length);
    for (uint256 i = 0; i < chainSelectors.length; ++i) {
      spokes[i] = s_spokes[chainSelectors[i]];
    }
  }

  /// @notice The spoke registered for a chain, or address(0).
  function getSpoke(
    uint64 chainSelector
  ) external view returns (address) {
    return s_spokes[chainSelector];
  }

  /// @notice The gas limit each spoke's ccipReceive gets.
  function getAttestationGasLimit() external view returns (uint32) {
    return s_attestationGasLimit;
  }

  // ================================================================
  // │                          Owner                               │
  // ================================================================

  /// @notice Allow-lists a spoke: its reports are accepted and it receives every attestation.
  function addSpoke(
    uint64 chainSelector,
    address spoke
  ) external onlyOwner {
    if (spoke == address(0)) revert ZeroAddress();
    if (chainSelector == 0 || chainSelector == i_localChainSelector) revert InvalidChainSelector(chainSelector);
    address existing = s_spokes[chainSelector];
    if (existing != address(0)) revert SpokeAlreadyRegistered(chainSelector, existing);
    s_spokes[chainSelector] = spoke;
    s_spokeSelectors.push(chainSelector);
    emit SpokeAdded(chainSelector, spoke);
  }

  /// @notice Removes a spoke: its reports are refused and it no longer receives attestations.
  function removeSpoke(
    uint64 chainSelector
  ) external onlyOwner {
    address spoke = s_spokes[chainSelector];
    if (spoke == address(0)) revert SpokeNotRegistered(chainSelector);
    uint256 count = s_spokeSelectors.length;
    for (uint256 i = 0; i < count; ++i) {
      if (s_spokeSelectors[i] == chainSelector) {
        s_spokeSelectors[i] = s_spokeSelectors[count - 1];
        s_spokeSelectors.pop();
        break;
      }
    }
    delete s_spokes[chainSelector];
    emit SpokeRemoved(chainSelector, spoke);
  }

  /// @notice Sets the gas limit each spoke's ccipReceive gets.
  function setAttestationGasLimit(
    uint32 gasLimit
  ) external onlyOwner {
    if (gasLimit == 0) revert InvalidGasLimit(gasLimit);
    s_attestationGasLimit = gasLimit;
    emit AttestationGasLimitSet(gasLimit);
  }
}
