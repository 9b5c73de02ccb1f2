// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IReserveVault
/// @notice What a chain's oracle reads from that chain's ReserveVault: the head of its log, sent
/// with every report, and the oracle it takes leaves from (checked once, when the vault is set).
interface IReserveVault {
  /// @notice The number of entries in the vault's log and the running hash over them
  /// (`(0, 0x0)` before the first).
  function getLogHead() external view returns (uint64 logCount, bytes32 logHead);

  /// @notice The oracle whose leaves this vault pays against.
  function getOracle() external view returns (address);
}
