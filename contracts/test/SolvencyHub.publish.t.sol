// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {SolvencyHub} from "../src/SolvencyHub.sol";
import {SolvencySpoke} from "../src/SolvencySpoke.sol";
import {SolvencyOracleBase} from "../src/SolvencyOracleBase.sol";
import {SolvencyAttestation} from "../src/libraries/SolvencyAttestation.sol";
import {BaseTest} from "./helpers/BaseTest.t.sol";

contract SolvencyHub_publish is BaseTest {
  uint64 internal constant SPOKE_A = 5_548_718_428_018_410_741; // test chain 90000002
  uint64 internal constant SPOKE_B = 789_068_866_484_373_046; // test chain 90000003
  uint64 internal constant SPOKE_C = 5_721_565_186_521_185_178; // test chain 90000004

  SolvencySpoke[] internal s_spokes;
  uint64[] internal s_spokeSelectors;

  function setUp() public override {
    super.setUp();
    _configureSigners(s_hub, 3, 2);
    _addSpoke(SPOKE_A);
  }

  function _addSpoke(
    uint64 selector
  ) internal {
    SolvencySpoke spoke = _deploySpoke(SEPOLIA, address(s_hub));
    _configureSigners(spoke, 3, 2);
    vm.prank(s_owner);
    s_hub.addSpoke(selector, address(spoke));
    s_spokes.push(spoke);
    s_spokeSelectors.push(selector);
  }

  function _chains() internal view returns (uint64[] memory selectors) {
    selectors = new uint64[](s_spokeSelectors.length + 1);
    selectors[0] = HUB_SELECTOR;
    for (uint256 i = 0; i < s_spokeSelectors.length; ++i) {
      selectors[i + 1] = s_spokeSelectors[i];
    }
  }

  function _signed(
    uint64 epoch,
    bool solvent
  )
    internal
    view
    returns (
      SolvencyAttestation.Attestation memory a,
      bytes[] memory signatures,
      SolvencyAttestation.Instruction[] memory instructions
    )
  {
    a = _attestation(epoch, solvent);
    instructions = _instructions(a, _chains());
    signatures = _signSorted(a, _firstSigners(2));
  }

  function test_publish_StoresAndReachesEverySpoke() public {
    _addSpoke(SPOKE_B);
    (SolvencyAttestation.Attestation memory a, bytes[] memory sigs, SolvencyAttestation.Instruction[] memory ins) =
      _signed(1, true);

    vm.expectEmit(address(s_hub));
    emit SolvencyOracleBase.AttestationAccepted(1, true, a.validUntil, _digest(a));
    bytes32[] memory ids = s_hub.publish(a, sigs, ins);

    assertEq(ids.length, 2);
    assertTrue(s_hub.isSolvent());
    assertEq(s_hub.latestAttestation().epoch, 1);
    for (uint256 i = 0; i < s_spokes.length; ++i) {
      assertTrue(s_spokes[i].isSolvent());
      assertEq(s_spokes[i].latestAttestation().epoch, 1);
      assertEq(s_spokes[i].latestAttestation().reportsDigest, a.reportsDigest);
    }
  }

  function test_publish_PaysFeesFromBalance() public {
    s_router.setFee(0.01 ether);
    _addSpoke(SPOKE_B);
    (SolvencyAttestation.Attestation memory a, bytes[] memory sigs, SolvencyAttestation.Instruction[] memory ins) =
      _signed(1, true);
    uint256 before = address(s_hub).balance;
    assertEq(s_hub.quotePublish(a, sigs, ins), 0.02 ether);
    s_hub.publish(a, sigs, ins);
    assertEq(before - address(s_hub).balance, 0.02 ether);
    assertEq(address(s_router).balance, 0.02 ether);
  }

  function test_publish_RevertWhen_FeeBalanceShort() public {
    s_router.setFee(6 ether);
    _addSpoke(SPOKE_B);
    (SolvencyAttestation.Attestation memory a, bytes[] memory sigs, SolvencyAttestation.Instruction[] memory ins) =
      _signed(1, true);
    vm.expectRevert(abi.encodeWithSelector(SolvencyHub.InsufficientFeeBalance.selector, 12 ether, 10 ether));
    s_hub.publish(a, sigs, ins);
    assertEq(s_hub.latestAttestation().epoch, 0, "nothing stored");
  }

  function test_publish_RevertWhen_EpochNotIncreasing() public {
    (SolvencyAttestation.Attestation memory a, bytes[] memory sigs, SolvencyAttestation.Instruction[] memory ins) =
      _signed(5, true);
    s_hub.publish(a, sigs, ins);
    (a, sigs, ins) = _signed(5, false);
    vm.expectRevert(abi.encodeWithSelector(SolvencyHub.EpochNotIncreasing.selector, 5, 5));
    s_hub.publish(a, sigs, ins);
    (a, sigs, ins) = _signed(4, false);
    vm.expectRevert(abi.encodeWithSelector(SolvencyHub.EpochNotIncreasing.selector, 4, 5));
    s_hub.publish(a, sigs, ins);
  }

  function test_publish_RevertWhen_AlreadyExpired() public {
    (SolvencyAttestation.Attestation memory a,, SolvencyAttestation.Instruction[] memory ins) = _signed(1, true);
    a.validUntil = uint64(block.timestamp - 1);
    bytes[] memory sigs = _signSorted(a, _firstSigners(2));
    vm.expectRevert(abi.encodeWithSelector(SolvencyHub.AttestationExpired.selector, a.validUntil, block.timestamp));
    s_hub.publish(a, sigs, ins);
  }

  function test_publish_RevertWhen_ValidityTooLong() public {
    (SolvencyAttestation.Attestation memory a,, SolvencyAttestation.Instruction[] memory ins) = _signed(1, true);
    a.validUntil = uint64(block.timestamp + 2 days);
    bytes[] memory sigs = _signSorted(a, _firstSigners(2));
    vm.expectRevert(
      abi.encodeWithSelector(SolvencyOracleBase.ValidityTooLong.selector, a.validUntil, block.timestamp + 1 days)
    );
    s_hub.publish(a, sigs, ins);
  }

  function test_publish_RevertWhen_JudgedByAnotherPolicy() public {
    (SolvencyAttestation.Attestation memory a,, SolvencyAttestation.Instruction[] memory ins) = _signed(1, true);
    a.policyDigest = keccak256("a friendlier policy");
    bytes[] memory sigs = _signSorted(a, _firstSigners(2));
    vm.expectRevert(abi.encodeWithSelector(SolvencyOracleBase.PolicyMismatch.selector, POLICY_DIGEST, a.policyDigest));
    s_hub.publish(a, sigs, ins);
  }

  function test_publish_RevertWhen_WrongDeployment() public {
    (SolvencyAttestation.Attestation memory a,, SolvencyAttestation.Instruction[] memory ins) = _signed(1, true);
    a.deploymentId = keccak256("another deployment");
    bytes[] memory sigs = _signSorted(a, _firstSigners(2));
    vm.expectRevert(abi.encodeWithSelector(SolvencyOracleBase.WrongDeployment.selector, DEPLOYMENT_ID, a.deploymentId));
    s_hub.publish(a, sigs, ins);
  }

  function test_publish_RevertWhen_InstructionsDigestMismatch() public {
    (SolvencyAttestation.Attestation memory a, bytes[] memory sigs, SolvencyAttestation.Instruction[] memory ins) =
      _signed(1, true);
    ins[1].payload = "tampered";
    vm.expectRevert(
      abi.encodeWithSelector(
        SolvencyHub.InstructionsDigestMismatch.selector, a.instructionsDigest, keccak256(abi.encode(ins))
      )
    );
    s_hub.publish(a, sigs, ins);
  }

  function test_publish_RevertWhen_SpokeMissingFromInstructions() public {
    _addSpoke(SPOKE_B);
    SolvencyAttestation.Attestation memory a = _attestation(1, true);
    uint64[] memory chains = new uint64[](2);
    chains[0] = HUB_SELECTOR;
    chains[1] = SPOKE_A;
    SolvencyAttestation.Instruction[] memory ins = _instructions(a, chains);
    bytes[] memory sigs = _signSorted(a, _firstSigners(2));
    vm.expectRevert(abi.encodeWithSelector(SolvencyHub.InstructionCountMismatch.selector, 3, 2));
    s_hub.publish(a, sigs, ins);
  }

  function test_publish_RevertWhen_InstructionForUnknownChain() public {
    SolvencyAttestation.Attestation memory a = _attestation(1, true);
    uint64[] memory chains = new uint64[](2);
    chains[0] = HUB_SELECTOR;
    chains[1] = SPOKE_C;
    SolvencyAttestation.Instruction[] memory ins = _instructions(a, chains);
    bytes[] memory sigs = _signSorted(a, _firstSigners(2));
    vm.expectRevert(abi.encodeWithSelector(SolvencyHub.InstructionForUnknownChain.selector, SPOKE_C));
    s_hub.publish(a, sigs, ins);
  }

  function test_publish_RevertWhen_InstructionsRepeatAChain() public {
    SolvencyAttestation.Attestation memory a = _attestation(1, true);
    uint64[] memory chains = new uint64[](2);
    chains[0] = SPOKE_A;
    chains[1] = SPOKE_A;
    SolvencyAttestation.Instruction[] memory ins = _instructions(a, chains);
    bytes[] memory sigs = _signSorted(a, _firstSigners(2));
    vm.expectRevert(abi.encodeWithSelector(SolvencyHub.InstructionsNotAscending.selector, 1));
    s_hub.publish(a, sigs, ins);
  }

  function test_publish_RevertWhen_BelowThreshold() public {
    (SolvencyAttestation.Attestation memory a,, SolvencyAttestation.Instruction[] memory ins) = _signed(1, true);
    bytes[] memory sigs = _signSorted(a, _firstSigners(1));
    vm.expectRevert(abi.encodeWithSelector(SolvencyOracleBase.NotEnoughSignatures.selector, 1, 2));
    s_hub.publish(a, sigs, ins);
  }

  function test_publish_RevertWhen_NoSignerSetConfigured() public {
    vm.prank(s_owner);
    SolvencyHub bare = new SolvencyHub(address(s_router), HUB_SELECTOR, DEPLOYMENT_ID, ATTESTATION_GAS_LIMIT);
    SolvencyAttestation.Attestation memory a = _attestation(1, true);
    uint64[] memory chains = new uint64[](1);
    chains[0] = HUB_SELECTOR;
    SolvencyAttestation.Instruction[] memory ins = _instructions(a, chains);
    bytes[] memory sigs = _signSorted(a, _firstSigners(2));
    vm.expectRevert(abi.encodeWithSelector(SolvencyOracleBase.NotEnoughSignatures.selector, 2, 0));
    bare.publish(a, sigs, ins);
  }

  /// @dev Gas of publish against the number of destinations, for the gas snapshot. The spokes
  /// are registered at addresses without code (as they are on real, separate chains), so the
  /// figure is the hub's own cost: verification, quoting and one ccipSend per destination.
  function test_gas_publish_1Destination() public {
    _publishToRemoteSpokes(1, "publish_1destination");
  }

  function test_gas_publish_3Destinations() public {
    _publishToRemoteSpokes(3, "publish_3destinations");
  }

  function _publishToRemoteSpokes(
    uint256 count,
    string memory name
  ) internal {
    vm.prank(s_owner);
    SolvencyHub hub = new SolvencyHub(address(s_router), HUB_SELECTOR, DEPLOYMENT_ID, ATTESTATION_GAS_LIMIT);
    vm.prank(s_owner);
    hub.setPolicyDigest(POLICY_DIGEST);
    vm.deal(address(hub), 1 ether);
    _configureSigners(hub, 3, 2);
    uint64[] memory chains = new uint64[](count + 1);
    chains[0] = HUB_SELECTOR;
    uint64[3] memory remote = [SPOKE_A, SPOKE_B, SPOKE_C];
    for (uint256 i = 0; i < count; ++i) {
      vm.prank(s_owner);
      hub.addSpoke(remote[i], address(bytes20(keccak256(abi.encode("remote spoke", i)))));
      chains[i + 1] = remote[i];
    }
    SolvencyAttestation.Attestation memory a = _attestation(1, true);
    SolvencyAttestation.Instruction[] memory ins = _instructions(a, chains);
    bytes[] memory sigs = _signSorted(a, _firstSigners(2));
    bytes32[] memory ids = hub.publish(a, sigs, ins);
    vm.snapshotGasLastCall("SolvencyHub", name);
    assertEq(ids.length, count);
    assertTrue(hub.isSolvent());
  }
}
