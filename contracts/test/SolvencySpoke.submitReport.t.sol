// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {SolvencySpoke} from "../src/SolvencySpoke.sol";
import {SolvencyOracleBase} from "../src/SolvencyOracleBase.sol";
import {BaseTest} from "./helpers/BaseTest.t.sol";

contract SolvencySpoke_submitReport is BaseTest {
  SolvencySpoke internal s_spoke;

  function setUp() public override {
    super.setUp();
    // The hub is on another chain: its address has no code here, so the mock router only
    // takes the fee and returns a message id.
    s_spoke = _deploySpoke(SPOKE_A, HUB_SELECTOR, address(0x4B1B));
    vm.deal(s_reporter, 1 ether);
  }

  function test_submitReport_PaysFeeAndRefundsExcess() public {
    s_router.setFee(0.003 ether);
    assertEq(s_spoke.getReportFee(1, "sealed"), 0.003 ether);
    vm.expectEmit(false, false, false, true, address(s_spoke));
    emit SolvencySpoke.ReportSubmitted(bytes32(0), 1, 0.003 ether);
    vm.prank(s_reporter);
    s_spoke.submitReport{value: 0.01 ether}(1, "sealed");
    assertEq(s_reporter.balance, 1 ether - 0.003 ether, "excess refunded");
    assertEq(address(s_router).balance, 0.003 ether);
    assertEq(address(s_spoke).balance, 0);
  }

  function test_submitReport_RevertWhen_FeeShort() public {
    s_router.setFee(0.003 ether);
    vm.expectRevert(abi.encodeWithSelector(SolvencySpoke.InsufficientFee.selector, 0.003 ether, 0.001 ether));
    vm.prank(s_reporter);
    s_spoke.submitReport{value: 0.001 ether}(1, "sealed");
  }

  /// Seq 0 means "no report" in a chain leaf: no report may use it.
  function test_submitReport_RevertWhen_SeqZero() public {
    vm.expectRevert(abi.encodeWithSelector(SolvencySpoke.InvalidSeq.selector, 0));
    vm.prank(s_reporter);
    s_spoke.submitReport{value: 0.01 ether}(0, "sealed");
  }

  function test_submitReport_RevertWhen_NotReporter() public {
    vm.expectRevert(abi.encodeWithSelector(SolvencyOracleBase.OnlyReporter.selector, address(this)));
    s_spoke.submitReport(1, "sealed");
  }
}
