// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {QuoteBoard} from "../src/QuoteBoard.sol";
import {SolvencyHub} from "../src/SolvencyHub.sol";
import {SolvencyOracleBase} from "../src/SolvencyOracleBase.sol";
import {SolvencyAttestation} from "../src/libraries/SolvencyAttestation.sol";
import {BaseTest} from "./helpers/BaseTest.t.sol";

import {Ownable2Step} from "@chainlink/contracts/src/v0.8/shared/access/Ownable2Step.sol";

/// @notice The dark pool's board: registered makers' fixed-size quotes chained into one head per
/// closed round, and the hub's check that an attestation commits to exactly that.
contract QuoteBoard_test is BaseTest {
  uint64 internal constant ROUND = 60;
  bytes32 internal constant KEY_A = keccak256("maker A's X25519 key");
  bytes32 internal constant KEY_B = keccak256("maker B's X25519 key");

  QuoteBoard internal s_board;
  address internal s_makerA = makeAddr("makerA");
  address internal s_makerB = makeAddr("makerB");

  function setUp() public override {
    super.setUp();
    vm.warp(1_750_000_000);
    vm.startPrank(s_owner);
    s_board = new QuoteBoard(ROUND);
    s_board.setMaker(s_makerA, KEY_A);
    s_board.setMaker(s_makerB, KEY_B);
    vm.stopPrank();
    _configureSigners(s_hub, 3, 2);
  }

  function _quote(
    uint8 fill
  ) internal pure returns (bytes memory quote) {
    quote = new bytes(289);
    for (uint256 i = 0; i < quote.length; ++i) {
      quote[i] = bytes1(fill);
    }
  }

  function _submit(
    address maker,
    uint8 fill
  ) internal returns (bytes32) {
    vm.prank(maker);
    return s_board.submitQuote(_quote(fill));
  }

  function test_submitQuote_ChainsEveryQuoteIntoOneHead() public {
    uint64 round = uint64(block.timestamp / ROUND);
    bytes32 first = keccak256(abi.encode(bytes32(0), round, s_makerA, KEY_A, keccak256(_quote(1))));
    vm.expectEmit(address(s_board));
    emit QuoteBoard.QuoteSubmitted(round, s_makerA, KEY_A, first, _quote(1));
    assertEq(_submit(s_makerA, 1), first);
    bytes32 second = keccak256(abi.encode(first, round, s_makerB, KEY_B, keccak256(_quote(2))));
    assertEq(_submit(s_makerB, 2), second);
  }

  /// Gas of a quote: the first of a round (it rolls the closed round over), and a later one.
  function test_submitQuote_Gas() public {
    _submit(s_makerA, 1);
    vm.warp(block.timestamp + ROUND);
    vm.prank(s_makerB);
    s_board.submitQuote(_quote(2));
    vm.snapshotGasLastCall("QuoteBoard", "submitQuote_firstOfRound");
    vm.prank(s_makerA);
    s_board.submitQuote(_quote(3));
    vm.snapshotGasLastCall("QuoteBoard", "submitQuote_laterInRound");
  }

  function test_submitQuote_RevertWhen_NotAMakerOrNotTheFixedLength() public {
    vm.expectRevert(abi.encodeWithSelector(QuoteBoard.NotAMaker.selector, address(this)));
    s_board.submitQuote(_quote(1));
    vm.prank(s_makerA);
    vm.expectRevert(abi.encodeWithSelector(QuoteBoard.QuoteLength.selector, 289, 288));
    s_board.submitQuote(new bytes(288));
    // A removed maker is not one.
    vm.prank(s_owner);
    s_board.setMaker(s_makerA, bytes32(0));
    vm.prank(s_makerA);
    vm.expectRevert(abi.encodeWithSelector(QuoteBoard.NotAMaker.selector, s_makerA));
    s_board.submitQuote(_quote(1));
  }

  function test_setMaker_RevertWhen_NotTheOwner() public {
    vm.prank(s_makerA);
    vm.expectRevert(Ownable2Step.OnlyCallableByOwner.selector);
    s_board.setMaker(s_makerA, KEY_B);
  }

  function test_getClosedQuotes_IsTheLastClosedRoundWithQuotes() public {
    (uint64 round, bytes32 head) = s_board.getClosedQuotes();
    assertEq(round, 0);
    assertEq(head, bytes32(0));
    uint64 r1 = s_board.currentRound();
    bytes32 h1 = _submit(s_makerA, 1);
    // Still open: nothing closed yet.
    (round, head) = s_board.getClosedQuotes();
    assertEq(head, bytes32(0));
    // Closed, and stays the answer through rounds without quotes.
    vm.warp(block.timestamp + 3 * ROUND);
    (round, head) = s_board.getClosedQuotes();
    assertEq(round, r1);
    assertEq(head, h1);
    // A quote in a new, open round does not change it; once that round closes, it does.
    uint64 r2 = s_board.currentRound();
    bytes32 h2 = _submit(s_makerB, 2);
    (round, head) = s_board.getClosedQuotes();
    assertEq(round, r1);
    assertEq(head, h1);
    vm.warp(block.timestamp + ROUND);
    (round, head) = s_board.getClosedQuotes();
    assertEq(round, r2);
    assertEq(head, h2);
  }

  /// @dev A publish over the hub's chain alone, committing to (`quoteRound`, `quoteHead`).
  function _publish(
    uint64 epoch,
    uint64 quoteRound,
    bytes32 quoteHead
  ) internal {
    SolvencyAttestation.Attestation memory a = _attestation(epoch, true);
    a.parentLedgerRoot = s_hub.getLedgerRoot();
    a.quoteRound = quoteRound;
    a.quoteHead = quoteHead;
    uint64[] memory chains = new uint64[](1);
    chains[0] = HUB_SELECTOR;
    SolvencyAttestation.ChainMessage[] memory messages = _commitChains(a, chains);
    s_hub.publish(a, _signSorted(a, _firstSigners(2)), messages);
  }

  function test_publish_CommitsToTheBoardsLastClosedRound() public {
    // Without a board: (0, 0) only.
    vm.expectRevert(abi.encodeWithSelector(SolvencyHub.QuotesMismatch.selector, 0, bytes32(0), 1, bytes32(0)));
    this.publishExternal(1, 1, bytes32(0));
    _publish(1, 0, bytes32(0));

    vm.prank(s_owner);
    s_hub.setQuoteBoard(address(s_board));
    assertEq(s_hub.getQuoteBoard(), address(s_board));
    uint64 r1 = s_board.currentRound();
    bytes32 h1 = _submit(s_makerA, 1);
    _submit(s_makerB, 2);
    bytes32 h2 = keccak256(abi.encode(h1, r1, s_makerB, KEY_B, keccak256(_quote(2))));
    vm.warp(block.timestamp + ROUND);
    // Withholding maker B's quote (the head after A's alone) is refused, and so is claiming
    // none.
    vm.expectRevert(abi.encodeWithSelector(SolvencyHub.QuotesMismatch.selector, r1, h2, r1, h1));
    this.publishExternal(2, r1, h1);
    vm.expectRevert(abi.encodeWithSelector(SolvencyHub.QuotesMismatch.selector, r1, h2, 0, bytes32(0)));
    this.publishExternal(2, 0, bytes32(0));
    _publish(2, r1, h2);
    // A quote in the open round changes nothing until that round closes.
    _submit(s_makerA, 3);
    _publish(3, r1, h2);
  }

  function publishExternal(
    uint64 epoch,
    uint64 quoteRound,
    bytes32 quoteHead
  ) external {
    _publish(epoch, quoteRound, quoteHead);
  }

  function test_setQuoteBoard_OnceAndByTheOwner() public {
    vm.expectRevert(Ownable2Step.OnlyCallableByOwner.selector);
    s_hub.setQuoteBoard(address(s_board));
    vm.startPrank(s_owner);
    vm.expectRevert(SolvencyOracleBase.ZeroAddress.selector);
    s_hub.setQuoteBoard(address(0));
    s_hub.setQuoteBoard(address(s_board));
    vm.expectRevert(abi.encodeWithSelector(SolvencyHub.QuoteBoardAlreadySet.selector, address(s_board)));
    s_hub.setQuoteBoard(address(1));
    vm.stopPrank();
  }

  function test_setQuoteBoard_IsATimelockedChange() public {
    vm.startPrank(s_owner);
    s_hub.setConfigTimelock(1 days);
    bytes memory call = abi.encodeCall(SolvencyHub.setQuoteBoard, (address(s_board)));
    bytes32 changeId = keccak256(call);
    vm.expectRevert(abi.encodeWithSelector(SolvencyOracleBase.ChangeNotScheduled.selector, changeId));
    s_hub.setQuoteBoard(address(s_board));
    s_hub.scheduleChange(call);
    vm.warp(block.timestamp + 1 days);
    s_hub.setQuoteBoard(address(s_board));
    vm.stopPrank();
    assertEq(s_hub.getQuoteBoard(), address(s_board));
  }
}
