// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {StandInOffRamp, StandInOnRamp} from "../src/devnet/CcipStandIns.sol";

import {Router} from "@chainlink/contracts-ccip/contracts/Router.sol";
import {CCIPReceiver} from "@chainlink/contracts-ccip/contracts/applications/CCIPReceiver.sol";
import {IPoolV1} from "@chainlink/contracts-ccip/contracts/interfaces/IPool.sol";
import {Client} from "@chainlink/contracts-ccip/contracts/libraries/Client.sol";
import {Internal} from "@chainlink/contracts-ccip/contracts/libraries/Internal.sol";
import {RateLimiter} from "@chainlink/contracts-ccip/contracts/libraries/RateLimiter.sol";
import {BurnMintTokenPool} from "@chainlink/contracts-ccip/contracts/pools/BurnMintTokenPool.sol";
import {BurnMintERC20} from "@chainlink/contracts/src/v0.8/shared/token/ERC20/BurnMintERC20.sol";
import {LaneTest} from "./helpers/LaneTest.t.sol";

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
contract TokenLane_burnMint is LaneTest {
  uint64 internal constant A = 909_606_746_561_742_123; // test chain 90000001
  uint64 internal constant B = 5_548_718_428_018_410_741; // test chain 90000002
  uint256 internal constant FEE = LANE_FEE;
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
    Lane memory lane = _deployLane(A, B, CAPACITY, RATE, s_relayer);
    (s_routerA, s_tokenA, s_poolA) = (lane.sideA.router, lane.sideA.token, lane.sideA.pool);
    (s_routerB, s_tokenB, s_poolB) = (lane.sideB.router, lane.sideB.token, lane.sideB.pool);
    (s_onRampA, s_offRampB) = (lane.onRampA, lane.offRampB);
    s_receiver = new RecordingReceiver(address(s_routerB));
    s_tokenA.mint(s_sender, START);
    vm.deal(s_sender, 1 ether);
  }

  /// @dev Sends `amount` of A's token from the sender to the receiver on B; returns what the
  /// on-ramp emitted.
  function _send(
    uint256 amount
  ) internal returns (Internal.EVM2AnyRampMessage memory) {
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
    return _sentBy(vm.getRecordedLogs(), s_onRampA);
  }

  function _relayed(
    Internal.EVM2AnyRampMessage memory sent
  ) internal pure returns (Internal.Any2EVMRampMessage memory) {
    return _relayed(sent, 200_000);
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
