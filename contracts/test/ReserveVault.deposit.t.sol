// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ReserveVault} from "../src/ReserveVault.sol";
import {CCIPReceiver} from "@chainlink/contracts-ccip/contracts/applications/CCIPReceiver.sol";
import {IReserveOracle} from "../src/interfaces/IReserveOracle.sol";
import {VaultTest} from "./helpers/VaultTest.t.sol";

import {ERC20} from "@openzeppelin/contracts@5.0.2/token/ERC20/ERC20.sol";
import {IERC20} from "@openzeppelin/contracts@5.0.2/token/ERC20/IERC20.sol";
import {IERC20Errors} from "@openzeppelin/contracts@5.0.2/interfaces/draft-IERC6093.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts@5.0.2/utils/ReentrancyGuard.sol";

/// @notice A token that keeps 1 % of every transfer: what arrives is less than what was sent.
contract FeeOnTransferToken is ERC20 {
  constructor() ERC20("Fee", "FEE") {}

  function mint(
    address to,
    uint256 amount
  ) external {
    _mint(to, amount);
  }

  function _update(
    address from,
    address to,
    uint256 value
  ) internal override {
    if (from == address(0) || to == address(0)) return super._update(from, to, value);
    uint256 fee = value / 100;
    super._update(from, address(0xFEE), fee);
    super._update(from, to, value - fee);
  }
}

/// @notice A token whose transfers call back into the vault, as a hook-bearing token could.
contract ReentrantToken is ERC20 {
  ReserveVault internal s_target;

  constructor() ERC20("Hook", "HOOK") {}

  function mint(
    address to,
    uint256 amount
  ) external {
    _mint(to, amount);
  }

  function setTarget(
    ReserveVault target
  ) external {
    s_target = target;
  }

  function _update(
    address from,
    address to,
    uint256 value
  ) internal override {
    super._update(from, to, value);
    if (address(s_target) != address(0) && to == address(s_target)) s_target.inflow(1);
  }
}

