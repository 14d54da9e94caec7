// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {CampaignRegistry} from "../../contracts/CampaignRegistry.sol";
import {PointsToken} from "../../contracts/PointsToken.sol";
import {
    CampaignConfig,
    ClaimRequest,
    ClaimSource,
    ICampaignRegistry
} from "../../contracts/interfaces/ICampaignRegistry.sol";
import {TenantSuite} from "../../contracts/interfaces/ITenantFactory.sol";
import {TokenAmount} from "../../contracts/libraries/TokenAmounts.sol";
import {ClaimHelpers, PaidClaim} from "./utils/ClaimHelpers.sol";
import {StdInvariantLite} from "./utils/StdInvariantLite.sol";
import {TenantSetup} from "./utils/TenantSetup.sol";

uint256 constant SIGNER_KEY = 0x5167E2;
uint256 constant STRANGER_KEY = 0xBAD5167E2;
uint256 constant PAYOUT_A = 10;
uint256 constant PAYOUT_B = 3;

/// @notice Two campaigns paying points with no per-user limit, so that only the claim id can stop a claim.
function openCampaigns(CampaignRegistry campaigns, PointsToken points) returns (uint256 a, uint256 b) {
    uint40 start = uint40(block.timestamp);
    CampaignConfig memory config = CampaignConfig({
        start: start,
        end: start + 365 days,
        perUserLimit: 0,
        budget: 1_000_000
    });
    TokenAmount[] memory payouts = new TokenAmount[](1);
    payouts[0] = TokenAmount({token: address(points), id: 0, amount: PAYOUT_A});
    a = campaigns.createCampaign(config, payouts);
    payouts[0].amount = PAYOUT_B;
    b = campaigns.createCampaign(config, payouts);
}

/// @notice Claims through `claim`, `claimBatch` and `claimWithVoucher` (and replays vouchers) with
/// claim ids drawn mostly from a small pool, so that they collide, and counts each id's `Claimed` events.
contract ClaimIdHandler is ClaimHelpers {
    uint256 private constant RECIPIENT_COUNT = 3;
    uint256 private constant MAX_BATCH = 6;

    PointsToken private immutable points;
    CampaignRegistry private immutable campaigns;
    uint256 public campaignA;
    uint256 public campaignB;
    uint256 private nextFreshId = 1_000;

    ClaimRequest private lastVoucherRequest;
    uint256 private lastVoucherDeadline;
    bytes private lastVoucherSignature;

    /// Every claim id tried, and how many `Claimed` events each one has had.
    uint256[] public triedIds;
    mapping(uint256 claimId => bool) private tried;
    mapping(uint256 claimId => uint256) public paidCount;
    uint256 public paidIds;
    uint256 public mintedByClaims;
    uint256 public collisions; // attempts with an id that had already paid
    uint256 public strangerVouchersPaid;

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

    /// @notice Opens the campaigns; called once by the test's setUp, never by the fuzzer.
    function open() external {
        (campaignA, campaignB) = openCampaigns(campaigns, points);
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
        campaigns.claimBatch(requests);
        _count(recordedClaims(address(campaigns)));
    }

    /// Signed by the claim signer, or one time in five by a key without the role.
    function claimWithVoucher(
        uint256 campaignSeed,
        uint256 recipientSeed,
        uint256 idSeed,
        uint256 keySeed
    ) external counted {
        ClaimRequest memory request = _request(campaignSeed, recipientSeed, idSeed);
        bool stranger = keySeed % 5 == 0;
        uint256 deadline = block.timestamp + 1 hours;
        bytes memory signature = signVoucher(campaigns, stranger ? STRANGER_KEY : SIGNER_KEY, request, deadline);
        startRecordingClaims();
        try campaigns.claimWithVoucher(request, deadline, signature) {
            if (stranger) ++strangerVouchersPaid;
            (lastVoucherRequest, lastVoucherDeadline, lastVoucherSignature) = (request, deadline, signature);
            _count(recordedClaims(address(campaigns)));
        } catch {
            recordedClaims(address(campaigns));
        }
    }

    /// Submits the last voucher that paid once more.
    function replayVoucher() external counted {
        if (lastVoucherSignature.length == 0) return;
        _noteTried(lastVoucherRequest.claimId);
        startRecordingClaims();
        try campaigns.claimWithVoucher(lastVoucherRequest, lastVoucherDeadline, lastVoucherSignature) {
            _count(recordedClaims(address(campaigns)));
        } catch {
            recordedClaims(address(campaigns));
        }
    }

    // -------------------------------------------------------------------- views

    function triedCount() external view returns (uint256) {
        return triedIds.length;
    }

    // ---------------------------------------------------------------- internals

    /// A claim on campaign A or B, from any source (a BUSINESS claim without a business is refused),
    /// with an id from the pool (three times in four) or a fresh one.
    function _request(
        uint256 campaignSeed,
        uint256 recipientSeed,
        uint256 idSeed
    ) private returns (ClaimRequest memory request) {
        uint256 claimId = idSeed % 4 == 0 ? nextFreshId++ : _poolId(idSeed >> 2);
        _noteTried(claimId);
        request = ClaimRequest({
            campaignId: campaignSeed % 2 == 0 ? campaignA : campaignB,
            claimId: claimId,
            recipient: address(uint160(0x6001 + (recipientSeed % RECIPIENT_COUNT))),
            source: ClaimSource(uint8((campaignSeed >> 1) % 4)),
            business: address(0)
        });
    }

    /// Ids at the edges of the registry's bitmap words, and at the ends of uint256.
    function _poolId(uint256 seed) private pure returns (uint256) {
        uint256[10] memory pool = [
            uint256(0),
            1,
            2,
            255,
            256,
            257,
            511,
            1 << 255,
            type(uint256).max - 1,
            type(uint256).max
        ];
        return pool[seed % pool.length];
    }

    function _noteTried(uint256 claimId) private {
        if (paidCount[claimId] != 0) ++collisions;
        if (tried[claimId]) return;
        tried[claimId] = true;
        triedIds.push(claimId);
    }

    function _count(PaidClaim[] memory claimed) private {
        for (uint256 i = 0; i < claimed.length; ++i) {
            uint256 claimId = claimed[i].claimId;
            if (paidCount[claimId]++ == 0) ++paidIds;
            uint256 campaignId = claimed[i].campaignId;
            mintedByClaims +=
                campaignId == campaignA
                    ? PAYOUT_A
                    : campaignId == campaignB
                        ? PAYOUT_B
                        : 0;
        }
    }
}

