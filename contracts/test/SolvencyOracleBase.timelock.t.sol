// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {SolvencyOracleBase} from "../src/SolvencyOracleBase.sol";
import {SolvencyAttestation} from "../src/libraries/SolvencyAttestation.sol";
import {BaseTest} from "./helpers/BaseTest.t.sol";
import {VaultTest} from "./helpers/VaultTest.t.sol";

import {Ownable2Step} from "@chainlink/contracts/src/v0.8/shared/access/Ownable2Step.sol";

/// @notice Trust changes under a timelock: who signs, how many must, the policy and the vault
/// change only by the exact call scheduled at least the timelock before, so that owners of vault
/// collateral can withdraw under the configuration they trusted first.
contract SolvencyOracleBase_timelock is BaseTest {
  uint64 internal constant TIMELOCK = 2 days;

  function setUp() public override {
    super.setUp();
    _configureSigners(s_hub, 2, 1);
    vm.prank(s_owner);
    s_hub.setConfigTimelock(TIMELOCK);
  }

  function _schedule(
    bytes memory call
  ) internal returns (bytes32 changeId) {
    vm.prank(s_owner);
    changeId = s_hub.scheduleChange(call);
  }

  function test_setSigner_OnlyAfterItsScheduleMatured() public {
    address rogue = makeAddr("rogue");
    uint64 expiresAt = uint64(block.timestamp + 30 days);
    bytes memory call = abi.encodeCall(SolvencyOracleBase.setSigner, (rogue, expiresAt, bytes32(0)));
    bytes32 changeId = keccak256(call);

    // Not scheduled: refused.
    vm.expectRevert(abi.encodeWithSelector(SolvencyOracleBase.ChangeNotScheduled.selector, changeId));
    vm.prank(s_owner);
    s_hub.setSigner(rogue, expiresAt, bytes32(0));

    // Scheduled, and public.
    uint64 readyAt = uint64(block.timestamp) + TIMELOCK;
    vm.expectEmit(address(s_hub));
    emit SolvencyOracleBase.ChangeScheduled(changeId, call, readyAt);
    _schedule(call);
    assertEq(s_hub.getScheduledChange(changeId), readyAt);

    // Too early.
    vm.warp(readyAt - 1);
    vm.expectRevert(abi.encodeWithSelector(SolvencyOracleBase.ChangeNotReady.selector, changeId, readyAt));
    vm.prank(s_owner);
    s_hub.setSigner(rogue, expiresAt, bytes32(0));

    // In time: made, once.
    vm.warp(readyAt);
    vm.prank(s_owner);
    s_hub.setSigner(rogue, expiresAt, bytes32(0));
    assertEq(s_hub.getSigner(rogue).expiresAt, expiresAt);
    assertEq(s_hub.getScheduledChange(changeId), 0);
    vm.expectRevert(abi.encodeWithSelector(SolvencyOracleBase.ChangeNotScheduled.selector, changeId));
    vm.prank(s_owner);
    s_hub.setSigner(rogue, expiresAt, bytes32(0));
  }

  function test_scheduledChange_IsThatExactCall() public {
    // Scheduling a threshold of 2 does not allow a threshold of 1.
    _schedule(abi.encodeCall(SolvencyOracleBase.setThreshold, (2)));
    vm.warp(block.timestamp + TIMELOCK);
    bytes32 other = keccak256(abi.encodeCall(SolvencyOracleBase.setThreshold, (1)));
    vm.expectRevert(abi.encodeWithSelector(SolvencyOracleBase.ChangeNotScheduled.selector, other));
    vm.prank(s_owner);
    s_hub.setThreshold(1);
    vm.prank(s_owner);
    s_hub.setThreshold(2);
  }

  function _expectNotScheduled(
    bytes memory call
  ) internal {
    vm.expectRevert(abi.encodeWithSelector(SolvencyOracleBase.ChangeNotScheduled.selector, keccak256(call)));
  }

  function test_everyTrustChange_IsTimelocked() public {
    address vault = makeAddr("vault");
    vm.startPrank(s_owner);
    _expectNotScheduled(abi.encodeCall(SolvencyOracleBase.removeSigner, (s_signerAddrs[0])));
    s_hub.removeSigner(s_signerAddrs[0]);
    _expectNotScheduled(abi.encodeCall(SolvencyOracleBase.setThreshold, (2)));
    s_hub.setThreshold(2);
    _expectNotScheduled(abi.encodeCall(SolvencyOracleBase.setPolicyDigest, (keccak256("another policy"))));
    s_hub.setPolicyDigest(keccak256("another policy"));
    _expectNotScheduled(abi.encodeCall(SolvencyOracleBase.setVault, (vault)));
    s_hub.setVault(vault);
    _expectNotScheduled(abi.encodeCall(SolvencyOracleBase.setConfigTimelock, (0)));
    s_hub.setConfigTimelock(0);
    // What does not change who is trusted stays immediate.
    s_hub.setReporter(makeAddr("reporter"));
    s_hub.setMaxValidity(1 hours);
    s_hub.invalidateLatest();
    vm.stopPrank();
  }

  function test_scheduleChange_RevertWhen_NotATimelockedChange() public {
    bytes memory call = abi.encodeCall(SolvencyOracleBase.setReporter, (makeAddr("reporter")));
    vm.expectRevert(
      abi.encodeWithSelector(SolvencyOracleBase.NotATimelockedChange.selector, SolvencyOracleBase.setReporter.selector)
    );
    vm.prank(s_owner);
    s_hub.scheduleChange(call);
    vm.expectRevert(abi.encodeWithSelector(SolvencyOracleBase.NotATimelockedChange.selector, bytes4(0)));
    vm.prank(s_owner);
    s_hub.scheduleChange(hex"01");
  }

  function test_scheduleAndCancel_OnlyOwner() public {
    bytes memory call = abi.encodeCall(SolvencyOracleBase.setThreshold, (2));
    vm.expectRevert(Ownable2Step.OnlyCallableByOwner.selector);
    s_hub.scheduleChange(call);
    bytes32 changeId = _schedule(call);
    vm.expectRevert(Ownable2Step.OnlyCallableByOwner.selector);
    s_hub.cancelChange(changeId);
    vm.expectRevert(Ownable2Step.OnlyCallableByOwner.selector);
    s_hub.setConfigTimelock(TIMELOCK * 2);
  }

  function test_cancelChange_WithdrawsASchedule() public {
    bytes32 changeId = _schedule(abi.encodeCall(SolvencyOracleBase.setThreshold, (2)));
    vm.expectEmit(address(s_hub));
    emit SolvencyOracleBase.ChangeCancelled(changeId);
    vm.prank(s_owner);
    s_hub.cancelChange(changeId);
    vm.warp(block.timestamp + TIMELOCK);
    vm.expectRevert(abi.encodeWithSelector(SolvencyOracleBase.ChangeNotScheduled.selector, changeId));
    vm.prank(s_owner);
    s_hub.setThreshold(2);
    vm.expectRevert(abi.encodeWithSelector(SolvencyOracleBase.ChangeNotScheduled.selector, changeId));
    vm.prank(s_owner);
    s_hub.cancelChange(changeId);
  }

  function test_setConfigTimelock_LongerAtOnceShorterOnlyScheduled() public {
    vm.prank(s_owner);
    s_hub.setConfigTimelock(TIMELOCK * 2);
    assertEq(s_hub.getConfigTimelock(), TIMELOCK * 2);
    bytes memory call = abi.encodeCall(SolvencyOracleBase.setConfigTimelock, (0));
    vm.expectRevert(abi.encodeWithSelector(SolvencyOracleBase.ChangeNotScheduled.selector, keccak256(call)));
    vm.prank(s_owner);
    s_hub.setConfigTimelock(0);
    _schedule(call);
    vm.warp(block.timestamp + TIMELOCK * 2);
    vm.prank(s_owner);
    s_hub.setConfigTimelock(0);
    assertEq(s_hub.getConfigTimelock(), 0);
    // Without a timelock, changes are immediate again.
    vm.prank(s_owner);
    s_hub.setThreshold(2);
  }

  function testFuzz_noChangeBeforeItsTime(
    uint64 wait
  ) public {
    wait = uint64(bound(wait, 0, TIMELOCK - 1));
    _schedule(abi.encodeCall(SolvencyOracleBase.setThreshold, (2)));
    vm.warp(block.timestamp + wait);
    vm.expectRevert();
    vm.prank(s_owner);
    s_hub.setThreshold(2);
  }
}

