// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {SolvencyHub} from "../src/SolvencyHub.sol";
import {SolvencySpoke} from "../src/SolvencySpoke.sol";
import {SolvencyOracleBase} from "../src/SolvencyOracleBase.sol";
import {BaseTest} from "./helpers/BaseTest.t.sol";

import {CCIPReceiver} from "@chainlink/contracts-ccip/contracts/applications/CCIPReceiver.sol";
import {Client} from "@chainlink/contracts-ccip/contracts/libraries/Client.sol";

/// @notice Reports reaching the hub: over CCIP from allow-listed spokes, and directly from the
/// hub chain's own reporter.
contract SolvencyHub_reports is BaseTest {
  uint64 internal constant SPOKE_SELECTOR = 5_548_718_428_018_410_741;
  address internal constant REMOTE_SPOKE = address(0x5B0C);

  function setUp() public override {
    super.setUp();
    vm.prank(s_owner);
    s_hub.addSpoke(SPOKE_SELECTOR, REMOTE_SPOKE);
  }

  function _reportMessage(
    uint64 selector,
    address sender,
    uint64 seq
  ) internal pure returns (Client.Any2EVMMessage memory) {
    return Client.Any2EVMMessage({
      messageId: keccak256(abi.encode(selector, sender, seq)),
      sourceChainSelector: selector,
      sender: abi.encode(sender),
      data: abi.encode(seq, bytes("enc||ciphertext")),
      destTokenAmounts: new Client.EVMTokenAmount[](0)
    });
  }

  function test_ccipReceive_EmitsReportDelivered() public {
    Client.Any2EVMMessage memory message = _reportMessage(SPOKE_SELECTOR, REMOTE_SPOKE, 42);
    vm.expectEmit(address(s_hub));
    emit SolvencyHub.ReportDelivered(message.messageId, SPOKE_SELECTOR, 42, "enc||ciphertext");
    vm.prank(address(s_router));
    s_hub.ccipReceive(message);
  }

  function test_ccipReceive_RevertWhen_NotFromRouter() public {
    vm.expectRevert(abi.encodeWithSelector(CCIPReceiver.InvalidRouter.selector, address(this)));
    s_hub.ccipReceive(_reportMessage(SPOKE_SELECTOR, REMOTE_SPOKE, 1));
  }

  function test_ccipReceive_RevertWhen_SpokeRemoved() public {
    vm.prank(s_owner);
    s_hub.removeSpoke(SPOKE_SELECTOR);
    vm.expectRevert(
      abi.encodeWithSelector(SolvencyHub.UnknownSender.selector, SPOKE_SELECTOR, abi.encode(REMOTE_SPOKE))
    );
    vm.prank(address(s_router));
    s_hub.ccipReceive(_reportMessage(SPOKE_SELECTOR, REMOTE_SPOKE, 1));
  }

  /// Only the allow-listed (selector, spoke) pair is accepted: the right spoke address on another
  /// chain, or another address on the right chain, is refused.
  function testFuzz_ccipReceive_RevertWhen_NotAllowListed(
    uint64 selector,
    address sender
  ) public {
    vm.assume(selector != SPOKE_SELECTOR || sender != REMOTE_SPOKE);
    vm.expectRevert(abi.encodeWithSelector(SolvencyHub.UnknownSender.selector, selector, abi.encode(sender)));
    vm.prank(address(s_router));
    s_hub.ccipReceive(_reportMessage(selector, sender, 1));
  }

  function test_submitReport_LocalReportGetsUniqueIds() public {
    vm.startPrank(s_reporter);
    bytes32 first = s_hub.submitReport(1, "a");
    bytes32 second = s_hub.submitReport(1, "a");
    vm.stopPrank();
    assertTrue(first != second, "a local report id never repeats");
  }

  function test_submitReport_EmitsWithLocalSelector() public {
    bytes32 expectedId = keccak256(abi.encode(block.chainid, address(s_hub), uint64(1)));
    vm.expectEmit(address(s_hub));
    emit SolvencyHub.ReportDelivered(expectedId, HUB_SELECTOR, 9, "sealed");
    vm.prank(s_reporter);
    s_hub.submitReport(9, "sealed");
  }

  function test_submitReport_RevertWhen_NotReporter() public {
    vm.expectRevert(abi.encodeWithSelector(SolvencyOracleBase.OnlyReporter.selector, address(this)));
    s_hub.submitReport(1, "sealed");
  }

  /// A spoke's submitReport travels through the router to the hub (MockCCIPRouter loopback,
  /// which stamps the Sepolia selector: the hub allow-lists the spoke under it).
  function test_spokeSubmitReport_ArrivesAsReportDelivered() public {
    SolvencySpoke spoke = _deploySpoke(HUB_SELECTOR, address(s_hub));
    vm.prank(s_owner);
    s_hub.addSpoke(SEPOLIA, address(spoke));
    vm.deal(s_reporter, 1 ether);

    // The mock's message id is a hash of the message: check the other fields exactly.
    vm.expectEmit(false, true, false, true, address(s_hub));
    emit SolvencyHub.ReportDelivered(bytes32(0), SEPOLIA, 3, "sealed-report");
    vm.prank(s_reporter);
    bytes32 messageId = spoke.submitReport(3, "sealed-report");
    assertTrue(messageId != bytes32(0));
  }
}
