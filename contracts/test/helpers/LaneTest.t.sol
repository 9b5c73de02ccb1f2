// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {StandInOffRamp, StandInOnRamp, StandInRMN} from "../../src/devnet/CcipStandIns.sol";

import {Router} from "@chainlink/contracts-ccip/contracts/Router.sol";
import {IPoolV1} from "@chainlink/contracts-ccip/contracts/interfaces/IPool.sol";
import {Internal} from "@chainlink/contracts-ccip/contracts/libraries/Internal.sol";
import {RateLimiter} from "@chainlink/contracts-ccip/contracts/libraries/RateLimiter.sol";
import {BurnMintTokenPool} from "@chainlink/contracts-ccip/contracts/pools/BurnMintTokenPool.sol";
import {TokenPool} from "@chainlink/contracts-ccip/contracts/pools/TokenPool.sol";
import {BurnMintERC20} from "@chainlink/contracts/src/v0.8/shared/token/ERC20/BurnMintERC20.sol";
import {WETH9} from "@chainlink/contracts/src/v0.8/vendor/canonical-weth/WETH9.sol";
import {Test, Vm} from "forge-std/Test.sol";

/// @notice A burn/mint token lane from chain A to chain B, as the devnet's upstream stand-ins
/// carry it: CCIP's real Router on each side, CCIP's real BurnMintTokenPool over Chainlink's
/// BurnMintERC20 on each side (outbound and inbound rate limits), the stand-in on-ramp on A and
/// off-ramp on B. One EVM stands in for both chains; the test plays the relayer, turning the
/// on-ramp's `CCIPMessageSent` into the off-ramp's input (`_relayed`).
abstract contract LaneTest is Test {
  uint256 internal constant LANE_FEE = 0.001 ether;

  /// @notice One side of the lane.
  struct Side {
    Router router;
    BurnMintERC20 token;
    BurnMintTokenPool pool;
  }

  /// @notice The lane's two sides and its ramps.
  struct Lane {
    uint64 a;
    uint64 b;
    Side sideA;
    Side sideB;
    StandInOnRamp onRampA;
    StandInOffRamp offRampB;
  }

  /// @dev Deploys the lane from `a` to `b`, each pool's buckets at `capacity` refilled at `rate`
  /// a second, the off-ramp executing for `executor`; this contract may mint A's token.
  function _deployLane(
    uint64 a,
    uint64 b,
    uint128 capacity,
    uint128 rate,
    address executor
  ) internal returns (Lane memory lane) {
    StandInRMN rmn = new StandInRMN();
    WETH9 weth = new WETH9();
    lane.a = a;
    lane.b = b;
    lane.sideA = _side(weth, rmn);
    lane.sideB = _side(weth, rmn);
    _connect(lane.sideA.pool, b, lane.sideB, capacity, rate);
    _connect(lane.sideB.pool, a, lane.sideA, capacity, rate);

    lane.onRampA = new StandInOnRamp(a, address(lane.sideA.router), LANE_FEE);
    lane.onRampA.setPool(address(lane.sideA.token), IPoolV1(address(lane.sideA.pool)));
    lane.offRampB = new StandInOffRamp();
    lane.offRampB.configure(lane.sideB.router, executor);
    lane.offRampB.setPool(address(lane.sideB.token), IPoolV1(address(lane.sideB.pool)));
    Router.OnRamp[] memory onRamps = new Router.OnRamp[](1);
    onRamps[0] = Router.OnRamp(b, address(lane.onRampA));
    lane.sideA.router.applyRampUpdates(onRamps, new Router.OffRamp[](0), new Router.OffRamp[](0));
    Router.OffRamp[] memory offRamps = new Router.OffRamp[](1);
    offRamps[0] = Router.OffRamp(a, address(lane.offRampB));
    lane.sideB.router.applyRampUpdates(new Router.OnRamp[](0), new Router.OffRamp[](0), offRamps);
    lane.sideA.token.grantRole(lane.sideA.token.MINTER_ROLE(), address(this));
  }

  function _side(
    WETH9 weth,
    StandInRMN rmn
  ) private returns (Side memory side) {
    side.router = new Router(address(weth), address(rmn));
    side.token = new BurnMintERC20("USD Coin", "USDC", 6, 0, 0);
    side.pool = new BurnMintTokenPool(side.token, 6, new address[](0), address(rmn), address(side.router));
    side.token.grantMintAndBurnRoles(address(side.pool));
  }

  function _connect(
    BurnMintTokenPool pool,
    uint64 remote,
    Side memory remoteSide,
    uint128 capacity,
    uint128 rate
  ) private {
    bytes[] memory pools = new bytes[](1);
    pools[0] = abi.encode(address(remoteSide.pool));
    TokenPool.ChainUpdate[] memory updates = new TokenPool.ChainUpdate[](1);
    updates[0] = TokenPool.ChainUpdate({
      remoteChainSelector: remote,
      remotePoolAddresses: pools,
      remoteTokenAddress: abi.encode(address(remoteSide.token)),
      outboundRateLimiterConfig: RateLimiter.Config({isEnabled: true, capacity: capacity, rate: rate}),
      inboundRateLimiterConfig: RateLimiter.Config({isEnabled: true, capacity: capacity, rate: rate})
    });
    pool.applyChainUpdates(new uint64[](0), updates);
  }

  /// @dev The message `onRamp` emitted among `logs`.
  function _sentBy(
    Vm.Log[] memory logs,
    StandInOnRamp onRamp
  ) internal pure returns (Internal.EVM2AnyRampMessage memory) {
    for (uint256 i = 0; i < logs.length; ++i) {
      if (logs[i].emitter == address(onRamp) && logs[i].topics[0] == StandInOnRamp.CCIPMessageSent.selector) {
        return abi.decode(logs[i].data, (Internal.EVM2AnyRampMessage));
      }
    }
    revert("no CCIPMessageSent");
  }

  /// @dev What a relayer makes of an on-ramp's message for the destination's off-ramp.
  function _relayed(
    Internal.EVM2AnyRampMessage memory sent,
    uint256 gasLimit
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
      gasLimit: gasLimit,
      tokenAmounts: tokens
    });
  }
}
