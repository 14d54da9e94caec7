// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {RoleGrant} from "./ITenantContract.sol";
import {TokenAmount} from "../libraries/TokenAmounts.sol";

/// @notice Where a claim came from: the user's own request, a business, a platform integration or a
/// tenant admin's manual grant.
enum ClaimSource {
    USER,
    BUSINESS,
    SYSTEM,
    ADMIN
}

enum CampaignStatus {
    NONE,
    ACTIVE,
    PAUSED,
    CLOSED
}

/// @notice The accounting half of a campaign, as a campaign manager sets it.
/// @param start First second at which claims are accepted.
/// @param end First second at which claims are no longer accepted.
/// @param perUserLimit Claims one recipient may make; 0 means no limit.
/// @param budget Claims the campaign pays in all (0: none, until an update raises it).
struct CampaignConfig {
    uint40 start;
    uint40 end;
    uint32 perUserLimit;
    uint64 budget;
}

/// @notice A campaign as stored: configuration, status and running count in one slot, so that a
/// claim reads and writes the campaign once.
struct Campaign {
    uint40 start;
    uint40 end;
    CampaignStatus status;
    uint8 payoutCount;
    uint32 perUserLimit;
    uint64 budget;
    uint64 claimed;
}

/// @notice A business taking part in a campaign, with its own cap on the claims it brings.
struct Engagement {
    bool active;
    uint64 cap;
    uint64 claimed;
}

/// @notice One claim. `claimId` is unique per registry and pays at most once, whichever path it
/// takes; `business` is zero unless a business brings the claim.
struct ClaimRequest {
    uint256 campaignId;
    uint256 claimId;
    address recipient;
    ClaimSource source;
    address business;
}

/// @title CampaignRegistry: the on-chain accounting of a tenant's campaigns, and the only way a claim pays.
/// @notice Claims come from the claim-operator role (one or a batch per transaction) or from anyone
/// holding an EIP-712 voucher signed by a claim signer. Claim ids are stored as a bitmap, so ids
/// handed out in sequence cost one storage write per 256 claims.
interface ICampaignRegistry {
    event CampaignCreated(uint256 indexed campaignId, CampaignConfig config, TokenAmount[] payouts);
    event CampaignUpdated(uint256 indexed campaignId, CampaignConfig config, TokenAmount[] payouts);
    event CampaignPaused(uint256 indexed campaignId);
    event CampaignResumed(uint256 indexed campaignId);
    event CampaignClosed(uint256 indexed campaignId);
    /// @notice The campaign paid its last budgeted claim.
    event CampaignBudgetSpent(uint256 indexed campaignId, uint64 budget);
    event EngagementSet(uint256 indexed campaignId, address indexed business, bool active, uint64 cap);

    /// @notice A claim paid the campaign's payouts to `recipient`. Emitted before the payout mints.
    event Claimed(
        uint256 indexed campaignId,
        uint256 indexed claimId,
        address indexed recipient,
        ClaimSource source,
        address business
    );

    /// @notice A batch item broke a rule and did not pay; `reason` is the selector of the error that
    /// `claim` would have raised for it.
    event ClaimSkipped(uint256 indexed campaignId, uint256 indexed claimId, bytes4 reason);

    error CampaignNotFound(uint256 campaignId);
    error CampaignIsClosed(uint256 campaignId);
    error CampaignNotActive(uint256 campaignId, CampaignStatus status);
    error CampaignNotPaused(uint256 campaignId, CampaignStatus status);
    error CampaignNotStarted(uint256 campaignId, uint40 start);
    error CampaignEnded(uint256 campaignId, uint40 end);
    error CampaignBudgetExhausted(uint256 campaignId, uint64 budget);
    error CampaignUserLimitReached(uint256 campaignId, address user, uint32 limit);
    error CampaignBusinessNotEngaged(uint256 campaignId, address business);
    error CampaignBusinessCapReached(uint256 campaignId, address business, uint64 cap);
    error CampaignBusinessRequired(uint256 claimId);
    error CampaignClaimIdUsed(uint256 claimId);
    error CampaignInvalidRecipient(uint256 claimId);
    error CampaignInvalidWindow(uint40 start, uint40 end);
    error CampaignBudgetBelowClaimed(uint64 budget, uint64 claimed);
    error CampaignInvalidPayoutCount(uint256 count, uint256 max);
    error CampaignInvalidPayout(address token, uint256 id, uint256 amount);
    error CampaignPayoutNotMintable(address token);
    error CampaignDuplicatePayout(address token);
    error CampaignInvalidBusiness(address business);
    error CampaignVoucherExpired(uint256 deadline);
    error CampaignVoucherSignerUnauthorized(address signer);

