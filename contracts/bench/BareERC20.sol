// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title BareERC20
/// @notice The gas benchmark's baseline: a plain, non-upgradeable OpenZeppelin ERC-20 whose `mint`
/// is nothing but `_mint`. Not part of the protocol.
contract BareERC20 is ERC20 {
    constructor() ERC20("Bare", "BARE") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}
