// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {QuoteBoard} from "./QuoteBoard.sol";
import {SolvencyOracleBase} from "./SolvencyOracleBase.sol";
import {SolvencyAttestation} from "./libraries/SolvencyAttestation.sol";

import {IRouterClient} from "@chainlink/contracts-ccip/contracts/interfaces/IRouterClient.sol";
import {CCIPReceiver} from "@chainlink/contracts-ccip/contracts/applications/CCIPReceiver.sol";
import {Client} from "@chainlink/contracts-ccip/contracts/libraries/Client.sol";

/// @title SolvencyHub
/// @notice The hub chain's end of a deployment. It receives every spoke's sealed report over CCIP
/// (and its own chain's report directly) with the head of that chain's vault log, and publishes
/// the enclave's attestation: it verifies the k-of-n signatures, checks every chain's leaf
/// against the report heads it received and the ledger root against the one it holds, stores the
/// attestation and its own leaf for its chain's consumers and vault, and sends each spoke the
/// attestation with that chain's leaf, proof and sealed instruction, paying CCIP fees from its
/// balance.
/// @dev The hub never sees an amount: reports and instructions are HPKE ciphertexts, and a vault
/// head is a hash over a public log.
contract SolvencyHub is SolvencyOracleBase, CCIPReceiver {
  error UnknownSender(uint64 sourceChainSelector, bytes sender);
  error EpochNotIncreasing(uint64 epoch, uint64 latestEpoch);
  error AttestationExpired(uint64 validUntil, uint256 blockTimestamp);
  error ParentLedgerRootMismatch(bytes32 held, bytes32 parentLedgerRoot);
  error MessageCountMismatch(uint256 expected, uint256 actual);
  error MessageForUnknownChain(uint64 chainSelector);
  error MessagesNotAscending(uint256 index);
  /// @notice A leaf names a report the hub never received from that chain.
  error UnknownReport(uint64 chainSelector, uint64 reportSeq);
  /// @notice A leaf's vault head differs from the one the report carried.
  error ReportHeadMismatch(
    uint64 chainSelector, uint64 reportSeq, uint64 heldCount, bytes32 heldHead, uint64 leafCount, bytes32 leafHead
  );
  /// @notice A leaf without a report (`reportSeq` 0) claims a vault head.
  error HeadWithoutReport(uint64 chainSelector, uint64 logCount, bytes32 logHead);
  error InvalidSeq(uint64 seq);
  error InsufficientFeeBalance(uint256 required, uint256 available);
  error SpokeAlreadyRegistered(uint64 chainSelector, address spoke);
  error SpokeNotRegistered(uint64 chainSelector);
  error InvalidGasLimit(uint32 gasLimit);
  /// @notice The attestation's quote round and head are not the board's last closed ones.
  error QuotesMismatch(uint64 round, bytes32 head, uint64 attestedRound, bytes32 attestedHead);
  error QuoteBoardAlreadySet(address board);

  event SpokeAdded(uint64 indexed chainSelector, address spoke);
  event SpokeRemoved(uint64 indexed chainSelector, address spoke);
  event AttestationGasLimitSet(uint32 gasLimit);
  event QuoteBoardSet(address board);
  /// @notice A sealed report arrived, from a spoke over CCIP or from this chain's reporter, with
  /// the head of that chain's vault log. When a chain repeats a seq, the head is the first one
  /// received for it: the one `publish` checks leaves against.
  event ReportDelivered(
    bytes32 indexed messageId,
    uint64 indexed sourceChainSelector,
    uint64 seq,
    bytes payload,
    uint64 logCount,
    bytes32 logHead
  );
  event AttestationSent(uint64 indexed destChainSelector, bytes32 indexed messageId, uint64 indexed epoch, uint256 fee);
  /// @notice This chain's sealed instruction for the epoch (its treasury agent reads it here).
  event InstructionDelivered(uint64 indexed epoch, bytes payload);

  /// @notice The vault head a chain's report carried. `set` tells a report from a vault-less
  /// chain (head `(0, 0x0)`) from no report at all.
  struct ReportHead {
    bool set; // ──────╮
    uint64 logCount; // ╯
    bytes32 logHead;
  }

  mapping(uint64 chainSelector => address spoke) internal s_spokes;
  uint64[] internal s_spokeSelectors;
  /// @notice Gas the spoke's ccipReceive gets: enough to verify k signatures, a leaf and store.
  uint32 internal s_attestationGasLimit;
  /// @notice Makes the message ids of local reports unique.
  uint64 internal s_localReportNonce;
  /// @notice The first head received with each report: what leaves are checked against.
  mapping(uint64 chainSelector => mapping(uint64 seq => ReportHead head)) internal s_reportHeads;
  /// @notice The dark pool's board (zero: none, and attestations commit to no quotes).
  QuoteBoard internal s_quoteBoard;

  constructor(
    address router,
    uint64 localChainSelector,
    bytes32 deploymentId,
    uint32 attestationGasLimit
  ) CCIPReceiver(router) SolvencyOracleBase(deploymentId, localChainSelector) {
    if (attestationGasLimit == 0) revert InvalidGasLimit(attestationGasLimit);
    s_attestationGasLimit = attestationGasLimit;
  }

  // ================================================================
  // │                         Reports                              │
  // ================================================================

  /// @notice Takes this chain's own sealed report (CCIP has no same-chain lane), with the head of
  /// this chain's vault log (zeros while no vault is set).
  /// @param seq The reporter's sequence number, bound into the ciphertext's aad; not 0, which
  /// chain leaves use for "no report".
  /// @param payload The HPKE `enc || ciphertext` blob.
  /// @return messageId A unique id standing in for a CCIP message id.
  function submitReport(
    uint64 seq,
    bytes calldata payload
  ) external onlyReporter returns (bytes32 messageId) {
    if (seq == 0) revert InvalidSeq(seq);
    (uint64 logCount, bytes32 logHead) = _localLogHead();
    messageId = keccak256(abi.encode(block.chainid, address(this), ++s_localReportNonce));
    _deliverReport(messageId, i_localChainSelector, seq, payload, logCount, logHead);
  }

  /// @dev Reports from allow-listed spokes. Authentication failures revert (the message stays
  /// FAILED on CCIP); a delivered report is only recorded and emitted, never interpreted here.
  function _ccipReceive(
    Client.Any2EVMMessage memory message
  ) internal override {
    address spoke = s_spokes[message.sourceChainSelector];
    if (spoke == address(0) || message.sender.length != 32 || abi.decode(message.sender, (address)) != spoke) {
      revert UnknownSender(message.sourceChainSelector, message.sender);
    }
    (uint64 seq, bytes memory payload, uint64 logCount, bytes32 logHead) =
      abi.decode(message.data, (uint64, bytes, uint64, bytes32));
    _deliverReport(message.messageId, message.sourceChainSelector, seq, payload, logCount, logHead);
  }

  /// @dev Keeps the first head of each (chain, seq): a report repeated later, after its vault
  /// moved, cannot replace the evidence an epoch may already be built on.
  function _deliverReport(
    bytes32 messageId,
    uint64 chainSelector,
    uint64 seq,
    bytes memory payload,
    uint64 logCount,
    bytes32 logHead
  ) internal {
    ReportHead storage held = s_reportHeads[chainSelector][seq];
    if (held.set) {
      (logCount, logHead) = (held.logCount, held.logHead);
    } else {
      s_reportHeads[chainSelector][seq] = ReportHead({set: true, logCount: logCount, logHead: logHead});
    }
    emit ReportDelivered(messageId, chainSelector, seq, payload, logCount, logHead);
  }

  // ================================================================
  // │                        Publishing                            │
  // ================================================================

  /// @notice Verifies, checks and stores an attestation, then sends it to every spoke over CCIP
  /// with that chain's leaf, proof and instruction.
  /// @dev Anyone may call this: the enclave signatures are the authority, and epochs strictly
  /// increase, so an attestation can be published (and fees spent on it) only once. Besides the
  /// signatures, the hub checks what only it can: every leaf's vault head is the one that chain's
  /// report carried, and `parentLedgerRoot` is the root it holds, so an enclave rolled back to an
  /// older ledger cannot publish.
  /// @param attestation The signed statement.
  /// @param signatures k-of-n signatures, signers in ascending address order.
  /// @param messages One message per chain of the deployment (this chain and every spoke), in
  /// strictly ascending chain selector order.
  /// @return messageIds The CCIP message ids, in ascending destination chain selector order.
  function publish(
    SolvencyAttestation.Attestation calldata attestation,
    bytes[] calldata signatures,
    SolvencyAttestation.ChainMessage[] calldata messages
  ) external returns (bytes32[] memory messageIds) {
    uint64 latestEpoch = s_latest.epoch;
    if (attestation.epoch <= latestEpoch) revert EpochNotIncreasing(attestation.epoch, latestEpoch);
    if (attestation.validUntil < block.timestamp) revert AttestationExpired(attestation.validUntil, block.timestamp);
    bytes32 digest = verifyAttestation(attestation, signatures);
    _checkBounds(attestation);

    // Check every leaf, and build and quote every message before sending any, so a short
    // balance fails cleanly.
    (Outgoing[] memory outgoing, uint256 localIndex, uint256 totalFee) = _prepare(attestation, signatures, messages);
    if (totalFee > address(this).balance) revert InsufficientFeeBalance(totalFee, address(this).balance);

    _store(attestation, digest, messages[localIndex].leaf);
    emit InstructionDelivered(attestation.epoch, messages[localIndex].instruction);

    IRouterClient router = IRouterClient(i_ccipRouter);
    messageIds = new bytes32[](outgoing.length);
    for (uint256 i = 0; i < outgoing.length; ++i) {
      messageIds[i] = router.ccipSend{value: outgoing[i].fee}(outgoing[i].destChainSelector, outgoing[i].message);
      emit AttestationSent(outgoing[i].destChainSelector, messageIds[i], attestation.epoch, outgoing[i].fee);
    }
    return messageIds;
  }

  /// @notice The total native fee `publish` would pay for an attestation and its messages.
  /// @dev Reverts, as `publish` would, when the messages do not cover the deployment, a leaf or
  /// its head does not check out, or the parent ledger root is not the one held. Signatures are
  /// not verified here.
  function quotePublish(
    SolvencyAttestation.Attestation calldata attestation,
    bytes[] calldata signatures,
    SolvencyAttestation.ChainMessage[] calldata messages
  ) external view returns (uint256 totalFee) {
    (,, totalFee) = _prepare(attestation, signatures, messages);
  }

  /// @dev The quotes the enclave read must be every quote of the board's closed rounds: a
  /// withheld or replayed quote leads to another head.
  function _checkQuotes(
    SolvencyAttestation.Attestation calldata attestation
  ) internal view {
    (uint64 round, bytes32 head) =
      address(s_quoteBoard) == address(0) ? (uint64(0), bytes32(0)) : s_quoteBoard.getClosedQuotes();
    if (attestation.quoteRound != round || attestation.quoteHead != head) {
      revert QuotesMismatch(round, head, attestation.quoteRound, attestation.quoteHead);
    }
  }

  /// @notice Sets the dark pool's board, once: from then on every attestation must commit to its
  /// last closed round and head. A timelocked change.
  function setQuoteBoard(
    address board
  ) external onlyOwner timelocked {
    if (board == address(0)) revert ZeroAddress();
    if (address(s_quoteBoard) != address(0)) revert QuoteBoardAlreadySet(address(s_quoteBoard));
    s_quoteBoard = QuoteBoard(board);
    emit QuoteBoardSet(board);
  }

  /// @notice The dark pool's board (zero: none).
  function getQuoteBoard() external view returns (address) {
    return address(s_quoteBoard);
  }

  function _isTimelockedChange(
    bytes4 selector
  ) internal view override returns (bool) {
    return selector == this.setQuoteBoard.selector || super._isTimelockedChange(selector);
  }

  /// @dev One attestation message about to leave for a spoke.
  struct Outgoing {
    uint64 destChainSelector;
    uint256 fee;
    Client.EVM2AnyMessage message;
  }

  /// @dev Checks the ledger root and every chain's message, and builds and quotes one CCIP
  /// message per spoke. Ascending, distinct, each the local chain or a registered spoke, and
  /// spokeCount + 1 of them: so the local chain and every spoke got exactly one.
  function _prepare(
    SolvencyAttestation.Attestation calldata attestation,
    bytes[] calldata signatures,
    SolvencyAttestation.ChainMessage[] calldata messages
  ) internal view returns (Outgoing[] memory outgoing, uint256 localIndex, uint256 totalFee) {
    _checkQuotes(attestation);
    bytes32 heldRoot = s_latest.ledgerRoot;
    if (attestation.parentLedgerRoot != heldRoot) {
      revert ParentLedgerRootMismatch(heldRoot, attestation.parentLedgerRoot);
    }
    uint256 spokeCount = s_spokeSelectors.length;
    if (messages.length != spokeCount + 1) revert MessageCountMismatch(spokeCount + 1, messages.length);
    outgoing = new Outgoing[](spokeCount);
    uint256 next;
    uint64 previous;
    for (uint256 i = 0; i < messages.length; ++i) {
      SolvencyAttestation.ChainMessage memory message = messages[i];
      uint64 selector = message.leaf.chainSelector;
      if (i > 0 && selector <= previous) revert MessagesNotAscending(i);
      previous = selector;
      _checkLeaf(attestation.chainsRoot, message.leaf, message.proof, message.instruction);
      _checkHead(message.leaf);
      if (selector == i_localChainSelector) {
        _checkLocalVault(message.leaf);
        localIndex = i;
        continue;
      }
      outgoing[next] = _outgoing(attestation, signatures, message);
      totalFee += outgoing[next].fee;
      ++next;
    }
  }

  /// @dev Refuses a leaf whose vault head is not the one its report carried, or that claims a
  /// head without a report.
  function _checkHead(
    SolvencyAttestation.ChainLeaf memory leaf
  ) internal view {
    if (leaf.reportSeq == 0) {
      if (leaf.logCount != 0 || leaf.logHead != bytes32(0)) {
        revert HeadWithoutReport(leaf.chainSelector, leaf.logCount, leaf.logHead);
      }
      return;
    }
    ReportHead memory held = s_reportHeads[leaf.chainSelector][leaf.reportSeq];
    if (!held.set) revert UnknownReport(leaf.chainSelector, leaf.reportSeq);
    if (held.logCount != leaf.logCount || held.logHead != leaf.logHead) {
      revert ReportHeadMismatch(
        leaf.chainSelector, leaf.reportSeq, held.logCount, held.logHead, leaf.logCount, leaf.logHead
      );
    }
  }

  /// @dev Builds and quotes the message that carries an attestation and one chain's leaf, proof
  /// and instruction to that chain's spoke.
  function _outgoing(
    SolvencyAttestation.Attestation calldata attestation,
    bytes[] calldata signatures,
    SolvencyAttestation.ChainMessage memory chainMessage
  ) internal view returns (Outgoing memory out) {
    uint64 destChainSelector = chainMessage.leaf.chainSelector;
    address spoke = s_spokes[destChainSelector];
    if (spoke == address(0)) revert MessageForUnknownChain(destChainSelector);
    out.destChainSelector = destChainSelector;
    out.message = Client.EVM2AnyMessage({
      receiver: abi.encode(spoke),
      data: abi.encode(attestation, signatures, chainMessage.leaf, chainMessage.proof, chainMessage.instruction),
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

  /// @notice The vault head the first report of `(chainSelector, seq)` carried; `set` is false
  /// when no such report arrived.
  function getReportHead(
    uint64 chainSelector,
    uint64 seq
  ) external view returns (bool set, uint64 logCount, bytes32 logHead) {
    ReportHead memory held = s_reportHeads[chainSelector][seq];
    return (held.set, held.logCount, held.logHead);
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
