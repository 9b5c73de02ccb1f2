// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {SolvencyHub} from "../src/SolvencyHub.sol";
import {SolvencySpoke} from "../src/SolvencySpoke.sol";
import {SolvencyAttestation} from "../src/libraries/SolvencyAttestation.sol";
import {StandInOnRamp, StandInRMN} from "../src/devnet/CcipStandIns.sol";
import {BaseTest} from "./helpers/BaseTest.t.sol";

import {Router} from "@chainlink/contracts-ccip/contracts/Router.sol";
import {IRouter} from "@chainlink/contracts-ccip/contracts/interfaces/IRouter.sol";
import {Client} from "@chainlink/contracts-ccip/contracts/libraries/Client.sol";
import {WETH9} from "@chainlink/contracts/src/v0.8/vendor/canonical-weth/WETH9.sol";

/// @notice The devnet's stand-in on-ramp behind the real Router (it emits OnRamp 1.6's
/// `CCIPMessageSent`, as a relayer reads it), also keeping each message the Router forwards for
/// the test to read back.
contract RecordingOnRamp is StandInOnRamp {
  /// @dev The message's fields but its token amounts (none here).
  struct Sent {
    uint64 destChainSelector;
    bytes receiver;
    bytes data;
    address feeToken;
    bytes extraArgs;
    uint256 feeTokenAmount;
    address originalSender;
  }

  Sent[] internal s_sent;

  constructor(
    uint64 chainSelector,
    address router,
    uint256 fee
  ) StandInOnRamp(chainSelector, router, fee) {}

  function forwardFromRouter(
    uint64 destChainSelector,
    Client.EVM2AnyMessage calldata message,
    uint256 feeTokenAmount,
    address originalSender
  ) public override returns (bytes32) {
    s_sent.push(
      Sent(
        destChainSelector,
        message.receiver,
        message.data,
        message.feeToken,
        message.extraArgs,
        feeTokenAmount,
        originalSender
      )
    );
    return super.forwardFromRouter(destChainSelector, message, feeTokenAmount, originalSender);
  }

  function sent(
    uint256 i
  ) external view returns (Sent memory) {
    return s_sent[i];
  }

  function count() external view returns (uint256) {
    return s_sent.length;
  }
}

