// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ReserveVault} from "../../src/ReserveVault.sol";
import {SolvencySpoke} from "../../src/SolvencySpoke.sol";
import {DevnetToken} from "../../src/devnet/DevnetToken.sol";
import {MockCCIPRouter} from "@chainlink/local/src/vendor/chainlink-ccip/test/mocks/MockRouter.sol";
import {SolvencyAttestation} from "../../src/libraries/SolvencyAttestation.sol";
import {VaultTest} from "./VaultTest.t.sol";

/// @notice Drives a vault through random sequences of deposits, inflows, epochs that authorize
/// (and drop, and re-authorize) withdrawals, queueing, executions, forged executions, time warps
/// and exodus claims, and keeps the ghost state the invariant suite checks.
/// @dev Inherits VaultTest for its helpers only; its set-up never runs here. Payouts are measured
/// from the vault's token balance, not assumed, and each entry the vault must have logged is
/// recomputed from what the handler knows, so a payout or an entry the handler did not expect
/// shows in the invariants.
contract ReserveVaultHandler is VaultTest {
  uint256 internal constant ACTORS = 3;
  uint256 internal constant MAX_AMOUNT = 300_000e6;

  address[ACTORS] internal s_actors;

  // Ghosts.
  uint256 internal s_totalIn;
  uint256 internal s_totalOut;
  uint256 internal s_appends;
  uint256 internal s_forgeriesPaid;
  uint256 internal s_exodusMismatches;
  mapping(bytes32 id => uint256 count) internal s_paidCount;
  mapping(address owner => uint256 amount) internal s_modelWithdrawn;
  mapping(address owner => uint256 amount) internal s_deposited;

  // Authorizations: every one ever committed, and those of the latest epoch.
  SolvencyAttestation.Authorization[] internal s_allAuths;
  SolvencyAttestation.Authorization[] internal s_committed;
  uint256 internal s_nextId;

  // The ledger of the latest epoch: one leaf per actor.
  SolvencyAttestation.LedgerLeaf[] internal s_ledger;

  constructor(
    SolvencySpoke spoke,
    ReserveVault vault,
    DevnetToken token,
    MockCCIPRouter router,
    uint256[] memory enclaveKeys,
    address owner
  ) {
    s_router = router;
    s_spoke = spoke;
    s_vault = vault;
    s_token = token;
    s_owner = owner;
    for (uint256 i = 0; i < enclaveKeys.length; ++i) {
      s_signerKeys.push(enclaveKeys[i]);
      s_signerAddrs.push(vm.addr(enclaveKeys[i]));
    }
    for (uint256 i = 0; i < ACTORS; ++i) {
      s_actors[i] = makeAddr(string.concat("vault-actor-", vm.toString(i)));
    }
  }

  // ================================================================
  // │                          Actions                             │
  // ================================================================

  function deposit(
    uint256 actorSeed,
    uint256 amount,
    bool asInflow
  ) external {
    address actor = s_actors[actorSeed % ACTORS];
    amount = _bound(amount, 1, MAX_AMOUNT);
    _fund(actor, amount);
    vm.prank(actor);
    if (asInflow) s_vault.inflow(amount);
    else s_vault.deposit(amount);
    s_totalIn += amount;
    s_deposited[actor] += amount;
    _expectEntry(asInflow ? INFLOW : DEPOSIT, actor, amount, bytes32(0));
    ++s_appends;
  }

  /// @notice Commits a new epoch: keeps the authorizations `keepMask` selects, adds a fresh one,
  /// sometimes re-commits one that was already paid (what a rolled-back enclave would do), and
  /// commits a ledger of every actor's deposits and withdrawals so far.
  function commitEpoch(
    uint256 keepMask,
    uint256 ownerSeed,
    uint256 amount,
    bool recommitPaid
  ) external {
    SolvencyAttestation.Authorization[] memory kept = new SolvencyAttestation.Authorization[](s_committed.length + 2);
    uint256 n;
    for (uint256 i = 0; i < s_committed.length; ++i) {
      if ((keepMask >> i) & 1 == 1) kept[n++] = s_committed[i];
    }
    SolvencyAttestation.Authorization memory fresh =
      _auth(s_actors[ownerSeed % ACTORS], _bound(amount, 1, MAX_AMOUNT), keccak256(abi.encode("id", ++s_nextId)));
    kept[n++] = fresh;
    s_allAuths.push(fresh);
    if (recommitPaid && s_allAuths.length > 1) kept[n++] = s_allAuths[ownerSeed % (s_allAuths.length - 1)];
    delete s_committed;
    for (uint256 i = 0; i < n; ++i) {
      s_committed.push(kept[i]);
    }

    delete s_ledger;
    ++s_epoch;
    for (uint256 i = 0; i < ACTORS; ++i) {
      s_ledger.push(_ledgerLeaf(s_actors[i], s_deposited[s_actors[i]], s_modelWithdrawn[s_actors[i]]));
    }
    --s_epoch;
    (bytes32 ledgerRoot,) = _ledgerTree(s_ledger);
    (bytes32 authRoot,) = _authTree(s_committed);
    _renewSigners();
    _commit(authRoot, ledgerRoot);
  }

  function queue(
    uint256 authSeed
  ) external {
    if (s_allAuths.length == 0) return;
    SolvencyAttestation.Authorization memory auth = s_allAuths[authSeed % s_allAuths.length];
    s_vault.queueWithdrawal(auth, _proofOf(auth));
  }

  /// @notice Executes a known authorization (queued or not, paid or not, committed or not), or,
  /// one time in four, a forged variant of it for one unit more.
  function execute(
    uint256 authSeed
  ) external {
    if (s_allAuths.length == 0) return;
    SolvencyAttestation.Authorization memory auth = s_allAuths[authSeed % s_allAuths.length];
    bool forged = (authSeed >> 128) % 4 == 0;
    SolvencyAttestation.Authorization memory presented = auth;
    if (forged) presented = _auth(auth.owner, auth.amount + 1, auth.id);
    uint256 before = s_token.balanceOf(address(s_vault));
    s_vault.executeWithdrawal(presented, _proofOf(auth));
    uint256 paid = before - s_token.balanceOf(address(s_vault));
    s_totalOut += paid;
    if (forged) {
      ++s_forgeriesPaid;
      return;
    }
    if (paid > 0) ++s_paidCount[auth.id];
    s_modelWithdrawn[auth.owner] += auth.amount;
    _expectEntry(WITHDRAWAL, auth.owner, auth.amount, auth.id);
    ++s_appends;
  }

  function exodus(
    uint256 actorSeed
  ) external {
    if (s_ledger.length == 0) return;
    uint256 index = actorSeed % ACTORS;
    SolvencyAttestation.LedgerLeaf memory leaf = s_ledger[index];
    (, bytes32[][] memory proofs) = _ledgerTree(s_ledger);
    uint256 held = s_token.balanceOf(address(s_vault));
    uint256 withdrawn = s_modelWithdrawn[leaf.owner];
    uint256 since = withdrawn > leaf.withdrawnTotal ? withdrawn - leaf.withdrawnTotal : 0;
    uint256 expected = leaf.balance > since ? leaf.balance - since : 0;
    if (expected > held) expected = held;

    vm.prank(leaf.owner);
    uint256 paid = s_vault.exodus(leaf, proofs[index]);
    uint256 measured = held - s_token.balanceOf(address(s_vault));
    s_totalOut += measured;
    if (paid != expected || measured != expected) ++s_exodusMismatches;
    _expectEntry(EXODUS, leaf.owner, expected, _ledgerHash(leaf));
    ++s_appends;
  }

  /// @notice Moves time: minutes to hours mostly, sometimes past the exodus delay.
  function warp(
    uint256 seconds_
  ) external {
    uint256 max = seconds_ % 8 == 0 ? EXODUS_DELAY + 1 days : 6 hours;
    vm.warp(block.timestamp + _bound(seconds_ >> 3, 1, max));
  }

  // ================================================================
  // │                        Ghost views                           │
  // ================================================================

  function getTotals() external view returns (uint256 totalIn, uint256 totalOut) {
    return (s_totalIn, s_totalOut);
  }

  function getAppends() external view returns (uint256) {
    return s_appends;
  }

  function getExpectedLog() external view returns (uint64 count, bytes32 head) {
    return (s_expectedCount, s_expectedHead);
  }

  function getForgeriesPaid() external view returns (uint256) {
    return s_forgeriesPaid;
  }

  function getExodusMismatches() external view returns (uint256) {
    return s_exodusMismatches;
  }

  function getAllAuths() external view returns (SolvencyAttestation.Authorization[] memory) {
    return s_allAuths;
  }

  function getPaidCount(
    bytes32 id
  ) external view returns (uint256) {
    return s_paidCount[id];
  }

  function getActors() external view returns (address[ACTORS] memory) {
    return s_actors;
  }

  function getModelWithdrawn(
    address owner
  ) external view returns (uint256) {
    return s_modelWithdrawn[owner];
  }

  // ================================================================
  // │                         Internal                             │
  // ================================================================

  /// @dev The proof of `auth` under the latest epoch's authRoot when committed there, else a
  /// proof of the latest tree's first leaf (which does not verify for it).
  function _proofOf(
    SolvencyAttestation.Authorization memory auth
  ) internal view returns (bytes32[] memory) {
    if (s_committed.length == 0) return new bytes32[](0);
    (, bytes32[][] memory proofs) = _authTree(s_committed);
    for (uint256 i = 0; i < s_committed.length; ++i) {
      if (_authHash(s_committed[i]) == _authHash(auth)) return proofs[i];
    }
    return proofs[0];
  }

  /// @dev Keeps the two signing keys registered however far time has moved.
  function _renewSigners() internal {
    for (uint256 i = 0; i < 2; ++i) {
      if (s_spoke.getSigner(s_signerAddrs[i]).expiresAt < block.timestamp + 1 days) {
        vm.prank(s_owner);
        s_spoke.setSigner(s_signerAddrs[i], uint64(block.timestamp + 30 days), bytes32(0));
      }
    }
  }
}
