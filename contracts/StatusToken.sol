// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {MultiTokenUpgradeable} from "./base/MultiTokenUpgradeable.sol";
import {ContractKind} from "./interfaces/ITenantContract.sol";
import {IStatusToken} from "./interfaces/IStatusToken.sol";

/// @title StatusToken
/// @notice A tenant's status, achievement and membership tokens: soulbound ERC-1155. See {IStatusToken}.
contract StatusToken is IStatusToken, MultiTokenUpgradeable {
    /// @custom:oz-upgrades-unsafe-allow constructor
    constructor(address trustedForwarder_) MultiTokenUpgradeable(trustedForwarder_) {}

    function contractKind() public pure override returns (ContractKind) {
        return ContractKind.STATUS_TOKEN;
    }

    /// @dev Every movement passes here: only a mint (from zero) or a burn (to zero) may pass.
    function _update(address from, address to, uint256[] memory ids, uint256[] memory values) internal override {
        if (from != address(0) && to != address(0)) revert StatusTokenSoulbound(from, to);
        super._update(from, to, ids, values);
    }
}