/// @notice Whatever the sequence of claims, batches and vouchers, a claim id pays at most once.
contract ClaimIdOnceInvariantTest is TenantSetup, StdInvariantLite {
    /// `afterInvariant` judges only runs of at least this many completed handler calls (the depth is
    /// 64): shorter ones are a failing invariant's run, cut short or shrunk, whose own error is the one to read.
    uint256 private constant MIN_CALLS_TO_JUDGE = 8;
    ClaimIdHandler private handler;

    function setUp() public {
        deployProtocol();
        handler = new ClaimIdHandler(predictedSuite());
        createTenant(address(handler));
        handler.open();
        bytes32 signerRole = campaigns.CLAIM_SIGNER_ROLE();
        vm.prank(admin);
        campaigns.grantRole(signerRole, vm.addr(SIGNER_KEY));

        bytes4[] memory selectors = new bytes4[](4);
        selectors[0] = ClaimIdHandler.claim.selector;
        selectors[1] = ClaimIdHandler.claimBatch.selector;
        selectors[2] = ClaimIdHandler.claimWithVoucher.selector;
        selectors[3] = ClaimIdHandler.replayVoucher.selector;
        targetContract(address(handler));
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
    }

    /// Every id tried pays at most once, and the registry marks used exactly the ids that paid.
    function invariant_NoClaimIdPaysTwice() public view {
        uint256 count = handler.triedCount();
        for (uint256 i = 0; i < count; ++i) {
            uint256 claimId = handler.triedIds(i);
            uint256 paid = handler.paidCount(claimId);
            vm.assertLe(paid, 1, "a claim id paid twice");
            vm.assertEq(campaigns.isClaimIdUsed(claimId), paid == 1, "isClaimIdUsed disagrees with the Claimed events");
        }
    }

    /// Nothing pays outside a `Claimed` event: the points supply and the registry's counts are the paid ids'.
    function invariant_PaymentsAreThePaidIds() public view {
        uint256 claimed =
            campaigns.getCampaign(handler.campaignA()).claimed + campaigns.getCampaign(handler.campaignB()).claimed;
        vm.assertEq(claimed, handler.paidIds(), "registry's claimed counts != paid ids");
        vm.assertEq(points.totalSupply(), handler.mintedByClaims(), "points supply != paid claims x payouts");
        vm.assertEq(handler.strangerVouchersPaid(), 0, "a voucher signed without the role paid");
    }

    /// Every run must have paid claims and retried ids that had paid, or it tested nothing.
    function afterInvariant() public view {
        if (handler.calls() < MIN_CALLS_TO_JUDGE) return;
        vm.assertGt(handler.paidIds(), 0, "no claim paid in this run");
        vm.assertGt(handler.collisions(), 0, "no claim id was retried after it paid in this run");
    }
}

