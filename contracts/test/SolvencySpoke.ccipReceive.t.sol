// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {SolvencySpoke} from "../src/SolvencySpoke.sol";
import {SolvencyOracleBase} from "../src/SolvencyOracleBase.sol";
import {SolvencyAttestation} from "../src/libraries/SolvencyAttestation.sol";
import {BaseTest} from "./helpers/BaseTest.t.sol";

import {CCIPReceiver} from "@chainlink/contracts-ccip/contracts/applications/CCIPReceiver.sol";
import {Client} from "@chainlink/contracts-ccip/contracts/libraries/Client.sol";

contract SolvencySpoke_ccipReceive is BaseTest {
  /// The hub lives on another chain: the spoke only knows its selector and address.
  address internal constant REMOTE_HUB = address(0x4B1B);

  SolvencySpoke internal s_spoke;

  function setUp() public override {
    super.setUp();
    s_spoke = _deploySpoke(SPOKE_A, HUB_SELECTOR, REMOTE_HUB);
    _configureSigners(s_spoke, 3, 2);
  }

  function _deliver(
    Client.Any2EVMMessage memory message
  ) internal {
    vm.prank(address(s_router));
    s_spoke.ccipReceive(message);
  }

  function _deliverSigned(
    uint64 epoch,
    bool solvent,
    uint256 signers
  ) internal {
    SolvencyAttestation.Attestation memory a = _attestation(epoch, solvent);
    _deliver(_attestationMessage(HUB_SELECTOR, REMOTE_HUB, a, _signSorted(a, _firstSigners(signers))));
  }

  function test_ccipReceive_StoresAttestationAndInstruction() public {
    SolvencyAttestation.Attestation memory a = _attestation(7, true);
    Client.Any2EVMMessage memory message =
      _attestationMessage(HUB_SELECTOR, REMOTE_HUB, a, _signSorted(a, _firstSigners(2)));
    vm.expectEmit(address(s_spoke));
    emit SolvencyOracleBase.AttestationAccepted(7, true, a.validUntil, _digest(a));
    vm.expectEmit(address(s_spoke));
    emit SolvencySpoke.InstructionDelivered(7, _instruction(SPOKE_A));
    vm.warp(block.timestamp + 5);
    _deliver(message);
    assertTrue(s_spoke.isSolvent());
    SolvencyAttestation.Attestation memory stored = s_spoke.latestAttestation();
    assertEq(stored.epoch, 7);
    assertEq(stored.validUntil, a.validUntil);
    assertEq(stored.reportsDigest, a.reportsDigest);
    assertEq(stored.chainsRoot, a.chainsRoot);
    assertEq(s_spoke.getLedgerRoot(), a.ledgerRoot);
    (SolvencyAttestation.ChainLeaf memory leaf, uint64 receivedAt) = s_spoke.latestLeaf();
    assertEq(_leafHash(leaf), _leafHash(_chainLeaf(SPOKE_A, address(0))), "its own leaf is kept");
    assertEq(receivedAt, block.timestamp, "with the instant it arrived");
  }

  function test_ccipReceive_InsolventReadsFalse() public {
    _deliverSigned(1, false, 2);
    assertFalse(s_spoke.isSolvent());
    assertEq(s_spoke.latestAttestation().epoch, 1);
  }

  function test_ccipReceive_NotSolventBeforeFirstAttestation() public view {
    assertFalse(s_spoke.isSolvent());
  }

  function test_ccipReceive_RevertWhen_NotFromRouter() public {
    SolvencyAttestation.Attestation memory a = _attestation(1, true);
    Client.Any2EVMMessage memory message =
      _attestationMessage(HUB_SELECTOR, REMOTE_HUB, a, _signSorted(a, _firstSigners(2)));
    vm.expectRevert(abi.encodeWithSelector(CCIPReceiver.InvalidRouter.selector, address(this)));
    s_spoke.ccipReceive(message);
  }

  function test_ccipReceive_RevertWhen_UnknownSender() public {
    SolvencyAttestation.Attestation memory a = _attestation(1, true);
    bytes[] memory sigs = _signSorted(a, _firstSigners(2));
    Client.Any2EVMMessage memory message = _attestationMessage(HUB_SELECTOR, address(0xBAD), a, sigs);
    vm.expectRevert(
      abi.encodeWithSelector(SolvencySpoke.UnknownSender.selector, HUB_SELECTOR, abi.encode(address(0xBAD)))
    );
    _deliver(message);
  }

  function test_ccipReceive_RevertWhen_SignatureIsMalleated() public {
    SolvencyAttestation.Attestation memory a = _attestation(1, true);
    bytes[] memory sigs = _signSorted(a, _firstSigners(2));
    sigs[1] = _malleate(sigs[1]);
    vm.expectRevert(abi.encodeWithSelector(SolvencyOracleBase.InvalidSignature.selector, 1));
    _deliver(_attestationMessage(HUB_SELECTOR, REMOTE_HUB, a, sigs));
  }

  function test_ccipReceive_RevertWhen_SignerExpired() public {
    SolvencyAttestation.Attestation memory a = _attestation(1, true);
    bytes[] memory sigs = _signSorted(a, _firstSigners(2));
    vm.warp(block.timestamp + 31 days);
    a.validUntil = uint64(block.timestamp + 1 hours);
    sigs = _signSorted(a, _firstSigners(2));
    address first = s_signerAddrs[0] < s_signerAddrs[1] ? s_signerAddrs[0] : s_signerAddrs[1];
    uint64 expiredAt = s_spoke.getSigner(first).expiresAt;
    vm.expectRevert(abi.encodeWithSelector(SolvencyOracleBase.SignerExpired.selector, first, expiredAt));
    _deliver(_attestationMessage(HUB_SELECTOR, REMOTE_HUB, a, sigs));
  }

  function test_ccipReceive_RevertWhen_SignersNotAscending() public {
    SolvencyAttestation.Attestation memory a = _attestation(1, true);
    bytes[] memory sigs = _signSorted(a, _firstSigners(2));
    (sigs[0], sigs[1]) = (sigs[1], sigs[0]);
    vm.expectRevert(abi.encodeWithSelector(SolvencyOracleBase.SignersNotAscending.selector, 1));
    _deliver(_attestationMessage(HUB_SELECTOR, REMOTE_HUB, a, sigs));
  }

  function test_ccipReceive_IgnoresOlderEpoch() public {
    _deliverSigned(5, true, 2);
    SolvencyAttestation.Attestation memory old = _attestation(4, false);
    vm.expectEmit(address(s_spoke));
    emit SolvencySpoke.AttestationIgnored(4, 5);
    _deliver(_attestationMessage(HUB_SELECTOR, REMOTE_HUB, old, _signSorted(old, _firstSigners(2))));
    assertEq(s_spoke.latestAttestation().epoch, 5);
    assertTrue(s_spoke.isSolvent(), "the late, insolvent epoch 4 must not overwrite epoch 5");
  }

  function test_ccipReceive_RevertWhen_ValidityTooLong() public {
    SolvencyAttestation.Attestation memory a = _attestation(1, true);
    a.validUntil = uint64(block.timestamp + 1 days + 1);
    bytes[] memory sigs = _signSorted(a, _firstSigners(2));
    vm.expectRevert(
      abi.encodeWithSelector(SolvencyOracleBase.ValidityTooLong.selector, a.validUntil, block.timestamp + 1 days)
    );
    _deliver(_attestationMessage(HUB_SELECTOR, REMOTE_HUB, a, sigs));
  }

  function test_ccipReceive_RevertWhen_EpochJumpsTooFar() public {
    _deliverSigned(5, true, 2);
    uint64 far = 5 + s_spoke.MAX_EPOCH_STEP() + 1;
    SolvencyAttestation.Attestation memory a = _attestation(far, true);
    vm.expectRevert(abi.encodeWithSelector(SolvencyOracleBase.EpochJumpTooLarge.selector, far, 5));
    _deliver(_attestationMessage(HUB_SELECTOR, REMOTE_HUB, a, _signSorted(a, _firstSigners(2))));
  }

  function test_ccipReceive_RevertWhen_JudgedByAnotherPolicy() public {
    SolvencyAttestation.Attestation memory a = _attestation(1, true);
    a.policyDigest = keccak256("a friendlier policy");
    vm.expectRevert(abi.encodeWithSelector(SolvencyOracleBase.PolicyMismatch.selector, POLICY_DIGEST, a.policyDigest));
    _deliver(_attestationMessage(HUB_SELECTOR, REMOTE_HUB, a, _signSorted(a, _firstSigners(2))));
  }

  function test_invalidateLatest_StopsSolvencyUntilTheNextEpoch() public {
    _deliverSigned(1, true, 2);
    vm.expectEmit(address(s_spoke));
    emit SolvencyOracleBase.AttestationInvalidated(1);
    vm.prank(s_owner);
    s_spoke.invalidateLatest();
    assertFalse(s_spoke.isSolvent());
    _deliverSigned(2, true, 2);
    assertTrue(s_spoke.isSolvent());
  }

  // ================================================================
  // │                            Leaves                            │
  // ================================================================

  /// @dev The standard chains' messages, and `a` signed over them.
  function _standardMessages(
    SolvencyAttestation.Attestation memory a
  ) internal view returns (bytes[] memory sigs, SolvencyAttestation.ChainMessage[] memory messages) {
    (a.chainsRoot, messages) = _tree(_standardLeaves());
    sigs = _signSorted(a, _firstSigners(2));
  }

  function _deliverWith(
    SolvencyAttestation.Attestation memory a,
    bytes[] memory sigs,
    SolvencyAttestation.ChainMessage memory m
  ) internal {
    _deliver(_deliveryMessage(HUB_SELECTOR, REMOTE_HUB, a, sigs, m));
  }

  /// The hub sent SPOKE_B's leaf here: it is committed, but not this chain's.
  function test_ccipReceive_RevertWhen_LeafOfAnotherChain() public {
    SolvencyAttestation.Attestation memory a = _attestation(1, true);
    (bytes[] memory sigs, SolvencyAttestation.ChainMessage[] memory ms) = _standardMessages(a);
    vm.expectRevert(abi.encodeWithSelector(SolvencySpoke.LeafForAnotherChain.selector, SPOKE_A, SPOKE_B));
    _deliverWith(a, sigs, _messageFor(ms, SPOKE_B));
    assertEq(s_spoke.latestAttestation().epoch, 0);
  }

  function test_ccipReceive_RevertWhen_LeafNamesAnotherVault() public {
    SolvencyAttestation.Attestation memory a = _attestation(1, true);
    SolvencyAttestation.ChainLeaf[] memory leaves = _standardLeaves();
    leaves[2].vault = address(0xBEEF); // SPOKE_A, the largest selector
    SolvencyAttestation.ChainMessage[] memory ms;
    (a.chainsRoot, ms) = _tree(leaves);
    bytes[] memory sigs = _signSorted(a, _firstSigners(2));
    vm.expectRevert(
      abi.encodeWithSelector(SolvencyOracleBase.LeafVaultMismatch.selector, SPOKE_A, address(0), address(0xBEEF))
    );
    _deliverWith(a, sigs, _messageFor(ms, SPOKE_A));
  }

  function test_ccipReceive_RevertWhen_InstructionDoesNotMatchItsLeaf() public {
    SolvencyAttestation.Attestation memory a = _attestation(1, true);
    (bytes[] memory sigs, SolvencyAttestation.ChainMessage[] memory ms) = _standardMessages(a);
    SolvencyAttestation.ChainMessage memory m = _messageFor(ms, SPOKE_A);
    m.instruction = "an instruction the enclave never sealed";
    vm.expectRevert(
      abi.encodeWithSelector(
        SolvencyOracleBase.InstructionHashMismatch.selector, SPOKE_A, m.leaf.instructionHash, keccak256(m.instruction)
      )
    );
    _deliverWith(a, sigs, m);
  }

  /// A leaf changed in transit (here: authorizations added) is not under the signed root.
  function test_ccipReceive_RevertWhen_LeafNotUnderChainsRoot() public {
    SolvencyAttestation.Attestation memory a = _attestation(1, true);
    (bytes[] memory sigs, SolvencyAttestation.ChainMessage[] memory ms) = _standardMessages(a);
    SolvencyAttestation.ChainMessage memory m = _messageFor(ms, SPOKE_A);
    m.leaf.authRoot = keccak256("authorizations the enclave never signed");
    vm.expectRevert(abi.encodeWithSelector(SolvencyOracleBase.InvalidLeafProof.selector, SPOKE_A, _leafHash(m.leaf)));
    _deliverWith(a, sigs, m);
  }

  function test_ccipReceive_RevertWhen_ProofIsWrong() public {
    SolvencyAttestation.Attestation memory a = _attestation(1, true);
    (bytes[] memory sigs, SolvencyAttestation.ChainMessage[] memory ms) = _standardMessages(a);
    SolvencyAttestation.ChainMessage memory m = _messageFor(ms, SPOKE_A);
    m.proof = new bytes32[](0);
    vm.expectRevert(abi.encodeWithSelector(SolvencyOracleBase.InvalidLeafProof.selector, SPOKE_A, _leafHash(m.leaf)));
    _deliverWith(a, sigs, m);
  }

  /// A proof that verifies under another tree (another epoch's chain set) does not under this one.
  function test_ccipReceive_RevertWhen_ProofOfAnotherTree() public {
    SolvencyAttestation.Attestation memory a = _attestation(1, true);
    bytes[] memory sigs = _signSorted(a, _firstSigners(2));
    uint64[] memory fourChains = new uint64[](4);
    (fourChains[0], fourChains[1], fourChains[2], fourChains[3]) = (HUB_SELECTOR, SPOKE_A, SPOKE_B, SPOKE_C);
    (, SolvencyAttestation.ChainMessage[] memory other) = _tree(_leaves(fourChains));
    SolvencyAttestation.ChainMessage memory m = _messageFor(other, SPOKE_A);
    vm.expectRevert(abi.encodeWithSelector(SolvencyOracleBase.InvalidLeafProof.selector, SPOKE_A, _leafHash(m.leaf)));
    _deliverWith(a, sigs, m);
  }

  /// A late epoch is ignored before its leaf is looked at: it never stays FAILED on CCIP, even
  /// when its leaf is another chain's or its proof is broken.
  function test_ccipReceive_IgnoresOlderEpochEvenWithABadLeaf() public {
    _deliverSigned(5, true, 2);
    SolvencyAttestation.Attestation memory old = _attestation(4, false);
    (bytes[] memory sigs, SolvencyAttestation.ChainMessage[] memory ms) = _standardMessages(old);
    SolvencyAttestation.ChainMessage memory broken = _messageFor(ms, SPOKE_A);
    broken.proof = new bytes32[](0);
    broken.instruction = "tampered";
    vm.expectEmit(address(s_spoke));
    emit SolvencySpoke.AttestationIgnored(4, 5);
    _deliverWith(old, sigs, broken);
    vm.expectEmit(address(s_spoke));
    emit SolvencySpoke.AttestationIgnored(4, 5);
    _deliverWith(old, sigs, _messageFor(ms, SPOKE_B));
    assertEq(s_spoke.latestAttestation().epoch, 5);
    (SolvencyAttestation.ChainLeaf memory leaf,) = s_spoke.latestLeaf();
    assertEq(leaf.chainSelector, SPOKE_A, "the kept leaf is untouched");
  }

  /// Every leaf of a tree of any size verifies for its own chain, and no sibling's proof does.
  function testFuzz_ccipReceive_AcceptsOwnLeafInAnyTree(
    uint8 chainCount,
    uint64 position,
    bytes32 authRoot
  ) public {
    chainCount = uint8(bound(chainCount, 1, 20));
    position = uint64(bound(position, 0, chainCount - 1));
    SolvencyAttestation.ChainLeaf[] memory leaves = new SolvencyAttestation.ChainLeaf[](chainCount);
    // Ascending selectors around SPOKE_A, which sits at `position`.
    for (uint64 i = 0; i < chainCount; ++i) {
      leaves[i] = _chainLeaf(SPOKE_A - position + i, address(0));
    }
    leaves[position].authRoot = authRoot;
    SolvencyAttestation.Attestation memory a = _attestation(1, true);
    SolvencyAttestation.ChainMessage[] memory ms;
    (a.chainsRoot, ms) = _tree(leaves);
    bytes[] memory sigs = _signSorted(a, _firstSigners(2));
    if (chainCount > 1) {
      SolvencyAttestation.ChainMessage memory sibling = ms[position == 0 ? 1 : position - 1];
      sibling.leaf = ms[position].leaf;
      sibling.instruction = ms[position].instruction;
      // The sibling's proof with our leaf fails, unless both are carried up the same way.
      if (keccak256(abi.encode(sibling.proof)) != keccak256(abi.encode(ms[position].proof))) {
        vm.expectRevert(
          abi.encodeWithSelector(SolvencyOracleBase.InvalidLeafProof.selector, SPOKE_A, _leafHash(sibling.leaf))
        );
        _deliverWith(a, sigs, sibling);
      }
    }
    _deliverWith(a, sigs, ms[position]);
    (SolvencyAttestation.ChainLeaf memory kept,) = s_spoke.latestLeaf();
    assertEq(kept.authRoot, authRoot);
  }

  /// @dev Gas of the spoke's ccipReceive for 1 and 3 signatures, for the gas snapshot.
  /// forge-config: default.isolate = true
  function test_gas_ccipReceive_1Signature() public {
    _measureReceive(1, "ccipReceive_1signature");
  }

  /// forge-config: default.isolate = true
  function test_gas_ccipReceive_2Signatures() public {
    _measureReceive(2, "ccipReceive_2signatures");
  }

  /// forge-config: default.isolate = true
  function test_gas_ccipReceive_3Signatures() public {
    _measureReceive(3, "ccipReceive_3signatures");
  }

  /// @dev Epoch n+1 over epoch n, the steady state: every slot the attestation and leaf use is
  /// already written, and what changes every epoch changes (the instruction, the report and its
  /// vault head; the authorizations stay none, as in stage 1). The leaf check (instruction hash
  /// and proof) is in every figure.
  /// forge-config: default.isolate = true
  function test_gas_ccipReceive_2Signatures_steadyState() public {
    _deliverEpoch(1);
    vm.warp(block.timestamp + 1 hours);
    Client.Any2EVMMessage memory message = _epochMessage(2);
    vm.prank(address(s_router));
    s_spoke.ccipReceive(message);
    _snapshotExecutionGas(
      "SolvencySpoke", "ccipReceive_2signatures_steadyState", abi.encodeCall(CCIPReceiver.ccipReceive, (message))
    );
    (SolvencyAttestation.ChainLeaf memory leaf,) = s_spoke.latestLeaf();
    assertEq(leaf.reportSeq, 20);
  }

  function _deliverEpoch(
    uint64 epoch
  ) internal {
    _deliver(_epochMessage(epoch));
  }

  /// @dev Epoch `epoch` over the standard chains, each with an instruction and a report of its own.
  function _epochMessage(
    uint64 epoch
  ) internal view returns (Client.Any2EVMMessage memory) {
    SolvencyAttestation.ChainLeaf[] memory leaves = _standardLeaves();
    bytes[] memory instructions = new bytes[](leaves.length);
    for (uint256 i = 0; i < leaves.length; ++i) {
      instructions[i] = abi.encodePacked(_instruction(leaves[i].chainSelector), epoch);
      (leaves[i].reportSeq, leaves[i].logCount) = (10 * epoch, 3 * epoch);
      leaves[i].logHead = keccak256(abi.encode("head", leaves[i].chainSelector, epoch));
    }
    SolvencyAttestation.Attestation memory a = _attestation(epoch, true);
    SolvencyAttestation.ChainMessage[] memory ms;
    (a.chainsRoot, ms) = _tree(leaves, instructions);
    return _deliveryMessage(HUB_SELECTOR, REMOTE_HUB, a, _signSorted(a, _firstSigners(2)), _messageFor(ms, SPOKE_A));
  }

  function _measureReceive(
    uint8 k,
    string memory name
  ) internal {
    vm.prank(s_owner);
    s_spoke.setThreshold(k);
    SolvencyAttestation.Attestation memory a = _attestation(1, true);
    Client.Any2EVMMessage memory message =
      _attestationMessage(HUB_SELECTOR, REMOTE_HUB, a, _signSorted(a, _firstSigners(k)));
    vm.prank(address(s_router));
    s_spoke.ccipReceive(message);
    _snapshotExecutionGas("SolvencySpoke", name, abi.encodeCall(CCIPReceiver.ccipReceive, (message)));
    assertTrue(s_spoke.isSolvent());
  }

  // ================================================================
  // │                           Fuzz                               │
  // ================================================================

  /// A signature by any key outside the signer set is refused.
  function testFuzz_ccipReceive_RevertWhen_WrongSigner(
    uint256 key
  ) public {
    key = bound(key, 1, SECP256K1_N - 1);
    address outsider = vm.addr(key);
    for (uint256 i = 0; i < 3; ++i) {
      vm.assume(outsider != s_signerAddrs[i]);
    }
    SolvencyAttestation.Attestation memory a = _attestation(1, true);
    bytes[] memory sigs = new bytes[](2);
    sigs[0] = _sign(s_signerKeys[0], _digest(a));
    sigs[1] = _sign(key, _digest(a));
    if (outsider < s_signerAddrs[0]) (sigs[0], sigs[1]) = (sigs[1], sigs[0]);
    vm.expectRevert(abi.encodeWithSelector(SolvencyOracleBase.UnknownSigner.selector, outsider));
    _deliver(_attestationMessage(HUB_SELECTOR, REMOTE_HUB, a, sigs));
    assertEq(s_spoke.latestAttestation().epoch, 0);
  }

  /// The same signer twice never counts as two.
  function testFuzz_ccipReceive_RevertWhen_DuplicateSigner(
    uint8 signer,
    uint64 epoch
  ) public {
    signer = uint8(bound(signer, 0, 2));
    epoch = uint64(bound(epoch, 1, type(uint64).max));
    SolvencyAttestation.Attestation memory a = _attestation(epoch, true);
    bytes[] memory sigs = new bytes[](2);
    sigs[0] = _sign(s_signerKeys[signer], _digest(a));
    sigs[1] = sigs[0];
    vm.expectRevert(abi.encodeWithSelector(SolvencyOracleBase.DuplicateSigner.selector, s_signerAddrs[signer]));
    _deliver(_attestationMessage(HUB_SELECTOR, REMOTE_HUB, a, sigs));
  }

  /// Fewer than k valid signatures are refused, whatever k and n are.
  function testFuzz_ccipReceive_RevertWhen_BelowThreshold(
    uint8 n,
    uint8 k,
    uint8 provided
  ) public {
    n = uint8(bound(n, 1, 5));
    k = uint8(bound(k, 1, n));
    provided = uint8(bound(provided, 0, k - 1));
    SolvencySpoke spoke = _deploySpoke(SPOKE_A, HUB_SELECTOR, REMOTE_HUB);
    _configureSigners(spoke, n, k);
    SolvencyAttestation.Attestation memory a = _attestation(1, true);
    Client.Any2EVMMessage memory message =
      _attestationMessage(HUB_SELECTOR, REMOTE_HUB, a, _signSorted(a, _firstSigners(provided)));
    vm.expectRevert(abi.encodeWithSelector(SolvencyOracleBase.NotEnoughSignatures.selector, provided, k));
    vm.prank(address(s_router));
    spoke.ccipReceive(message);
  }

  /// The malleable twin (high s) of any valid signature is refused.
  function testFuzz_ccipReceive_RevertWhen_HighS(
    bytes32 reportsDigest,
    uint8 which
  ) public {
    which = uint8(bound(which, 0, 1));
    SolvencyAttestation.Attestation memory a = _attestation(1, true);
    a.reportsDigest = reportsDigest;
    bytes[] memory sigs = _signSorted(a, _firstSigners(2));
    sigs[which] = _malleate(sigs[which]);
    vm.expectRevert(abi.encodeWithSelector(SolvencyOracleBase.InvalidSignature.selector, which));
    _deliver(_attestationMessage(HUB_SELECTOR, REMOTE_HUB, a, sigs));
  }

  /// A signature over any other statement does not authorize this one.
  function testFuzz_ccipReceive_RevertWhen_SignedSomethingElse(
    bytes32 otherReportsDigest
  ) public {
    SolvencyAttestation.Attestation memory a = _attestation(1, true);
    vm.assume(otherReportsDigest != a.reportsDigest);
    bytes[] memory sigs = _signSorted(a, _firstSigners(2));
    a.reportsDigest = otherReportsDigest;
    vm.expectRevert();
    _deliver(_attestationMessage(HUB_SELECTOR, REMOTE_HUB, a, sigs));
    assertEq(s_spoke.latestAttestation().epoch, 0);
  }

  /// Only the configured (hub selector, hub address) pair is accepted.
  function testFuzz_ccipReceive_RevertWhen_NotTheHub(
    uint64 selector,
    address sender
  ) public {
    vm.assume(selector != HUB_SELECTOR || sender != REMOTE_HUB);
    SolvencyAttestation.Attestation memory a = _attestation(1, true);
    Client.Any2EVMMessage memory message = _attestationMessage(selector, sender, a, _signSorted(a, _firstSigners(2)));
    vm.expectRevert(abi.encodeWithSelector(SolvencySpoke.UnknownSender.selector, selector, abi.encode(sender)));
    _deliver(message);
  }

  /// Epochs only move forward: after any two deliveries, the stored epoch is the larger one and
  /// the stored outcome is that epoch's.
  function testFuzz_ccipReceive_EpochsStrictlyIncrease(
    uint64 first,
    uint64 second
  ) public {
    first = uint64(bound(first, 1, s_spoke.MAX_EPOCH_STEP()));
    second = uint64(bound(second, 1, uint256(first) + s_spoke.MAX_EPOCH_STEP()));
    _deliverSigned(first, true, 2);
    _deliverSigned(second, false, 2);
    if (second > first) {
      assertEq(s_spoke.latestAttestation().epoch, second);
      assertFalse(s_spoke.isSolvent());
    } else {
      assertEq(s_spoke.latestAttestation().epoch, first);
      assertTrue(s_spoke.isSolvent());
    }
  }

  /// Consumers fail closed: solvent exactly until validUntil, never after.
  function testFuzz_isSolvent_FailsClosedAfterValidUntil(
    uint32 elapsed
  ) public {
    _deliverSigned(1, true, 2);
    uint64 validUntil = s_spoke.latestAttestation().validUntil;
    vm.warp(block.timestamp + elapsed);
    assertEq(s_spoke.isSolvent(), block.timestamp <= validUntil);
  }
}
