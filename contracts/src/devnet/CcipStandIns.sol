// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

// Compiles CCIP's real Router (contracts-ccip 1.6.2) and the canonical WETH9 into `out/`: a local
// "upstream" chain deploys them, so that the devnet's fork mode can be tried without a public
// chain. On a fork of a real chain, the Router, its ramps and its RMN are the ones deployed there.
import {Router} from "@chainlink/contracts-ccip/contracts/Router.sol";
import {WETH9} from "@chainlink/contracts/src/v0.8/vendor/canonical-weth/WETH9.sol";

import {IPoolV1} from "@chainlink/contracts-ccip/contracts/interfaces/IPool.sol";
import {IEVM2AnyOnRampClient} from "@chainlink/contracts-ccip/contracts/interfaces/IEVM2AnyOnRampClient.sol";
import {IRMN} from "@chainlink/contracts-ccip/contracts/interfaces/IRMN.sol";
import {Client} from "@chainlink/contracts-ccip/contracts/libraries/Client.sol";
import {Internal} from "@chainlink/contracts-ccip/contracts/libraries/Internal.sol";
import {IERC20} from "@openzeppelin/contracts@4.8.3/token/ERC20/IERC20.sol";

/// @title StandInOnRamp
/// @notice Stands in for CCIP's OnRamp 1.6 behind a real Router on a local upstream chain: it
/// quotes a fixed native fee and, for every message the Router forwards, emits the OnRamp's own
/// `CCIPMessageSent` event with the message as OnRamp 1.6 builds it (sequence number per lane,
/// extra args converted to tagged `GenericExtraArgsV2`, a unique message id), which is what a
/// relayer reads on a fork of a real chain.
/// @dev The real OnRamp needs a FeeQuoter with live prices, a NonceManager and a token admin
/// registry; none of that matters to a data-only message, so this carries no tokens (the Router
/// refuses them: no pool) and keeps the fee it is paid.
contract StandInOnRamp is IEVM2AnyOnRampClient {
  error MustBeCalledByRouter();
  error RouterMustSetOriginalSender();
  error InvalidExtraArgsTag();

  /// @notice OnRamp 1.6's event, field for field.
  event CCIPMessageSent(
    uint64 indexed destChainSelector, uint64 indexed sequenceNumber, Internal.EVM2AnyRampMessage message
  );

  /// @notice Read by the devnet's relayer, which reads the events of OnRamp 1.6 only.
  string public constant typeAndVersion = "OnRamp 1.6.0 (devnet stand-in)";

  /// @notice The gas limit a message without extra args gets (FeeQuoter's usual default).
  uint256 public constant DEFAULT_GAS_LIMIT = 200_000;

  uint64 internal immutable i_chainSelector;
  address internal immutable i_router;
  uint256 internal immutable i_fee;
  mapping(uint64 destChainSelector => uint64 sequenceNumber) internal s_sequenceNumbers;

  constructor(
    uint64 chainSelector,
    address router,
    uint256 fee
  ) {
    i_chainSelector = chainSelector;
    i_router = router;
    i_fee = fee;
  }

  function getFee(
    uint64,
    Client.EVM2AnyMessage calldata message
  ) external view returns (uint256) {
    _convertExtraArgs(message.extraArgs);
    return i_fee;
  }

  function getPoolBySourceToken(
    uint64,
    IERC20
  ) external pure returns (IPoolV1) {
    return IPoolV1(address(0));
  }

  function getSupportedTokens(
    uint64
  ) external pure returns (address[] memory tokens) {
    return tokens;
  }

  function forwardFromRouter(
    uint64 destChainSelector,
    Client.EVM2AnyMessage calldata message,
    uint256 feeTokenAmount,
    address originalSender
  ) public virtual returns (bytes32) {
    if (msg.sender != i_router) revert MustBeCalledByRouter();
    if (originalSender == address(0)) revert RouterMustSetOriginalSender();
    Internal.EVM2AnyRampMessage memory sent = Internal.EVM2AnyRampMessage({
      header: Internal.RampMessageHeader({
        messageId: "",
        sourceChainSelector: i_chainSelector,
        destChainSelector: destChainSelector,
        sequenceNumber: ++s_sequenceNumbers[destChainSelector],
        nonce: 0
      }),
      sender: originalSender,
      data: message.data,
      receiver: message.receiver,
      extraArgs: _convertExtraArgs(message.extraArgs),
      feeToken: message.feeToken,
      feeTokenAmount: feeTokenAmount,
      feeValueJuels: 0,
      tokenAmounts: new Internal.EVM2AnyTokenTransfer[](0)
    });
    // Unique per lane and sequence number, as the real message id (a hash of the whole message
    // and the lane's metadata) is.
    sent.header.messageId = keccak256(abi.encode(block.chainid, address(this), sent));
    emit CCIPMessageSent(destChainSelector, sent.header.sequenceNumber, sent);
    return sent.header.messageId;
  }

  /// @notice What FeeQuoter 1.6 makes of an EVM destination's extra args: tagged
  /// `GenericExtraArgsV2` (the default gas limit when none are given, V1 converted).
  function _convertExtraArgs(
    bytes calldata extraArgs
  ) internal pure returns (bytes memory) {
    if (extraArgs.length == 0) {
      return
        Client._argsToBytes(Client.GenericExtraArgsV2({gasLimit: DEFAULT_GAS_LIMIT, allowOutOfOrderExecution: false}));
    }
    // The tag is the first four bytes; the arguments follow it.
    // forge-lint: disable-next-line(unsafe-typecast)
    bytes4 tag = bytes4(extraArgs);
    if (tag == Client.GENERIC_EXTRA_ARGS_V2_TAG) {
      return Client._argsToBytes(abi.decode(extraArgs[4:], (Client.GenericExtraArgsV2)));
    }
    if (tag == Client.EVM_EXTRA_ARGS_V1_TAG) {
      uint256 gasLimit = abi.decode(extraArgs[4:], (uint256));
      return Client._argsToBytes(Client.GenericExtraArgsV2({gasLimit: gasLimit, allowOutOfOrderExecution: false}));
    }
    revert InvalidExtraArgsTag();
  }
}

/// @title StandInRMN
/// @notice An RMN that never curses: the Router asks it before every send and delivery.
contract StandInRMN {
  function isCursed() external pure returns (bool) {
    return false;
  }

  function isCursed(
    bytes16
  ) external pure returns (bool) {
    return false;
  }

  function isBlessed(
    IRMN.TaggedRoot calldata
  ) external pure returns (bool) {
    return true;
  }
}

/// @title StandInOffRamp
/// @notice The address a local upstream's Router accepts deliveries from. Like a real OffRamp it
/// is a contract, and it never calls the Router itself: on a fork the devnet's relayer sends the
/// Router's `routeMessage` as this address (anvil impersonation), as chainlink-local's fork
/// simulator does with a real OffRamp.
contract StandInOffRamp {
  string public constant typeAndVersion = "StandInOffRamp 1.6.0";
}