/// @notice Deposits and inflows: the token moves in and one entry per call is appended to the log,
/// whose head matches a recomputation from the documented formula.
contract ReserveVault_deposit is VaultTest {
  function test_constructor_ReadsTheOraclesChain() public view {
    assertEq(s_vault.getLocalChainSelector(), SPOKE_A);
    assertEq(s_vault.getOracle(), address(s_spoke));
    assertEq(address(s_vault.getToken()), address(s_token));
    assertEq(s_vault.getWithdrawalDelay(), WITHDRAWAL_DELAY);
    (uint256 limit, uint64 window) = s_vault.getOutflowLimit();
    assertEq(limit, OUTFLOW_LIMIT);
    assertEq(window, OUTFLOW_WINDOW);
    assertEq(s_vault.getExodusDelay(), EXODUS_DELAY);
    (uint64 count, bytes32 head) = s_vault.getLogHead();
    assertEq(count, 0, "the log starts empty");
    assertEq(head, bytes32(0), "at the zero head");
  }

  function test_constructor_RevertWhen_Misconfigured() public {
    IReserveOracle oracle = IReserveOracle(address(s_spoke));
    vm.expectRevert(ReserveVault.ZeroAddress.selector);
    new ReserveVault(IERC20(address(0)), oracle, 1, 1, 1, 1, address(s_router));
    vm.expectRevert(ReserveVault.ZeroAddress.selector);
    new ReserveVault(s_token, IReserveOracle(address(0)), 1, 1, 1, 1, address(s_router));
    vm.expectRevert(abi.encodeWithSelector(ReserveVault.InvalidWithdrawalDelay.selector, 0));
    new ReserveVault(s_token, oracle, 0, 1, 1, 1, address(s_router));
    vm.expectRevert(abi.encodeWithSelector(ReserveVault.InvalidOutflowLimit.selector, 0, 1));
    new ReserveVault(s_token, oracle, 1, 0, 1, 1, address(s_router));
    vm.expectRevert(abi.encodeWithSelector(ReserveVault.InvalidOutflowLimit.selector, 1, 0));
    new ReserveVault(s_token, oracle, 1, 1, 0, 1, address(s_router));
    vm.expectRevert(abi.encodeWithSelector(ReserveVault.InvalidExodusDelay.selector, 0));
    new ReserveVault(s_token, oracle, 1, 1, 1, 0, address(s_router));
    vm.expectRevert(abi.encodeWithSelector(CCIPReceiver.InvalidRouter.selector, address(0)));
    new ReserveVault(s_token, oracle, 1, 1, 1, 1, address(0));
  }

  function test_deposit_MovesTokensAndAppends() public {
    _fund(s_alice, 1000e6);
    bytes32 head = _nextHead(bytes32(0), 1, DEPOSIT, s_alice, 1000e6, uint64(block.timestamp), bytes32(0));
    vm.expectEmit(address(s_vault));
    emit ReserveVault.Logged(1, DEPOSIT, s_alice, 1000e6, uint64(block.timestamp), bytes32(0), head);
    vm.prank(s_alice);
    s_vault.deposit(1000e6);
    assertEq(s_token.balanceOf(address(s_vault)), 1000e6);
    assertEq(s_token.balanceOf(s_alice), 0);
    (uint64 count, bytes32 logHead) = s_vault.getLogHead();
    assertEq(count, 1);
    assertEq(logHead, head);
  }

  function test_inflow_AppendsAsAnInflow() public {
    _fund(s_bob, 5e6);
    bytes32 head = _nextHead(bytes32(0), 1, INFLOW, s_bob, 5e6, uint64(block.timestamp), bytes32(0));
    vm.expectEmit(address(s_vault));
    emit ReserveVault.Logged(1, INFLOW, s_bob, 5e6, uint64(block.timestamp), bytes32(0), head);
    vm.prank(s_bob);
    s_vault.inflow(5e6);
    assertEq(s_token.balanceOf(address(s_vault)), 5e6);
  }

  /// Deposits and inflows from several accounts at several times: the head after each is the
  /// off-chain recomputation's, so an entry left out or changed would show.
  function test_deposit_HeadsMatchTheRecomputation() public {
    _deposit(s_alice, 100e6);
    _assertLog(s_vault);
    vm.warp(block.timestamp + 17);
    _deposit(s_bob, 250e6);
    _assertLog(s_vault);
    vm.warp(block.timestamp + 3600);
    _fund(s_alice, 7e6);
    vm.prank(s_alice);
    s_vault.inflow(7e6);
    _expectEntry(INFLOW, s_alice, 7e6, bytes32(0));
    _assertLog(s_vault);
    _deposit(s_alice, 1);
    _assertLog(s_vault);
    assertEq(s_token.balanceOf(address(s_vault)), 357e6 + 1);
  }

  function test_deposit_RevertWhen_ZeroAmount() public {
    vm.expectRevert(ReserveVault.ZeroAmount.selector);
    vm.prank(s_alice);
    s_vault.deposit(0);
    vm.expectRevert(ReserveVault.ZeroAmount.selector);
    vm.prank(s_alice);
    s_vault.inflow(0);
  }

  function test_deposit_RevertWhen_NotApproved() public {
    s_token.mint(s_alice, 10e6);
    vm.expectRevert(abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(s_vault), 0, 10e6));
    vm.prank(s_alice);
    s_vault.deposit(10e6);
    (uint64 count,) = s_vault.getLogHead();
    assertEq(count, 0, "nothing logged");
  }

  /// The log records what arrived, not what was asked: the ledger never credits a fee the
  /// vault did not receive.
  function test_deposit_LogsWhatArrived() public {
    FeeOnTransferToken token = new FeeOnTransferToken();
    ReserveVault vault = new ReserveVault(
      token, s_spoke, WITHDRAWAL_DELAY, OUTFLOW_LIMIT, OUTFLOW_WINDOW, EXODUS_DELAY, address(s_router)
    );
    token.mint(s_alice, 100e6);
    vm.startPrank(s_alice);
    token.approve(address(vault), 100e6);
    vault.deposit(100e6);
    vm.stopPrank();
    assertEq(token.balanceOf(address(vault)), 99e6);
    _expectEntry(DEPOSIT, s_alice, 99e6, bytes32(0));
    _assertLog(vault);
  }

  /// A token that re-enters the vault while it moves cannot log an entry inside another.
  function test_deposit_RevertWhen_Reentered() public {
    ReentrantToken token = new ReentrantToken();
    ReserveVault vault = new ReserveVault(
      token, s_spoke, WITHDRAWAL_DELAY, OUTFLOW_LIMIT, OUTFLOW_WINDOW, EXODUS_DELAY, address(s_router)
    );
    token.setTarget(vault);
    token.mint(s_alice, 100e6);
    vm.startPrank(s_alice);
    token.approve(address(vault), 100e6);
    vm.expectRevert(ReentrancyGuard.ReentrancyGuardReentrantCall.selector);
    vault.deposit(100e6);
    vm.stopPrank();
    (uint64 count,) = vault.getLogHead();
    assertEq(count, 0);
  }

  /// Any sequence of deposits and inflows leaves the head the recomputation gives.
  function testFuzz_deposit_HeadMatchesTheRecomputation(
    uint96[8] memory amounts,
    uint8 inflowMask,
    uint16[8] memory gaps
  ) public {
    uint256 total;
    for (uint256 i = 0; i < amounts.length; ++i) {
      uint256 amount = bound(amounts[i], 1, type(uint96).max);
      address who = i % 2 == 0 ? s_alice : s_bob;
      vm.warp(block.timestamp + gaps[i]);
      _fund(who, amount);
      vm.prank(who);
      if ((inflowMask >> i) & 1 == 1) {
        s_vault.inflow(amount);
        _expectEntry(INFLOW, who, amount, bytes32(0));
      } else {
        s_vault.deposit(amount);
        _expectEntry(DEPOSIT, who, amount, bytes32(0));
      }
      total += amount;
    }
    _assertLog(s_vault);
    assertEq(s_token.balanceOf(address(s_vault)), total);
  }

  // ================================================================
  // │                             Gas                              │
  // ================================================================

  /// @dev The first deposit writes the log's slots fresh; later ones overwrite them.
  /// forge-config: default.isolate = true
  function test_gas_deposit_first() public {
    _fund(s_alice, 2000e6);
    vm.prank(s_alice);
    s_vault.deposit(1000e6);
    _snapshotExecutionGas("ReserveVault", "deposit_first", abi.encodeCall(ReserveVault.deposit, (1000e6)));
  }

  /// forge-config: default.isolate = true
  function test_gas_deposit() public {
    _deposit(s_bob, 1000e6);
    _fund(s_alice, 1000e6);
    vm.prank(s_alice);
    s_vault.deposit(1000e6);
    _snapshotExecutionGas("ReserveVault", "deposit", abi.encodeCall(ReserveVault.deposit, (1000e6)));
  }

  /// forge-config: default.isolate = true
  function test_gas_inflow() public {
    _deposit(s_bob, 1000e6);
    _fund(s_alice, 1000e6);
    vm.prank(s_alice);
    s_vault.inflow(1000e6);
    _snapshotExecutionGas("ReserveVault", "inflow", abi.encodeCall(ReserveVault.inflow, (1000e6)));
  }
}
