// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {SolvencyFeed} from "../src/SolvencyFeed.sol";
import {SolvencySpoke} from "../src/SolvencySpoke.sol";
import {ISolvencyOracle} from "../src/interfaces/ISolvencyOracle.sol";
import {SolvencyAttestation} from "../src/libraries/SolvencyAttestation.sol";
import {BaseTest} from "./helpers/BaseTest.t.sol";

/// @dev A feed over a spoke that takes attestations from a remote hub, delivered as its router
/// would.
abstract contract SolvencyFeedSetup is BaseTest {
  address internal constant REMOTE_HUB = address(0x4B1B);

  SolvencySpoke internal s_spoke;
  SolvencyFeed internal s_feed;

  function setUp() public virtual override {
    super.setUp();
    s_spoke = _deploySpoke(SPOKE_A, HUB_SELECTOR, REMOTE_HUB);
    _configureSigners(s_spoke, 1, 1);
    s_feed = new SolvencyFeed(s_spoke);
  }

  function _attest(
    bool solvent
  ) internal returns (SolvencyAttestation.Attestation memory a) {
    a = _attestation(s_spoke.latestAttestation().epoch + 1, solvent);
    _deliver(a);
  }

  function _deliver(
    SolvencyAttestation.Attestation memory a
  ) internal {
    vm.prank(address(s_router));
    s_spoke.ccipReceive(_attestationMessage(HUB_SELECTOR, REMOTE_HUB, a, _signSorted(a, _firstSigners(1))));
  }

  function _assertRound(
    uint80 roundId,
    int256 answer,
    uint256 startedAt,
    uint256 updatedAt,
    uint80 answeredInRound,
    SolvencyAttestation.Attestation memory a,
    int256 expectedAnswer
  ) internal pure {
    assertEq(roundId, a.epoch, "roundId is the epoch");
    assertEq(answer, expectedAnswer, "answer");
    assertEq(startedAt, a.issuedAt, "startedAt is issuedAt");
    assertEq(updatedAt, a.issuedAt, "updatedAt is issuedAt");
    assertEq(answeredInRound, roundId, "answeredInRound is the round");
  }
}

contract SolvencyFeed_constructor is SolvencyFeedSetup {
  function test_constructor_ReadsTheOracle() public view {
    assertEq(address(s_feed.getOracle()), address(s_spoke));
  }

  function test_constructor_RevertWhen_ZeroOracle() public {
    vm.expectRevert(SolvencyFeed.ZeroOracle.selector);
    new SolvencyFeed(ISolvencyOracle(address(0)));
  }

  function test_metadata_FlagWithNoDecimals() public view {
    assertEq(s_feed.decimals(), 0);
    assertEq(s_feed.description(), "Self-Healing Reserve solvency (1 = solvent and valid, 0 = not)");
    assertEq(s_feed.version(), 1);
  }
}

contract SolvencyFeed_latestRoundData is SolvencyFeedSetup {
  function test_latestRoundData_AllZeroBeforeFirstAttestation() public view {
    (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound) =
      s_feed.latestRoundData();
    assertEq(roundId, 0);
    assertEq(answer, 0);
    assertEq(startedAt, 0);
    assertEq(updatedAt, 0);
    assertEq(answeredInRound, 0);
  }

  function test_latestRoundData_OneWhenSolvent() public {
    SolvencyAttestation.Attestation memory a = _attest(true);
    (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound) =
      s_feed.latestRoundData();
    _assertRound(roundId, answer, startedAt, updatedAt, answeredInRound, a, 1);
  }

  function test_latestRoundData_ZeroWhenInsolvent() public {
    _attest(true);
    vm.warp(block.timestamp + 5 minutes);
    SolvencyAttestation.Attestation memory a = _attest(false);
    (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound) =
      s_feed.latestRoundData();
    _assertRound(roundId, answer, startedAt, updatedAt, answeredInRound, a, 0);
    assertEq(roundId, 2);
  }

  function test_latestRoundData_ZeroOnceExpired() public {
    SolvencyAttestation.Attestation memory a = _attest(true);
    vm.warp(a.validUntil);
    (, int256 answer,,,) = s_feed.latestRoundData();
    assertEq(answer, 1, "still valid at validUntil");

    vm.warp(a.validUntil + 1);
    (uint80 roundId, int256 expired, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound) =
      s_feed.latestRoundData();
    _assertRound(roundId, expired, startedAt, updatedAt, answeredInRound, a, 0);
  }

  function test_latestRoundData_ZeroOnceInvalidated() public {
    SolvencyAttestation.Attestation memory a = _attest(true);
    vm.prank(s_owner);
    s_spoke.invalidateLatest();
    (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound) =
      s_feed.latestRoundData();
    _assertRound(roundId, answer, startedAt, updatedAt, answeredInRound, a, 0);
  }

  function test_latestRoundData_FollowsEveryEpoch() public {
    SolvencyAttestation.Attestation memory a = _attest(true);
    vm.warp(block.timestamp + 10 minutes);
    a = _attestation(a.epoch + 7, true);
    _deliver(a);
    (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound) =
      s_feed.latestRoundData();
    _assertRound(roundId, answer, startedAt, updatedAt, answeredInRound, a, 1);
    assertEq(roundId, 8);
  }

  /// What a consumer pays for its first read in a transaction: the spoke's storage is cold.
  function test_gas_latestRoundData() public {
    _attest(true);
    vm.cool(address(s_feed));
    vm.cool(address(s_spoke));
    s_feed.latestRoundData();
    vm.snapshotGasLastCall("SolvencyFeed", "latestRoundData");
  }

  // ================================================================
  // │                           Fuzz                               │
  // ================================================================

  /// The answer is the oracle's isSolvent() at every instant, and the round the latest epoch.
  function testFuzz_latestRoundData_AnswerIsIsSolvent(
    uint64 epoch,
    bool solvent,
    uint64 elapsed
  ) public {
    epoch = uint64(bound(epoch, 1, s_spoke.MAX_EPOCH_STEP()));
    elapsed = uint64(bound(elapsed, 0, 3 * VALIDITY));
    SolvencyAttestation.Attestation memory a = _attestation(epoch, solvent);
    _deliver(a);
    vm.warp(block.timestamp + elapsed);
    (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound) =
      s_feed.latestRoundData();
    _assertRound(roundId, answer, startedAt, updatedAt, answeredInRound, a, s_spoke.isSolvent() ? int256(1) : int256(0));
    assertEq(answer == 1, solvent && elapsed <= VALIDITY);
  }
}

