// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {MockV3Aggregator} from "@chainlink/local/src/data-feeds/MockV3Aggregator.sol";

/// @title DevnetFeed
/// @notice chainlink-local's mock data feed, for devnet tests of a reporter's `chainlink_feed`
/// source: answers, rounds and timestamps are set at will with `updateAnswer` and
/// `updateRoundData`.
/// @dev Devnet and tests only: anyone can set its answer.
contract DevnetFeed is MockV3Aggregator {
  constructor(
    uint8 decimals_,
    int256 initialAnswer
  ) MockV3Aggregator(decimals_, initialAnswer) {}
}
