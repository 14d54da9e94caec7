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

    /// @notice Always false, also for an approval recorded before status tokens refused them, so that
    /// no operator can burn a holder's status.
    function isApprovedForAll(address, address) public pure override returns (bool) {
        return false;
    }

    /// @dev `setApprovalForAll` lands here: a phished approval must never let an operator burn a
    /// holder's status. Overriding the internal step keeps the public function's standard ABI.
    function _setApprovalForAll(address owner, address operator, bool) internal pure override {
        revert StatusTokenApprovalRefused(owner, operator);
    }

    /// @dev Every movement passes here: only a mint (from zero) or a burn (to zero) may pass.
    function _update(address from, address to, uint256[] memory ids, uint256[] memory values) internal override {
        if (from != address(0) && to != address(0)) revert StatusTokenSoulbound(from, to);
        super._update(from, to, ids, values);
    }
}
