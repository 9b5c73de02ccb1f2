// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ISolvencyOracle} from "../interfaces/ISolvencyOracle.sol";

import {ERC20} from "@openzeppelin/contracts@5.0.2/token/ERC20/ERC20.sol";
import {Ownable} from "@openzeppelin/contracts@5.0.2/access/Ownable.sol";

/// @title ReserveBackedToken
/// @notice An example consumer: a token that refuses to mint unless the deployment's latest
/// attestation on this chain says solvent and is still valid. It needs no amount, only the
/// oracle's boolean, and fails closed when the aggregator falls silent.
contract ReserveBackedToken is ERC20, Ownable {
  error NotSolvent();
  error ZeroOracle();

  ISolvencyOracle internal immutable i_oracle;

  constructor(
    ISolvencyOracle oracle
  ) ERC20("Reserve Backed Token", "RBT") Ownable(msg.sender) {
    if (address(oracle) == address(0)) revert ZeroOracle();
    i_oracle = oracle;
  }

  /// @notice Mints `amount` to `to`, only while the reserves are attested solvent.
  function mint(
    address to,
    uint256 amount
  ) external onlyOwner {
    if (!i_oracle.isSolvent()) revert NotSolvent();
    _mint(to, amount);
  }

  /// @notice The oracle this token trusts.
  function getOracle() external view returns (ISolvencyOracle) {
    return i_oracle;
  }
}
