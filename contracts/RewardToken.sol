// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {MultiTokenUpgradeable} from "./base/MultiTokenUpgradeable.sol";
import {ContractKind} from "./interfaces/ITenantContract.sol";

/// @title RewardToken
/// @notice A tenant's rewards (experiences, products): transferable ERC-1155. See {IMultiToken}.
contract RewardToken is MultiTokenUpgradeable {
    /// @custom:oz-upgrades-unsafe-allow constructor
    constructor(address trustedForwarder_) MultiTokenUpgradeable(trustedForwarder_) {}

    function contractKind() public pure override returns (ContractKind) {
        return ContractKind.REWARD_TOKEN;
    }
}
