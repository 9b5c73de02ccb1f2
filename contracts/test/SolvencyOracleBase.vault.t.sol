// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ReserveVault} from "../src/ReserveVault.sol";
import {SolvencyHub} from "../src/SolvencyHub.sol";
import {SolvencySpoke} from "../src/SolvencySpoke.sol";
import {SolvencyOracleBase} from "../src/SolvencyOracleBase.sol";
import {SolvencyAttestation} from "../src/libraries/SolvencyAttestation.sol";
import {VaultTest} from "./helpers/VaultTest.t.sol";

import {Ownable2Step} from "@chainlink/contracts/src/v0.8/shared/access/Ownable2Step.sol";

/// @notice An oracle and its chain's vault: set once, its head sent with every report, named by
/// every leaf; and the whole path on the hub chain, from a deposit to a paid withdrawal.
contract SolvencyOracleBase_vault is VaultTest {
  function test_setVault_SetsOnceAndEmits() public {
    SolvencySpoke spoke = _deploySpoke(SPOKE_A, HUB_SELECTOR, REMOTE_HUB);
    ReserveVault vault = new ReserveVault(s_token, spoke, 1, 1, 1, 1, address(s_router));
    assertEq(spoke.getVault(), address(0));
    vm.expectEmit(address(spoke));
    emit SolvencyOracleBase.VaultSet(address(vault));
    vm.prank(s_owner);
    spoke.setVault(address(vault));
    assertEq(spoke.getVault(), address(vault));

    ReserveVault another = new ReserveVault(s_token, spoke, 1, 1, 1, 1, address(s_router));
    vm.expectRevert(abi.encodeWithSelector(SolvencyOracleBase.VaultAlreadySet.selector, address(vault)));
    vm.prank(s_owner);
    spoke.setVault(address(another));
  }

  function test_setVault_RevertWhen_Zero() public {
    SolvencySpoke spoke = _deploySpoke(SPOKE_A, HUB_SELECTOR, REMOTE_HUB);
    vm.expectRevert(SolvencyOracleBase.ZeroAddress.selector);
    vm.prank(s_owner);
    spoke.setVault(address(0));
  }

  /// A vault that pays against another oracle's leaves would log entries no report of this
  /// chain carries.
  function test_setVault_RevertWhen_VaultOfAnotherOracle() public {
    SolvencySpoke spoke = _deploySpoke(SPOKE_A, HUB_SELECTOR, REMOTE_HUB);
    vm.expectRevert(
      abi.encodeWithSelector(SolvencyOracleBase.VaultOfAnotherOracle.selector, address(s_vault), address(s_spoke))
    );
    vm.prank(s_owner);
    spoke.setVault(address(s_vault));
  }

  function test_setVault_RevertWhen_NotOwner() public {
    SolvencySpoke spoke = _deploySpoke(SPOKE_A, HUB_SELECTOR, REMOTE_HUB);
    ReserveVault vault = new ReserveVault(s_token, spoke, 1, 1, 1, 1, address(s_router));
    vm.expectRevert(Ownable2Step.OnlyCallableByOwner.selector);
    spoke.setVault(address(vault));
  }

  /// Once a vault is set, a leaf without it (or with another) is refused: the chain's leaf and
  /// its vault cannot part.
  function test_ccipReceive_RevertWhen_LeafDoesNotNameTheVault() public {
    SolvencyAttestation.Attestation memory a = _attestation(1, true);
    vm.expectRevert(
      abi.encodeWithSelector(SolvencyOracleBase.LeafVaultMismatch.selector, SPOKE_A, address(s_vault), address(0))
    );
    vm.prank(address(s_router));
    s_spoke.ccipReceive(_attestationMessage(HUB_SELECTOR, REMOTE_HUB, a, _signSorted(a, _firstSigners(2))));
  }

  /// The spoke's report carries its vault's head as it is when sent.
  function test_spokeSubmitReport_CarriesTheVaultHead() public {
    // Loopback: the spoke reports to the local hub, which allow-lists it under SEPOLIA.
    SolvencySpoke spoke = _deploySpoke(SPOKE_A, HUB_SELECTOR, address(s_hub));
    ReserveVault vault = new ReserveVault(s_token, spoke, 1, 1, 1, 1, address(s_router));
    vm.startPrank(s_owner);
    spoke.setVault(address(vault));
    s_hub.addSpoke(SEPOLIA, address(spoke));
    vm.stopPrank();
    s_token.mint(s_alice, 10e6);
    vm.startPrank(s_alice);
    s_token.approve(address(vault), 10e6);
    vault.deposit(10e6);
    vm.stopPrank();
    (uint64 count, bytes32 head) = vault.getLogHead();
    assertEq(count, 1);

    vm.deal(s_reporter, 1 ether);
    vm.expectEmit(false, true, false, true, address(s_hub));
    emit SolvencyHub.ReportDelivered(bytes32(0), SEPOLIA, 3, "sealed-report", 1, head);
    vm.prank(s_reporter);
    spoke.submitReport(3, "sealed-report");
    (bool set, uint64 heldCount, bytes32 heldHead) = s_hub.getReportHead(SEPOLIA, 3);
    assertTrue(set);
    assertEq(heldCount, 1);
    assertEq(heldHead, head);
  }

  /// The hub chain end to end: a deposit, the hub's report with the vault head, an epoch whose
  /// hub leaf names the vault, that head and an authorization, then the withdrawal paid.
  function test_hubChain_DepositReportPublishWithdraw() public {
    _configureSigners(s_hub, 3, 2);
    ReserveVault vault = new ReserveVault(
      s_token, s_hub, WITHDRAWAL_DELAY, OUTFLOW_LIMIT, OUTFLOW_WINDOW, EXODUS_DELAY, address(s_router)
    );
    assertEq(vault.getLocalChainSelector(), HUB_SELECTOR);
    vm.prank(s_owner);
    s_hub.setVault(address(vault));
    s_token.mint(s_alice, 1000e6);
    vm.startPrank(s_alice);
    s_token.approve(address(vault), 1000e6);
    vault.deposit(1000e6);
    vm.stopPrank();
    (uint64 count, bytes32 head) = vault.getLogHead();

    vm.expectEmit(false, true, false, true, address(s_hub));
    emit SolvencyHub.ReportDelivered(bytes32(0), HUB_SELECTOR, 11, "sealed-hub-report", count, head);
    vm.prank(s_reporter);
    s_hub.submitReport(11, "sealed-hub-report");

    SolvencyAttestation.Authorization memory auth = SolvencyAttestation.Authorization({
      chainSelector: HUB_SELECTOR, vault: address(vault), owner: s_alice, amount: 250e6, id: keccak256("w")
    });
    SolvencyAttestation.ChainLeaf[] memory leaves = new SolvencyAttestation.ChainLeaf[](1);
    leaves[0] = _chainLeaf(HUB_SELECTOR, address(vault));
    (leaves[0].reportSeq, leaves[0].logCount, leaves[0].logHead, leaves[0].authRoot) =
    (11, count, head, _authHash(auth));

    // A leaf that leaves the vault out is refused first.
    SolvencyAttestation.Attestation memory a = _attestation(1, true);
    SolvencyAttestation.ChainLeaf[] memory vaultless = new SolvencyAttestation.ChainLeaf[](1);
    vaultless[0] = _chainLeaf(HUB_SELECTOR, address(0));
    (vaultless[0].reportSeq, vaultless[0].logCount, vaultless[0].logHead) = (11, count, head);
    SolvencyAttestation.ChainMessage[] memory ms;
    (a.chainsRoot, ms) = _tree(vaultless);
    bytes[] memory sigs = _signSorted(a, _firstSigners(2));
    vm.expectRevert(
      abi.encodeWithSelector(SolvencyOracleBase.LeafVaultMismatch.selector, HUB_SELECTOR, address(vault), address(0))
    );
    s_hub.publish(a, sigs, ms);

    (a.chainsRoot, ms) = _tree(leaves);
    s_hub.publish(a, _signSorted(a, _firstSigners(2)), ms);

    bytes32[] memory proof = new bytes32[](0);
    vault.queueWithdrawal(auth, proof);
    vm.warp(block.timestamp + WITHDRAWAL_DELAY);
    vault.executeWithdrawal(auth, proof);
    assertEq(s_token.balanceOf(s_alice), 250e6);
    assertEq(s_token.balanceOf(address(vault)), 750e6);
  }
}
