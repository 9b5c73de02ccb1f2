// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {SolvencyFeed} from "../src/SolvencyFeed.sol";
import {SolvencySpoke} from "../src/SolvencySpoke.sol";
import {SecureMintToken} from "../src/examples/SecureMintToken.sol";
import {SolvencyAttestation} from "../src/libraries/SolvencyAttestation.sol";
import {BaseTest} from "./helpers/BaseTest.t.sol";

import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";
import {Ownable} from "@openzeppelin/contracts@5.0.2/access/Ownable.sol";

/// @dev A Proof-of-Reserve secure mint, written only against AggregatorV3Interface, over a
/// SolvencyFeed over a spoke: the whole path an existing consumer would take.
contract SecureMintToken_mint is BaseTest {
  address internal constant REMOTE_HUB = address(0x4B1B);
  address internal constant ALICE = address(0xA11CE);
  /// Shorter than the attestation validity, so staleness and expiry can be told apart.
  uint256 internal constant HEARTBEAT = 30 minutes;

  SolvencySpoke internal s_spoke;
  SolvencyFeed internal s_feed;
  SecureMintToken internal s_token;

  function setUp() public override {
    super.setUp();
    s_spoke = _deploySpoke(SPOKE_A, HUB_SELECTOR, REMOTE_HUB);
    _configureSigners(s_spoke, 1, 1);
    s_feed = new SolvencyFeed(s_spoke);
    s_token = new SecureMintToken(s_feed, 1, HEARTBEAT);
  }

  function _attest(
    bool solvent
  ) internal returns (SolvencyAttestation.Attestation memory a) {
    a = _attestation(s_spoke.latestAttestation().epoch + 1, solvent);
    vm.prank(address(s_router));
    s_spoke.ccipReceive(_attestationMessage(HUB_SELECTOR, REMOTE_HUB, a, _signSorted(a, _firstSigners(1))));
  }

  function test_mint_WhenSolvent() public {
    _attest(true);
    s_token.mint(ALICE, 100);
    assertEq(s_token.balanceOf(ALICE), 100);
    assertEq(s_token.totalSupply(), 100);
  }

  function test_mint_AtTheHeartbeat() public {
    SolvencyAttestation.Attestation memory a = _attest(true);
    vm.warp(a.issuedAt + HEARTBEAT);
    s_token.mint(ALICE, 100);
    assertEq(s_token.balanceOf(ALICE), 100);
  }

  function test_mint_RevertWhen_NeverAttested() public {
    vm.expectRevert(SecureMintToken.ReserveNotReported.selector);
    s_token.mint(ALICE, 100);
  }

  function test_mint_RevertWhen_AttestedInsolvent() public {
    _attest(true);
    _attest(false);
    vm.expectRevert(abi.encodeWithSelector(SecureMintToken.InsufficientReserve.selector, int256(0), int256(1)));
    s_token.mint(ALICE, 100);
  }

  /// Past validUntil the feed answers 0 while its round is still within a longer heartbeat.
  function test_mint_RevertWhen_AttestationExpired() public {
    SecureMintToken token = new SecureMintToken(s_feed, 1, 2 * VALIDITY);
    SolvencyAttestation.Attestation memory a = _attest(true);
    vm.warp(a.validUntil + 1);
    vm.expectRevert(abi.encodeWithSelector(SecureMintToken.InsufficientReserve.selector, int256(0), int256(1)));
    token.mint(ALICE, 100);
  }

  /// The attestation is still valid, but older than the consumer's own heartbeat.
  function test_mint_RevertWhen_OlderThanHeartbeat() public {
    SolvencyAttestation.Attestation memory a = _attest(true);
    vm.warp(a.issuedAt + HEARTBEAT + 1);
    assertTrue(s_spoke.isSolvent(), "still valid");
    vm.expectRevert(abi.encodeWithSelector(SecureMintToken.StaleReserve.selector, a.issuedAt, HEARTBEAT));
    s_token.mint(ALICE, 100);
  }

  function test_mint_RevertWhen_NotOwner() public {
    _attest(true);
    vm.prank(ALICE);
    vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, ALICE));
    s_token.mint(ALICE, 100);
  }

  function test_mint_RevertWhen_IncompleteRound() public {
    AggregatorV3Interface feed = AggregatorV3Interface(makeAddr("feed"));
    SecureMintToken token = new SecureMintToken(feed, 1, HEARTBEAT);
    vm.mockCall(
      address(feed),
      abi.encodeCall(AggregatorV3Interface.latestRoundData, ()),
      abi.encode(uint80(5), int256(1), block.timestamp, block.timestamp, uint80(4))
    );
    vm.expectRevert(abi.encodeWithSelector(SecureMintToken.IncompleteRound.selector, uint80(5), uint80(4)));
    token.mint(ALICE, 100);
  }

  function test_constructor_RevertWhen_Misconfigured() public {
    vm.expectRevert(SecureMintToken.ZeroFeed.selector);
    new SecureMintToken(AggregatorV3Interface(address(0)), 1, HEARTBEAT);
    vm.expectRevert(abi.encodeWithSelector(SecureMintToken.InvalidMinAnswer.selector, int256(0)));
    new SecureMintToken(s_feed, 0, HEARTBEAT);
    vm.expectRevert(SecureMintToken.ZeroHeartbeat.selector);
    new SecureMintToken(s_feed, 1, 0);

    (AggregatorV3Interface feed, int256 minAnswer, uint256 heartbeat) = s_token.getReserveConfig();
    assertEq(address(feed), address(s_feed));
    assertEq(minAnswer, 1);
    assertEq(heartbeat, HEARTBEAT);
  }

  // ================================================================
  // │                           Fuzz                               │
  // ================================================================

  /// A mint succeeds exactly while the attestation is solvent, unexpired and within the
  /// heartbeat; otherwise it reverts with the reason and mints nothing.
  function testFuzz_mint_OnlyWhileSolventValidAndFresh(
    bool solvent,
    uint256 heartbeat,
    uint256 elapsed
  ) public {
    heartbeat = bound(heartbeat, 1, 3 * VALIDITY);
    elapsed = bound(elapsed, 0, 4 * VALIDITY);
    SecureMintToken token = new SecureMintToken(s_feed, 1, heartbeat);
    SolvencyAttestation.Attestation memory a = _attest(solvent);
    vm.warp(a.issuedAt + elapsed);

    if (elapsed > heartbeat) {
      vm.expectRevert(abi.encodeWithSelector(SecureMintToken.StaleReserve.selector, a.issuedAt, heartbeat));
    } else if (!solvent || elapsed > VALIDITY) {
      vm.expectRevert(abi.encodeWithSelector(SecureMintToken.InsufficientReserve.selector, int256(0), int256(1)));
    }
    token.mint(ALICE, 100);
    bool minted = solvent && elapsed <= heartbeat && elapsed <= VALIDITY;
    assertEq(token.balanceOf(ALICE), minted ? 100 : 0);
  }
}
