// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

// Compiles CCIP's real Router and burn/mint token pool (contracts-ccip 1.6.2), Chainlink's
// BurnMintERC20 and the canonical WETH9 into `out/`: a local "upstream" chain deploys them, so
// that the devnet's fork mode, and token lanes, can be tried without a public chain. On a fork of
// a real chain, the Router, its ramps, pools and RMN are the ones deployed there.
import {Router} from "@chainlink/contracts-ccip/contracts/Router.sol";
import {BurnMintTokenPool} from "@chainlink/contracts-ccip/contracts/pools/BurnMintTokenPool.sol";
import {BurnMintERC20} from "@chainlink/contracts/src/v0.8/shared/token/ERC20/BurnMintERC20.sol";
import {WETH9} from "@chainlink/contracts/src/v0.8/vendor/canonical-weth/WETH9.sol";

import {IPoolV1} from "@chainlink/contracts-ccip/contracts/interfaces/IPool.sol";
import {IAny2EVMMessageReceiver} from "@chainlink/contracts-ccip/contracts/interfaces/IAny2EVMMessageReceiver.sol";
import {IRouter} from "@chainlink/contracts-ccip/contracts/interfaces/IRouter.sol";
import {Pool} from "@chainlink/contracts-ccip/contracts/libraries/Pool.sol";
import {IEVM2AnyOnRampClient} from "@chainlink/contracts-ccip/contracts/interfaces/IEVM2AnyOnRampClient.sol";
import {IRMN} from "@chainlink/contracts-ccip/contracts/interfaces/IRMN.sol";
import {Client} from "@chainlink/contracts-ccip/contracts/libraries/Client.sol";
import {Internal} from "@chainlink/contracts-ccip/contracts/libraries/Internal.sol";
import {ERC165CheckerReverting} from "@chainlink/contracts-ccip/contracts/libraries/ERC165CheckerReverting.sol";
import {IERC20} from "@openzeppelin/contracts@4.8.3/token/ERC20/IERC20.sol";

