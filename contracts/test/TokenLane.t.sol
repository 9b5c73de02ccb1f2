// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {StandInOffRamp, StandInOnRamp, StandInRMN} from "../src/devnet/CcipStandIns.sol";

import {Router} from "@chainlink/contracts-ccip/contracts/Router.sol";
import {CCIPReceiver} from "@chainlink/contracts-ccip/contracts/applications/CCIPReceiver.sol";
import {IPoolV1} from "@chainlink/contracts-ccip/contracts/interfaces/IPool.sol";
import {Client} from "@chainlink/contracts-ccip/contracts/libraries/Client.sol";
import {Internal} from "@chainlink/contracts-ccip/contracts/libraries/Internal.sol";
import {RateLimiter} from "@chainlink/contracts-ccip/contracts/libraries/RateLimiter.sol";
import {BurnMintTokenPool} from "@chainlink/contracts-ccip/contracts/pools/BurnMintTokenPool.sol";
import {TokenPool} from "@chainlink/contracts-ccip/contracts/pools/TokenPool.sol";
import {BurnMintERC20} from "@chainlink/contracts/src/v0.8/shared/token/ERC20/BurnMintERC20.sol";
import {WETH9} from "@chainlink/contracts/src/v0.8/vendor/canonical-weth/WETH9.sol";
import {Test, Vm} from "forge-std/Test.sol";

/// @notice A receiver that records what it was delivered and can be told to refuse.
contract RecordingReceiver is CCIPReceiver {
  error Refused();

  bool public s_refuse;
  Client.EVMTokenAmount[] internal s_received;
  uint256 public s_messages;

  constructor(
    address router
  ) CCIPReceiver(router) {}

  function setRefuse(
    bool refuse
  ) external {
    s_refuse = refuse;
  }

  function received(
    uint256 i
  ) external view returns (Client.EVMTokenAmount memory) {
    return s_received[i];
  }

  function _ccipReceive(
    Client.Any2EVMMessage memory message
  ) internal override {
    if (s_refuse) revert Refused();
    ++s_messages;
    for (uint256 i = 0; i < message.destTokenAmounts.length; ++i) {
      s_received.push(message.destTokenAmounts[i]);
    }
  }
}

