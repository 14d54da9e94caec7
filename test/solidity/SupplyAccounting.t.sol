// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {CampaignRegistry} from "../../contracts/CampaignRegistry.sol";
import {PointsToken} from "../../contracts/PointsToken.sol";
import {RedemptionRegistry} from "../../contracts/RedemptionRegistry.sol";
import {RewardToken} from "../../contracts/RewardToken.sol";
import {CampaignConfig, ClaimRequest, ClaimSource} from "../../contracts/interfaces/ICampaignRegistry.sol";
import {OfferConfig} from "../../contracts/interfaces/IRedemptionRegistry.sol";
import {TenantSuite} from "../../contracts/interfaces/ITenantFactory.sol";
import {IssueReason} from "../../contracts/interfaces/ITenantToken.sol";
import {TokenAmount} from "../../contracts/libraries/TokenAmounts.sol";
import {ClaimHelpers, PaidClaim} from "./utils/ClaimHelpers.sol";
import {StdInvariantLite} from "./utils/StdInvariantLite.sol";
import {TenantSetup} from "./utils/TenantSetup.sol";

/// @notice The tenant's operator: claims, issues, and has holders redeem, burn and transfer, keeping
/// ghost totals of what each attributable cause minted and burned.
contract SupplyHandler is ClaimHelpers {
    uint256 public constant PAYOUT_A = 100; // campaign A: no per-user limit
    uint256 public constant PAYOUT_B = 7; // campaign B: two claims per user
    uint256 public constant COST = 150; // points per unit of the offer
    uint256 public constant REWARD_PAYOUT = 2; // reward units per unit of the offer
    uint256 public constant REWARD_ID = 1; // the reward class TenantSetup defines
    uint256 private constant HOLDER_COUNT = 4;
    uint256 private constant STARTING_POINTS = 1_000;
    uint256 private constant MAX_BATCH = 8;

    PointsToken private immutable points;
    RewardToken private immutable reward;
    CampaignRegistry private immutable campaigns;
    RedemptionRegistry private immutable redemptions;

    address[] private holders;
    uint256 public campaignA;
    uint256 public campaignB;
    uint256 public offerId;
    uint256 private nextClaimId = 1;
    uint256 private nextRef = 1;

    // Points minted by paid claims (their `Claimed` events × the campaign's payout), issued, and burned.
    uint256 public mintedByClaims;
    uint256 public issued;
    uint256 public burnedByRedemptions;
    uint256 public burnedByHolders;
    // Reward units minted by redemptions, and burned by holders.
    uint256 public rewardMinted;
    uint256 public rewardBurned;
    uint256 public paidClaims;
    uint256 public redeemCalls;
    uint256 public redemptionsMade;
    // Batches whose return value differed from the `Claimed` events they emitted.
    uint256 public batchPaidMismatches;

    /// Handler calls that completed in this run.
    uint256 public calls;

    modifier counted() {
        ++calls;
        _;
    }

    constructor(TenantSuite memory suite) {
        points = PointsToken(suite.pointsToken);
        reward = RewardToken(suite.rewardToken);
        campaigns = CampaignRegistry(suite.campaignRegistry);
        redemptions = RedemptionRegistry(suite.redemptionRegistry);
        for (uint256 i = 0; i < HOLDER_COUNT; ++i) {
            holders.push(address(uint160(0x4001 + i)));
        }
    }

    /// @notice Creates the two campaigns and the offer and gives each holder `STARTING_POINTS` to
    /// redeem with; called once by the test's setUp, never by the fuzzer.
    function open() external {
        uint40 start = uint40(block.timestamp);
        CampaignConfig memory config = CampaignConfig({
            start: start,
            end: start + 365 days,
            perUserLimit: 0,
            budget: 1_000_000
        });
        campaignA = campaigns.createCampaign(config, _pointsPayout(PAYOUT_A));
        config.perUserLimit = 2;
        campaignB = campaigns.createCampaign(config, _pointsPayout(PAYOUT_B));

        TokenAmount[] memory costs = new TokenAmount[](1);
        costs[0] = TokenAmount({token: address(points), id: 0, amount: COST});
        TokenAmount[] memory payouts = new TokenAmount[](1);
        payouts[0] = TokenAmount({token: address(reward), id: REWARD_ID, amount: REWARD_PAYOUT});
        offerId = redemptions.createOffer(
            OfferConfig({start: start, end: start + 365 days, supply: 1_000_000, statusToken: address(0), statusId: 0}),
            costs,
            payouts,
            new address[](0)
        );
        for (uint256 i = 0; i < HOLDER_COUNT; ++i) {
            points.issue(holders[i], STARTING_POINTS, IssueReason.GRANT, bytes32(nextRef++));
            issued += STARTING_POINTS;
        }
    }

    // ------------------------------------------------------------------ actions

    function claim(uint256 campaignSeed, uint256 recipientSeed, uint256 idSeed) external counted {
        ClaimRequest memory request = _request(campaignSeed, recipientSeed, idSeed);
        startRecordingClaims();
        try campaigns.claim(request) {
            _count(recordedClaims(address(campaigns)));
        } catch {
            recordedClaims(address(campaigns)); // a refused claim paid nothing; drop its logs
        }
    }

    function claimBatch(uint256 seed, uint256 size) external counted {
        ClaimRequest[] memory requests = new ClaimRequest[](bound(size, 1, MAX_BATCH));
        for (uint256 i = 0; i < requests.length; ++i) {
            uint256 item = uint256(keccak256(abi.encode(seed, i)));
            requests[i] = _request(item, item >> 8, item >> 16);
        }
        startRecordingClaims();
        uint256 paid = campaigns.claimBatch(requests);
        PaidClaim[] memory claimed = recordedClaims(address(campaigns));
        if (paid != claimed.length) ++batchPaidMismatches;
        _count(claimed);
    }

    function issue(uint256 recipientSeed, uint256 amount) external counted {
        amount = bound(amount, 1, 1_000);
        points.issue(_holder(recipientSeed), amount, IssueReason.PURCHASE, bytes32(nextRef++));
        issued += amount;
    }

    /// Redeems up to three units that the chosen holder can pay for or, if they cannot pay one, the
    /// richest holder (if nobody can, the redemption must fail and change nothing).
    function redeem(uint256 holderSeed, uint256 quantity) external counted {
        address holder = _holder(holderSeed);
        if (points.balanceOf(holder) < COST) holder = _richestHolder();
        uint256 affordable = points.balanceOf(holder) / COST;
        uint64 units = uint64(
            bound(
                quantity,
                1,
                affordable < 1
                    ? 1
                    : affordable > 3
                        ? 3
                        : affordable
            )
        );
        ++redeemCalls;
        vm.prank(holder);
        try redemptions.redeem(offerId, units, address(0)) {
            burnedByRedemptions += units * COST;
            rewardMinted += units * REWARD_PAYOUT;
            ++redemptionsMade;
        } catch {}
    }

    /// Burns up to half the holder's points, so that they keep some to redeem.
    function burn(uint256 holderSeed, uint256 amount) external counted {
        address holder = _holder(holderSeed);
        amount = bound(amount, 0, points.balanceOf(holder) / 2);
        vm.prank(holder);
        points.burn(amount);
        burnedByHolders += amount;
    }

    function transfer(uint256 fromSeed, uint256 toSeed, uint256 amount) external counted {
        address from = _holder(fromSeed);
        amount = bound(amount, 0, points.balanceOf(from));
        vm.prank(from);
        points.transfer(_holder(toSeed), amount);
    }

    function burnReward(uint256 holderSeed, uint256 amount) external counted {
        address holder = _holder(holderSeed);
        amount = bound(amount, 0, reward.balanceOf(holder, REWARD_ID));
        vm.prank(holder);
        reward.burn(holder, REWARD_ID, amount);
        rewardBurned += amount;
    }

    function transferReward(uint256 fromSeed, uint256 toSeed, uint256 amount) external counted {
        address from = _holder(fromSeed);
        amount = bound(amount, 0, reward.balanceOf(from, REWARD_ID));
        vm.prank(from);
        reward.safeTransferFrom(from, _holder(toSeed), REWARD_ID, amount, "");
    }

    // -------------------------------------------------------------------- views

    function holderCount() external pure returns (uint256) {
        return HOLDER_COUNT;
    }

    function holderAt(uint256 index) external view returns (address) {
        return holders[index];
    }

    // ---------------------------------------------------------------- internals

    /// A claim on campaign A, B or one that does not exist, to one of the holders, with the next
    /// claim id or (one time in four) an id already handed out.
    function _request(
        uint256 campaignSeed,
        uint256 recipientSeed,
        uint256 idSeed
    ) private returns (ClaimRequest memory) {
        uint256 pick = campaignSeed % 3;
        uint256 campaignId =
            pick == 0
                ? campaignA
                : pick == 1
                    ? campaignB
                    : campaignB + 1;
        uint256 claimId = idSeed % 4 == 0 && nextClaimId > 1 ? 1 + ((idSeed >> 2) % (nextClaimId - 1)) : nextClaimId++;
        return
            ClaimRequest({
                campaignId: campaignId,
                claimId: claimId,
                recipient: _holder(recipientSeed),
                source: ClaimSource.SYSTEM,
                business: address(0)
            });
    }

    function _count(PaidClaim[] memory claimed) private {
        for (uint256 i = 0; i < claimed.length; ++i) {
            uint256 campaignId = claimed[i].campaignId;
            // A claim paid on any other campaign adds nothing here, and breaks the supply invariant.
            mintedByClaims +=
                campaignId == campaignA
                    ? PAYOUT_A
                    : campaignId == campaignB
                        ? PAYOUT_B
                        : 0;
            ++paidClaims;
        }
    }

    function _holder(uint256 seed) private view returns (address) {
        return holders[seed % HOLDER_COUNT];
    }

    function _richestHolder() private view returns (address richest) {
        richest = holders[0];
        for (uint256 i = 1; i < HOLDER_COUNT; ++i) {
            if (points.balanceOf(holders[i]) > points.balanceOf(richest)) richest = holders[i];
        }
    }

    function _pointsPayout(uint256 amount) private view returns (TokenAmount[] memory payouts) {
        payouts = new TokenAmount[](1);
        payouts[0] = TokenAmount({token: address(points), id: 0, amount: amount});
    }
}

