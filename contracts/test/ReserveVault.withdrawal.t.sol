// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ReserveVault} from "../src/ReserveVault.sol";
import {SolvencyAttestation} from "../src/libraries/SolvencyAttestation.sol";
import {VaultTest} from "./helpers/VaultTest.t.sol";

/// @notice Withdrawals: queued and executed only against an authorization committed in the
/// chain's latest leaf, after the delay, once, within the outflow limit, paid to its owner.
contract ReserveVault_withdrawal is VaultTest {
  bytes32 internal constant ID = keccak256("withdrawal-1");

  function setUp() public override {
    super.setUp();
    _deposit(s_alice, 1000e6);
  }

  /// @dev Commits `auth`, queues it, and waits out the delay.
  function _queued(
    SolvencyAttestation.Authorization memory auth
  ) internal returns (bytes32[] memory proof) {
    proof = _commitAuth(auth);
    s_vault.queueWithdrawal(auth, proof);
    vm.warp(block.timestamp + WITHDRAWAL_DELAY);
  }

  function test_executeWithdrawal_PaysTheOwnerAfterTheDelay() public {
    SolvencyAttestation.Authorization memory auth = _auth(s_alice, 400e6, ID);
    bytes32[] memory proof = _commitAuth(auth);
    vm.expectEmit(address(s_vault));
    emit ReserveVault.WithdrawalQueued(ID, s_alice, 400e6, uint64(block.timestamp) + WITHDRAWAL_DELAY);
    // Anyone may queue and execute: the payment goes to the owner only.
    vm.prank(s_bob);
    s_vault.queueWithdrawal(auth, proof);
    ReserveVault.Withdrawal memory queued = s_vault.getWithdrawal(ID);
    assertEq(queued.queuedAt, block.timestamp);
    assertEq(queued.authLeaf, _authHash(auth));
    assertFalse(queued.executed);

    vm.warp(block.timestamp + WITHDRAWAL_DELAY);
    bytes32 head = _nextHead(s_expectedHead, 2, WITHDRAWAL, s_alice, 400e6, uint64(block.timestamp), ID);
    vm.expectEmit(address(s_vault));
    emit ReserveVault.Logged(2, WITHDRAWAL, s_alice, 400e6, uint64(block.timestamp), ID, head);
    vm.prank(s_bob);
    s_vault.executeWithdrawal(auth, proof);
    _expectEntry(WITHDRAWAL, s_alice, 400e6, ID);

    assertEq(s_token.balanceOf(s_alice), 400e6);
    assertEq(s_token.balanceOf(s_bob), 0);
    assertEq(s_token.balanceOf(address(s_vault)), 600e6);
    assertEq(s_vault.getWithdrawn(s_alice), 400e6);
    assertTrue(s_vault.getWithdrawal(ID).executed);
    assertEq(s_vault.getAvailableOutflow(), OUTFLOW_LIMIT - 400e6);
    _assertLog(s_vault);
  }

  function test_executeWithdrawal_RevertWhen_BeforeTheDelay() public {
    SolvencyAttestation.Authorization memory auth = _auth(s_alice, 400e6, ID);
    bytes32[] memory proof = _commitAuth(auth);
    s_vault.queueWithdrawal(auth, proof);
    uint64 executableAt = uint64(block.timestamp) + WITHDRAWAL_DELAY;
    vm.warp(executableAt - 1);
    vm.expectRevert(abi.encodeWithSelector(ReserveVault.WithdrawalDelayNotElapsed.selector, ID, executableAt));
    s_vault.executeWithdrawal(auth, proof);
  }

  function test_executeWithdrawal_RevertWhen_Replayed() public {
    SolvencyAttestation.Authorization memory auth = _auth(s_alice, 400e6, ID);
    bytes32[] memory proof = _queued(auth);
    s_vault.executeWithdrawal(auth, proof);
    vm.expectRevert(abi.encodeWithSelector(ReserveVault.WithdrawalAlreadyExecuted.selector, ID));
    s_vault.executeWithdrawal(auth, proof);
    vm.expectRevert(abi.encodeWithSelector(ReserveVault.WithdrawalAlreadyQueued.selector, ID));
    s_vault.queueWithdrawal(auth, proof);
    // Committed again in a later epoch (a rolled-back enclave would): still paid once.
    proof = _commitAuth(auth);
    vm.expectRevert(abi.encodeWithSelector(ReserveVault.WithdrawalAlreadyExecuted.selector, ID));
    s_vault.executeWithdrawal(auth, proof);
    assertEq(s_token.balanceOf(s_alice), 400e6);
  }

  function test_queueWithdrawal_RevertWhen_ForAnotherVault() public {
    SolvencyAttestation.Authorization memory auth = _auth(s_alice, 400e6, ID);
    auth.vault = address(0xBEEF);
    bytes32[] memory proof = _commitAuth(auth);
    vm.expectRevert(abi.encodeWithSelector(ReserveVault.WrongVault.selector, address(s_vault), address(0xBEEF)));
    s_vault.queueWithdrawal(auth, proof);
  }

  function test_queueWithdrawal_RevertWhen_ForAnotherChain() public {
    SolvencyAttestation.Authorization memory auth = _auth(s_alice, 400e6, ID);
    auth.chainSelector = SPOKE_B;
    bytes32[] memory proof = _commitAuth(auth);
    vm.expectRevert(abi.encodeWithSelector(ReserveVault.WrongChain.selector, SPOKE_A, SPOKE_B));
    s_vault.queueWithdrawal(auth, proof);
  }

  /// A second vault over the same oracle is not the oracle's: the leaf authorizes nothing there.
  function test_queueWithdrawal_RevertWhen_OracleLeafIsAnotherVaults() public {
    ReserveVault other = new ReserveVault(
      s_token, s_spoke, WITHDRAWAL_DELAY, OUTFLOW_LIMIT, OUTFLOW_WINDOW, EXODUS_DELAY, address(s_router)
    );
    SolvencyAttestation.Authorization memory auth = _auth(s_alice, 400e6, ID);
    auth.vault = address(other);
    bytes32[] memory proof = _commitAuth(auth);
    vm.expectRevert(abi.encodeWithSelector(ReserveVault.LeafForAnotherVault.selector, address(s_vault)));
    other.queueWithdrawal(auth, proof);
  }

  function test_queueWithdrawal_RevertWhen_NoLeafYet() public {
    SolvencyAttestation.Authorization memory auth = _auth(s_alice, 400e6, ID);
    vm.expectRevert(abi.encodeWithSelector(ReserveVault.LeafForAnotherVault.selector, address(0)));
    s_vault.queueWithdrawal(auth, new bytes32[](0));
  }

  /// The enclave authorized 400; the same id for 500 is not under the root.
  function test_queueWithdrawal_RevertWhen_AmountNotTheCommittedOne() public {
    SolvencyAttestation.Authorization memory auth = _auth(s_alice, 400e6, ID);
    bytes32[] memory proof = _commitAuth(auth);
    auth.amount = 500e6;
    vm.expectRevert(abi.encodeWithSelector(ReserveVault.AuthorizationNotCommitted.selector, ID));
    s_vault.queueWithdrawal(auth, proof);
  }

  /// Queued for 400; a later epoch commits the same id for 500: the id still pays only what was
  /// queued, and only after its own delay.
  function test_executeWithdrawal_RevertWhen_AuthorizationChangedSinceQueued() public {
    SolvencyAttestation.Authorization memory auth = _auth(s_alice, 400e6, ID);
    _queued(auth);
    SolvencyAttestation.Authorization memory bigger = _auth(s_alice, 500e6, ID);
    bytes32[] memory proof = _commitAuth(bigger);
    vm.expectRevert(
      abi.encodeWithSelector(ReserveVault.AuthorizationChanged.selector, ID, _authHash(auth), _authHash(bigger))
    );
    s_vault.executeWithdrawal(bigger, proof);
  }

  /// Queued under epoch 1; epoch 2 no longer commits it: it cannot be executed.
  function test_executeWithdrawal_RevertWhen_NotInTheLatestLeaf() public {
    SolvencyAttestation.Authorization memory auth = _auth(s_alice, 400e6, ID);
    bytes32[] memory proof = _queued(auth);
    _commitAuth(_auth(s_bob, 1e6, keccak256("something else")));
    vm.expectRevert(abi.encodeWithSelector(ReserveVault.AuthorizationNotCommitted.selector, ID));
    s_vault.executeWithdrawal(auth, proof);
  }

  function test_queueWithdrawal_RevertWhen_NotInTheLatestLeaf() public {
    SolvencyAttestation.Authorization memory auth = _auth(s_alice, 400e6, ID);
    bytes32[] memory proof = _commitAuth(auth);
    _commitAuth(_auth(s_bob, 1e6, keccak256("something else")));
    vm.expectRevert(abi.encodeWithSelector(ReserveVault.AuthorizationNotCommitted.selector, ID));
    s_vault.queueWithdrawal(auth, proof);
  }

  function test_executeWithdrawal_RevertWhen_NotQueued() public {
    SolvencyAttestation.Authorization memory auth = _auth(s_alice, 400e6, ID);
    bytes32[] memory proof = _commitAuth(auth);
    vm.expectRevert(abi.encodeWithSelector(ReserveVault.WithdrawalNotQueued.selector, ID));
    s_vault.executeWithdrawal(auth, proof);
  }

  function test_queueWithdrawal_RevertWhen_ZeroAmount() public {
    SolvencyAttestation.Authorization memory auth = _auth(s_alice, 0, ID);
    bytes32[] memory proof = _commitAuth(auth);
    vm.expectRevert(ReserveVault.ZeroAmount.selector);
    s_vault.queueWithdrawal(auth, proof);
  }

  function test_executeWithdrawal_RevertWhen_BeyondTheOutflowLimit() public {
    _deposit(s_bob, 3 * OUTFLOW_LIMIT);
    // Windows are aligned on multiples of OUTFLOW_WINDOW: start at the beginning of one.
    vm.warp(block.timestamp - (block.timestamp % OUTFLOW_WINDOW) + OUTFLOW_WINDOW);
    SolvencyAttestation.Authorization[] memory auths = new SolvencyAttestation.Authorization[](3);
    auths[0] = _auth(s_bob, OUTFLOW_LIMIT - 100e6, keccak256("a"));
    auths[1] = _auth(s_bob, 200e6, keccak256("b"));
    auths[2] = _auth(s_bob, OUTFLOW_LIMIT + 1, keccak256("too much at once"));
    bytes32[][] memory proofs = _commitAuths(auths);
    for (uint256 i = 0; i < 3; ++i) {
      s_vault.queueWithdrawal(auths[i], proofs[i]);
    }
    vm.warp(block.timestamp + WITHDRAWAL_DELAY);
    s_vault.executeWithdrawal(auths[0], proofs[0]);
    vm.expectRevert(abi.encodeWithSelector(ReserveVault.OutflowLimitExceeded.selector, 200e6, 100e6));
    s_vault.executeWithdrawal(auths[1], proofs[1]);
    vm.expectRevert(abi.encodeWithSelector(ReserveVault.OutflowLimitExceeded.selector, OUTFLOW_LIMIT + 1, 100e6));
    s_vault.executeWithdrawal(auths[2], proofs[2]);

    // The next window has the whole limit again, but no more.
    vm.warp(block.timestamp + OUTFLOW_WINDOW);
    assertEq(s_vault.getAvailableOutflow(), OUTFLOW_LIMIT);
    vm.expectRevert(
      abi.encodeWithSelector(ReserveVault.OutflowLimitExceeded.selector, OUTFLOW_LIMIT + 1, OUTFLOW_LIMIT)
    );
    s_vault.executeWithdrawal(auths[2], proofs[2]);
    s_vault.executeWithdrawal(auths[1], proofs[1]);
    assertEq(s_token.balanceOf(s_bob), OUTFLOW_LIMIT + 100e6);
  }

  /// Executable exactly from queuedAt + delay, never before.
  function testFuzz_executeWithdrawal_OnlyAfterTheDelay(
    uint64 wait
  ) public {
    wait = uint64(bound(wait, 0, 2 * WITHDRAWAL_DELAY));
    SolvencyAttestation.Authorization memory auth = _auth(s_alice, 400e6, ID);
    bytes32[] memory proof = _commitAuth(auth);
    s_vault.queueWithdrawal(auth, proof);
    uint64 executableAt = uint64(block.timestamp) + WITHDRAWAL_DELAY;
    vm.warp(block.timestamp + wait);
    if (wait < WITHDRAWAL_DELAY) {
      vm.expectRevert(abi.encodeWithSelector(ReserveVault.WithdrawalDelayNotElapsed.selector, ID, executableAt));
    }
    s_vault.executeWithdrawal(auth, proof);
    assertEq(s_token.balanceOf(s_alice), wait < WITHDRAWAL_DELAY ? 0 : 400e6);
  }

  /// Whatever is presented in place of the committed authorization (another owner, amount, id,
  /// chain or vault) is refused.
  function testFuzz_queueWithdrawal_RevertWhen_NotTheCommittedAuthorization(
    address owner,
    uint256 amount,
    bytes32 id
  ) public {
    SolvencyAttestation.Authorization memory auth = _auth(s_alice, 400e6, ID);
    bytes32[] memory proof = _commitAuth(auth);
    SolvencyAttestation.Authorization memory forged = _auth(owner, bound(amount, 1, type(uint256).max), id);
    vm.assume(_authHash(forged) != _authHash(auth));
    vm.expectRevert(abi.encodeWithSelector(ReserveVault.AuthorizationNotCommitted.selector, id));
    s_vault.queueWithdrawal(forged, proof);
  }

  // ================================================================
  // │                             Gas                              │
  // ================================================================

  /// forge-config: default.isolate = true
  function test_gas_queueWithdrawal() public {
    SolvencyAttestation.Authorization memory auth = _auth(s_alice, 400e6, ID);
    bytes32[] memory proof = _commitAuth(auth);
    s_vault.queueWithdrawal(auth, proof);
    _snapshotExecutionGas(
      "ReserveVault", "queueWithdrawal", abi.encodeCall(ReserveVault.queueWithdrawal, (auth, proof))
    );
  }

  /// @dev An owner's first withdrawal in a fresh window: its token balance, its withdrawn total
  /// and the window's outflow are written from zero.
  /// forge-config: default.isolate = true
  function test_gas_executeWithdrawal_first() public {
    SolvencyAttestation.Authorization memory auth = _auth(s_alice, 400e6, ID);
    bytes32[] memory proof = _queued(auth);
    s_vault.executeWithdrawal(auth, proof);
    _snapshotExecutionGas(
      "ReserveVault", "executeWithdrawal_first", abi.encodeCall(ReserveVault.executeWithdrawal, (auth, proof))
    );
  }

  /// @dev The steady state: the owner was paid before in the same window.
  /// forge-config: default.isolate = true
  function test_gas_executeWithdrawal() public {
    SolvencyAttestation.Authorization[] memory auths = new SolvencyAttestation.Authorization[](2);
    auths[0] = _auth(s_alice, 400e6, ID);
    auths[1] = _auth(s_alice, 300e6, keccak256("withdrawal-2"));
    bytes32[][] memory proofs = _commitAuths(auths);
    s_vault.queueWithdrawal(auths[0], proofs[0]);
    s_vault.queueWithdrawal(auths[1], proofs[1]);
    vm.warp(block.timestamp + WITHDRAWAL_DELAY);
    s_vault.executeWithdrawal(auths[0], proofs[0]);
    s_vault.executeWithdrawal(auths[1], proofs[1]);
    _snapshotExecutionGas(
      "ReserveVault", "executeWithdrawal", abi.encodeCall(ReserveVault.executeWithdrawal, (auths[1], proofs[1]))
    );
    assertEq(s_token.balanceOf(s_alice), 700e6);
  }
}
