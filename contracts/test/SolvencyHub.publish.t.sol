// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {SolvencyHub} from "../src/SolvencyHub.sol";
import {SolvencySpoke} from "../src/SolvencySpoke.sol";
import {SolvencyOracleBase} from "../src/SolvencyOracleBase.sol";
import {SolvencyAttestation} from "../src/libraries/SolvencyAttestation.sol";
import {BaseTest} from "./helpers/BaseTest.t.sol";

import {Client} from "@chainlink/contracts-ccip/contracts/libraries/Client.sol";

contract SolvencyHub_publish is BaseTest {
  SolvencySpoke[] internal s_spokes;
  uint64[] internal s_spokeSelectors;

  function setUp() public override {
    super.setUp();
    _configureSigners(s_hub, 3, 2);
    _addSpoke(SPOKE_A);
  }

  /// @dev A loopback spoke on `selector`: the hub's sends reach it through the mock router.
  function _addSpoke(
    uint64 selector
  ) internal {
    SolvencySpoke spoke = _deploySpoke(selector, SEPOLIA, address(s_hub));
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

  /// @dev An attestation over the registered chains, chained to the root the hub holds.
  function _signed(
    uint64 epoch,
    bool solvent
  )
    internal
    view
    returns (
      SolvencyAttestation.Attestation memory a,
      bytes[] memory signatures,
      SolvencyAttestation.ChainMessage[] memory messages
    )
  {
    a = _attestation(epoch, solvent);
    a.parentLedgerRoot = s_hub.getLedgerRoot();
    messages = _commitChains(a, _chains());
    signatures = _signSorted(a, _firstSigners(2));
  }

  /// @dev Commits `a` to `leaves` (ascending), signs it, and returns the messages.
  function _signedOver(
    SolvencyAttestation.Attestation memory a,
    SolvencyAttestation.ChainLeaf[] memory leaves
  ) internal view returns (bytes[] memory signatures, SolvencyAttestation.ChainMessage[] memory messages) {
    (a.chainsRoot, messages) = _tree(leaves);
    signatures = _signSorted(a, _firstSigners(2));
  }

  function _deliverReport(
    uint64 selector,
    address sender,
    uint64 seq,
    uint64 logCount,
    bytes32 logHead
  ) internal {
    vm.prank(address(s_router));
    s_hub.ccipReceive(
      Client.Any2EVMMessage({
        messageId: keccak256(abi.encode(selector, seq, logCount, logHead)),
        sourceChainSelector: selector,
        sender: abi.encode(sender),
        data: abi.encode(seq, bytes("enc||ciphertext"), logCount, logHead),
        destTokenAmounts: new Client.EVMTokenAmount[](0)
      })
    );
  }

  /// @dev Leaves for the hub (local report `hubSeq`, no vault) and SPOKE_A (report `spokeSeq`
  /// with the given head), ascending (hub first).
  function _leavesWithReports(
    uint64 hubSeq,
    uint64 spokeSeq,
    uint64 spokeCount,
    bytes32 spokeHead
  ) internal pure returns (SolvencyAttestation.ChainLeaf[] memory leaves) {
    leaves = new SolvencyAttestation.ChainLeaf[](2);
    leaves[0] = _chainLeaf(HUB_SELECTOR, address(0));
    leaves[0].reportSeq = hubSeq;
    leaves[1] = _chainLeaf(SPOKE_A, address(0));
    (leaves[1].reportSeq, leaves[1].logCount, leaves[1].logHead) = (spokeSeq, spokeCount, spokeHead);
  }

  /// @dev A hub report (no vault: head zero) as seq 5, and SPOKE_A's report as seq 9 with head
  /// (3, "head-3").
  function _receiveReports() internal {
    vm.prank(s_reporter);
    s_hub.submitReport(5, "sealed-hub-report");
    _deliverReport(SPOKE_A, address(s_spokes[0]), 9, 3, keccak256("head-3"));
  }

  // ================================================================
  // │                     Storing and sending                      │
  // ================================================================

  function test_publish_StoresAndReachesEverySpoke() public {
    _addSpoke(SPOKE_B);
    (SolvencyAttestation.Attestation memory a, bytes[] memory sigs, SolvencyAttestation.ChainMessage[] memory ms) =
      _signed(1, true);

    vm.expectEmit(address(s_hub));
    emit SolvencyOracleBase.AttestationAccepted(1, true, a.validUntil, _digest(a));
    vm.expectEmit(address(s_hub));
    emit SolvencyHub.InstructionDelivered(1, _instruction(HUB_SELECTOR));
    bytes32[] memory ids = s_hub.publish(a, sigs, ms);

    assertEq(ids.length, 2);
    assertTrue(s_hub.isSolvent());
    assertEq(s_hub.latestAttestation().epoch, 1);
    assertEq(s_hub.getLedgerRoot(), a.ledgerRoot, "the hub holds the new ledger root");
    (SolvencyAttestation.ChainLeaf memory hubLeaf, uint64 receivedAt) = s_hub.latestLeaf();
    assertEq(_leafHash(hubLeaf), _leafHash(_chainLeaf(HUB_SELECTOR, address(0))), "the hub keeps its own leaf");
    assertEq(receivedAt, block.timestamp);
    for (uint256 i = 0; i < s_spokes.length; ++i) {
      assertTrue(s_spokes[i].isSolvent());
      assertEq(s_spokes[i].latestAttestation().epoch, 1);
      assertEq(s_spokes[i].latestAttestation().reportsDigest, a.reportsDigest);
      (SolvencyAttestation.ChainLeaf memory leaf,) = s_spokes[i].latestLeaf();
      assertEq(leaf.chainSelector, s_spokeSelectors[i], "each spoke got its own leaf");
    }
  }

  function test_publish_PaysFeesFromBalance() public {
    s_router.setFee(0.01 ether);
    _addSpoke(SPOKE_B);
    (SolvencyAttestation.Attestation memory a, bytes[] memory sigs, SolvencyAttestation.ChainMessage[] memory ms) =
      _signed(1, true);
    uint256 before = address(s_hub).balance;
    assertEq(s_hub.quotePublish(a, sigs, ms), 0.02 ether);
    s_hub.publish(a, sigs, ms);
    assertEq(before - address(s_hub).balance, 0.02 ether);
    assertEq(address(s_router).balance, 0.02 ether);
  }

  function test_publish_RevertWhen_FeeBalanceShort() public {
    s_router.setFee(6 ether);
    _addSpoke(SPOKE_B);
    (SolvencyAttestation.Attestation memory a, bytes[] memory sigs, SolvencyAttestation.ChainMessage[] memory ms) =
      _signed(1, true);
    vm.expectRevert(abi.encodeWithSelector(SolvencyHub.InsufficientFeeBalance.selector, 12 ether, 10 ether));
    s_hub.publish(a, sigs, ms);
    assertEq(s_hub.latestAttestation().epoch, 0, "nothing stored");
  }

  // ================================================================
  // │                  Attestation-level refusals                  │
  // ================================================================

  function test_publish_RevertWhen_EpochNotIncreasing() public {
    (SolvencyAttestation.Attestation memory a, bytes[] memory sigs, SolvencyAttestation.ChainMessage[] memory ms) =
      _signed(5, true);
    s_hub.publish(a, sigs, ms);
    (a, sigs, ms) = _signed(5, false);
    vm.expectRevert(abi.encodeWithSelector(SolvencyHub.EpochNotIncreasing.selector, 5, 5));
    s_hub.publish(a, sigs, ms);
    (a, sigs, ms) = _signed(4, false);
    vm.expectRevert(abi.encodeWithSelector(SolvencyHub.EpochNotIncreasing.selector, 4, 5));
    s_hub.publish(a, sigs, ms);
  }

  function test_publish_RevertWhen_AlreadyExpired() public {
    (SolvencyAttestation.Attestation memory a,, SolvencyAttestation.ChainMessage[] memory ms) = _signed(1, true);
    a.validUntil = uint64(block.timestamp - 1);
    bytes[] memory sigs = _signSorted(a, _firstSigners(2));
    vm.expectRevert(abi.encodeWithSelector(SolvencyHub.AttestationExpired.selector, a.validUntil, block.timestamp));
    s_hub.publish(a, sigs, ms);
  }

  function test_publish_RevertWhen_ValidityTooLong() public {
    (SolvencyAttestation.Attestation memory a,, SolvencyAttestation.ChainMessage[] memory ms) = _signed(1, true);
    a.validUntil = uint64(block.timestamp + 2 days);
    bytes[] memory sigs = _signSorted(a, _firstSigners(2));
    vm.expectRevert(
      abi.encodeWithSelector(SolvencyOracleBase.ValidityTooLong.selector, a.validUntil, block.timestamp + 1 days)
    );
    s_hub.publish(a, sigs, ms);
  }

  function test_publish_RevertWhen_JudgedByAnotherPolicy() public {
    (SolvencyAttestation.Attestation memory a,, SolvencyAttestation.ChainMessage[] memory ms) = _signed(1, true);
    a.policyDigest = keccak256("a friendlier policy");
    bytes[] memory sigs = _signSorted(a, _firstSigners(2));
    vm.expectRevert(abi.encodeWithSelector(SolvencyOracleBase.PolicyMismatch.selector, POLICY_DIGEST, a.policyDigest));
    s_hub.publish(a, sigs, ms);
  }

  function test_publish_RevertWhen_WrongDeployment() public {
    (SolvencyAttestation.Attestation memory a,, SolvencyAttestation.ChainMessage[] memory ms) = _signed(1, true);
    a.deploymentId = keccak256("another deployment");
    bytes[] memory sigs = _signSorted(a, _firstSigners(2));
    vm.expectRevert(abi.encodeWithSelector(SolvencyOracleBase.WrongDeployment.selector, DEPLOYMENT_ID, a.deploymentId));
    s_hub.publish(a, sigs, ms);
  }

  function test_publish_RevertWhen_BelowThreshold() public {
    (SolvencyAttestation.Attestation memory a,, SolvencyAttestation.ChainMessage[] memory ms) = _signed(1, true);
    bytes[] memory sigs = _signSorted(a, _firstSigners(1));
    vm.expectRevert(abi.encodeWithSelector(SolvencyOracleBase.NotEnoughSignatures.selector, 1, 2));
    s_hub.publish(a, sigs, ms);
  }

  function test_publish_RevertWhen_NoSignerSetConfigured() public {
    vm.prank(s_owner);
    SolvencyHub bare = new SolvencyHub(address(s_router), HUB_SELECTOR, DEPLOYMENT_ID, ATTESTATION_GAS_LIMIT);
    SolvencyAttestation.Attestation memory a = _attestation(1, true);
    uint64[] memory chains = new uint64[](1);
    chains[0] = HUB_SELECTOR;
    SolvencyAttestation.ChainMessage[] memory ms = _commitChains(a, chains);
    bytes[] memory sigs = _signSorted(a, _firstSigners(2));
    vm.expectRevert(abi.encodeWithSelector(SolvencyOracleBase.NotEnoughSignatures.selector, 2, 0));
    bare.publish(a, sigs, ms);
  }

  // ================================================================
  // │                      Chained ledger roots                    │
  // ================================================================

  function test_publish_ChainsLedgerRoots() public {
    (SolvencyAttestation.Attestation memory a, bytes[] memory sigs, SolvencyAttestation.ChainMessage[] memory ms) =
      _signed(1, true);
    assertEq(a.parentLedgerRoot, bytes32(0), "the first parent is zero");
    s_hub.publish(a, sigs, ms);
    (a, sigs, ms) = _signed(2, true);
    assertEq(a.parentLedgerRoot, _ledgerRoot(1));
    s_hub.publish(a, sigs, ms);
    assertEq(s_hub.getLedgerRoot(), _ledgerRoot(2));
    assertEq(s_spokes[0].getLedgerRoot(), _ledgerRoot(2), "spokes hold it too");
  }

  /// An enclave rolled back to epoch 1's ledger signs epoch 3 on top of it: refused, whatever
  /// the signatures.
  function test_publish_RevertWhen_ParentIsNotTheHeldRoot() public {
    for (uint64 epoch = 1; epoch <= 2; ++epoch) {
      (SolvencyAttestation.Attestation memory b, bytes[] memory bs, SolvencyAttestation.ChainMessage[] memory bm) =
        _signed(epoch, true);
      s_hub.publish(b, bs, bm);
    }
    SolvencyAttestation.Attestation memory a = _attestation(3, true);
    a.parentLedgerRoot = _ledgerRoot(1);
    SolvencyAttestation.ChainMessage[] memory ms = _commitChains(a, _chains());
    bytes[] memory sigs = _signSorted(a, _firstSigners(2));
    vm.expectRevert(
      abi.encodeWithSelector(SolvencyHub.ParentLedgerRootMismatch.selector, _ledgerRoot(2), _ledgerRoot(1))
    );
    s_hub.publish(a, sigs, ms);
    vm.expectRevert(
      abi.encodeWithSelector(SolvencyHub.ParentLedgerRootMismatch.selector, _ledgerRoot(2), _ledgerRoot(1))
    );
    s_hub.quotePublish(a, sigs, ms);
    assertEq(s_hub.getLedgerRoot(), _ledgerRoot(2));
  }

  function test_publish_RevertWhen_FirstParentIsNotZero() public {
    SolvencyAttestation.Attestation memory a = _attestation(1, true);
    a.parentLedgerRoot = keccak256("a ledger this hub never held");
    SolvencyAttestation.ChainMessage[] memory ms = _commitChains(a, _chains());
    bytes[] memory sigs = _signSorted(a, _firstSigners(2));
    vm.expectRevert(
      abi.encodeWithSelector(SolvencyHub.ParentLedgerRootMismatch.selector, bytes32(0), a.parentLedgerRoot)
    );
    s_hub.publish(a, sigs, ms);
  }

  // ================================================================
  // │                    Messages and their leaves                 │
  // ================================================================

  function test_publish_RevertWhen_InstructionDoesNotMatchItsLeaf() public {
    (SolvencyAttestation.Attestation memory a, bytes[] memory sigs, SolvencyAttestation.ChainMessage[] memory ms) =
      _signed(1, true);
    ms[1].instruction = "tampered";
    vm.expectRevert(
      abi.encodeWithSelector(
        SolvencyOracleBase.InstructionHashMismatch.selector,
        ms[1].leaf.chainSelector,
        ms[1].leaf.instructionHash,
        keccak256("tampered")
      )
    );
    s_hub.publish(a, sigs, ms);
  }

  /// A leaf changed after the root was signed (here: authorizations added) is not under it.
  function test_publish_RevertWhen_LeafNotUnderChainsRoot() public {
    (SolvencyAttestation.Attestation memory a, bytes[] memory sigs, SolvencyAttestation.ChainMessage[] memory ms) =
      _signed(1, true);
    ms[1].leaf.authRoot = keccak256("authorizations the enclave never signed");
    vm.expectRevert(
      abi.encodeWithSelector(SolvencyOracleBase.InvalidLeafProof.selector, SPOKE_A, _leafHash(ms[1].leaf))
    );
    s_hub.publish(a, sigs, ms);
  }

  function test_publish_RevertWhen_ProofIsWrong() public {
    (SolvencyAttestation.Attestation memory a, bytes[] memory sigs, SolvencyAttestation.ChainMessage[] memory ms) =
      _signed(1, true);
    ms[0].proof[0] = keccak256("not the sibling");
    vm.expectRevert(
      abi.encodeWithSelector(SolvencyOracleBase.InvalidLeafProof.selector, HUB_SELECTOR, _leafHash(ms[0].leaf))
    );
    s_hub.publish(a, sigs, ms);
  }

  function test_publish_RevertWhen_HubLeafNamesAnotherVault() public {
    SolvencyAttestation.Attestation memory a = _attestation(1, true);
    SolvencyAttestation.ChainLeaf[] memory leaves = _leavesWithReports(0, 0, 0, bytes32(0));
    leaves[0].vault = address(0xBEEF);
    (bytes[] memory sigs, SolvencyAttestation.ChainMessage[] memory ms) = _signedOver(a, leaves);
    vm.expectRevert(
      abi.encodeWithSelector(SolvencyOracleBase.LeafVaultMismatch.selector, HUB_SELECTOR, address(0), address(0xBEEF))
    );
    s_hub.publish(a, sigs, ms);
  }

  function test_publish_RevertWhen_SpokeMissingFromMessages() public {
    _addSpoke(SPOKE_B);
    SolvencyAttestation.Attestation memory a = _attestation(1, true);
    uint64[] memory chains = new uint64[](2);
    chains[0] = HUB_SELECTOR;
    chains[1] = SPOKE_A;
    SolvencyAttestation.ChainMessage[] memory ms = _commitChains(a, chains);
    bytes[] memory sigs = _signSorted(a, _firstSigners(2));
    vm.expectRevert(abi.encodeWithSelector(SolvencyHub.MessageCountMismatch.selector, 3, 2));
    s_hub.publish(a, sigs, ms);
  }

  function test_publish_RevertWhen_MessageForUnknownChain() public {
    SolvencyAttestation.Attestation memory a = _attestation(1, true);
    uint64[] memory chains = new uint64[](2);
    chains[0] = HUB_SELECTOR;
    chains[1] = SPOKE_C;
    SolvencyAttestation.ChainMessage[] memory ms = _commitChains(a, chains);
    bytes[] memory sigs = _signSorted(a, _firstSigners(2));
    vm.expectRevert(abi.encodeWithSelector(SolvencyHub.MessageForUnknownChain.selector, SPOKE_C));
    s_hub.publish(a, sigs, ms);
  }

  function test_publish_RevertWhen_MessagesRepeatAChain() public {
    SolvencyAttestation.Attestation memory a = _attestation(1, true);
    uint64[] memory chains = new uint64[](2);
    chains[0] = SPOKE_A;
    chains[1] = SPOKE_A;
    SolvencyAttestation.ChainMessage[] memory ms = _commitChains(a, chains);
    bytes[] memory sigs = _signSorted(a, _firstSigners(2));
    vm.expectRevert(abi.encodeWithSelector(SolvencyHub.MessagesNotAscending.selector, 1));
    s_hub.publish(a, sigs, ms);
  }

  // ================================================================
  // │                         Report heads                         │
  // ================================================================

  function test_publish_AcceptsTheHeadsReportsCarried() public {
    _receiveReports();
    SolvencyAttestation.Attestation memory a = _attestation(1, true);
    (bytes[] memory sigs, SolvencyAttestation.ChainMessage[] memory ms) =
      _signedOver(a, _leavesWithReports(5, 9, 3, keccak256("head-3")));
    s_hub.publish(a, sigs, ms);
    (SolvencyAttestation.ChainLeaf memory leaf,) = s_spokes[0].latestLeaf();
    assertEq(leaf.reportSeq, 9);
    assertEq(leaf.logCount, 3);
    assertEq(leaf.logHead, keccak256("head-3"));
  }

  function test_publish_RevertWhen_HeadDiffersFromTheReport() public {
    _receiveReports();
    SolvencyAttestation.Attestation memory a = _attestation(1, true);
    // The host hid the report's last entry: the enclave was shown count 2.
    (bytes[] memory sigs, SolvencyAttestation.ChainMessage[] memory ms) =
      _signedOver(a, _leavesWithReports(5, 9, 2, keccak256("head-2")));
    vm.expectRevert(
      abi.encodeWithSelector(
        SolvencyHub.ReportHeadMismatch.selector, SPOKE_A, 9, 3, keccak256("head-3"), 2, keccak256("head-2")
      )
    );
    s_hub.publish(a, sigs, ms);
  }

  function test_publish_RevertWhen_ReportSeqUnknown() public {
    _receiveReports();
    SolvencyAttestation.Attestation memory a = _attestation(1, true);
    (bytes[] memory sigs, SolvencyAttestation.ChainMessage[] memory ms) =
      _signedOver(a, _leavesWithReports(5, 10, 3, keccak256("head-3")));
    vm.expectRevert(abi.encodeWithSelector(SolvencyHub.UnknownReport.selector, SPOKE_A, 10));
    s_hub.publish(a, sigs, ms);
  }

  /// The hub's own chain is checked like any other: its report 5 carried no head.
  function test_publish_RevertWhen_HubReportSeqUnknown() public {
    _receiveReports();
    SolvencyAttestation.Attestation memory a = _attestation(1, true);
    (bytes[] memory sigs, SolvencyAttestation.ChainMessage[] memory ms) =
      _signedOver(a, _leavesWithReports(6, 9, 3, keccak256("head-3")));
    vm.expectRevert(abi.encodeWithSelector(SolvencyHub.UnknownReport.selector, HUB_SELECTOR, 6));
    s_hub.publish(a, sigs, ms);
  }

  function test_publish_RevertWhen_HeadWithoutReport() public {
    SolvencyAttestation.Attestation memory a = _attestation(1, true);
    (bytes[] memory sigs, SolvencyAttestation.ChainMessage[] memory ms) =
      _signedOver(a, _leavesWithReports(0, 0, 1, keccak256("head-1")));
    vm.expectRevert(abi.encodeWithSelector(SolvencyHub.HeadWithoutReport.selector, SPOKE_A, 1, keccak256("head-1")));
    s_hub.publish(a, sigs, ms);
    // A zero count with a non-zero head is a claim too.
    (sigs, ms) = _signedOver(a, _leavesWithReports(0, 0, 0, keccak256("head-0")));
    vm.expectRevert(abi.encodeWithSelector(SolvencyHub.HeadWithoutReport.selector, SPOKE_A, 0, keccak256("head-0")));
    s_hub.publish(a, sigs, ms);
  }

  /// The first head of a (chain, seq) is the evidence: a later report under the same seq, after
  /// the vault moved, neither replaces it nor is accepted in a leaf.
  function test_publish_KeepsTheFirstHeadOfASeq() public {
    _receiveReports();
    _deliverReport(SPOKE_A, address(s_spokes[0]), 9, 4, keccak256("head-4"));
    (bool set, uint64 count, bytes32 head) = s_hub.getReportHead(SPOKE_A, 9);
    assertTrue(set);
    assertEq(count, 3);
    assertEq(head, keccak256("head-3"));

    SolvencyAttestation.Attestation memory a = _attestation(1, true);
    (bytes[] memory sigs, SolvencyAttestation.ChainMessage[] memory ms) =
      _signedOver(a, _leavesWithReports(5, 9, 4, keccak256("head-4")));
    vm.expectRevert(
      abi.encodeWithSelector(
        SolvencyHub.ReportHeadMismatch.selector, SPOKE_A, 9, 3, keccak256("head-3"), 4, keccak256("head-4")
      )
    );
    s_hub.publish(a, sigs, ms);
  }

  /// Any head but the received one is refused.
  function testFuzz_publish_RevertWhen_HeadDiffers(
    uint64 count,
    bytes32 head
  ) public {
    vm.assume(count != 3 || head != keccak256("head-3"));
    _receiveReports();
    SolvencyAttestation.Attestation memory a = _attestation(1, true);
    (bytes[] memory sigs, SolvencyAttestation.ChainMessage[] memory ms) =
      _signedOver(a, _leavesWithReports(5, 9, count, head));
    vm.expectRevert(
      abi.encodeWithSelector(SolvencyHub.ReportHeadMismatch.selector, SPOKE_A, 9, 3, keccak256("head-3"), count, head)
    );
    s_hub.publish(a, sigs, ms);
  }

  // ================================================================
  // │                             Gas                              │
  // ================================================================

  /// @dev Gas of publish against the number of destinations, for the gas snapshot. The spokes
  /// are registered at addresses without code (as they are on real, separate chains), so the
  /// figure is the hub's own cost: verification, leaf and head checks, quoting and one ccipSend
  /// per destination. The `_reportHeads` variants have every leaf name a received report, so
  /// every head is looked up; the others carry no report (`reportSeq` 0). `_steadyState` is epoch
  /// 2 over epoch 1 (the attestation's and the hub leaf's slots already written), with new
  /// instructions and reports, as every epoch after the first.
  /// forge-config: default.isolate = true
  function test_gas_publish_1Destination() public {
    _publishToRemoteSpokes(1, false, false, "publish_1destination");
  }

  /// forge-config: default.isolate = true
  function test_gas_publish_3Destinations() public {
    _publishToRemoteSpokes(3, false, false, "publish_3destinations");
  }

  /// forge-config: default.isolate = true
  function test_gas_publish_1Destination_reportHeads() public {
    _publishToRemoteSpokes(1, true, false, "publish_1destination_reportHeads");
  }

  /// forge-config: default.isolate = true
  function test_gas_publish_3Destinations_reportHeads() public {
    _publishToRemoteSpokes(3, true, false, "publish_3destinations_reportHeads");
  }

  /// forge-config: default.isolate = true
  function test_gas_publish_1Destination_steadyState() public {
    _publishToRemoteSpokes(1, false, true, "publish_1destination_steadyState");
  }

  /// forge-config: default.isolate = true
  function test_gas_publish_3Destinations_steadyState() public {
    _publishToRemoteSpokes(3, false, true, "publish_3destinations_steadyState");
  }

  /// forge-config: default.isolate = true
  function test_gas_publish_1Destination_reportHeads_steadyState() public {
    _publishToRemoteSpokes(1, true, true, "publish_1destination_reportHeads_steadyState");
  }

  /// forge-config: default.isolate = true
  function test_gas_publish_3Destinations_reportHeads_steadyState() public {
    _publishToRemoteSpokes(3, true, true, "publish_3destinations_reportHeads_steadyState");
  }

  function _publishToRemoteSpokes(
    uint256 count,
    bool withReports,
    bool steadyState,
    string memory name
  ) internal {
    vm.prank(s_owner);
    SolvencyHub hub = new SolvencyHub(address(s_router), HUB_SELECTOR, DEPLOYMENT_ID, ATTESTATION_GAS_LIMIT);
    vm.startPrank(s_owner);
    hub.setPolicyDigest(POLICY_DIGEST);
    hub.setReporter(s_reporter);
    vm.stopPrank();
    vm.deal(address(hub), 1 ether);
    _configureSigners(hub, 3, 2);
    uint64[] memory chains = new uint64[](count + 1);
    chains[0] = HUB_SELECTOR;
    uint64[3] memory remote = [SPOKE_A, SPOKE_B, SPOKE_C];
    for (uint256 i = 0; i < count; ++i) {
      chains[i + 1] = remote[i];
      vm.prank(s_owner);
      hub.addSpoke(chains[i + 1], address(bytes20(keccak256(abi.encode("remote spoke", i)))));
    }
    for (uint64 epoch = 1; epoch <= (steadyState ? 2 : 1); ++epoch) {
      _publishEpoch(hub, chains, epoch, withReports, name);
    }
    assertTrue(hub.isSolvent());
  }

  /// @dev One epoch over `chains`, with new instructions (and reports), measured.
  function _publishEpoch(
    SolvencyHub hub,
    uint64[] memory chains,
    uint64 epoch,
    bool withReports,
    string memory name
  ) internal {
    SolvencyAttestation.ChainLeaf[] memory leaves = _leaves(chains);
    bytes[] memory instructions = new bytes[](leaves.length);
    for (uint256 i = 0; i < leaves.length; ++i) {
      instructions[i] = abi.encodePacked(_instruction(leaves[i].chainSelector), epoch);
      if (withReports) leaves[i] = _withReport(hub, leaves[i], epoch);
    }
    SolvencyAttestation.Attestation memory a = _attestation(epoch, true);
    a.parentLedgerRoot = hub.getLedgerRoot();
    SolvencyAttestation.ChainMessage[] memory ms;
    (a.chainsRoot, ms) = _tree(leaves, instructions);
    bytes[] memory sigs = _signSorted(a, _firstSigners(2));
    bytes32[] memory ids = hub.publish(a, sigs, ms);
    _snapshotExecutionGas("SolvencyHub", name, abi.encodeCall(SolvencyHub.publish, (a, sigs, ms)));
    assertEq(ids.length, chains.length - 1);
  }

  /// @dev Delivers the leaf's chain's report for `epoch` (seq 10 × epoch, a head of its own) and
  /// names it in the leaf.
  function _withReport(
    SolvencyHub hub,
    SolvencyAttestation.ChainLeaf memory leaf,
    uint64 epoch
  ) internal returns (SolvencyAttestation.ChainLeaf memory) {
    uint64 seq = 10 * epoch;
    if (leaf.chainSelector == HUB_SELECTOR) {
      vm.prank(s_reporter);
      hub.submitReport(seq, "sealed-hub-report");
    } else {
      address spoke = hub.getSpoke(leaf.chainSelector);
      vm.prank(address(s_router));
      hub.ccipReceive(
        Client.Any2EVMMessage({
          messageId: keccak256(abi.encode(leaf.chainSelector, seq)),
          sourceChainSelector: leaf.chainSelector,
          sender: abi.encode(spoke),
          data: abi.encode(
            seq, bytes("enc||ciphertext"), seq + 2, keccak256(abi.encode("head", leaf.chainSelector, seq))
          ),
          destTokenAmounts: new Client.EVMTokenAmount[](0)
        })
      );
    }
    leaf.reportSeq = seq;
    (, leaf.logCount, leaf.logHead) = hub.getReportHead(leaf.chainSelector, seq);
    return leaf;
  }
}
