// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ReserveVault} from "../src/ReserveVault.sol";
import {SolvencyAttestation} from "../src/libraries/SolvencyAttestation.sol";
import {VaultTest} from "./helpers/VaultTest.t.sol";

/// @notice Exodus: once no leaf has arrived for `exodusDelay`, each owner claims once, by proof
/// against the latest ledger root, its balance less what it withdrew since.
contract ReserveVault_exodus is VaultTest {
  SolvencyAttestation.LedgerLeaf[] internal s_leaves;
  bytes32[][] internal s_proofs;

  function setUp() public override {
    super.setUp();
    _deposit(s_alice, 1000e6);
    _deposit(s_bob, 500e6);
  }

  /// @dev Commits an epoch whose ledger holds `balances` for alice and bob (neither withdrew
  /// yet as far as the ledger knows), with `authRoot`.
  function _commitLedger(
    uint256 aliceBalance,
    uint256 bobBalance,
    bytes32 authRoot
  ) internal {
    delete s_leaves;
    // Salts depend on the epoch the leaves are committed in.
    ++s_epoch;
    s_leaves.push(_ledgerLeaf(s_alice, aliceBalance, 0));
    s_leaves.push(_ledgerLeaf(s_bob, bobBalance, 0));
    --s_epoch;
    (bytes32 root, bytes32[][] memory proofs) = _ledgerTree(s_leaves);
    s_proofs = proofs;
    _commit(authRoot, root);
  }

  function _leaf(
    uint256 i
  ) internal view returns (SolvencyAttestation.LedgerLeaf memory) {
    return s_leaves[i];
  }

  function test_exodus_PaysTheBalanceLessWhatWasWithdrawnSince() public {
    SolvencyAttestation.Authorization[] memory auths = new SolvencyAttestation.Authorization[](1);
    auths[0] = _auth(s_alice, 300e6, keccak256("w"));
    (bytes32 authRoot, bytes32[][] memory authProofs) = _authTree(auths);
    _commitLedger(1000e6, 500e6, authRoot);
    s_vault.queueWithdrawal(auths[0], authProofs[0]);
    vm.warp(block.timestamp + WITHDRAWAL_DELAY);
    s_vault.executeWithdrawal(auths[0], authProofs[0]);
    _expectEntry(WITHDRAWAL, s_alice, 300e6, keccak256("w"));

    // The quorum goes silent: no leaf for EXODUS_DELAY after the last one arrived.
    (, uint64 receivedAt) = s_spoke.latestLeaf();
    assertEq(s_vault.getExodusOpensAt(), receivedAt + EXODUS_DELAY);
    vm.warp(receivedAt + EXODUS_DELAY);
    assertTrue(s_vault.isExodusOpen());

    bytes32 leafHash = _ledgerHash(_leaf(0));
    bytes32 head = _nextHead(s_expectedHead, 4, EXODUS, s_alice, 700e6, uint64(block.timestamp), leafHash);
    vm.expectEmit(address(s_vault));
    emit ReserveVault.Logged(4, EXODUS, s_alice, 700e6, uint64(block.timestamp), leafHash, head);
    vm.prank(s_alice);
    uint256 paid = s_vault.exodus(_leaf(0), s_proofs[0]);
    _expectEntry(EXODUS, s_alice, 700e6, leafHash);

    assertEq(paid, 700e6);
    assertEq(s_token.balanceOf(s_alice), 1000e6, "300 withdrawn, 700 by exodus");
    assertTrue(s_vault.hasExited(s_alice));
    vm.prank(s_bob);
    assertEq(s_vault.exodus(_leaf(1), s_proofs[1]), 500e6);
    _expectEntry(EXODUS, s_bob, 500e6, _ledgerHash(_leaf(1)));
    assertEq(s_token.balanceOf(address(s_vault)), 0);
    _assertLog(s_vault);
  }

  function test_exodus_RevertWhen_BeforeTheDelay() public {
    _commitLedger(1000e6, 500e6, bytes32(0));
    uint64 opensAt = uint64(block.timestamp) + EXODUS_DELAY;
    vm.warp(opensAt - 1);
    assertFalse(s_vault.isExodusOpen());
    vm.expectRevert(abi.encodeWithSelector(ReserveVault.ExodusNotOpen.selector, opensAt));
    vm.prank(s_alice);
    s_vault.exodus(_leaf(0), s_proofs[0]);
  }

  /// A new leaf, even one with the same ledger, restarts the clock.
  function test_exodus_RevertWhen_ANewLeafArrived() public {
    _commitLedger(1000e6, 500e6, bytes32(0));
    vm.warp(block.timestamp + EXODUS_DELAY - 1 hours);
    bytes32 root = s_spoke.getLedgerRoot();
    _commit(bytes32(0), root);
    vm.warp(block.timestamp + 2 hours);
    vm.expectRevert(
      abi.encodeWithSelector(ReserveVault.ExodusNotOpen.selector, uint64(block.timestamp) - 2 hours + EXODUS_DELAY)
    );
    vm.prank(s_alice);
    s_vault.exodus(_leaf(0), s_proofs[0]);
  }

  function test_exodus_RevertWhen_ClaimedTwice() public {
    _commitLedger(1000e6, 500e6, bytes32(0));
    vm.warp(block.timestamp + EXODUS_DELAY);
    vm.startPrank(s_alice);
    s_vault.exodus(_leaf(0), s_proofs[0]);
    vm.expectRevert(abi.encodeWithSelector(ReserveVault.AlreadyExited.selector, s_alice));
    s_vault.exodus(_leaf(0), s_proofs[0]);
    vm.stopPrank();
    assertEq(s_token.balanceOf(s_alice), 1000e6);
  }

  /// A leaf of an older ledger root (a larger balance the owner has since withdrawn) is not
  /// under the latest one.
  function test_exodus_RevertWhen_LeafIsStale() public {
    _commitLedger(1000e6, 500e6, bytes32(0));
    SolvencyAttestation.LedgerLeaf memory stale = _leaf(0);
    bytes32[] memory staleProof = s_proofs[0];
    _commitLedger(100e6, 500e6, bytes32(0));
    vm.warp(block.timestamp + EXODUS_DELAY);
    vm.expectRevert(abi.encodeWithSelector(ReserveVault.LedgerLeafNotCommitted.selector, _ledgerHash(stale)));
    vm.prank(s_alice);
    s_vault.exodus(stale, staleProof);
    vm.prank(s_alice);
    assertEq(s_vault.exodus(_leaf(0), s_proofs[0]), 100e6, "the latest leaf pays");
  }

  function test_exodus_RevertWhen_NotTheLeafsOwner() public {
    _commitLedger(1000e6, 500e6, bytes32(0));
    vm.warp(block.timestamp + EXODUS_DELAY);
    vm.expectRevert(abi.encodeWithSelector(ReserveVault.NotLeafOwner.selector, s_alice, s_bob));
    vm.prank(s_bob);
    s_vault.exodus(_leaf(0), s_proofs[0]);
  }

  function test_exodus_RevertWhen_LeafOfAnotherChainOrVault() public {
    _commitLedger(1000e6, 500e6, bytes32(0));
    vm.warp(block.timestamp + EXODUS_DELAY);
    SolvencyAttestation.LedgerLeaf memory leaf = _leaf(0);
    leaf.chainSelector = SPOKE_B;
    vm.expectRevert(abi.encodeWithSelector(ReserveVault.WrongChain.selector, SPOKE_A, SPOKE_B));
    vm.prank(s_alice);
    s_vault.exodus(leaf, s_proofs[0]);
    leaf = _leaf(0);
    leaf.vault = address(0xBEEF);
    vm.expectRevert(abi.encodeWithSelector(ReserveVault.WrongVault.selector, address(s_vault), address(0xBEEF)));
    vm.prank(s_alice);
    s_vault.exodus(leaf, s_proofs[0]);
  }

  /// Before any epoch there is no ledger to prove against.
  function test_exodus_RevertWhen_NoLedgerYet() public {
    vm.warp(block.timestamp + EXODUS_DELAY);
    s_epoch = 1;
    SolvencyAttestation.LedgerLeaf[] memory leaves = new SolvencyAttestation.LedgerLeaf[](1);
    leaves[0] = _ledgerLeaf(s_alice, 1000e6, 0);
    (, bytes32[][] memory proofs) = _ledgerTree(leaves);
    vm.expectRevert(abi.encodeWithSelector(ReserveVault.LedgerLeafNotCommitted.selector, _ledgerHash(leaves[0])));
    vm.prank(s_alice);
    s_vault.exodus(leaves[0], proofs[0]);
  }

  /// A balance larger than the vault holds (the ledger counts value on other chains' vaults too)
  /// pays what the vault holds.
  function test_exodus_CappedAtWhatTheVaultHolds() public {
    _commitLedger(5000e6, 500e6, bytes32(0));
    vm.warp(block.timestamp + EXODUS_DELAY);
    vm.prank(s_alice);
    assertEq(s_vault.exodus(_leaf(0), s_proofs[0]), 1500e6);
    assertEq(s_token.balanceOf(address(s_vault)), 0);
  }

  /// Withdrawn since more than the balance: nothing to pay, but the claim is logged and spent.
  function test_exodus_PaysNothingWhenWithdrawnSinceExceedsTheBalance() public {
    SolvencyAttestation.Authorization[] memory auths = new SolvencyAttestation.Authorization[](1);
    auths[0] = _auth(s_bob, 500e6, keccak256("w"));
    (bytes32 authRoot, bytes32[][] memory authProofs) = _authTree(auths);
    _commitLedger(1000e6, 400e6, authRoot);
    s_vault.queueWithdrawal(auths[0], authProofs[0]);
    vm.warp(block.timestamp + WITHDRAWAL_DELAY);
    s_vault.executeWithdrawal(auths[0], authProofs[0]);
    vm.warp(block.timestamp + EXODUS_DELAY);
    vm.prank(s_bob);
    assertEq(s_vault.exodus(_leaf(1), s_proofs[1]), 0);
    assertTrue(s_vault.hasExited(s_bob));
    (uint64 count,) = s_vault.getLogHead();
    assertEq(count, 4, "two deposits, a withdrawal, the claim");
  }

  /// The payout is balance - (withdrawn - withdrawnTotal), floored at zero and capped at what the
  /// vault holds, for any leaf.
  function testFuzz_exodus_PaysTheDocumentedAmount(
    uint96 balance,
    uint96 withdrawnTotal,
    uint96 withdrawn
  ) public {
    _deposit(s_alice, 10_000e6);
    withdrawn = uint96(bound(withdrawn, 0, 5000e6));
    if (withdrawn > 0) {
      SolvencyAttestation.Authorization memory auth = _auth(s_alice, withdrawn, keccak256("w"));
      bytes32[] memory authProof = _commitAuth(auth);
      s_vault.queueWithdrawal(auth, authProof);
      vm.warp(block.timestamp + WITHDRAWAL_DELAY);
      s_vault.executeWithdrawal(auth, authProof);
    }
    ++s_epoch;
    SolvencyAttestation.LedgerLeaf[] memory leaves = new SolvencyAttestation.LedgerLeaf[](1);
    leaves[0] = _ledgerLeaf(s_alice, balance, withdrawnTotal);
    --s_epoch;
    (bytes32 root, bytes32[][] memory proofs) = _ledgerTree(leaves);
    _commit(bytes32(0), root);
    vm.warp(block.timestamp + EXODUS_DELAY);

    uint256 held = s_token.balanceOf(address(s_vault));
    uint256 since = withdrawn > withdrawnTotal ? withdrawn - withdrawnTotal : 0;
    uint256 expected = balance > since ? balance - since : 0;
    if (expected > held) expected = held;
    vm.prank(s_alice);
    assertEq(s_vault.exodus(leaves[0], proofs[0]), expected);
    assertEq(s_token.balanceOf(address(s_vault)), held - expected);
  }

  // ================================================================
  // │                             Gas                              │
  // ================================================================

  /// forge-config: default.isolate = true
  function test_gas_exodus() public {
    _commitLedger(1000e6, 500e6, bytes32(0));
    vm.warp(block.timestamp + EXODUS_DELAY);
    vm.prank(s_alice);
    s_vault.exodus(_leaf(0), s_proofs[0]);
    _snapshotExecutionGas("ReserveVault", "exodus", abi.encodeCall(ReserveVault.exodus, (_leaf(0), s_proofs[0])));
  }
}
