// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {SolvencyAttestation} from "../libraries/SolvencyAttestation.sol";

/// @title ISolvencyOracle
/// @notice What a consumer contract on any chain of a deployment reads. The hub and every spoke
/// implement it; both fail closed.
interface ISolvencyOracle {
  /// @notice True only if the latest accepted attestation says solvent and has not expired.
  /// A silent aggregator therefore reads as not solvent once `validUntil` has passed.
  function isSolvent() external view returns (bool);

  /// @notice The latest accepted attestation (all zero before the first one).
  function latestAttestation() external view returns (SolvencyAttestation.Attestation memory);
}
