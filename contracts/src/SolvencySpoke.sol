// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {SolvencyOracleBase} from "./SolvencyOracleBase.sol";
import {SolvencyAttestation} from "./libraries/SolvencyAttestation.sol";

import {IRouterClient} from "@chainlink/contracts-ccip/contracts/interfaces/IRouterClient.sol";
import {CCIPReceiver} from "@chainlink/contracts-ccip/contracts/applications/CCIPReceiver.sol";
import {Client} from "@chainlink/contracts-ccip/contracts/libraries/Client.sol";

/// @title SolvencySpoke
/// @notice A non-hub chain's end of a deployment. Its reporter submits the chain's sealed report,
/// which the spoke forwards to the hub over CCIP with the head of the chain's vault log; the hub
/// sends back each epoch's attestation with this chain's leaf, which the spoke verifies itself
/// (k-of-n enclave signers, then the leaf under the signed `chainsRoot`) before its consumers
/// and its vault can rely on it.
contract SolvencySpoke is SolvencyOracleBase, CCIPReceiver {
  error UnknownSender(uint64 sourceChainSelector, bytes sender);
  error InsufficientFee(uint256 required, uint256 provided);
  error RefundFailed(address to, uint256 amount);
  error InvalidHub(uint64 chainSelector, address hub);
  error InvalidGasLimit(uint32 gasLimit);
  error InvalidSeq(uint64 seq);
  /// @notice The hub sent another chain's leaf.
  error LeafForAnotherChain(uint64 localChainSelector, uint64 leafChainSelector);

  event ReportSubmitted(bytes32 indexed messageId, uint64 seq, uint256 fee);
  event ReportGasLimitSet(uint32 gasLimit);
  /// @notice An attestation older than the latest arrived late; it is ignored, not reverted, so
  /// the CCIP message does not stay FAILED.
  event AttestationIgnored(uint64 indexed epoch, uint64 latestEpoch);
  /// @notice This chain's sealed instruction for the epoch (its treasury agent reads it here).
  event InstructionDelivered(uint64 indexed epoch, bytes payload);

  /// @notice The hub's chain selector and address: the only sender attestations are taken from.
  uint64 internal immutable i_hubChainSelector;
  address internal immutable i_hub;
  /// @notice Gas the hub's ccipReceive gets for a report.
  uint32 internal s_reportGasLimit;

  constructor(
    address router,
    uint64 localChainSelector,
    uint64 hubChainSelector,
    address hub,
    bytes32 deploymentId,
    uint32 reportGasLimit
  ) CCIPReceiver(router) SolvencyOracleBase(deploymentId, localChainSelector) {
    if (hubChainSelector == 0 || hubChainSelector == localChainSelector || hub == address(0)) {
      revert InvalidHub(hubChainSelector, hub);
    }
    if (reportGasLimit == 0) revert InvalidGasLimit(reportGasLimit);
    i_hubChainSelector = hubChainSelector;
    i_hub = hub;
    s_reportGasLimit = reportGasLimit;
  }

  // ================================================================
  // │                         Reports                              │
  // ================================================================

  /// @notice Forwards this chain's sealed report to the hub with the head of this chain's vault
  /// log (zeros while no vault is set). The reporter pays the CCIP fee in native currency (quote
  /// it with `getReportFee`); any excess is refunded.
  /// @param seq The reporter's sequence number, bound into the ciphertext's aad; not 0, which
  /// chain leaves use for "no report".
  /// @param payload The HPKE `enc || ciphertext` blob.
  function submitReport(
    uint64 seq,
    bytes calldata payload
  ) external payable onlyReporter returns (bytes32 messageId) {
    if (seq == 0) revert InvalidSeq(seq);
    Client.EVM2AnyMessage memory message = _reportMessage(seq, payload);
    IRouterClient router = IRouterClient(i_ccipRouter);
    uint256 fee = router.getFee(i_hubChainSelector, message);
    if (msg.value < fee) revert InsufficientFee(fee, msg.value);
    messageId = router.ccipSend{value: fee}(i_hubChainSelector, message);
    emit ReportSubmitted(messageId, seq, fee);
    uint256 refund = msg.value - fee;
    if (refund > 0) {
      (bool ok,) = msg.sender.call{value: refund}("");
      if (!ok) revert RefundFailed(msg.sender, refund);
    }
  }

  /// @notice The native fee `submitReport` needs for a payload (with the vault head as it is now:
  /// the message's size, and so its fee, does not depend on the head).
  function getReportFee(
    uint64 seq,
    bytes calldata payload
  ) external view returns (uint256) {
    return IRouterClient(i_ccipRouter).getFee(i_hubChainSelector, _reportMessage(seq, payload));
  }

  // ================================================================
  // │                       Attestations                           │
  // ================================================================

  /// @dev Attestations from the hub, each with this chain's leaf, its proof and the chain's
  /// instruction. A wrong sender, deployment or signature set reverts; an older epoch is then
  /// ignored with an event, before its leaf is looked at, so a late message never stays FAILED.
  /// For a newer epoch, a leaf that is not this chain's, names another vault, does not match the
  /// instruction or is not under the signed `chainsRoot` reverts: it is an authentication
  /// failure, as a bad signature is.
  function _ccipReceive(
    Client.Any2EVMMessage memory message
  ) internal override {
    if (
      message.sourceChainSelector != i_hubChainSelector || message.sender.length != 32
        || abi.decode(message.sender, (address)) != i_hub
    ) {
      revert UnknownSender(message.sourceChainSelector, message.sender);
    }
    (
      SolvencyAttestation.Attestation memory attestation,
      bytes[] memory signatures,
      SolvencyAttestation.ChainLeaf memory leaf,
      bytes32[] memory proof,
      bytes memory instruction
    ) = abi.decode(
      message.data, (SolvencyAttestation.Attestation, bytes[], SolvencyAttestation.ChainLeaf, bytes32[], bytes)
    );
    bytes32 digest = verifyAttestation(attestation, signatures);
    _checkBounds(attestation);
    uint64 latestEpoch = s_latest.epoch;
    if (attestation.epoch <= latestEpoch) {
      emit AttestationIgnored(attestation.epoch, latestEpoch);
      return;
    }
    if (leaf.chainSelector != i_localChainSelector) {
      revert LeafForAnotherChain(i_localChainSelector, leaf.chainSelector);
    }
    _checkLocalVault(leaf);
    _checkLeaf(attestation.chainsRoot, leaf, proof, instruction);
    _store(attestation, digest, leaf);
    emit InstructionDelivered(attestation.epoch, instruction);
  }

  // ================================================================
  // │                      Views and owner                         │
  // ================================================================

  /// @notice The hub this spoke reports to and takes attestations from.
  function getHub() external view returns (uint64 chainSelector, address hub) {
    return (i_hubChainSelector, i_hub);
  }

  /// @notice The gas limit the hub's ccipReceive gets for a report.
  function getReportGasLimit() external view returns (uint32) {
    return s_reportGasLimit;
  }

  /// @notice Sets the gas limit the hub's ccipReceive gets for a report.
  function setReportGasLimit(
    uint32 gasLimit
  ) external onlyOwner {
    if (gasLimit == 0) revert InvalidGasLimit(gasLimit);
    s_reportGasLimit = gasLimit;
    emit ReportGasLimitSet(gasLimit);
  }

  /// @dev The report and the vault head it carries: `abi.encode(seq, payload, logCount, logHead)`.
  function _reportMessage(
    uint64 seq,
    bytes calldata payload
  ) internal view returns (Client.EVM2AnyMessage memory) {
    (uint64 logCount, bytes32 logHead) = _localLogHead();
    return Client.EVM2AnyMessage({
      receiver: abi.encode(i_hub),
      data: abi.encode(seq, payload, logCount, logHead),
      tokenAmounts: new Client.EVMTokenAmount[](0),
      feeToken: address(0),
      extraArgs: Client._argsToBytes(
        Client.GenericExtraArgsV2({gasLimit: s_reportGasLimit, allowOutOfOrderExecution: true})
      )
    });
  }
}
