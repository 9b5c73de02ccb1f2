// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

// Compiles chainlink-local's MockCCIPRouter into `out/` so the devnet can deploy it on every chain.
import {MockCCIPRouter} from "@chainlink/local/src/vendor/chainlink-ccip/test/mocks/MockRouter.sol";

import {IRouterClient} from "@chainlink/contracts-ccip/contracts/interfaces/IRouterClient.sol";
import {CCIPReceiver} from "@chainlink/contracts-ccip/contracts/applications/CCIPReceiver.sol";
import {Client} from "@chainlink/contracts-ccip/contracts/libraries/Client.sol";

/// @title ProbeSender
/// @notice A third-party CCIP sender for devnet tests: the relayer must carry messages from any
/// contract that calls a devnet router, not only from the solvency contracts.
contract ProbeSender {
  IRouterClient internal immutable i_router;

  constructor(
    IRouterClient router
  ) {
    i_router = router;
  }

  /// @notice Sends `data` to `receiver` on `destChainSelector`, paying the native fee from
  /// `msg.value`. An empty `extraArgs` means the router's default gas limit.
  function send(
    uint64 destChainSelector,
    address receiver,
    bytes calldata data,
    bytes calldata extraArgs
  ) external payable returns (bytes32) {
    Client.EVM2AnyMessage memory message = Client.EVM2AnyMessage({
      receiver: abi.encode(receiver),
      data: data,
      tokenAmounts: new Client.EVMTokenAmount[](0),
      feeToken: address(0),
      extraArgs: extraArgs
    });
    uint256 fee = i_router.getFee(destChainSelector, message);
    return i_router.ccipSend{value: fee}(destChainSelector, message);
  }
}

/// @title ProbeReceiver
/// @notice A third-party CCIP receiver for devnet tests: records what arrives and can be told to
/// revert, to exercise FAILED deliveries and manual retries.
contract ProbeReceiver is CCIPReceiver {
  error ProbeRejected(bytes32 messageId);

  event ProbeReceived(bytes32 indexed messageId, uint64 indexed sourceChainSelector, address sender, bytes data);

  bool public s_reject;
  uint256 public s_received;
  bytes32 public s_lastMessageId;
  uint64 public s_lastSourceChainSelector;
  address public s_lastSender;
  bytes public s_lastData;
  uint256 public s_lastGasLeft;

  constructor(
    address router
  ) CCIPReceiver(router) {}

  /// @notice While true, every delivery reverts with ProbeRejected.
  function setReject(
    bool reject
  ) external {
    s_reject = reject;
  }

  function _ccipReceive(
    Client.Any2EVMMessage memory message
  ) internal override {
    if (s_reject) revert ProbeRejected(message.messageId);
    s_lastGasLeft = gasleft();
    ++s_received;
    s_lastMessageId = message.messageId;
    s_lastSourceChainSelector = message.sourceChainSelector;
    s_lastSender = abi.decode(message.sender, (address));
    s_lastData = message.data;
    emit ProbeReceived(message.messageId, message.sourceChainSelector, s_lastSender, message.data);
  }
}