/// @notice The solvency contracts behind CCIP's real `Router` (contracts-ccip 1.6.2), as on a
/// fork of a chain where CCIP runs: a spoke's report leaves through the Router to the on-ramp;
/// delivered by an off-ramp the Router accepts, it reaches the hub; the hub's attestation leaves
/// the same way and, delivered, makes the spoke read solvent. Any other caller of
/// `routeMessage` is refused by the Router, and the fee is paid in wrapped native.
/// @dev One EVM stands in for both chains: the Router routes by selector, so the hub and the
/// spoke each see their own lane. The test plays the relayer, as the devnet's does on forks.
contract SolvencyContracts_realRouter is BaseTest {
  uint256 internal constant FEE = 0.002 ether;

  Router internal s_real;
  WETH9 internal s_weth;
  RecordingOnRamp internal s_onRamp;
  address internal s_offRamp = makeAddr("offRamp");
  SolvencyHub internal s_realHub;
  SolvencySpoke internal s_realSpoke;

  function setUp() public override {
    super.setUp();
    s_weth = new WETH9();
    s_real = new Router(address(s_weth), address(new StandInRMN()));
    s_onRamp = new RecordingOnRamp(HUB_SELECTOR, address(s_real), FEE);
    Router.OnRamp[] memory onRamps = new Router.OnRamp[](2);
    onRamps[0] = Router.OnRamp(HUB_SELECTOR, address(s_onRamp));
    onRamps[1] = Router.OnRamp(SPOKE_A, address(s_onRamp));
    Router.OffRamp[] memory offRamps = new Router.OffRamp[](2);
    offRamps[0] = Router.OffRamp(SPOKE_A, s_offRamp);
    offRamps[1] = Router.OffRamp(HUB_SELECTOR, s_offRamp);
    s_real.applyRampUpdates(onRamps, new Router.OffRamp[](0), offRamps);

    vm.startPrank(s_owner);
    s_realHub = new SolvencyHub(address(s_real), HUB_SELECTOR, DEPLOYMENT_ID, ATTESTATION_GAS_LIMIT);
    s_realHub.setReporter(s_reporter);
    s_realHub.setPolicyDigest(POLICY_DIGEST);
    s_realSpoke =
      new SolvencySpoke(address(s_real), SPOKE_A, HUB_SELECTOR, address(s_realHub), DEPLOYMENT_ID, REPORT_GAS_LIMIT);
    s_realSpoke.setReporter(s_reporter);
    s_realSpoke.setPolicyDigest(POLICY_DIGEST);
    s_realHub.addSpoke(SPOKE_A, address(s_realSpoke));
    vm.stopPrank();
    _configureSigners(s_realHub, 3, 2);
    _configureSigners(s_realSpoke, 3, 2);
    vm.deal(address(s_realHub), 1 ether);
    vm.deal(s_reporter, 1 ether);
  }

  /// @dev What an off-ramp hands the Router for a message the on-ramp recorded.
  function _delivered(
    uint256 i,
    uint64 sourceChainSelector,
    address sender
  ) internal view returns (Client.Any2EVMMessage memory message, address receiver, uint256 gasLimit) {
    RecordingOnRamp.Sent memory sent = s_onRamp.sent(i);
    message = Client.Any2EVMMessage({
      messageId: keccak256(abi.encode("message", i)),
      sourceChainSelector: sourceChainSelector,
      sender: abi.encode(sender),
      data: sent.data,
      destTokenAmounts: new Client.EVMTokenAmount[](0)
    });
    receiver = abi.decode(sent.receiver, (address));
    // The extra args are `Client.GenericExtraArgsV2`: its tag, then the gas limit and the
    // out-of-order flag.
    bytes memory extraArgs = sent.extraArgs;
    assertEq(bytes4(extraArgs), Client.GENERIC_EXTRA_ARGS_V2_TAG, "V2 extra args");
    assembly {
      gasLimit := mload(add(extraArgs, 36))
    }
  }

  function test_aRoundThroughTheRealRouter() public {
    // The spoke's report leaves through the Router; the fee arrives as wrapped native.
    vm.prank(s_reporter);
    s_realSpoke.submitReport{value: FEE}(1, "sealed report");
    assertEq(s_onRamp.count(), 1);
    RecordingOnRamp.Sent memory report = s_onRamp.sent(0);
    assertEq(report.destChainSelector, HUB_SELECTOR);
    assertEq(report.originalSender, address(s_realSpoke));
    assertEq(report.feeToken, address(s_weth));
    assertEq(s_weth.balanceOf(address(s_onRamp)), FEE);

    // Delivered by the registered off-ramp, it reaches the hub.
    (Client.Any2EVMMessage memory message, address receiver, uint256 gasLimit) =
      _delivered(0, SPOKE_A, address(s_realSpoke));
    assertEq(receiver, address(s_realHub));
    assertEq(gasLimit, REPORT_GAS_LIMIT);
    vm.prank(s_offRamp);
    (bool success,,) = s_real.routeMessage(message, 5000, gasLimit, receiver);
    assertTrue(success, "the hub took the report");
    (bool held,,) = s_realHub.getReportHead(SPOKE_A, 1);
    assertTrue(held);

    // Anyone else is refused by the Router itself.
    vm.expectRevert(IRouter.OnlyOffRamp.selector);
    s_real.routeMessage(message, 5000, gasLimit, receiver);

    // The hub's attestation leaves the same way and, delivered, makes the spoke read solvent.
    uint64[] memory chains = new uint64[](2);
    chains[0] = HUB_SELECTOR;
    chains[1] = SPOKE_A;
    SolvencyAttestation.Attestation memory a = _attestation(1, true);
    SolvencyAttestation.ChainMessage[] memory messages = _commitChains(a, chains);
    bytes[] memory signatures = _signSorted(a, _firstSigners(2));
    s_realHub.publish(a, signatures, messages);
    assertTrue(s_realHub.isSolvent());
    assertEq(s_onRamp.count(), 2);
    assertEq(s_onRamp.sent(1).destChainSelector, SPOKE_A);
    (message, receiver, gasLimit) = _delivered(1, HUB_SELECTOR, address(s_realHub));
    assertEq(receiver, address(s_realSpoke));
    assertEq(gasLimit, ATTESTATION_GAS_LIMIT);
    assertFalse(s_realSpoke.isSolvent());
    vm.prank(s_offRamp);
    (success,,) = s_real.routeMessage(message, 5000, gasLimit, receiver);
    assertTrue(success, "the spoke took the attestation");
    assertTrue(s_realSpoke.isSolvent());
  }
}