/// @notice A burn/mint token lane between two chains, as the devnet's upstream stand-ins carry
/// it: CCIP's real Router on each side, CCIP's real BurnMintTokenPool over Chainlink's
/// BurnMintERC20 on each side (with outbound and inbound rate limits), the stand-in on-ramp and
/// off-ramp between them. Tokens sent are burned on the source and minted to the receiver on the
/// destination with the message (`destTokenAmounts`); the two supplies always add up to what was
/// minted at the start plus what is in flight; a failed delivery holds its tokens until it is
/// executed again, and a message is never executed twice; a transfer over the lane's capacity is
/// refused before anything moves.
/// @dev One EVM stands in for both chains: each side has its own Router, pool and token, and the
/// test plays the relayer, turning the on-ramp's `CCIPMessageSent` into the off-ramp's input.
contract TokenLane_burnMint is Test {
  uint64 internal constant A = 909_606_746_561_742_123; // test chain 90000001
  uint64 internal constant B = 5_548_718_428_018_410_741; // test chain 90000002
  uint256 internal constant FEE = 0.001 ether;
  uint128 internal constant CAPACITY = 1000e6;
  uint128 internal constant RATE = 10e6; // per second
  uint256 internal constant START = 5000e6;

  Router internal s_routerA;
  Router internal s_routerB;
  BurnMintERC20 internal s_tokenA;
  BurnMintERC20 internal s_tokenB;
  BurnMintTokenPool internal s_poolA;
  BurnMintTokenPool internal s_poolB;
  StandInOnRamp internal s_onRampA;
  StandInOffRamp internal s_offRampB;
  RecordingReceiver internal s_receiver;
  address internal s_sender = makeAddr("treasury");
  address internal s_relayer = makeAddr("relayer");

  function setUp() public {
    vm.warp(1_750_000_000);
    StandInRMN rmn = new StandInRMN();
    WETH9 weth = new WETH9();
    s_routerA = new Router(address(weth), address(rmn));
    s_routerB = new Router(address(weth), address(rmn));
    s_tokenA = new BurnMintERC20("USD Coin", "USDC", 6, 0, 0);
    s_tokenB = new BurnMintERC20("USD Coin", "USDC", 6, 0, 0);
    s_poolA = new BurnMintTokenPool(s_tokenA, 6, new address[](0), address(rmn), address(s_routerA));
    s_poolB = new BurnMintTokenPool(s_tokenB, 6, new address[](0), address(rmn), address(s_routerB));
    s_tokenA.grantMintAndBurnRoles(address(s_poolA));
    s_tokenB.grantMintAndBurnRoles(address(s_poolB));
    _connect(s_poolA, B, address(s_poolB), address(s_tokenB));
    _connect(s_poolB, A, address(s_poolA), address(s_tokenA));

    s_onRampA = new StandInOnRamp(A, address(s_routerA), FEE);
    s_onRampA.setPool(address(s_tokenA), IPoolV1(address(s_poolA)));
    s_offRampB = new StandInOffRamp();
    s_offRampB.configure(s_routerB, s_relayer);
    s_offRampB.setPool(address(s_tokenB), IPoolV1(address(s_poolB)));
    Router.OnRamp[] memory onRamps = new Router.OnRamp[](1);
    onRamps[0] = Router.OnRamp(B, address(s_onRampA));
    s_routerA.applyRampUpdates(onRamps, new Router.OffRamp[](0), new Router.OffRamp[](0));
    Router.OffRamp[] memory offRamps = new Router.OffRamp[](1);
    offRamps[0] = Router.OffRamp(A, address(s_offRampB));
    s_routerB.applyRampUpdates(new Router.OnRamp[](0), new Router.OffRamp[](0), offRamps);

    s_receiver = new RecordingReceiver(address(s_routerB));
    s_tokenA.grantRole(s_tokenA.MINTER_ROLE(), address(this));
    s_tokenA.mint(s_sender, START);
    vm.deal(s_sender, 1 ether);
  }

  function _connect(
    BurnMintTokenPool pool,
    uint64 remote,
    address remotePool,
    address remoteToken
  ) internal {
    bytes[] memory pools = new bytes[](1);
    pools[0] = abi.encode(remotePool);
    TokenPool.ChainUpdate[] memory updates = new TokenPool.ChainUpdate[](1);
    updates[0] = TokenPool.ChainUpdate({
      remoteChainSelector: remote,
      remotePoolAddresses: pools,
      remoteTokenAddress: abi.encode(remoteToken),
      outboundRateLimiterConfig: RateLimiter.Config({isEnabled: true, capacity: CAPACITY, rate: RATE}),
      inboundRateLimiterConfig: RateLimiter.Config({isEnabled: true, capacity: CAPACITY, rate: RATE})
    });
    pool.applyChainUpdates(new uint64[](0), updates);
  }

  /// @dev Sends `amount` of A's token from the sender to the receiver on B; returns what the
  /// on-ramp emitted.
  function _send(
    uint256 amount
  ) internal returns (Internal.EVM2AnyRampMessage memory sent) {
    Client.EVMTokenAmount[] memory tokens = new Client.EVMTokenAmount[](1);
    tokens[0] = Client.EVMTokenAmount({token: address(s_tokenA), amount: amount});
    Client.EVM2AnyMessage memory message = Client.EVM2AnyMessage({
      receiver: abi.encode(address(s_receiver)),
      data: "a lot",
      tokenAmounts: tokens,
      feeToken: address(0),
      extraArgs: Client._argsToBytes(Client.GenericExtraArgsV2({gasLimit: 200_000, allowOutOfOrderExecution: true}))
    });
    vm.startPrank(s_sender);
    s_tokenA.approve(address(s_routerA), amount);
    vm.recordLogs();
    s_routerA.ccipSend{value: FEE}(B, message);
    vm.stopPrank();
    Vm.Log[] memory logs = vm.getRecordedLogs();
    for (uint256 i = 0; i < logs.length; ++i) {
      if (logs[i].emitter == address(s_onRampA) && logs[i].topics[0] == StandInOnRamp.CCIPMessageSent.selector) {
        return abi.decode(logs[i].data, (Internal.EVM2AnyRampMessage));
      }
    }
    revert("no CCIPMessageSent");
  }

  /// @dev What a relayer makes of an on-ramp's message for the destination's off-ramp.
  function _relayed(
    Internal.EVM2AnyRampMessage memory sent
  ) internal pure returns (Internal.Any2EVMRampMessage memory message) {
    Internal.Any2EVMTokenTransfer[] memory tokens = new Internal.Any2EVMTokenTransfer[](sent.tokenAmounts.length);
    for (uint256 i = 0; i < tokens.length; ++i) {
      Internal.EVM2AnyTokenTransfer memory t = sent.tokenAmounts[i];
      tokens[i] = Internal.Any2EVMTokenTransfer({
        sourcePoolAddress: abi.encode(t.sourcePoolAddress),
        destTokenAddress: abi.decode(t.destTokenAddress, (address)),
        destGasAmount: abi.decode(t.destExecData, (uint32)),
        extraData: t.extraData,
        amount: t.amount
      });
    }
    message = Internal.Any2EVMRampMessage({
      header: sent.header,
      sender: abi.encode(sent.sender),
      data: sent.data,
      receiver: abi.decode(sent.receiver, (address)),
      gasLimit: 200_000,
      tokenAmounts: tokens
    });
  }

  function _supplies() internal view returns (uint256) {
    return s_tokenA.totalSupply() + s_tokenB.totalSupply();
  }

  function test_tokensAreBurnedOnTheSourceAndMintedToTheReceiverWithTheMessage() public {
    Internal.EVM2AnyRampMessage memory sent = _send(400e6);
    // Burned on A at once; in flight until delivered.
    assertEq(s_tokenA.balanceOf(s_sender), START - 400e6);
    assertEq(s_tokenA.totalSupply(), START - 400e6);
    assertEq(s_tokenA.balanceOf(address(s_poolA)), 0, "burned, not held");
    assertEq(sent.tokenAmounts.length, 1);
    assertEq(sent.tokenAmounts[0].sourcePoolAddress, address(s_poolA));
    assertEq(abi.decode(sent.tokenAmounts[0].destTokenAddress, (address)), address(s_tokenB));
    assertEq(_supplies() + 400e6, START, "what is in flight makes up the difference");

    vm.prank(s_relayer);
    Internal.MessageExecutionState state = s_offRampB.execute(_relayed(sent));
    assertEq(uint8(state), uint8(Internal.MessageExecutionState.SUCCESS));
    assertEq(s_tokenB.balanceOf(address(s_receiver)), 400e6, "minted to the receiver");
    assertEq(_supplies(), START, "conserved across the lane");
    assertEq(s_receiver.s_messages(), 1);
    Client.EVMTokenAmount memory got = s_receiver.received(0);
    assertEq(got.token, address(s_tokenB));
    assertEq(got.amount, 400e6);
  }

  function test_aFailedDeliveryHoldsItsTokensAndARetryMintsThemOnce() public {
    Internal.EVM2AnyRampMessage memory sent = _send(250e6);
    Internal.Any2EVMRampMessage memory message = _relayed(sent);
    s_receiver.setRefuse(true);
    vm.prank(s_relayer);
    assertEq(uint8(s_offRampB.execute(message)), uint8(Internal.MessageExecutionState.FAILURE));
    assertEq(s_tokenB.totalSupply(), 0, "nothing minted: the whole execution is undone");
    assertEq(_supplies() + 250e6, START, "held by the lane");

    s_receiver.setRefuse(false);
    vm.prank(s_relayer);
    assertEq(uint8(s_offRampB.execute(message)), uint8(Internal.MessageExecutionState.SUCCESS));
    assertEq(s_tokenB.balanceOf(address(s_receiver)), 250e6);
    assertEq(_supplies(), START);

    // Never twice: a relayer that sends it again is refused, and nothing more is minted.
    vm.prank(s_relayer);
    vm.expectRevert(abi.encodeWithSelector(StandInOffRamp.AlreadyExecuted.selector, A, sent.header.sequenceNumber));
    s_offRampB.execute(message);
    assertEq(s_tokenB.totalSupply(), 250e6);
  }

  function test_aTransferOverTheLanesCapacityIsRefusedBeforeAnythingMoves() public {
    vm.startPrank(s_sender);
    s_tokenA.approve(address(s_routerA), CAPACITY + 1);
    Client.EVMTokenAmount[] memory tokens = new Client.EVMTokenAmount[](1);
    tokens[0] = Client.EVMTokenAmount({token: address(s_tokenA), amount: CAPACITY + 1});
    Client.EVM2AnyMessage memory message = Client.EVM2AnyMessage({
      receiver: abi.encode(address(s_receiver)), data: "", tokenAmounts: tokens, feeToken: address(0), extraArgs: ""
    });
    vm.expectRevert(
      abi.encodeWithSelector(RateLimiter.TokenMaxCapacityExceeded.selector, CAPACITY, CAPACITY + 1, address(s_tokenA))
    );
    s_routerA.ccipSend{value: FEE}(B, message);
    vm.stopPrank();
    assertEq(s_tokenA.balanceOf(s_sender), START, "nothing left the sender");

    // Up to the capacity goes; the bucket then refills at its rate.
    _send(CAPACITY);
    vm.startPrank(s_sender);
    tokens[0].amount = 100e6;
    s_tokenA.approve(address(s_routerA), 100e6);
    vm.expectRevert(abi.encodeWithSelector(RateLimiter.TokenRateLimitReached.selector, 10, 0, address(s_tokenA)));
    s_routerA.ccipSend{value: FEE}(B, message);
    vm.stopPrank();
    vm.warp(block.timestamp + 10);
    _send(100e6);
    assertEq(s_tokenA.totalSupply(), START - CAPACITY - 100e6);
  }

  function test_tokensToAnAccountAreMintedWithoutCallingIt() public {
    Internal.Any2EVMRampMessage memory message = _relayed(_send(75e6));
    address account = makeAddr("payee");
    message.receiver = account;
    vm.prank(s_relayer);
    assertEq(uint8(s_offRampB.execute(message)), uint8(Internal.MessageExecutionState.SUCCESS));
    assertEq(s_tokenB.balanceOf(account), 75e6);
    assertEq(_supplies(), START);
  }

  function test_whatCouldStrandTokensIsRefusedAtTheSend() public {
    Client.EVMTokenAmount[] memory tokens = new Client.EVMTokenAmount[](1);
    tokens[0] = Client.EVMTokenAmount({token: address(s_tokenA), amount: 0});
    Client.EVM2AnyMessage memory message = Client.EVM2AnyMessage({
      receiver: abi.encode(address(s_receiver)), data: "", tokenAmounts: tokens, feeToken: address(0), extraArgs: ""
    });
    vm.startPrank(s_sender);
    vm.expectRevert(StandInOnRamp.CannotSendZeroTokens.selector);
    s_routerA.ccipSend{value: FEE}(B, message);
    // A gas limit the off-ramp could not give the receiver.
    tokens[0].amount = 1e6;
    s_tokenA.approve(address(s_routerA), 1e6);
    message.extraArgs =
      Client._argsToBytes(Client.GenericExtraArgsV2({gasLimit: 3_000_001, allowOutOfOrderExecution: true}));
    vm.expectRevert(StandInOnRamp.MessageGasLimitTooHigh.selector);
    s_routerA.ccipSend{value: FEE}(B, message);
    // A receiver outside the EVM address space.
    message.extraArgs = "";
    message.receiver = abi.encode(uint256(type(uint160).max) + 1);
    vm.expectRevert();
    s_routerA.ccipSend{value: FEE}(B, message);
    vm.stopPrank();
    assertEq(s_tokenA.balanceOf(s_sender), START);
  }

  function test_setPoolListsExactlyTheTokensCarried() public {
    assertEq(s_onRampA.getSupportedTokens(B).length, 1);
    s_onRampA.setPool(address(s_tokenA), IPoolV1(address(0)));
    assertEq(s_onRampA.getSupportedTokens(B).length, 0);
    s_onRampA.setPool(address(s_tokenA), IPoolV1(address(s_poolA)));
    s_onRampA.setPool(address(s_tokenA), IPoolV1(address(s_poolA)));
    assertEq(s_onRampA.getSupportedTokens(B).length, 1);
    vm.prank(s_sender);
    vm.expectRevert(StandInOnRamp.OnlyOwner.selector);
    s_onRampA.setPool(address(s_tokenA), IPoolV1(address(0)));
  }

  function test_onlyTheExecutorExecutesAndOnlyThroughExecute() public {
    Internal.Any2EVMRampMessage memory message = _relayed(_send(10e6));
    vm.expectRevert(StandInOffRamp.OnlyExecutor.selector);
    s_offRampB.execute(message);
    vm.expectRevert(StandInOffRamp.OnlySelf.selector);
    s_offRampB.executeSingleMessage(message);
    assertEq(s_tokenB.totalSupply(), 0);
  }
}
