// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IRedemptionRegistry, Offer, OfferConfig} from "../../contracts/interfaces/IRedemptionRegistry.sol";
import {IssueReason} from "../../contracts/interfaces/ITenantToken.sol";
import {TenantSetup} from "./utils/TenantSetup.sol";

/// @notice An offer can never get stuck: `updateOffer` refuses a supply that, added to the units
/// already redeemed, the offer's uint64 `redeemed` counter could not hold
/// (`RedemptionSupplyTooLarge`), and every supply it accepts can be redeemed to the last unit.
contract RedemptionSupplyTest is TenantSetup {
    address private constant HOLDER = address(0xB0B);
    uint64 private constant MAX = type(uint64).max;

    uint256 private nextRef = 1;

    function setUp() public {
        deployTenant();
    }

    function testFuzz_RefillBeyondTheCounterRevertsAndTheRestRedeems(uint64 redeemed, uint64 supply) public {
        redeemed = uint64(bound(redeemed, 1, MAX));
        // Around the largest supply that still fits, so that both outcomes are common.
        supply = uint64(bound(supply, MAX - redeemed > 3 ? MAX - redeemed - 3 : 0, MAX));
        uint256 offerId = createRewardOffer(1, 1, redeemed);
        _redeem(offerId, redeemed);
        OfferConfig memory config = _config(supply);

        if (supply > MAX - redeemed) {
            vm.expectRevert(
                abi.encodeWithSelector(IRedemptionRegistry.RedemptionSupplyTooLarge.selector, offerId, supply, redeemed)
            );
            redemptions.updateOffer(offerId, config);
            Offer memory refused = redemptions.getOffer(offerId);
            vm.assertEq(refused.supplyLeft, 0, "supply left changed");
            vm.assertEq(refused.redeemed, redeemed, "redeemed changed");
            return;
        }
        redemptions.updateOffer(offerId, config);
        if (supply != 0) _redeem(offerId, supply);
        Offer memory drained = redemptions.getOffer(offerId);
        vm.assertEq(drained.supplyLeft, 0, "supply left");
        vm.assertEq(drained.redeemed, uint256(redeemed) + supply, "redeemed");
    }

    /// Redeems `quantity` units, costing a point each, as `HOLDER`.
    function _redeem(uint256 offerId, uint64 quantity) private {
        points.issue(HOLDER, quantity, IssueReason.PURCHASE, bytes32(nextRef++));
        vm.prank(HOLDER);
        redemptions.redeem(offerId, quantity, address(0));
    }

    function _config(uint64 supply) private view returns (OfferConfig memory) {
        uint40 start = uint40(block.timestamp);
        return
            OfferConfig({start: start, end: start + uint40(DAY), supply: supply, statusToken: address(0), statusId: 0});
    }
}
