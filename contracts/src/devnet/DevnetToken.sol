// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts@5.0.2/token/ERC20/ERC20.sol";

/// @title DevnetToken
/// @notice An ERC-20 with any number of decimals that anyone can mint and burn, for reporter
/// source tests on the devnet: balances are set to whatever a test needs.
/// @dev Devnet and tests only. `mint` and `burn` have no access control on purpose; never deploy
/// this where its balances could be mistaken for real reserves.
contract DevnetToken is ERC20 {
  uint8 internal immutable i_decimals;

  constructor(
    string memory name,
    string memory symbol,
    uint8 decimals_
  ) ERC20(name, symbol) {
    i_decimals = decimals_;
  }

  /// @notice Creates `amount` tokens for `to`. Anyone may call it.
  function mint(
    address to,
    uint256 amount
  ) external {
    _mint(to, amount);
  }

  /// @notice Destroys `amount` of `from`'s tokens, without an allowance. Anyone may call it.
  function burn(
    address from,
    uint256 amount
  ) external {
    _burn(from, amount);
  }

  /// @inheritdoc ERC20
  function decimals() public view override returns (uint8) {
    return i_decimals;
  }
}
