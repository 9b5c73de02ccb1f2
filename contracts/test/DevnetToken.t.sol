// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {DevnetToken} from "../src/devnet/DevnetToken.sol";

import {IERC20Errors} from "@openzeppelin/contracts@5.0.2/interfaces/draft-IERC6093.sol";
import {Test} from "forge-std/Test.sol";

contract DevnetToken_mintBurn is Test {
  address internal constant ALICE = address(0xA11CE);

  DevnetToken internal s_token;

  function setUp() public {
    s_token = new DevnetToken("Devnet USD Coin", "dUSDC", 6);
  }

  function test_constructor_SetsMetadata() public view {
    assertEq(s_token.name(), "Devnet USD Coin");
    assertEq(s_token.symbol(), "dUSDC");
    assertEq(s_token.decimals(), 6);
  }

  function test_mint_AnyoneMintsToAnyone() public {
    vm.prank(makeAddr("stranger"));
    s_token.mint(ALICE, 1000e6);
    assertEq(s_token.balanceOf(ALICE), 1000e6);
    assertEq(s_token.totalSupply(), 1000e6);
  }

  function test_burn_WithoutAllowance() public {
    s_token.mint(ALICE, 1000e6);
    vm.prank(makeAddr("stranger"));
    s_token.burn(ALICE, 400e6);
    assertEq(s_token.balanceOf(ALICE), 600e6);
    assertEq(s_token.totalSupply(), 600e6);
  }

  function test_burn_RevertWhen_AboveBalance() public {
    s_token.mint(ALICE, 1);
    vm.expectRevert(abi.encodeWithSelector(IERC20Errors.ERC20InsufficientBalance.selector, ALICE, 1, 2));
    s_token.burn(ALICE, 2);
  }
}