/// @title StandInOnRamp
/// @notice Stands in for CCIP's OnRamp 1.6 behind a real Router on a local upstream chain: it
/// quotes a fixed native fee and, for every message the Router forwards, emits the OnRamp's own
/// `CCIPMessageSent` event with the message as OnRamp 1.6 builds it (sequence number per lane,
/// extra args converted to tagged `GenericExtraArgsV2`, a unique message id), which is what a
/// relayer reads on a fork of a real chain.
/// Tokens go through the pool its owner registered for them (`setPool`, in place of the real
/// OnRamp's token admin registry): the Router moves them from the sender to that pool, and this
/// has the pool lock or burn them — a real CCIP token pool, with its outbound rate limit — and
/// carries what the pool returns (the destination token, the pool's data) in the event, as OnRamp
/// 1.6 does.
/// @dev The real OnRamp needs a FeeQuoter with live prices and a NonceManager; none of that
/// matters to the devnet, so this quotes a fixed fee and keeps what it is paid.
contract StandInOnRamp is IEVM2AnyOnRampClient {
  error MustBeCalledByRouter();
  error RouterMustSetOriginalSender();
  error InvalidExtraArgsTag();
  error OnlyOwner();
  error UnsupportedToken(address token);
  error CannotSendZeroTokens();
  error MessageGasLimitTooHigh();

  /// @notice Gas the destination's `releaseOrMint` gets per token (OnRamp 1.6's default).
  uint32 public constant DEFAULT_TOKEN_DEST_GAS = 90_000;
  /// @notice The most gas a message may ask for its receiver (a FeeQuoter's
  /// `maxPerMsgGasLimit`): the off-ramp can always give it, so a message carrying tokens can
  /// always be executed.
  uint256 public constant MAX_GAS_LIMIT = 3_000_000;

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
  address internal immutable i_owner;
  mapping(uint64 destChainSelector => uint64 sequenceNumber) internal s_sequenceNumbers;
  mapping(address token => IPoolV1 pool) internal s_pools;
  address[] internal s_tokens;

  constructor(
    uint64 chainSelector,
    address router,
    uint256 fee
  ) {
    i_chainSelector = chainSelector;
    i_router = router;
    i_fee = fee;
    i_owner = msg.sender;
  }

  /// @notice Registers the pool a token leaves through (zero: the token is no longer carried).
  function setPool(
    address token,
    IPoolV1 pool
  ) external {
    if (msg.sender != i_owner) revert OnlyOwner();
    bool listed = address(s_pools[token]) != address(0);
    s_pools[token] = pool;
    if (!listed && address(pool) != address(0)) {
      s_tokens.push(token);
    } else if (listed && address(pool) == address(0)) {
      for (uint256 i = 0; i < s_tokens.length; ++i) {
        if (s_tokens[i] == token) {
          s_tokens[i] = s_tokens[s_tokens.length - 1];
          s_tokens.pop();
          break;
        }
      }
    }
  }

  function getFee(
    uint64,
    Client.EVM2AnyMessage calldata message
  ) external view returns (uint256) {
    Internal._validateEVMAddress(message.receiver);
    _convertExtraArgs(message.extraArgs);
    return i_fee;
  }

  function getPoolBySourceToken(
    uint64,
    IERC20 token
  ) external view returns (IPoolV1) {
    return s_pools[address(token)];
  }

  function getSupportedTokens(
    uint64
  ) external view returns (address[] memory) {
    return s_tokens;
  }

  function forwardFromRouter(
    uint64 destChainSelector,
    Client.EVM2AnyMessage calldata message,
    uint256 feeTokenAmount,
    address originalSender
  ) public virtual returns (bytes32) {
    if (msg.sender != i_router) revert MustBeCalledByRouter();
    if (originalSender == address(0)) revert RouterMustSetOriginalSender();
    // As OnRamp 1.6 and its FeeQuoter: a receiver outside the EVM address space would strand
    // what the message carries.
    Internal._validateEVMAddress(message.receiver);
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
      tokenAmounts: _lockOrBurn(destChainSelector, message, originalSender)
    });
    // Unique per lane and sequence number, as the real message id (a hash of the whole message
    // and the lane's metadata) is.
    sent.header.messageId = keccak256(abi.encode(block.chainid, address(this), sent));
    emit CCIPMessageSent(destChainSelector, sent.header.sequenceNumber, sent);
    return sent.header.messageId;
  }

  /// @notice Has each token's pool lock or burn what the Router moved to it, as OnRamp 1.6 does,
  /// and returns the transfers the message carries.
  function _lockOrBurn(
    uint64 destChainSelector,
    Client.EVM2AnyMessage calldata message,
    address originalSender
  ) internal returns (Internal.EVM2AnyTokenTransfer[] memory transfers) {
    transfers = new Internal.EVM2AnyTokenTransfer[](message.tokenAmounts.length);
    for (uint256 i = 0; i < message.tokenAmounts.length; ++i) {
      Client.EVMTokenAmount calldata sent = message.tokenAmounts[i];
      if (sent.amount == 0) revert CannotSendZeroTokens();
      IPoolV1 pool = s_pools[sent.token];
      if (address(pool) == address(0)) revert UnsupportedToken(sent.token);
      Pool.LockOrBurnOutV1 memory out = pool.lockOrBurn(
        Pool.LockOrBurnInV1({
          receiver: message.receiver,
          remoteChainSelector: destChainSelector,
          originalSender: originalSender,
          amount: sent.amount,
          localToken: sent.token
        })
      );
      transfers[i] = Internal.EVM2AnyTokenTransfer({
        sourcePoolAddress: address(pool),
        destTokenAddress: out.destTokenAddress,
        extraData: out.destPoolData,
        amount: sent.amount,
        destExecData: abi.encode(DEFAULT_TOKEN_DEST_GAS)
      });
    }
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
    Client.GenericExtraArgsV2 memory args;
    if (tag == Client.GENERIC_EXTRA_ARGS_V2_TAG) {
      args = abi.decode(extraArgs[4:], (Client.GenericExtraArgsV2));
    } else if (tag == Client.EVM_EXTRA_ARGS_V1_TAG) {
      args.gasLimit = abi.decode(extraArgs[4:], (uint256));
    } else {
      revert InvalidExtraArgsTag();
    }
    if (args.gasLimit > MAX_GAS_LIMIT) revert MessageGasLimitTooHigh();
    return Client._argsToBytes(args);
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
/// @notice The off-ramp a local upstream's Router accepts deliveries from. A data-only message can
/// be routed as this address (the devnet's relayer sends the Router's `routeMessage` from it by
/// anvil impersonation, as chainlink-local's fork simulator does with a real OffRamp). A message
/// that carries tokens is executed by it, as OffRamp 1.6 executes one: in one call, each token's
/// pool (a real CCIP pool, with its inbound rate limit) releases or mints to the receiver and the
/// Router delivers the message with those `destTokenAmounts`; if the receiver fails, all of it is
/// undone and the message is FAILURE, its tokens still held by the lane, until it is executed
/// again. A message executed successfully is never executed again.
/// @dev The real OffRamp executes only messages a commit report proved; this one executes what
/// its executor (the devnet's relayer, standing in for the DON) gives it — so "never twice" and
/// supplies adding up rest on an honest executor, whose devnet key is public — and registers
/// pools per token in place of the token admin registry.
contract StandInOffRamp {
  error OnlyOwner();
  error OnlyExecutor();
  error OnlySelf();
  error AlreadyExecuted(uint64 sourceChainSelector, uint64 sequenceNumber);
  error UnsupportedToken(address token);
  error ReceiverError(bytes err);

  /// @notice OffRamp 1.6's event, field for field.
  event ExecutionStateChanged(
    uint64 indexed sourceChainSelector,
    uint64 indexed sequenceNumber,
    bytes32 indexed messageId,
    bytes32 messageHash,
    Internal.MessageExecutionState state,
    bytes returnData,
    uint256 gasUsed
  );

  string public constant typeAndVersion = "StandInOffRamp 1.6.0";

  /// @notice What the Router keeps back for its own checks around the receiver's call.
  uint16 public constant GAS_FOR_CALL_EXACT_CHECK = 5000;

  address internal immutable i_owner;
  IRouter internal s_router;
  address internal s_executor;
  mapping(address token => IPoolV1 pool) internal s_pools;
  mapping(uint64 sourceChainSelector => mapping(uint64 sequenceNumber => Internal.MessageExecutionState)) internal
    s_states;

  constructor() {
    i_owner = msg.sender;
  }

  modifier onlyOwner() {
    if (msg.sender != i_owner) revert OnlyOwner();
    _;
  }

  /// @notice The Router it delivers through and the account that may execute messages.
  function configure(
    IRouter router,
    address executor
  ) external onlyOwner {
    s_router = router;
    s_executor = executor;
  }

  /// @notice Registers the pool that releases or mints a token here.
  function setPool(
    address token,
    IPoolV1 pool
  ) external onlyOwner {
    s_pools[token] = pool;
  }

  function getExecutionState(
    uint64 sourceChainSelector,
    uint64 sequenceNumber
  ) external view returns (Internal.MessageExecutionState) {
    return s_states[sourceChainSelector][sequenceNumber];
  }

  /// @notice Executes a message (again, if it failed before): SUCCESS or FAILURE, never twice.
  function execute(
    Internal.Any2EVMRampMessage calldata message
  ) external returns (Internal.MessageExecutionState state) {
    if (msg.sender != s_executor) revert OnlyExecutor();
    Internal.RampMessageHeader calldata header = message.header;
    if (s_states[header.sourceChainSelector][header.sequenceNumber] == Internal.MessageExecutionState.SUCCESS) {
      revert AlreadyExecuted(header.sourceChainSelector, header.sequenceNumber);
    }
    uint256 gasStart = gasleft();
    bytes memory returnData;
    try this.executeSingleMessage(message) {
      state = Internal.MessageExecutionState.SUCCESS;
    } catch (bytes memory err) {
      state = Internal.MessageExecutionState.FAILURE;
      returnData = err;
    }
    s_states[header.sourceChainSelector][header.sequenceNumber] = state;
    emit ExecutionStateChanged(
      header.sourceChainSelector,
      header.sequenceNumber,
      header.messageId,
      keccak256(abi.encode(message)),
      state,
      returnData,
      gasStart - gasleft()
    );
  }

  /// @notice The tokens released or minted and the message delivered, all or nothing (only
  /// through `execute`).
  function executeSingleMessage(
    Internal.Any2EVMRampMessage calldata message
  ) external {
    if (msg.sender != address(this)) revert OnlySelf();
    Client.EVMTokenAmount[] memory destTokenAmounts = new Client.EVMTokenAmount[](message.tokenAmounts.length);
    for (uint256 i = 0; i < message.tokenAmounts.length; ++i) {
      destTokenAmounts[i] = _releaseOrMint(message, message.tokenAmounts[i]);
    }
    // As OffRamp 1.6: a transfer of tokens alone, or to an account or a contract that is no CCIP
    // receiver, is done once the tokens are minted (the Router would refuse to call it).
    if (
      (message.data.length == 0 && message.gasLimit == 0) || message.receiver.code.length == 0
        || !ERC165CheckerReverting._supportsInterfaceReverting(
          message.receiver, type(IAny2EVMMessageReceiver).interfaceId
        )
    ) return;
    (bool success, bytes memory retData,) = s_router.routeMessage(
      Client.Any2EVMMessage({
        messageId: message.header.messageId,
        sourceChainSelector: message.header.sourceChainSelector,
        sender: message.sender,
        data: message.data,
        destTokenAmounts: destTokenAmounts
      }),
      GAS_FOR_CALL_EXACT_CHECK,
      message.gasLimit,
      message.receiver
    );
    if (!success) revert ReceiverError(retData);
  }

  function _releaseOrMint(
    Internal.Any2EVMRampMessage calldata message,
    Internal.Any2EVMTokenTransfer calldata transfer
  ) internal returns (Client.EVMTokenAmount memory) {
    IPoolV1 pool = s_pools[transfer.destTokenAddress];
    if (address(pool) == address(0)) revert UnsupportedToken(transfer.destTokenAddress);
    Pool.ReleaseOrMintOutV1 memory out = pool.releaseOrMint(
      Pool.ReleaseOrMintInV1({
        originalSender: message.sender,
        remoteChainSelector: message.header.sourceChainSelector,
        receiver: message.receiver,
        sourceDenominatedAmount: transfer.amount,
        localToken: transfer.destTokenAddress,
        sourcePoolAddress: transfer.sourcePoolAddress,
        sourcePoolData: transfer.extraData,
        offchainTokenData: ""
      })
    );
    return Client.EVMTokenAmount({token: transfer.destTokenAddress, amount: out.destinationAmount});
  }
}