/// @notice A paid claim id is refused by every path afterwards, whichever campaign and recipient it names.
contract ClaimIdOnceFuzzTest is TenantSetup, ClaimHelpers {
    enum Path {
        CLAIM,
        BATCH,
        VOUCHER
    }

    uint256 private campaignA;
    uint256 private campaignB;
    address private constant FIRST_RECIPIENT = address(0x6001);

    function setUp() public {
        deployTenant();
        (campaignA, campaignB) = openCampaigns(campaigns, points);
        bytes32 signerRole = campaigns.CLAIM_SIGNER_ROLE();
        vm.prank(admin);
        campaigns.grantRole(signerRole, vm.addr(SIGNER_KEY));
    }

    function testFuzz_PaidIdIsRefusedByEveryPath(
        uint256 claimId,
        uint8 firstPath,
        uint8 secondPath,
        bool sameCampaign,
        address secondRecipient
    ) public {
        vm.assume(secondRecipient != address(0));
        ClaimRequest memory first = _request(campaignA, claimId, FIRST_RECIPIENT);
        _submit(_path(firstPath), first);
        vm.assertEq(points.balanceOf(FIRST_RECIPIENT), PAYOUT_A, "first claim did not pay");
        vm.assertTrue(campaigns.isClaimIdUsed(claimId), "paid id not marked used");

        ClaimRequest memory second = _request(sameCampaign ? campaignA : campaignB, claimId, secondRecipient);
        uint256 supply = points.totalSupply();
        uint256 balance = points.balanceOf(secondRecipient);
        Path path = _path(secondPath);
        if (path == Path.BATCH) {
            ClaimRequest[] memory requests = new ClaimRequest[](1);
            requests[0] = second;
            vm.expectEmit(address(campaigns));
            emit ICampaignRegistry.ClaimSkipped(
                second.campaignId,
                claimId,
                ICampaignRegistry.CampaignClaimIdUsed.selector
            );
            vm.assertEq(campaigns.claimBatch(requests), 0, "batch reported the second claim paid");
        } else if (path == Path.CLAIM) {
            vm.expectRevert(abi.encodeWithSelector(ICampaignRegistry.CampaignClaimIdUsed.selector, claimId));
            campaigns.claim(second);
        } else {
            uint256 deadline = block.timestamp + 1 hours;
            bytes memory signature = signVoucher(campaigns, SIGNER_KEY, second, deadline);
            vm.expectRevert(abi.encodeWithSelector(ICampaignRegistry.CampaignClaimIdUsed.selector, claimId));
            campaigns.claimWithVoucher(second, deadline, signature);
        }

        vm.assertEq(points.totalSupply(), supply, "second claim minted");
        vm.assertEq(points.balanceOf(secondRecipient), balance, "second recipient was paid");
        vm.assertEq(
            campaigns.getCampaign(campaignA).claimed + campaigns.getCampaign(campaignB).claimed,
            1,
            "second claim was counted"
        );
    }

    function testFuzz_BatchRepeatingAnIdPaysOnce(uint256 claimId, uint256 copies, uint256 seed) public {
        ClaimRequest[] memory requests = new ClaimRequest[](bound(copies, 2, 8));
        for (uint256 i = 0; i < requests.length; ++i) {
            uint256 item = uint256(keccak256(abi.encode(seed, i)));
            address recipient = address(uint160(0x6001 + (item % 3)));
            requests[i] = _request(item % 2 == 0 ? campaignA : campaignB, claimId, recipient);
        }
        startRecordingClaims();
        uint256 paid = campaigns.claimBatch(requests);
        PaidClaim[] memory claimed = recordedClaims(address(campaigns));

        vm.assertEq(paid, 1, "batch paid a repeated id more than once");
        vm.assertEq(claimed.length, 1, "Claimed events");
        vm.assertEq(claimed[0].claimId, claimId);
        vm.assertEq(claimed[0].recipient, requests[0].recipient, "the first item did not pay");
        uint256 payout = requests[0].campaignId == campaignA ? PAYOUT_A : PAYOUT_B;
        vm.assertEq(points.totalSupply(), payout, "points minted");
    }

    function _submit(Path path, ClaimRequest memory request) private {
        if (path == Path.CLAIM) {
            campaigns.claim(request);
        } else if (path == Path.BATCH) {
            ClaimRequest[] memory requests = new ClaimRequest[](1);
            requests[0] = request;
            vm.assertEq(campaigns.claimBatch(requests), 1, "batch of one fresh claim did not pay");
        } else {
            uint256 deadline = block.timestamp + 1 hours;
            campaigns.claimWithVoucher(request, deadline, signVoucher(campaigns, SIGNER_KEY, request, deadline));
        }
    }

    function _path(uint8 seed) private pure returns (Path) {
        return Path(seed % 3);
    }

    function _request(
        uint256 campaignId,
        uint256 claimId,
        address recipient
    ) private pure returns (ClaimRequest memory) {
        return
            ClaimRequest({
                campaignId: campaignId,
                claimId: claimId,
                recipient: recipient,
                source: ClaimSource.SYSTEM,
                business: address(0)
            });
    }
}
