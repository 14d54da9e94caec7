// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC1155Holder} from "@openzeppelin/contracts/token/ERC1155/utils/ERC1155Holder.sol";
import {IRedemptionRegistry} from "../interfaces/IRedemptionRegistry.sol";

/// @title Test double: a holder contract that redeems an offer and, when `reenter` is set, redeems it
/// again from `onERC1155Received`, while the registry is still paying the first redemption.
contract ReentrantRedeemer is ERC1155Holder {
    IRedemptionRegistry public immutable REGISTRY;
    bool public reenter;
    uint256 private _offerId;

    constructor(IRedemptionRegistry registry_) {
        REGISTRY = registry_;
    }

    function setReenter(bool reenter_) external {
        reenter = reenter_;
    }

    function redeem(uint256 offerId, uint64 quantity) external returns (uint256 redemptionId) {
        _offerId = offerId;
        return REGISTRY.redeem(offerId, quantity, address(0));
    }

    function onERC1155Received(
        address operator,
        address from,
        uint256 id,
        uint256 value,
        bytes memory data
    ) public override returns (bytes4) {
        if (reenter) REGISTRY.redeem(_offerId, 1, address(0));
        return super.onERC1155Received(operator, from, id, value, data);
    }
}
