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
  uint64 internal constant SPOKE_SELECTOR = SPOKE_A;
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
    return _reportMessage(selector, sender, seq, 0, bytes32(0));
  }

  function _reportMessage(
    uint64 selector,
    address sender,
    uint64 seq,
    uint64 logCount,
    bytes32 logHead
  ) internal pure returns (Client.Any2EVMMessage memory) {
    return Client.Any2EVMMessage({
      messageId: keccak256(abi.encode(selector, sender, seq, logCount, logHead)),
      sourceChainSelector: selector,
      sender: abi.encode(sender),
      data: abi.encode(seq, bytes("enc||ciphertext"), logCount, logHead),
      destTokenAmounts: new Client.EVMTokenAmount[](0)
    });
  }

  function test_ccipReceive_EmitsReportDeliveredWithHead() public {
    Client.Any2EVMMessage memory message = _reportMessage(SPOKE_SELECTOR, REMOTE_SPOKE, 42, 7, keccak256("head-7"));
    vm.expectEmit(address(s_hub));
    emit SolvencyHub.ReportDelivered(message.messageId, SPOKE_SELECTOR, 42, "enc||ciphertext", 7, keccak256("head-7"));
    vm.prank(address(s_router));
    s_hub.ccipReceive(message);
    (bool set, uint64 count, bytes32 head) = s_hub.getReportHead(SPOKE_SELECTOR, 42);
    assertTrue(set);
    assertEq(count, 7);
    assertEq(head, keccak256("head-7"));
  }

  /// A vault-less chain's report carries (0, 0x0): held, and told apart from no report.
  function test_ccipReceive_HoldsAZeroHead() public {
    (bool set,,) = s_hub.getReportHead(SPOKE_SELECTOR, 1);
    assertFalse(set, "no report yet");
    vm.prank(address(s_router));
    s_hub.ccipReceive(_reportMessage(SPOKE_SELECTOR, REMOTE_SPOKE, 1));
    (bool nowSet, uint64 count, bytes32 head) = s_hub.getReportHead(SPOKE_SELECTOR, 1);
    assertTrue(nowSet);
    assertEq(count, 0);
    assertEq(head, bytes32(0));
  }

  /// A repeated seq keeps the first head, and is emitted with it: the event always shows the
  /// head `publish` checks leaves against.
  function test_ccipReceive_KeepsTheFirstHeadOfASeq() public {
    vm.startPrank(address(s_router));
    s_hub.ccipReceive(_reportMessage(SPOKE_SELECTOR, REMOTE_SPOKE, 42, 7, keccak256("head-7")));
    Client.Any2EVMMessage memory again = _reportMessage(SPOKE_SELECTOR, REMOTE_SPOKE, 42, 8, keccak256("head-8"));
    vm.expectEmit(address(s_hub));
    emit SolvencyHub.ReportDelivered(again.messageId, SPOKE_SELECTOR, 42, "enc||ciphertext", 7, keccak256("head-7"));
    s_hub.ccipReceive(again);
    vm.stopPrank();
    (, uint64 count, bytes32 head) = s_hub.getReportHead(SPOKE_SELECTOR, 42);
    assertEq(count, 7);
    assertEq(head, keccak256("head-7"));
  }

  /// Heads are kept per chain: the same seq from two chains holds two heads.
  function test_ccipReceive_HeadsArePerChain() public {
    address other = address(0x5B0D);
    vm.prank(s_owner);
    s_hub.addSpoke(SPOKE_B, other);
    vm.startPrank(address(s_router));
    s_hub.ccipReceive(_reportMessage(SPOKE_SELECTOR, REMOTE_SPOKE, 42, 7, keccak256("a")));
    s_hub.ccipReceive(_reportMessage(SPOKE_B, other, 42, 9, keccak256("b")));
    vm.stopPrank();
    (, uint64 countA, bytes32 headA) = s_hub.getReportHead(SPOKE_SELECTOR, 42);
    (, uint64 countB, bytes32 headB) = s_hub.getReportHead(SPOKE_B, 42);
    assertEq(countA, 7);
    assertEq(headA, keccak256("a"));
    assertEq(countB, 9);
    assertEq(headB, keccak256("b"));
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
    emit SolvencyHub.ReportDelivered(expectedId, HUB_SELECTOR, 9, "sealed", 0, bytes32(0));
    vm.prank(s_reporter);
    s_hub.submitReport(9, "sealed");
    (bool set,,) = s_hub.getReportHead(HUB_SELECTOR, 9);
    assertTrue(set, "the hub's own report is held like a spoke's");
  }

  /// Seq 0 means "no report" in a chain leaf: no report may use it.
  function test_submitReport_RevertWhen_SeqZero() public {
    vm.expectRevert(abi.encodeWithSelector(SolvencyHub.InvalidSeq.selector, 0));
    vm.prank(s_reporter);
    s_hub.submitReport(0, "sealed");
  }

  function test_submitReport_RevertWhen_NotReporter() public {
    vm.expectRevert(abi.encodeWithSelector(SolvencyOracleBase.OnlyReporter.selector, address(this)));
    s_hub.submitReport(1, "sealed");
  }

  /// A spoke's submitReport travels through the router to the hub (MockCCIPRouter loopback,
  /// which stamps the Sepolia selector: the hub allow-lists the spoke under it).
  function test_spokeSubmitReport_ArrivesAsReportDelivered() public {
    SolvencySpoke spoke = _deploySpoke(SPOKE_A, HUB_SELECTOR, address(s_hub));
    vm.prank(s_owner);
    s_hub.addSpoke(SEPOLIA, address(spoke));
    vm.deal(s_reporter, 1 ether);

    // The mock's message id is a hash of the message: check the other fields exactly.
    vm.expectEmit(false, true, false, true, address(s_hub));
    emit SolvencyHub.ReportDelivered(bytes32(0), SEPOLIA, 3, "sealed-report", 0, bytes32(0));
    vm.prank(s_reporter);
    bytes32 messageId = spoke.submitReport(3, "sealed-report");
    assertTrue(messageId != bytes32(0));
  }
}
