// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IRedemptionRegistry, OfferConfig, OfferStatus} from "../../contracts/interfaces/IRedemptionRegistry.sol";
import {IssueReason} from "../../contracts/interfaces/ITenantToken.sol";
import {TenantSetup} from "./utils/TenantSetup.sol";

/// @notice A redemption never pays without burning its cost: either `redeem` reverts and nothing
/// changes, or the holder's points fell by quantity × cost, their reward rose by quantity × payout
/// and the offer's supply fell by quantity.
contract RedemptionCostTest is TenantSetup {
    struct Snapshot {
        uint256 points;
        uint256 pointsSupply;
        uint256 reward;
        uint256 rewardSupply;
        uint64 supplyLeft;
        uint64 redeemed;
        uint256 redemptionCount;
    }

    function setUp() public {
        deployTenant();
    }

    function testFuzz_RedeemBurnsCostOrChangesNothing(
        address holder,
        uint256 cost,
        uint256 payout,
        uint64 supply,
        uint256 balance,
        uint64 quantity
    ) public {
        vm.assume(holder != address(0) && holder.code.length == 0 && holder != address(forwarder));
        cost = bound(cost, 1, type(uint88).max);
        payout = bound(payout, 1, 1_000);
        supply = uint64(bound(supply, 0, 20));
        quantity = uint64(bound(quantity, 0, 25));
        // Around the balance that exactly pays `quantity` units, so that both outcomes are common.
        uint256 exact = cost * quantity;
        balance = bound(balance, exact > 3 * cost ? exact - 3 * cost : 0, exact + 3 * cost);
        uint256 offerId = createRewardOffer(cost, payout, supply);
        if (balance != 0) points.issue(holder, balance, IssueReason.PURCHASE, keccak256("purchase"));

        Snapshot memory before = _snapshot(offerId, holder);
        vm.prank(holder);
        try redemptions.redeem(offerId, quantity, address(0)) returns (uint256 redemptionId) {
            Snapshot memory afterwards = _snapshot(offerId, holder);
            vm.assertTrue(quantity != 0 && quantity <= supply && balance >= exact, "redeemed against the rules");
            vm.assertEq(redemptionId, before.redemptionCount + 1, "redemption id");
            vm.assertEq(afterwards.points, before.points - exact, "holder's points");
            vm.assertEq(afterwards.pointsSupply, before.pointsSupply - exact, "points supply");
            vm.assertEq(afterwards.reward, before.reward + quantity * payout, "holder's reward");
            vm.assertEq(afterwards.rewardSupply, before.rewardSupply + quantity * payout, "reward supply");
            vm.assertEq(afterwards.supplyLeft, before.supplyLeft - quantity, "supply left");
            vm.assertEq(afterwards.redeemed, before.redeemed + quantity, "redeemed");
        } catch {
            vm.assertFalse(quantity != 0 && quantity <= supply && balance >= exact, "refused a valid redemption");
            _assertUnchanged(before, _snapshot(offerId, holder));
        }
    }

    /// Redeeming a closed or paused offer, after its end or before its start burns and pays nothing.
    function testFuzz_RedeemOutsideTheOfferChangesNothing(address holder, uint8 state, uint64 quantity) public {
        vm.assume(holder != address(0) && holder.code.length == 0 && holder != address(forwarder));
        quantity = uint64(bound(quantity, 1, 5));
        uint256 offerId = createRewardOffer(10, 1, 5);
        points.issue(holder, 1_000, IssueReason.PURCHASE, keccak256("purchase"));
        uint40 start = uint40(block.timestamp);
        bytes memory expected;
        state = uint8(bound(state, 0, 3));
        if (state == 0) {
            redemptions.closeOffer(offerId);
            expected = abi.encodeWithSelector(
                IRedemptionRegistry.RedemptionOfferNotActive.selector,
                offerId,
                OfferStatus.CLOSED
            );
        } else if (state == 1) {
            redemptions.pauseOffer(offerId);
            expected = abi.encodeWithSelector(
                IRedemptionRegistry.RedemptionOfferNotActive.selector,
                offerId,
                OfferStatus.PAUSED
            );
        } else if (state == 2) {
            vm.warp(start + DAY);
            expected = abi.encodeWithSelector(IRedemptionRegistry.RedemptionOfferEnded.selector, offerId, start + DAY);
        } else {
            redemptions.updateOffer(
                offerId,
                OfferConfig({
                    start: start + 1 hours,
                    end: start + uint40(DAY),
                    supply: 5,
                    statusToken: address(0),
                    statusId: 0
                })
            );
            expected = abi.encodeWithSelector(
                IRedemptionRegistry.RedemptionOfferNotStarted.selector,
                offerId,
                start + 1 hours
            );
        }

        Snapshot memory before = _snapshot(offerId, holder);
        vm.prank(holder);
        vm.expectRevert(expected);
        redemptions.redeem(offerId, quantity, address(0));
        _assertUnchanged(before, _snapshot(offerId, holder));
    }

    function _assertUnchanged(Snapshot memory before, Snapshot memory afterwards) private pure {
        vm.assertEq(afterwards.points, before.points, "holder's points changed");
        vm.assertEq(afterwards.pointsSupply, before.pointsSupply, "points supply changed");
        vm.assertEq(afterwards.reward, before.reward, "holder's reward changed");
        vm.assertEq(afterwards.rewardSupply, before.rewardSupply, "reward supply changed");
        vm.assertEq(afterwards.supplyLeft, before.supplyLeft, "supply left changed");
        vm.assertEq(afterwards.redeemed, before.redeemed, "redeemed changed");
        vm.assertEq(afterwards.redemptionCount, before.redemptionCount, "redemption count changed");
    }

    function _snapshot(uint256 offerId, address holder) private view returns (Snapshot memory) {
        return
            Snapshot({
                points: points.balanceOf(holder),
                pointsSupply: points.totalSupply(),
                reward: reward.balanceOf(holder, REWARD_ID),
                rewardSupply: reward.totalSupply(REWARD_ID),
                supplyLeft: redemptions.getOffer(offerId).supplyLeft,
                redeemed: redemptions.getOffer(offerId).redeemed,
                redemptionCount: redemptions.redemptionCount()
            });
    }
}
