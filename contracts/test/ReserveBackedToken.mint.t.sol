// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {SolvencySpoke} from "../src/SolvencySpoke.sol";
import {ReserveBackedToken} from "../src/examples/ReserveBackedToken.sol";
import {SolvencyAttestation} from "../src/libraries/SolvencyAttestation.sol";
import {BaseTest} from "./helpers/BaseTest.t.sol";

contract ReserveBackedToken_mint is BaseTest {
  address internal constant REMOTE_HUB = address(0x4B1B);

  SolvencySpoke internal s_spoke;
  ReserveBackedToken internal s_token;

  function setUp() public override {
    super.setUp();
    s_spoke = _deploySpoke(SPOKE_A, HUB_SELECTOR, REMOTE_HUB);
    _configureSigners(s_spoke, 1, 1);
    s_token = new ReserveBackedToken(s_spoke);
  }

  function _attest(
    bool solvent
  ) internal {
    SolvencyAttestation.Attestation memory a = _attestation(s_spoke.latestAttestation().epoch + 1, solvent);
    vm.prank(address(s_router));
    s_spoke.ccipReceive(_attestationMessage(HUB_SELECTOR, REMOTE_HUB, a, _signSorted(a, _firstSigners(1))));
  }

  function test_mint_WhenSolvent() public {
    _attest(true);
    s_token.mint(address(0xA11CE), 100);
    assertEq(s_token.balanceOf(address(0xA11CE)), 100);
  }

  function test_mint_RevertWhen_NeverAttested() public {
    vm.expectRevert(ReserveBackedToken.NotSolvent.selector);
    s_token.mint(address(0xA11CE), 100);
  }

  function test_mint_RevertWhen_AttestedInsolvent() public {
    _attest(true);
    _attest(false);
    vm.expectRevert(ReserveBackedToken.NotSolvent.selector);
    s_token.mint(address(0xA11CE), 100);
  }

  function test_mint_RevertWhen_AttestationExpired() public {
    _attest(true);
    vm.warp(s_spoke.latestAttestation().validUntil + 1);
    vm.expectRevert(ReserveBackedToken.NotSolvent.selector);
    s_token.mint(address(0xA11CE), 100);
  }
}