    /// @notice Sets up the registry. Called once, by the factory, in the transaction that deploys the proxy.
    function initialize(address admin, RoleGrant[] calldata grants) external;

    function CAMPAIGN_MANAGER_ROLE() external view returns (bytes32);

    function CLAIM_OPERATOR_ROLE() external view returns (bytes32);

    function CLAIM_SIGNER_ROLE() external view returns (bytes32);

    /// @notice The most payouts one campaign may have: each is a mint in every claim.
    function MAX_PAYOUTS() external view returns (uint256);

    /// @notice Creates an active campaign. Every payout token must be a tenant token that lets this
    /// registry mint. Campaign manager role.
    /// @return campaignId Ids count up from 1.
    function createCampaign(
        CampaignConfig calldata config,
        TokenAmount[] calldata payouts
    ) external returns (uint256 campaignId);

    /// @notice Replaces a campaign's configuration and payouts; the budget cannot drop below the
    /// claims already paid. Not once closed. Campaign manager role.
    function updateCampaign(
        uint256 campaignId,
        CampaignConfig calldata config,
        TokenAmount[] calldata payouts
    ) external;

    /// @notice Stops claims until `resumeCampaign`. Campaign manager role.
    function pauseCampaign(uint256 campaignId) external;

    function resumeCampaign(uint256 campaignId) external;

    /// @notice Ends a campaign for good. Campaign manager role.
    function closeCampaign(uint256 campaignId) external;

    /// @notice Lets `business` bring claims (active) up to `cap` claims, or stops it. Campaign manager role.
    function setEngagement(uint256 campaignId, address business, bool active, uint64 cap) external;

    /// @notice Pays one claim, or reverts with the rule it breaks. Claim-operator role.
    function claim(ClaimRequest calldata request) external;

    /// @notice Pays many claims in one transaction; an item that breaks a rule is skipped with
    /// `ClaimSkipped` and the rest pay. Claim-operator role.
    /// @dev Every item's `Claimed` comes first, then the points: one `mintBatch` per points token,
    /// its transfers in item order. ERC-1155 payouts are minted with their item. Only the registry's
    /// own rules skip an item: a token's refusal (paused, a class's maximum supply, a contract
    /// recipient rejecting ERC-1155) reverts the whole batch, so relayers simulate first and split
    /// such items out.
    /// @return paid How many items paid.
    function claimBatch(ClaimRequest[] calldata requests) external returns (uint256 paid);

    /// @notice Pays a claim that a claim signer authorised with an EIP-712 `ClaimVoucher` (the claim
    /// and a deadline); anyone may submit it. The domain binds it to this chain and this registry.
    function claimWithVoucher(ClaimRequest calldata request, uint256 deadline, bytes calldata signature) external;

    function campaignCount() external view returns (uint256);

    function getCampaign(uint256 campaignId) external view returns (Campaign memory);

    function getPayouts(uint256 campaignId) external view returns (TokenAmount[] memory);

    function getEngagement(uint256 campaignId, address business) external view returns (Engagement memory);

    /// @notice How many times `user` has claimed `campaignId`.
    function claimCountOf(uint256 campaignId, address user) external view returns (uint256);

    function isClaimIdUsed(uint256 claimId) external view returns (bool);

    /// @notice The EIP-712 digest a claim signer signs for `request` and `deadline`.
    function voucherDigest(ClaimRequest calldata request, uint256 deadline) external view returns (bytes32);
}