/// @notice Why the timelock is there: an owner sees a trust change scheduled and leaves, under
/// the signers it trusted, before the change can be made.
contract SolvencyOracleBase_timelockVault is VaultTest {
  function test_anOwnerLeavesBeforeAScheduledSignerCanBeAdded() public {
    // Longer than the vault's withdrawal delay plus an epoch.
    uint64 timelock = WITHDRAWAL_DELAY + 1 hours;
    vm.prank(s_owner);
    s_spoke.setConfigTimelock(timelock);
    _fund(s_alice, 1000e6);
    vm.prank(s_alice);
    s_vault.deposit(1000e6);

    address rogue = makeAddr("rogue");
    uint64 expiresAt = uint64(block.timestamp + 30 days);
    vm.prank(s_owner);
    bytes32 changeId =
      s_spoke.scheduleChange(abi.encodeCall(SolvencyOracleBase.setSigner, (rogue, expiresAt, bytes32(0))));
    uint64 readyAt = s_spoke.getScheduledChange(changeId);

    // Alice sees it and asks for everything back; the signers she trusted authorize it.
    SolvencyAttestation.Authorization memory auth = _auth(s_alice, 1000e6, keccak256("alice leaves"));
    bytes32[] memory proof = _commitAuth(auth);
    s_vault.queueWithdrawal(auth, proof);
    vm.warp(block.timestamp + WITHDRAWAL_DELAY);
    assertLt(block.timestamp, readyAt, "paid before the change can be made");
    s_vault.executeWithdrawal(auth, proof);
    assertEq(s_token.balanceOf(s_alice), 1000e6);

    // The rogue signer could not have been added in the meantime.
    vm.expectRevert(abi.encodeWithSelector(SolvencyOracleBase.ChangeNotReady.selector, changeId, readyAt));
    vm.prank(s_owner);
    s_spoke.setSigner(rogue, expiresAt, bytes32(0));
  }
}
