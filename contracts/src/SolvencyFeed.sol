// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ISolvencyOracle} from "./interfaces/ISolvencyOracle.sol";
import {SolvencyAttestation} from "./libraries/SolvencyAttestation.sol";

import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";

/// @title SolvencyFeed
/// @notice The deployment's answer on this chain as a Chainlink data feed, so that a contract
/// written against `AggregatorV3Interface` (a Proof-of-Reserve secure mint, a lending market's
/// circuit breaker) can use it without a code change. The answer is 1 while the oracle's
/// `isSolvent()` is true and 0 otherwise; a round is an epoch, and a round's time is the
/// instant the enclave issued the attestation.
/// @dev The answer follows `isSolvent()` on every read, so it fails closed exactly as the oracle
/// does: it drops from 1 to 0 within a round once `validUntil` passes or the owner invalidates
/// the attestation, and it never rises without a new round. A consumer that also checks
/// `updatedAt` against a heartbeat adds its own, possibly stricter, staleness bound.
/// The feed stores nothing: it has no owner and nothing to configure.
contract SolvencyFeed is AggregatorV3Interface {
  error ZeroOracle();
  /// @notice Only the latest round is known: the oracle keeps no history. Chainlink aggregators
  /// revert with "No data present" for an unknown round in the same way.
  error RoundNotAvailable(uint80 roundId, uint80 latestRoundId);

  string internal constant DESCRIPTION = "Self-Healing Reserve solvency (1 = solvent and valid, 0 = not)";
  uint256 internal constant VERSION = 1;
  /// @notice The answer is a flag, not an amount.
  uint8 internal constant DECIMALS = 0;

  ISolvencyOracle internal immutable i_oracle;

  constructor(
    ISolvencyOracle oracle
  ) {
    if (address(oracle) == address(0)) revert ZeroOracle();
    i_oracle = oracle;
  }

  /// @inheritdoc AggregatorV3Interface
  function decimals() external pure returns (uint8) {
    return DECIMALS;
  }

  /// @inheritdoc AggregatorV3Interface
  function description() external pure returns (string memory) {
    return DESCRIPTION;
  }

  /// @inheritdoc AggregatorV3Interface
  function version() external pure returns (uint256) {
    return VERSION;
  }

  /// @notice The latest round: roundId and answeredInRound are the attestation's epoch,
  /// startedAt and updatedAt its `issuedAt`, and the answer 1 if the oracle reads solvent now.
  /// @dev Before the first attestation (epoch 0) every field is zero, as a Chainlink feed that
  /// has no data yet returns: answer 0 fails closed, and `updatedAt == 0` is what consumers
  /// already treat as "no round yet".
  function latestRoundData()
    external
    view
    returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
  {
    return _latestRound();
  }

  /// @notice The latest round's data when `roundId` is the latest epoch (see latestRoundData).
  /// @dev Reverts with RoundNotAvailable for any other round, and for every round before the
  /// first attestation.
  function getRoundData(
    uint80 roundId
  ) external view returns (uint80, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound) {
    uint80 latestRoundId;
    (latestRoundId, answer, startedAt, updatedAt, answeredInRound) = _latestRound();
    if (latestRoundId == 0 || roundId != latestRoundId) revert RoundNotAvailable(roundId, latestRoundId);
    return (latestRoundId, answer, startedAt, updatedAt, answeredInRound);
  }

  /// @notice The oracle this feed reads.
  function getOracle() external view returns (ISolvencyOracle) {
    return i_oracle;
  }

  function _latestRound()
    internal
    view
    returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
  {
    SolvencyAttestation.Attestation memory latest = i_oracle.latestAttestation();
    if (latest.epoch == 0) return (0, 0, 0, 0, 0);
    roundId = uint80(latest.epoch);
    answer = i_oracle.isSolvent() ? int256(1) : int256(0);
    return (roundId, answer, latest.issuedAt, latest.issuedAt, roundId);
  }
}