/// @notice Total supply = the sum of attributable mints − burns, and the holders hold all of it.
contract SupplyAccountingInvariantTest is TenantSetup, StdInvariantLite {
    /// `afterInvariant` judges only runs of at least this many completed handler calls (the depth is
    /// 64): shorter ones are a failing invariant's run, cut short or shrunk, whose own error is the one to read.
    uint256 private constant MIN_CALLS_TO_JUDGE = 8;
    SupplyHandler private handler;

    function setUp() public {
        deployProtocol();
        handler = new SupplyHandler(predictedSuite());
        createTenant(address(handler));
        handler.open();

        bytes4[] memory selectors = new bytes4[](8);
        selectors[0] = SupplyHandler.claim.selector;
        selectors[1] = SupplyHandler.claimBatch.selector;
        selectors[2] = SupplyHandler.issue.selector;
        selectors[3] = SupplyHandler.redeem.selector;
        selectors[4] = SupplyHandler.burn.selector;
        selectors[5] = SupplyHandler.transfer.selector;
        selectors[6] = SupplyHandler.burnReward.selector;
        selectors[7] = SupplyHandler.transferReward.selector;
        targetContract(address(handler));
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
    }

    function invariant_PointsSupplyIsClaimsPlusIssuesMinusBurns() public view {
        vm.assertEq(
            points.totalSupply(),
            handler.mintedByClaims() + handler.issued() - handler.burnedByRedemptions() - handler.burnedByHolders(),
            "points supply != claims + issues - redemption burns - holder burns"
        );
    }

    function invariant_RewardSupplyIsRedemptionPayoutsMinusBurns() public view {
        vm.assertEq(
            reward.totalSupply(REWARD_ID),
            handler.rewardMinted() - handler.rewardBurned(),
            "reward supply != redemption payouts - burns"
        );
    }

    function invariant_HoldersHoldTheWholeSupply() public view {
        uint256 pointsHeld;
        uint256 rewardHeld;
        for (uint256 i = 0; i < handler.holderCount(); ++i) {
            address holder = handler.holderAt(i);
            pointsHeld += points.balanceOf(holder);
            rewardHeld += reward.balanceOf(holder, REWARD_ID);
        }
        vm.assertEq(pointsHeld, points.totalSupply(), "holders' points != points supply");
        vm.assertEq(rewardHeld, reward.totalSupply(REWARD_ID), "holders' reward != reward supply");
    }

    /// The `Claimed` events agree with the registry's counts and with `claimBatch`'s return values.
    function invariant_ClaimEventsMatchTheRegistry() public view {
        uint256 a = campaigns.getCampaign(handler.campaignA()).claimed;
        uint256 b = campaigns.getCampaign(handler.campaignB()).claimed;
        vm.assertEq(handler.paidClaims(), a + b, "Claimed events != registry's claimed counts");
        vm.assertEq(
            handler.mintedByClaims(),
            a * handler.PAYOUT_A() + b * handler.PAYOUT_B(),
            "claim mints != claimed x payout"
        );
        vm.assertEq(handler.batchPaidMismatches(), 0, "claimBatch returned a count other than its Claimed events");
    }

    /// Every run must have paid claims and, if it tried to redeem, made redemptions, or the
    /// invariants above held over nothing.
    function afterInvariant() public view {
        if (handler.calls() < MIN_CALLS_TO_JUDGE) return;
        vm.assertGt(handler.paidClaims(), 0, "no claim paid in this run");
        if (handler.redeemCalls() != 0) vm.assertGt(handler.redemptionsMade(), 0, "no redemption made in this run");
    }
}
