// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {CampaignRegistry} from "../../contracts/CampaignRegistry.sol";
import {PointsToken} from "../../contracts/PointsToken.sol";
import {CampaignConfig, ClaimRequest, ClaimSource, Engagement} from "../../contracts/interfaces/ICampaignRegistry.sol";
import {TenantSuite} from "../../contracts/interfaces/ITenantFactory.sol";
import {TokenAmount} from "../../contracts/libraries/TokenAmounts.sol";
import {ClaimHelpers, PaidClaim} from "./utils/ClaimHelpers.sol";
import {StdInvariantLite} from "./utils/StdInvariantLite.sol";
import {TenantSetup} from "./utils/TenantSetup.sol";

/// @notice Claims on one campaign with a small budget, a per-user limit and two engaged businesses
/// with small caps (and one business that is not engaged), one at a time or in batches, from any
/// source. Counts what paid from the `Claimed` events.
contract CapsHandler is ClaimHelpers {
    uint64 public constant BUDGET = 12;
    uint32 public constant PER_USER_LIMIT = 3;
    uint64 public constant CAP_1 = 4;
    uint64 public constant CAP_2 = 3;
    uint256 public constant PAYOUT = 5;
    uint256 public constant USER_COUNT = 6;
    address public constant BUSINESS_1 = address(0xB1);
    address public constant BUSINESS_2 = address(0xB2);
    address public constant UNENGAGED = address(0xB3);
    uint256 private constant MAX_BATCH = 8;

    PointsToken private immutable points;
    CampaignRegistry private immutable campaigns;
    uint256 public campaignId;
    uint256 private nextClaimId = 1;

    uint256 public paidClaims;
    mapping(address user => uint256) public paidTo;
    mapping(address business => uint256) public paidVia;

    /// Handler calls that completed in this run.
    uint256 public calls;

    modifier counted() {
        ++calls;
        _;
    }

    constructor(TenantSuite memory suite) {
        points = PointsToken(suite.pointsToken);
        campaigns = CampaignRegistry(suite.campaignRegistry);
    }

    /// @notice Opens the campaign and engages the two businesses; called once by the test's setUp.
    function open() external {
        uint40 start = uint40(block.timestamp);
        TokenAmount[] memory payouts = new TokenAmount[](1);
        payouts[0] = TokenAmount({token: address(points), id: 0, amount: PAYOUT});
        campaignId = campaigns.createCampaign(
            CampaignConfig({start: start, end: start + 365 days, perUserLimit: PER_USER_LIMIT, budget: BUDGET}),
            payouts
        );
        campaigns.setEngagement(campaignId, BUSINESS_1, true, CAP_1);
        campaigns.setEngagement(campaignId, BUSINESS_2, true, CAP_2);
    }

    // ------------------------------------------------------------------ actions

    function claim(uint256 seed) external counted {
        ClaimRequest memory request = _request(seed);
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
            requests[i] = _request(uint256(keccak256(abi.encode(seed, i))));
        }
        startRecordingClaims();
        campaigns.claimBatch(requests);
        _count(recordedClaims(address(campaigns)));
    }

    // -------------------------------------------------------------------- views

    function user(uint256 index) public pure returns (address) {
        return address(uint160(0x7001 + index));
    }

    // ---------------------------------------------------------------- internals

    /// A fresh claim id, any user, any source, and no business (half the time), an engaged one or
    /// the unengaged one.
    function _request(uint256 seed) private returns (ClaimRequest memory) {
        uint256 pick = (seed >> 16) % 6;
        address business =
            pick < 3
                ? address(0)
                : pick == 3
                    ? BUSINESS_1
                    : pick == 4
                        ? BUSINESS_2
                        : UNENGAGED;
        return
            ClaimRequest({
                campaignId: campaignId,
                claimId: nextClaimId++,
                recipient: user(seed % USER_COUNT),
                source: ClaimSource(uint8((seed >> 8) % 4)),
                business: business
            });
    }

    function _count(PaidClaim[] memory claimed) private {
        for (uint256 i = 0; i < claimed.length; ++i) {
            ++paidClaims;
            ++paidTo[claimed[i].recipient];
            ++paidVia[claimed[i].business];
        }
    }
}

/// @notice No sequence of claims takes a campaign past its budget, a user past the per-user limit or
/// a business past its cap, and the points minted are the claims paid × the payout.
contract CampaignCapsInvariantTest is TenantSetup, StdInvariantLite {
    /// `afterInvariant` judges only runs of at least this many completed handler calls (the depth is
    /// 64): shorter ones are a failing invariant's run, cut short or shrunk, whose own error is the one to read.
    uint256 private constant MIN_CALLS_TO_JUDGE = 8;
    CapsHandler private handler;
    uint256 private campaignId;

    function setUp() public {
        deployProtocol();
        handler = new CapsHandler(predictedSuite());
        createTenant(address(handler));
        handler.open();
        campaignId = handler.campaignId();

        bytes4[] memory selectors = new bytes4[](2);
        selectors[0] = CapsHandler.claim.selector;
        selectors[1] = CapsHandler.claimBatch.selector;
        targetContract(address(handler));
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
    }

    function invariant_BudgetIsNeverExceeded() public view {
        uint256 claimed = campaigns.getCampaign(campaignId).claimed;
        vm.assertLe(claimed, handler.BUDGET(), "claimed > budget");
        vm.assertEq(claimed, handler.paidClaims(), "claimed != Claimed events");
        vm.assertEq(points.totalSupply(), claimed * handler.PAYOUT(), "points minted != claimed x payout");
    }

    function invariant_PerUserLimitIsNeverExceeded() public view {
        for (uint256 i = 0; i < handler.USER_COUNT(); ++i) {
            address user = handler.user(i);
            uint256 count = campaigns.claimCountOf(campaignId, user);
            vm.assertLe(count, handler.PER_USER_LIMIT(), "a user claimed more than the per-user limit");
            vm.assertEq(count, handler.paidTo(user), "claimCountOf != the user's Claimed events");
            vm.assertEq(points.balanceOf(user), count * handler.PAYOUT(), "user's points != claims x payout");
        }
    }

    function invariant_BusinessCapsAreNeverExceeded() public view {
        _assertEngagement(handler.BUSINESS_1(), handler.CAP_1());
        _assertEngagement(handler.BUSINESS_2(), handler.CAP_2());
        Engagement memory unengaged = campaigns.getEngagement(campaignId, handler.UNENGAGED());
        vm.assertEq(unengaged.claimed, 0, "an unengaged business's claims were counted");
        vm.assertEq(handler.paidVia(handler.UNENGAGED()), 0, "an unengaged business brought a paid claim");
    }

    /// Every run must have paid claims, or the invariants above held over nothing.
    function afterInvariant() public view {
        if (handler.calls() < MIN_CALLS_TO_JUDGE) return;
        vm.assertGt(handler.paidClaims(), 0, "no claim paid in this run");
    }

    function _assertEngagement(address business, uint64 cap) private view {
        Engagement memory engagement = campaigns.getEngagement(campaignId, business);
        vm.assertLe(engagement.claimed, cap, "a business's claims exceeded its cap");
        vm.assertEq(engagement.cap, cap, "cap changed");
        vm.assertEq(engagement.claimed, handler.paidVia(business), "engagement claimed != its Claimed events");
    }
}
