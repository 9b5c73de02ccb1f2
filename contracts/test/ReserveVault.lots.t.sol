// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ReserveVault} from "../src/ReserveVault.sol";
import {SolvencySpoke} from "../src/SolvencySpoke.sol";
import {SolvencyAttestation} from "../src/libraries/SolvencyAttestation.sol";
import {BaseTest} from "./helpers/BaseTest.t.sol";
import {LaneTest} from "./helpers/LaneTest.t.sol";
import {VaultTest} from "./helpers/VaultTest.t.sol";

import {CCIPReceiver} from "@chainlink/contracts-ccip/contracts/applications/CCIPReceiver.sol";
import {Client} from "@chainlink/contracts-ccip/contracts/libraries/Client.sol";
import {Internal} from "@chainlink/contracts-ccip/contracts/libraries/Internal.sol";
import {RateLimiter} from "@chainlink/contracts-ccip/contracts/libraries/RateLimiter.sol";
import {IERC20} from "@openzeppelin/contracts@5.0.2/token/ERC20/IERC20.sol";

/// @notice Calendar lots between two chains' vaults over a burn/mint token lane: a lot committed
/// under the source leaf's `authRoot` leaves once, burned at the source and logged there; it
/// arrives minted to the destination vault, whose log records the sender and the lot's id; the
/// two supplies add up throughout; what is not committed, sent twice, over the lane's capacity
/// or the outflow limit, or underpaid is refused before anything moves; what is not a lot is held
/// by the lane as a failed delivery.
contract ReserveVault_lots is VaultTest, LaneTest {
  uint8 internal constant LOT_SENT = 5;
  uint8 internal constant LOT_RECEIVED = 6;
  uint128 internal constant CAPACITY = 1000e6;
  uint128 internal constant RATE = 10e6;
  uint32 internal constant LOT_GAS = 200_000;

  Lane internal s_lane;
  SolvencySpoke internal s_spokeB;
  ReserveVault internal s_vaultB;
  address internal s_relayer = makeAddr("relayer");
  address internal s_treasury = makeAddr("treasury");
  uint64 internal s_countB;
  bytes32 internal s_headB;

  function setUp() public override {
    BaseTest.setUp();
    s_lane = _deployLane(SPOKE_A, SPOKE_B, CAPACITY, RATE, s_relayer);
    s_spoke = _deploySpoke(SPOKE_A, HUB_SELECTOR, REMOTE_HUB);
    _configureSigners(s_spoke, 3, 2);
    s_vault = new ReserveVault(
      IERC20(address(s_lane.sideA.token)),
      s_spoke,
      WITHDRAWAL_DELAY,
      OUTFLOW_LIMIT,
      OUTFLOW_WINDOW,
      EXODUS_DELAY,
      address(s_lane.sideA.router)
    );
    vm.prank(s_owner);
    s_spoke.setVault(address(s_vault));
    s_spokeB = _deploySpoke(SPOKE_B, HUB_SELECTOR, REMOTE_HUB);
    s_vaultB = new ReserveVault(
      IERC20(address(s_lane.sideB.token)),
      s_spokeB,
      WITHDRAWAL_DELAY,
      OUTFLOW_LIMIT,
      OUTFLOW_WINDOW,
      EXODUS_DELAY,
      address(s_lane.sideB.router)
    );

    s_lane.sideA.token.mint(s_alice, 5000e6);
    vm.startPrank(s_alice);
    s_lane.sideA.token.approve(address(s_vault), type(uint256).max);
    s_vault.deposit(5000e6);
    vm.stopPrank();
    _expectEntry(DEPOSIT, s_alice, 5000e6, bytes32(0));
    vm.deal(s_treasury, 1 ether);
  }

  function _lot(
    uint256 amount,
    bytes32 id
  ) internal view returns (SolvencyAttestation.Lot memory) {
    return SolvencyAttestation.Lot({
      chainSelector: SPOKE_A,
      vault: address(s_vault),
      destChainSelector: SPOKE_B,
      destVault: address(s_vaultB),
      amount: amount,
      id: id
    });
  }

  /// @dev The documented leaf hash, field by field.
  function _lotHash(
    SolvencyAttestation.Lot memory lot
  ) internal pure returns (bytes32) {
    return keccak256(
      bytes.concat(
        keccak256(abi.encode(lot.chainSelector, lot.vault, lot.destChainSelector, lot.destVault, lot.amount, lot.id))
      )
    );
  }

  /// @dev Commits an epoch whose `authRoot` holds `lot` beside a withdrawal; returns the lot's
  /// proof.
  function _commitLot(
    SolvencyAttestation.Lot memory lot
  ) internal returns (bytes32[] memory) {
    bytes32[] memory hashes = new bytes32[](2);
    hashes[0] = _lotHash(lot);
    hashes[1] = _authHash(_auth(s_bob, 1e6, keccak256(abi.encode("a withdrawal", s_epoch))));
    _commit(_merkleRoot(hashes), _ledgerRoot(s_epoch + 1));
    return _merkleProof(hashes, 0);
  }

  function _sendLot(
    SolvencyAttestation.Lot memory lot,
    bytes32[] memory proof
  ) internal returns (Internal.EVM2AnyRampMessage memory) {
    vm.recordLogs();
    vm.prank(s_treasury);
    s_vault.sendLot{value: 0.5 ether}(lot, proof);
    return _sentBy(vm.getRecordedLogs(), s_lane.onRampA);
  }

  function _supplies() internal view returns (uint256) {
    return s_lane.sideA.token.totalSupply() + s_lane.sideB.token.totalSupply();
  }

  function _expectEntryB(
    uint8 kind,
    address account,
    uint256 amount,
    bytes32 ref
  ) internal {
    ++s_countB;
    s_headB = _nextHead(s_headB, s_countB, kind, account, amount, uint64(block.timestamp), ref);
  }

  function _assertLogB() internal view {
    (uint64 count, bytes32 head) = s_vaultB.getLogHead();
    assertEq(count, s_countB, "destination log count");
    assertEq(head, s_headB, "destination log head differs from the off-chain recomputation");
  }

  function test_aCommittedLotLeavesOnceAndArrivesLoggedAtTheDestinationVault() public {
    SolvencyAttestation.Lot memory lot = _lot(400e6, keccak256("lot 1"));
    bytes32[] memory proof = _commitLot(lot);
    uint256 fee = s_vault.getLotFee(lot);
    assertEq(fee, LANE_FEE, "the lane's fee");

    Internal.EVM2AnyRampMessage memory sent = _sendLot(lot, proof);
    vm.snapshotGasLastCall("ReserveVault", "sendLot");
    // Burned at the source with its log entry; the caller paid the fee and got the rest back.
    assertEq(s_lane.sideA.token.balanceOf(address(s_vault)), 4600e6);
    assertEq(s_lane.sideA.token.totalSupply(), 4600e6, "burned, in flight");
    assertEq(s_treasury.balance, 1 ether - fee, "paid the fee, refunded the rest");
    assertTrue(s_vault.isLotSent(lot.id));
    _expectEntry(LOT_SENT, address(s_vaultB), 400e6, lot.id);
    _assertLog(s_vault);
    assertEq(s_vault.getAvailableOutflow(), OUTFLOW_LIMIT - 400e6, "counts against the outflow limit");
    // The message carries the tokens to the destination vault and the id as its data.
    assertEq(abi.decode(sent.receiver, (address)), address(s_vaultB));
    assertEq(abi.decode(sent.data, (bytes32)), lot.id);
    assertEq(sent.tokenAmounts.length, 1);
    assertEq(sent.tokenAmounts[0].amount, 400e6);

    vm.prank(s_relayer);
    Internal.MessageExecutionState state = s_lane.offRampB.execute(_relayed(sent, LOT_GAS));
    vm.snapshotGasLastCall("ReserveVault", "lotArrival_offRampExecute");
    assertEq(uint256(state), uint256(Internal.MessageExecutionState.SUCCESS));
    assertEq(s_lane.sideB.token.balanceOf(address(s_vaultB)), 400e6, "minted to the destination vault");
    assertEq(_supplies(), 5000e6, "the two supplies add up");
    _expectEntryB(LOT_RECEIVED, address(s_vault), 400e6, keccak256(abi.encode(SPOKE_A, lot.id)));
    _assertLogB();

    // Never twice, even while still committed.
    vm.expectRevert(abi.encodeWithSelector(ReserveVault.LotAlreadySent.selector, lot.id));
    vm.prank(s_treasury);
    s_vault.sendLot{value: fee}(lot, proof);
  }

  function test_sendLot_RevertWhen_NotCommittedOrMalformed() public {
    SolvencyAttestation.Lot memory lot = _lot(400e6, keccak256("lot 1"));
    bytes32[] memory proof = _commitLot(lot);

    SolvencyAttestation.Lot memory other = _lot(401e6, lot.id);
    vm.expectRevert(abi.encodeWithSelector(ReserveVault.LotNotCommitted.selector, lot.id));
    s_vault.sendLot{value: LANE_FEE}(other, proof);
    other = _lot(400e6, lot.id);
    other.destVault = s_alice;
    vm.expectRevert(abi.encodeWithSelector(ReserveVault.LotNotCommitted.selector, lot.id));
    s_vault.sendLot{value: LANE_FEE}(other, proof);
    other = _lot(400e6, lot.id);
    other.chainSelector = SPOKE_B;
    vm.expectRevert(abi.encodeWithSelector(ReserveVault.WrongChain.selector, SPOKE_A, SPOKE_B));
    s_vault.sendLot{value: LANE_FEE}(other, proof);
    other = _lot(400e6, lot.id);
    other.vault = address(s_vaultB);
    vm.expectRevert(abi.encodeWithSelector(ReserveVault.WrongVault.selector, address(s_vault), address(s_vaultB)));
    s_vault.sendLot{value: LANE_FEE}(other, proof);
    other = _lot(0, lot.id);
    vm.expectRevert(ReserveVault.ZeroAmount.selector);
    s_vault.sendLot{value: LANE_FEE}(other, proof);
    other = _lot(400e6, lot.id);
    other.destChainSelector = SPOKE_A;
    vm.expectRevert(abi.encodeWithSelector(ReserveVault.InvalidLotDestination.selector, SPOKE_A, address(s_vaultB)));
    s_vault.sendLot{value: LANE_FEE}(other, proof);
    vm.expectRevert(abi.encodeWithSelector(ReserveVault.InsufficientFee.selector, LANE_FEE, LANE_FEE - 1));
    s_vault.sendLot{value: LANE_FEE - 1}(lot, proof);

    // A withdrawal's authorization is not a lot, whatever its fields.
    SolvencyAttestation.Authorization memory auth = _auth(address(s_vaultB), 400e6, keccak256("lot 2"));
    bytes32[] memory hashes = new bytes32[](2);
    hashes[0] = _authHash(auth);
    hashes[1] = _lotHash(_lot(1e6, keccak256("another lot")));
    _commit(_merkleRoot(hashes), _ledgerRoot(s_epoch + 1));
    vm.expectRevert(abi.encodeWithSelector(ReserveVault.LotNotCommitted.selector, auth.id));
    s_vault.sendLot{value: LANE_FEE}(_lot(400e6, auth.id), _merkleProof(hashes, 0));
    // And a later epoch that no longer commits the first lot cancels it.
    vm.expectRevert(abi.encodeWithSelector(ReserveVault.LotNotCommitted.selector, lot.id));
    s_vault.sendLot{value: LANE_FEE}(lot, proof);

    _assertLog(s_vault);
    assertEq(s_lane.sideA.token.balanceOf(address(s_vault)), 5000e6, "nothing moved");
    assertFalse(s_vault.isLotSent(lot.id));
  }

  function test_noLotLeavesOnceExodusIsOpen() public {
    SolvencyAttestation.Lot memory lot = _lot(100e6, keccak256("lot 1"));
    bytes32[] memory proof = _commitLot(lot);
    uint64 opensAt = s_vault.getExodusOpensAt();
    vm.warp(opensAt);
    vm.expectRevert(abi.encodeWithSelector(ReserveVault.ExodusIsOpen.selector, opensAt));
    vm.prank(s_treasury);
    s_vault.sendLot{value: LANE_FEE}(lot, proof);
    assertFalse(s_vault.isLotSent(lot.id));
    _assertLog(s_vault);
  }

  function test_sendLot_RevertWhen_TheCallerRefusesItsRefund() public {
    SolvencyAttestation.Lot memory lot = _lot(100e6, keccak256("lot 1"));
    bytes32[] memory proof = _commitLot(lot);
    // This test contract has no receive function: the excess cannot be refunded.
    vm.deal(address(this), 1 ether);
    vm.expectRevert(ReserveVault.RefundFailed.selector);
    s_vault.sendLot{value: LANE_FEE + 1}(lot, proof);
    // Exactly the fee needs no refund.
    s_vault.sendLot{value: LANE_FEE}(lot, proof);
    assertTrue(s_vault.isLotSent(lot.id));
  }

  function test_aLotOverTheLanesCapacityOrTheOutflowLimitIsRefusedBeforeAnythingMoves() public {
    SolvencyAttestation.Lot memory lot = _lot(CAPACITY + 1, keccak256("lot 1"));
    bytes32[] memory proof = _commitLot(lot);
    vm.expectRevert(
      abi.encodeWithSelector(
        RateLimiter.TokenMaxCapacityExceeded.selector, CAPACITY, CAPACITY + 1, address(s_lane.sideA.token)
      )
    );
    vm.prank(s_treasury);
    s_vault.sendLot{value: LANE_FEE}(lot, proof);
    assertFalse(s_vault.isLotSent(lot.id), "not marked sent");
    _assertLog(s_vault);
    assertEq(s_vault.getAvailableOutflow(), OUTFLOW_LIMIT, "outflow untouched");
    assertEq(_supplies(), 5000e6);

    // Within the lane, a lot still counts against the vault's own outflow limit.
    lot = _lot(OUTFLOW_LIMIT + 1, keccak256("lot 2"));
    proof = _commitLot(lot);
    vm.expectRevert(
      abi.encodeWithSelector(ReserveVault.OutflowLimitExceeded.selector, OUTFLOW_LIMIT + 1, OUTFLOW_LIMIT)
    );
    vm.prank(s_treasury);
    s_vault.sendLot{value: LANE_FEE}(lot, proof);
  }

  function test_aFailedArrivalIsHeldByTheLaneAndLandsOnceOnRetry() public {
    SolvencyAttestation.Lot memory lot = _lot(250e6, keccak256("lot 1"));
    Internal.EVM2AnyRampMessage memory sent = _sendLot(lot, _commitLot(lot));
    // Too little gas for the vault: FAILED, nothing minted, nothing logged.
    vm.prank(s_relayer);
    Internal.MessageExecutionState state = s_lane.offRampB.execute(_relayed(sent, 5000));
    assertEq(uint256(state), uint256(Internal.MessageExecutionState.FAILURE));
    assertEq(s_lane.sideB.token.totalSupply(), 0, "held by the lane");
    _assertLogB();
    vm.prank(s_relayer);
    state = s_lane.offRampB.execute(_relayed(sent, LOT_GAS));
    assertEq(uint256(state), uint256(Internal.MessageExecutionState.SUCCESS));
    _expectEntryB(LOT_RECEIVED, address(s_vault), 250e6, keccak256(abi.encode(SPOKE_A, lot.id)));
    _assertLogB();
    vm.prank(s_relayer);
    vm.expectRevert();
    s_lane.offRampB.execute(_relayed(sent, LOT_GAS));
    assertEq(_supplies(), 5000e6);
  }

  function test_whatIsNotALotIsHeldByTheLaneAndOnlyTheRouterDelivers() public {
    // Tokens with data that is not a lot id: the vault refuses, the lane holds them.
    s_lane.sideA.token.mint(s_bob, 10e6);
    Client.EVMTokenAmount[] memory tokens = new Client.EVMTokenAmount[](1);
    tokens[0] = Client.EVMTokenAmount({token: address(s_lane.sideA.token), amount: 10e6});
    Client.EVM2AnyMessage memory message = Client.EVM2AnyMessage({
      receiver: abi.encode(address(s_vaultB)),
      data: "not a lot id",
      tokenAmounts: tokens,
      feeToken: address(0),
      extraArgs: Client._argsToBytes(Client.GenericExtraArgsV2({gasLimit: LOT_GAS, allowOutOfOrderExecution: true}))
    });
    vm.deal(s_bob, 1 ether);
    vm.startPrank(s_bob);
    s_lane.sideA.token.approve(address(s_lane.sideA.router), 10e6);
    vm.recordLogs();
    s_lane.sideA.router.ccipSend{value: LANE_FEE}(SPOKE_B, message);
    vm.stopPrank();
    Internal.EVM2AnyRampMessage memory sent = _sentBy(vm.getRecordedLogs(), s_lane.onRampA);
    vm.prank(s_relayer);
    Internal.MessageExecutionState state = s_lane.offRampB.execute(_relayed(sent, LOT_GAS));
    assertEq(uint256(state), uint256(Internal.MessageExecutionState.FAILURE));
    _assertLogB();

    // Tokens with a 32-byte id from anyone arrive and are logged with their sender: the
    // enclave credits only its own lots to their owners (anything else is the protocol's).
    message.data = abi.encode(keccak256("a gift"));
    vm.startPrank(s_bob);
    s_lane.sideA.token.approve(address(s_lane.sideA.router), 10e6);
    vm.stopPrank();
    s_lane.sideA.token.mint(s_bob, 10e6);
    vm.prank(s_bob);
    vm.recordLogs();
    s_lane.sideA.router.ccipSend{value: LANE_FEE}(SPOKE_B, message);
    sent = _sentBy(vm.getRecordedLogs(), s_lane.onRampA);
    vm.prank(s_relayer);
    state = s_lane.offRampB.execute(_relayed(sent, LOT_GAS));
    assertEq(uint256(state), uint256(Internal.MessageExecutionState.SUCCESS));
    _expectEntryB(LOT_RECEIVED, s_bob, 10e6, keccak256(abi.encode(SPOKE_A, keccak256("a gift"))));
    _assertLogB();

    Client.Any2EVMMessage memory direct;
    vm.expectRevert(abi.encodeWithSelector(CCIPReceiver.InvalidRouter.selector, address(this)));
    s_vaultB.ccipReceive(direct);
  }
}
