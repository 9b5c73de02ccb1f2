// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {SolvencyHub} from "../src/SolvencyHub.sol";
import {SolvencySpoke} from "../src/SolvencySpoke.sol";
import {SolvencyOracleBase} from "../src/SolvencyOracleBase.sol";
import {BaseTest} from "./helpers/BaseTest.t.sol";

import {Ownable2Step} from "@chainlink/contracts/src/v0.8/shared/access/Ownable2Step.sol";

/// @notice Owner operations of the hub and spokes: signers, threshold, reporter, spokes, fees.
contract SolvencyOracleBase_owner is BaseTest {
  function test_setSigner_RegistersAndEmits() public {
    uint64 expiresAt = uint64(block.timestamp + 1 days);
    vm.expectEmit(address(s_hub));
    emit SolvencyOracleBase.SignerSet(s_signerAddrs[0], expiresAt, keccak256("evidence"));
    vm.prank(s_owner);
    s_hub.setSigner(s_signerAddrs[0], expiresAt, keccak256("evidence"));
    (address[] memory signers,) = s_hub.getSigners();
    assertEq(signers.length, 1);
    assertEq(s_hub.getSigner(s_signerAddrs[0]).evidenceDigest, keccak256("evidence"));
  }

  function test_setSigner_RenewalDoesNotDuplicate() public {
    vm.startPrank(s_owner);
    s_hub.setSigner(s_signerAddrs[0], uint64(block.timestamp + 1 days), keccak256("a"));
    s_hub.setSigner(s_signerAddrs[0], uint64(block.timestamp + 2 days), keccak256("b"));
    vm.stopPrank();
    (address[] memory signers,) = s_hub.getSigners();
    assertEq(signers.length, 1);
    assertEq(s_hub.getSigner(s_signerAddrs[0]).expiresAt, block.timestamp + 2 days);
  }

  function test_setSigner_RevertWhen_EvidenceReplayed() public {
    vm.startPrank(s_owner);
    s_hub.setSigner(s_signerAddrs[0], uint64(block.timestamp + 1 days), keccak256("evidence-1"));
    // Renewal needs fresh evidence: the same document again is a replay.
    vm.expectRevert(abi.encodeWithSelector(SolvencyOracleBase.EvidenceAlreadyUsed.selector, keccak256("evidence-1")));
    s_hub.setSigner(s_signerAddrs[0], uint64(block.timestamp + 2 days), keccak256("evidence-1"));
    // Nor can another signer be registered with it.
    vm.expectRevert(abi.encodeWithSelector(SolvencyOracleBase.EvidenceAlreadyUsed.selector, keccak256("evidence-1")));
    s_hub.setSigner(s_signerAddrs[1], uint64(block.timestamp + 2 days), keccak256("evidence-1"));
    s_hub.setSigner(s_signerAddrs[0], uint64(block.timestamp + 2 days), keccak256("evidence-2"));
    vm.stopPrank();
    assertEq(s_hub.getSigner(s_signerAddrs[0]).evidenceDigest, keccak256("evidence-2"));
  }

  function test_setSigner_RevertWhen_ExpiryInPast() public {
    vm.expectRevert(abi.encodeWithSelector(SolvencyOracleBase.InvalidExpiry.selector, uint64(block.timestamp)));
    vm.prank(s_owner);
    s_hub.setSigner(s_signerAddrs[0], uint64(block.timestamp), bytes32(0));
  }

  function test_removeSigner_RevertWhen_ThresholdWouldBeUnreachable() public {
    _configureSigners(s_hub, 2, 2);
    vm.expectRevert(abi.encodeWithSelector(SolvencyOracleBase.InvalidThreshold.selector, 2, 1));
    vm.prank(s_owner);
    s_hub.removeSigner(s_signerAddrs[0]);
  }

  function test_removeSigner_RemovesAndEmits() public {
    _configureSigners(s_hub, 3, 2);
    vm.expectEmit(address(s_hub));
    emit SolvencyOracleBase.SignerRemoved(s_signerAddrs[0]);
    vm.prank(s_owner);
    s_hub.removeSigner(s_signerAddrs[0]);
    (address[] memory signers, uint8 threshold) = s_hub.getSigners();
    assertEq(signers.length, 2);
    assertEq(threshold, 2);
    assertEq(s_hub.getSigner(s_signerAddrs[0]).expiresAt, 0);
  }

  function test_setThreshold_RevertWhen_AboveSignerCount() public {
    _configureSigners(s_hub, 2, 1);
    vm.expectRevert(abi.encodeWithSelector(SolvencyOracleBase.InvalidThreshold.selector, 3, 2));
    vm.prank(s_owner);
    s_hub.setThreshold(3);
  }

  function test_setThreshold_RevertWhen_Zero() public {
    _configureSigners(s_hub, 2, 1);
    vm.expectRevert(abi.encodeWithSelector(SolvencyOracleBase.InvalidThreshold.selector, 0, 2));
    vm.prank(s_owner);
    s_hub.setThreshold(0);
  }

  function test_setPolicyDigest_Emits() public {
    vm.expectEmit(address(s_hub));
    emit SolvencyOracleBase.PolicyDigestSet(keccak256("policy v2"));
    vm.prank(s_owner);
    s_hub.setPolicyDigest(keccak256("policy v2"));
    assertEq(s_hub.getPolicyDigest(), keccak256("policy v2"));
  }

  function test_setReporter_Emits() public {
    vm.expectEmit(address(s_hub));
    emit SolvencyOracleBase.ReporterSet(s_reporter, address(0xCAFE));
    vm.prank(s_owner);
    s_hub.setReporter(address(0xCAFE));
    assertEq(s_hub.getReporter(), address(0xCAFE));
  }

  function test_addSpoke_RevertWhen_AlreadyRegisteredOrLocal() public {
    vm.startPrank(s_owner);
    s_hub.addSpoke(1, address(0x1));
    vm.expectRevert(abi.encodeWithSelector(SolvencyHub.SpokeAlreadyRegistered.selector, 1, address(0x1)));
    s_hub.addSpoke(1, address(0x2));
    vm.expectRevert(abi.encodeWithSelector(SolvencyOracleBase.InvalidChainSelector.selector, HUB_SELECTOR));
    s_hub.addSpoke(HUB_SELECTOR, address(0x2));
    vm.stopPrank();
  }

  /// Each oracle knows its own chain: a zero selector, or a spoke whose hub is on its own chain,
  /// is refused at deployment.
  function test_constructor_RevertWhen_LocalSelectorInvalid() public {
    vm.expectRevert(abi.encodeWithSelector(SolvencyOracleBase.InvalidChainSelector.selector, 0));
    new SolvencyHub(address(s_router), 0, DEPLOYMENT_ID, ATTESTATION_GAS_LIMIT);
    vm.expectRevert(abi.encodeWithSelector(SolvencyOracleBase.InvalidChainSelector.selector, 0));
    new SolvencySpoke(address(s_router), 0, HUB_SELECTOR, address(0x4B1B), DEPLOYMENT_ID, REPORT_GAS_LIMIT);
    vm.expectRevert(abi.encodeWithSelector(SolvencySpoke.InvalidHub.selector, SPOKE_A, address(0x4B1B)));
    new SolvencySpoke(address(s_router), SPOKE_A, SPOKE_A, address(0x4B1B), DEPLOYMENT_ID, REPORT_GAS_LIMIT);
    SolvencySpoke spoke =
      new SolvencySpoke(address(s_router), SPOKE_A, HUB_SELECTOR, address(0x4B1B), DEPLOYMENT_ID, REPORT_GAS_LIMIT);
    assertEq(spoke.getLocalChainSelector(), SPOKE_A);
    assertEq(s_hub.getLocalChainSelector(), HUB_SELECTOR);
  }

  function test_removeSpoke_KeepsTheOthers() public {
    vm.startPrank(s_owner);
    s_hub.addSpoke(1, address(0x1));
    s_hub.addSpoke(2, address(0x2));
    s_hub.addSpoke(3, address(0x3));
    vm.expectEmit(address(s_hub));
    emit SolvencyHub.SpokeRemoved(1, address(0x1));
    s_hub.removeSpoke(1);
    vm.stopPrank();
    (uint64[] memory selectors, address[] memory spokes) = s_hub.getSpokes();
    assertEq(selectors.length, 2);
    assertEq(spokes[0], address(0x3));
    assertEq(spokes[1], address(0x2));
    assertEq(s_hub.getSpoke(1), address(0));
  }

  function test_withdrawFees_SendsAndEmits() public {
    address payable to = payable(makeAddr("treasury"));
    vm.expectEmit(address(s_hub));
    emit SolvencyOracleBase.FeesWithdrawn(to, 1 ether);
    vm.prank(s_owner);
    s_hub.withdrawFees(to, 1 ether);
    assertEq(to.balance, 1 ether);
  }

  function test_setAttestationGasLimit_Emits() public {
    vm.expectEmit(address(s_hub));
    emit SolvencyHub.AttestationGasLimitSet(500_000);
    vm.prank(s_owner);
    s_hub.setAttestationGasLimit(500_000);
    assertEq(s_hub.getAttestationGasLimit(), 500_000);
  }

  function test_setReportGasLimit_Emits() public {
    SolvencySpoke spoke = _deploySpoke(SPOKE_A, HUB_SELECTOR, address(0x4B1B));
    vm.expectEmit(address(spoke));
    emit SolvencySpoke.ReportGasLimitSet(250_000);
    vm.prank(s_owner);
    spoke.setReportGasLimit(250_000);
    assertEq(spoke.getReportGasLimit(), 250_000);
  }

  /// Every owner operation refuses anyone else.
  function testFuzz_ownerOperations_RevertWhen_NotOwner(
    address caller
  ) public {
    vm.assume(caller != s_owner);
    SolvencySpoke spoke = _deploySpoke(SPOKE_A, HUB_SELECTOR, address(0x4B1B));
    vm.startPrank(caller);
    vm.expectRevert(Ownable2Step.OnlyCallableByOwner.selector);
    s_hub.setSigner(caller, uint64(block.timestamp + 1), bytes32(0));
    vm.expectRevert(Ownable2Step.OnlyCallableByOwner.selector);
    s_hub.removeSigner(caller);
    vm.expectRevert(Ownable2Step.OnlyCallableByOwner.selector);
    s_hub.setThreshold(1);
    vm.expectRevert(Ownable2Step.OnlyCallableByOwner.selector);
    s_hub.setReporter(caller);
    vm.expectRevert(Ownable2Step.OnlyCallableByOwner.selector);
    s_hub.addSpoke(1, caller);
    vm.expectRevert(Ownable2Step.OnlyCallableByOwner.selector);
    s_hub.removeSpoke(1);
    vm.expectRevert(Ownable2Step.OnlyCallableByOwner.selector);
    s_hub.withdrawFees(payable(caller), 1);
    vm.expectRevert(Ownable2Step.OnlyCallableByOwner.selector);
    s_hub.setAttestationGasLimit(1);
    vm.expectRevert(Ownable2Step.OnlyCallableByOwner.selector);
    spoke.setReportGasLimit(1);
    vm.expectRevert(Ownable2Step.OnlyCallableByOwner.selector);
    s_hub.setMaxValidity(1);
    vm.expectRevert(Ownable2Step.OnlyCallableByOwner.selector);
    s_hub.invalidateLatest();
    vm.expectRevert(Ownable2Step.OnlyCallableByOwner.selector);
    s_hub.setPolicyDigest(bytes32(0));
    vm.expectRevert(Ownable2Step.OnlyCallableByOwner.selector);
    spoke.setSigner(caller, uint64(block.timestamp + 1), bytes32(0));
    vm.stopPrank();
  }
}
