// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

// Deliberately nothing of this project's: this is how a consumer written for any Chainlink
// Proof-of-Reserve feed looks, and it works unchanged over a SolvencyFeed.
import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";

import {ERC20} from "@openzeppelin/contracts@5.0.2/token/ERC20/ERC20.sol";
import {Ownable} from "@openzeppelin/contracts@5.0.2/access/Ownable.sol";

/// @title SecureMintToken
/// @notice An example of Chainlink's Proof-of-Reserve secure-mint pattern: every mint reads the
/// reserve feed's latest round and refuses unless the answer is at least a minimum and the round
/// is complete and younger than the feed's heartbeat. Over a SolvencyFeed (answer 1 = solvent
/// and valid) a minimum of 1 mints only while the deployment is attested solvent.
contract SecureMintToken is ERC20, Ownable {
  error ZeroFeed();
  error InvalidMinAnswer(int256 minAnswer);
  error ZeroHeartbeat();
  /// @notice The feed has no round yet (`updatedAt == 0`).
  error ReserveNotReported();
  /// @notice The round's answer was carried over from an older round.
  error IncompleteRound(uint80 roundId, uint80 answeredInRound);
  /// @notice The latest round is older than the heartbeat: the feed has stopped updating.
  error StaleReserve(uint256 updatedAt, uint256 heartbeat);
  /// @notice The reserve answer is below what minting requires.
  error InsufficientReserve(int256 answer, int256 minAnswer);

  AggregatorV3Interface internal immutable i_reserveFeed;
  /// @notice The lowest answer that allows a mint; above zero, so that a feed reading 0 stops it.
  int256 internal immutable i_minAnswer;
  /// @notice The longest a round may go without an update, in seconds.
  uint256 internal immutable i_heartbeat;

  constructor(
    AggregatorV3Interface reserveFeed,
    int256 minAnswer,
    uint256 heartbeat
  ) ERC20("Secure Mint Token", "SMT") Ownable(msg.sender) {
    if (address(reserveFeed) == address(0)) revert ZeroFeed();
    if (minAnswer <= 0) revert InvalidMinAnswer(minAnswer);
    if (heartbeat == 0) revert ZeroHeartbeat();
    i_reserveFeed = reserveFeed;
    i_minAnswer = minAnswer;
    i_heartbeat = heartbeat;
  }

  /// @notice Mints `amount` to `to`, only while the reserve feed's latest round allows it.
  function mint(
    address to,
    uint256 amount
  ) external onlyOwner {
    _checkReserve();
    _mint(to, amount);
  }

  /// @notice The reserve feed, the minimum answer and the heartbeat this token checks.
  function getReserveConfig()
    external
    view
    returns (AggregatorV3Interface reserveFeed, int256 minAnswer, uint256 heartbeat)
  {
    return (i_reserveFeed, i_minAnswer, i_heartbeat);
  }

  /// @dev The round checks come before the answer's, so that a feed that stopped reports as
  /// stale rather than as short of reserves. An `updatedAt` slightly ahead of this block (the
  /// feed's clock runs ahead of the chain's) counts as fresh instead of underflowing.
  function _checkReserve() internal view {
    (uint80 roundId, int256 answer,, uint256 updatedAt, uint80 answeredInRound) = i_reserveFeed.latestRoundData();
    if (updatedAt == 0) revert ReserveNotReported();
    if (answeredInRound < roundId) revert IncompleteRound(roundId, answeredInRound);
    if (block.timestamp > updatedAt && block.timestamp - updatedAt > i_heartbeat) {
      revert StaleReserve(updatedAt, i_heartbeat);
    }
    if (answer < i_minAnswer) revert InsufficientReserve(answer, i_minAnswer);
  }
}
