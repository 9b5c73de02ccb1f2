// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ReserveVault} from "../src/ReserveVault.sol";
import {SolvencyAttestation} from "../src/libraries/SolvencyAttestation.sol";
import {ReserveVaultHandler} from "./helpers/ReserveVaultHandler.t.sol";
import {VaultTest} from "./helpers/VaultTest.t.sol";

/// @notice What a vault keeps whatever sequence of deposits, epochs, withdrawals (genuine,
/// replayed, forged, dropped) and exodus claims it sees.
contract ReserveVault_invariants is VaultTest {
  ReserveVaultHandler internal s_handler;

  function setUp() public override {
    super.setUp();
    s_handler = new ReserveVaultHandler(s_spoke, s_vault, s_token, s_router, s_signerKeys, s_owner);
    bytes4[] memory selectors = new bytes4[](6);
    selectors[0] = ReserveVaultHandler.deposit.selector;
    selectors[1] = ReserveVaultHandler.commitEpoch.selector;
    selectors[2] = ReserveVaultHandler.queue.selector;
    selectors[3] = ReserveVaultHandler.execute.selector;
    selectors[4] = ReserveVaultHandler.exodus.selector;
    selectors[5] = ReserveVaultHandler.warp.selector;
    targetContract(address(s_handler));
    targetSelector(FuzzSelector({addr: address(s_handler), selectors: selectors}));
  }

  /// The vault never pays out more than came in, and holds exactly the difference: every token
  /// that left was counted, and none left unaccounted.
  function invariant_neverPaysOutMoreThanCameIn() public view {
    (uint256 totalIn, uint256 totalOut) = s_handler.getTotals();
    assertLe(totalOut, totalIn, "paid out more than deposits and inflows");
    assertEq(s_token.balanceOf(address(s_vault)), totalIn - totalOut, "the vault's balance is not in - out");
  }

  /// An authorization id is paid at most once, however often it was committed, queued or
  /// executed; a forged authorization is never paid; the vault's record agrees.
  function invariant_authorizationPaidAtMostOnce() public view {
    assertEq(s_handler.getForgeriesPaid(), 0, "a forged authorization was paid");
    SolvencyAttestation.Authorization[] memory auths = s_handler.getAllAuths();
    for (uint256 i = 0; i < auths.length; ++i) {
      uint256 paid = s_handler.getPaidCount(auths[i].id);
      assertLe(paid, 1, "an authorization was paid twice");
      assertEq(s_vault.getWithdrawal(auths[i].id).executed, paid == 1, "executed flag differs from payments");
    }
    address[3] memory actors = s_handler.getActors();
    for (uint256 i = 0; i < actors.length; ++i) {
      assertEq(s_vault.getWithdrawn(actors[i]), s_handler.getModelWithdrawn(actors[i]), "withdrawn total");
    }
  }

  /// The log's count is the number of successful appends and its head the handler's own
  /// recomputation from the documented formula: no deposit, withdrawal or claim is missing,
  /// reordered or altered.
  function invariant_logMatchesTheRecomputation() public view {
    (uint64 count, bytes32 head) = s_vault.getLogHead();
    (uint64 expectedCount, bytes32 expectedHead) = s_handler.getExpectedLog();
    assertEq(count, s_handler.getAppends(), "log count is not the number of appends");
    assertEq(count, expectedCount, "log count");
    assertEq(head, expectedHead, "log head differs from the recomputation");
  }

  /// Exodus pays exactly balance - (withdrawn - withdrawnTotal), floored at zero and capped at
  /// what the vault holds.
  function invariant_exodusPaysTheDocumentedAmount() public view {
    assertEq(s_handler.getExodusMismatches(), 0, "an exodus paid another amount");
  }
}
