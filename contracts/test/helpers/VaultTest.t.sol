// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ReserveVault} from "../../src/ReserveVault.sol";
import {SolvencySpoke} from "../../src/SolvencySpoke.sol";
import {DevnetToken} from "../../src/devnet/DevnetToken.sol";
import {SolvencyAttestation} from "../../src/libraries/SolvencyAttestation.sol";
import {BaseTest} from "./BaseTest.t.sol";

/// @notice Shared set-up of the vault tests: a spoke on SPOKE_A (its hub on another chain), a
/// USDC-like token and a ReserveVault over them, set as the spoke's vault; helpers that commit
/// epochs carrying this chain's authorizations and ledger root, build their trees, and recompute
/// the vault's log off-chain from the documented formula.
abstract contract VaultTest is BaseTest {
  address internal constant REMOTE_HUB = address(0x4B1B);
  uint64 internal constant WITHDRAWAL_DELAY = 1 hours;
  uint256 internal constant OUTFLOW_LIMIT = 1_000_000e6;
  uint64 internal constant OUTFLOW_WINDOW = 1 days;
  uint64 internal constant EXODUS_DELAY = 14 days;
  /// Log entry kinds, as documented (not read from the contract, so that a change there fails).
  uint8 internal constant DEPOSIT = 1;
  uint8 internal constant WITHDRAWAL = 2;
  uint8 internal constant INFLOW = 3;
  uint8 internal constant EXODUS = 4;
  /// SPOKE_A's position among the standard chains (SPOKE_B, hub, SPOKE_A).
  uint256 internal constant SPOKE_A_INDEX = 2;

  SolvencySpoke internal s_spoke;
  DevnetToken internal s_token;
  ReserveVault internal s_vault;
  address internal s_alice = makeAddr("alice");
  address internal s_bob = makeAddr("bob");
  uint64 internal s_epoch;

  /// The test's own copy of the log: count and head recomputed from each entry it expects.
  uint64 internal s_expectedCount;
  bytes32 internal s_expectedHead;

  function setUp() public virtual override {
    super.setUp();
    s_spoke = _deploySpoke(SPOKE_A, HUB_SELECTOR, REMOTE_HUB);
    _configureSigners(s_spoke, 3, 2);
    s_token = new DevnetToken("USD Coin", "USDC", 6);
    s_vault = new ReserveVault(
      s_token, s_spoke, WITHDRAWAL_DELAY, OUTFLOW_LIMIT, OUTFLOW_WINDOW, EXODUS_DELAY, address(s_router)
    );
    vm.prank(s_owner);
    s_spoke.setVault(address(s_vault));
  }

  // ================================================================
  // │                       Tokens and the log                     │
  // ================================================================

  function _fund(
    address who,
    uint256 amount
  ) internal {
    s_token.mint(who, amount);
    vm.prank(who);
    s_token.approve(address(s_vault), type(uint256).max);
  }

  /// @dev Deposits from `who` and records the entry in the test's copy of the log.
  function _deposit(
    address who,
    uint256 amount
  ) internal {
    _fund(who, amount);
    vm.prank(who);
    s_vault.deposit(amount);
    _expectEntry(DEPOSIT, who, amount, bytes32(0));
  }

  /// @dev Appends an entry to the test's copy of the log, stamped with this block's time.
  function _expectEntry(
    uint8 kind,
    address account,
    uint256 amount,
    bytes32 ref
  ) internal {
    ++s_expectedCount;
    s_expectedHead = _nextHead(s_expectedHead, s_expectedCount, kind, account, amount, uint64(block.timestamp), ref);
  }

  /// @dev The documented head formula: keccak256(abi.encode(head, count', kind, account, amount,
  /// timestamp, ref)).
  function _nextHead(
    bytes32 head,
    uint64 count,
    uint8 kind,
    address account,
    uint256 amount,
    uint64 timestamp,
    bytes32 ref
  ) internal pure returns (bytes32) {
    return keccak256(abi.encode(head, count, kind, account, amount, timestamp, ref));
  }

  function _assertLog(
    ReserveVault vault
  ) internal view {
    (uint64 count, bytes32 head) = vault.getLogHead();
    assertEq(count, s_expectedCount, "log count");
    assertEq(head, s_expectedHead, "log head differs from the off-chain recomputation");
  }

  // ================================================================
  // │                           Epochs                             │
  // ================================================================

  /// @dev Commits the next epoch on the spoke: this chain's leaf names the vault and `authRoot`,
  /// and the attestation carries `ledgerRoot`.
  function _commit(
    bytes32 authRoot,
    bytes32 ledgerRoot
  ) internal {
    SolvencyAttestation.Attestation memory a = _attestation(++s_epoch, true);
    a.ledgerRoot = ledgerRoot;
    SolvencyAttestation.ChainLeaf[] memory leaves = _standardLeaves();
    assertEq(leaves[SPOKE_A_INDEX].chainSelector, SPOKE_A);
    leaves[SPOKE_A_INDEX].vault = address(s_vault);
    leaves[SPOKE_A_INDEX].authRoot = authRoot;
    SolvencyAttestation.ChainMessage[] memory ms;
    (a.chainsRoot, ms) = _tree(leaves);
    bytes[] memory sigs = _signSorted(a, _firstSigners(2));
    vm.prank(address(s_router));
    s_spoke.ccipReceive(_deliveryMessage(HUB_SELECTOR, REMOTE_HUB, a, sigs, ms[SPOKE_A_INDEX]));
    assertEq(s_spoke.latestAttestation().epoch, s_epoch, "epoch committed");
  }

  // ================================================================
  // │                        Authorizations                        │
  // ================================================================

  function _auth(
    address owner,
    uint256 amount,
    bytes32 id
  ) internal view returns (SolvencyAttestation.Authorization memory) {
    return SolvencyAttestation.Authorization({
      chainSelector: SPOKE_A, vault: address(s_vault), owner: owner, amount: amount, id: id
    });
  }

  /// @dev The documented leaf hash, field by field.
  function _authHash(
    SolvencyAttestation.Authorization memory auth
  ) internal pure returns (bytes32) {
    return
      keccak256(bytes.concat(keccak256(abi.encode(auth.chainSelector, auth.vault, auth.owner, auth.amount, auth.id))));
  }

  /// @dev The `authRoot` over `auths` and each one's proof.
  function _authTree(
    SolvencyAttestation.Authorization[] memory auths
  ) internal pure returns (bytes32 root, bytes32[][] memory proofs) {
    bytes32[] memory hashes = new bytes32[](auths.length);
    for (uint256 i = 0; i < auths.length; ++i) {
      hashes[i] = _authHash(auths[i]);
    }
    root = _merkleRoot(hashes);
    proofs = new bytes32[][](auths.length);
    for (uint256 i = 0; i < auths.length; ++i) {
      proofs[i] = _merkleProof(hashes, i);
    }
  }

  /// @dev Commits an epoch authorizing `auths` (with no ledger root change worth testing).
  function _commitAuths(
    SolvencyAttestation.Authorization[] memory auths
  ) internal returns (bytes32[][] memory proofs) {
    bytes32 root;
    (root, proofs) = _authTree(auths);
    _commit(root, _ledgerRoot(s_epoch + 1));
  }

  /// @dev Commits one authorization (with a second, unrelated one beside it, so the proof is
  /// not empty) and returns its proof.
  function _commitAuth(
    SolvencyAttestation.Authorization memory auth
  ) internal returns (bytes32[] memory) {
    SolvencyAttestation.Authorization[] memory auths = new SolvencyAttestation.Authorization[](2);
    auths[0] = auth;
    auths[1] = _auth(s_bob, 1e6, keccak256(abi.encode("another authorization", s_epoch)));
    return _commitAuths(auths)[0];
  }

  // ================================================================
  // │                        Ledger leaves                         │
  // ================================================================

  function _ledgerLeaf(
    address owner,
    uint256 balance,
    uint256 withdrawnTotal
  ) internal view returns (SolvencyAttestation.LedgerLeaf memory) {
    return SolvencyAttestation.LedgerLeaf({
      owner: owner,
      chainSelector: SPOKE_A,
      vault: address(s_vault),
      balance: balance,
      withdrawnTotal: withdrawnTotal,
      salt: keccak256(abi.encode("salt", owner, s_epoch))
    });
  }

  function _ledgerHash(
    SolvencyAttestation.LedgerLeaf memory leaf
  ) internal pure returns (bytes32) {
    return keccak256(
      bytes.concat(
        keccak256(abi.encode(leaf.owner, leaf.chainSelector, leaf.vault, leaf.balance, leaf.withdrawnTotal, leaf.salt))
      )
    );
  }

  /// @dev The `ledgerRoot` over `leaves` plus the sentinel (zero owner, chain, vault and
  /// amounts), and each given leaf's proof.
  function _ledgerTree(
    SolvencyAttestation.LedgerLeaf[] memory leaves
  ) internal pure returns (bytes32 root, bytes32[][] memory proofs) {
    bytes32[] memory hashes = new bytes32[](leaves.length + 1);
    for (uint256 i = 0; i < leaves.length; ++i) {
      hashes[i] = _ledgerHash(leaves[i]);
    }
    SolvencyAttestation.LedgerLeaf memory sentinel;
    sentinel.salt = keccak256("sentinel salt");
    hashes[leaves.length] = _ledgerHash(sentinel);
    root = _merkleRoot(hashes);
    proofs = new bytes32[][](leaves.length);
    for (uint256 i = 0; i < leaves.length; ++i) {
      proofs[i] = _merkleProof(hashes, i);
    }
  }
}