contract SolvencyFeed_getRoundData is SolvencyFeedSetup {
  function test_getRoundData_LatestRoundIsLatestRoundData() public {
    _attest(true);
    SolvencyAttestation.Attestation memory a = _attest(false);
    (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound) =
      s_feed.getRoundData(2);
    _assertRound(roundId, answer, startedAt, updatedAt, answeredInRound, a, 0);
  }

  function test_getRoundData_RevertWhen_OlderRound() public {
    _attest(true);
    _attest(true);
    vm.expectRevert(abi.encodeWithSelector(SolvencyFeed.RoundNotAvailable.selector, uint80(1), uint80(2)));
    s_feed.getRoundData(1);
  }

  function test_getRoundData_RevertWhen_FutureRound() public {
    _attest(true);
    vm.expectRevert(abi.encodeWithSelector(SolvencyFeed.RoundNotAvailable.selector, uint80(2), uint80(1)));
    s_feed.getRoundData(2);
  }

  function test_getRoundData_RevertWhen_NeverAttested() public {
    vm.expectRevert(abi.encodeWithSelector(SolvencyFeed.RoundNotAvailable.selector, uint80(0), uint80(0)));
    s_feed.getRoundData(0);
  }
}

/// @dev The hub is an oracle too: a feed over it answers from the attestations it publishes.
contract SolvencyFeed_hub is BaseTest {
  SolvencyFeed internal s_feed;

  function setUp() public override {
    super.setUp();
    _configureSigners(s_hub, 1, 1);
    s_feed = new SolvencyFeed(s_hub);
  }

  function _publish(
    uint64 epoch,
    bool solvent
  ) internal returns (SolvencyAttestation.Attestation memory a) {
    a = _attestation(epoch, solvent);
    uint64[] memory chains = new uint64[](1);
    chains[0] = HUB_SELECTOR;
    a.parentLedgerRoot = s_hub.getLedgerRoot();
    SolvencyAttestation.ChainMessage[] memory messages = _commitChains(a, chains);
    s_hub.publish(a, _signSorted(a, _firstSigners(1)), messages);
  }

  function test_latestRoundData_FollowsPublishedAttestations() public {
    SolvencyAttestation.Attestation memory a = _publish(1, true);
    (uint80 roundId, int256 answer,, uint256 updatedAt, uint80 answeredInRound) = s_feed.latestRoundData();
    assertEq(roundId, 1);
    assertEq(answer, 1);
    assertEq(updatedAt, a.issuedAt);
    assertEq(answeredInRound, 1);

    _publish(2, false);
    (roundId, answer,,,) = s_feed.latestRoundData();
    assertEq(roundId, 2);
    assertEq(answer, 0);

    a = _publish(3, true);
    vm.warp(a.validUntil + 1);
    (roundId, answer,,,) = s_feed.latestRoundData();
    assertEq(roundId, 3);
    assertEq(answer, 0, "expired");
  }
}
