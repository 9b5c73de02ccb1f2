// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {SolvencyAttestation} from "../libraries/SolvencyAttestation.sol";

/// @title IReserveOracle
/// @notice What a chain's ReserveVault reads from that chain's oracle (the hub or a spoke): the
/// latest chain leaf the oracle accepted, when it arrived, and the latest ledger root. The vault
/// pulls these when it is used; the oracle never calls the vault while accepting an epoch, so
/// nothing a vault does can make an attestation's delivery fail.
interface IReserveOracle {
  /// @notice This chain's leaf of the latest accepted attestation, and the block timestamp at
  /// which it was stored (both zero before the first).
  function latestLeaf() external view returns (SolvencyAttestation.ChainLeaf memory leaf, uint64 receivedAt);

  /// @notice The latest accepted attestation's `ledgerRoot` (zero before the first).
  function getLedgerRoot() external view returns (bytes32);

  /// @notice The CCIP selector of the chain this oracle lives on.
  function getLocalChainSelector() external view returns (uint64);

  /// @notice The chain's ReserveVault (zero until the owner sets it).
  function getVault() external view returns (address);
}
