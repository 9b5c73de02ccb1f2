// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Ownable2StepMsgSender} from "@chainlink/contracts/src/v0.8/shared/access/Ownable2StepMsgSender.sol";

/// @title QuoteBoard
/// @notice The dark pool's board on the hub chain (docs/quote-format.md): registered market
/// makers submit sealed quotes — always `SEALED_QUOTE_LENGTH` bytes, null quotes included — into
/// rounds of `roundSeconds` of hub time, and the board chains every quote it takes into one head.
/// An attestation commits to the last closed round and the head after it, which the hub checks at
/// publish, so whoever runs the aggregator can neither withhold a quote from the enclave nor
/// replay an old one.
/// @dev The board never sees a price or a size: quotes are HPKE ciphertexts to the enclave.
contract QuoteBoard is Ownable2StepMsgSender {
  error NotAMaker(address sender);
  error QuoteLength(uint256 expected, uint256 actual);
  error ZeroAddress();
  error InvalidRoundSeconds(uint64 roundSeconds);

  /// @notice A maker's quote key was set (zero: the maker was removed).
  event MakerSet(address indexed maker, bytes32 quoteKey);
  /// @notice A quote was taken in `round` under the maker's `quoteKey`; `head` is the chain's
  /// head after it. Everything a host needs to hand the enclave the entry.
  event QuoteSubmitted(uint64 indexed round, address indexed maker, bytes32 quoteKey, bytes32 head, bytes quote);

  /// @notice Every sealed quote's length: 17-byte header, 32-byte `enc`, 224-byte plaintext,
  /// 16-byte tag.
  uint256 public constant SEALED_QUOTE_LENGTH = 289;

  uint64 internal immutable i_roundSeconds;
  mapping(address maker => bytes32 quoteKey) internal s_makers;
  /// @notice The round of the latest quote, and the head after it.
  uint64 internal s_round;
  bytes32 internal s_head;
  /// @notice The round of the latest quote before `s_round`'s first, and the head after it.
  uint64 internal s_previousRound;
  bytes32 internal s_previousHead;

  constructor(
    uint64 roundSeconds
  ) {
    if (roundSeconds == 0) revert InvalidRoundSeconds(roundSeconds);
    i_roundSeconds = roundSeconds;
  }

  /// @notice Registers a maker's X25519 quote key, or replaces it; zero removes the maker.
  /// Quotes taken before keep the key they were taken under (the head binds it).
  function setMaker(
    address maker,
    bytes32 quoteKey
  ) external onlyOwner {
    if (maker == address(0)) revert ZeroAddress();
    s_makers[maker] = quoteKey;
    emit MakerSet(maker, quoteKey);
  }

  /// @notice Takes a registered maker's sealed quote into the current round and the chain:
  /// `head = keccak256(abi.encode(head, round, maker, quoteKey, keccak256(sealed)))`.
  function submitQuote(
    bytes calldata quote
  ) external returns (bytes32 head) {
    bytes32 quoteKey = s_makers[msg.sender];
    if (quoteKey == bytes32(0)) revert NotAMaker(msg.sender);
    if (quote.length != SEALED_QUOTE_LENGTH) revert QuoteLength(SEALED_QUOTE_LENGTH, quote.length);
    uint64 round = currentRound();
    if (round != s_round) {
      (s_previousRound, s_previousHead) = (s_round, s_head);
      s_round = round;
    }
    head = keccak256(abi.encode(s_head, round, msg.sender, quoteKey, keccak256(quote)));
    s_head = head;
    emit QuoteSubmitted(round, msg.sender, quoteKey, head, quote);
  }

  /// @notice The round hub time is in now.
  function currentRound() public view returns (uint64) {
    return uint64(block.timestamp / i_roundSeconds);
  }

  /// @notice What an attestation published now must commit to: the latest round with quotes
  /// that has closed, and the head after it ((0, 0) before any).
  function getClosedQuotes() external view returns (uint64 round, bytes32 head) {
    if (s_round < currentRound()) return (s_round, s_head);
    return (s_previousRound, s_previousHead);
  }

  /// @notice A maker's quote key (zero: not a maker).
  function getMakerKey(
    address maker
  ) external view returns (bytes32) {
    return s_makers[maker];
  }

  /// @notice The length of a round, in seconds of hub time.
  function getRoundSeconds() external view returns (uint64) {
    return i_roundSeconds;
  }
}
