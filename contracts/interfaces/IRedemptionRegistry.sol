// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {RoleGrant} from "./ITenantContract.sol";
import {TokenAmount} from "../libraries/TokenAmounts.sol";

enum OfferStatus {
    NONE,
    ACTIVE,
    PAUSED,
    CLOSED
}

/// @notice What a campaign manager sets for an offer.
/// @param start First second at which the offer can be redeemed.
/// @param end First second at which it no longer can.
/// @param supply Units of the offer left to redeem.
/// @param statusToken The tenant's own status token, or zero when the offer needs no status.
/// @param statusId The status class (defined) a holder must hold at least one of.
struct OfferConfig {
    uint40 start;
    uint40 end;
    uint64 supply;
    address statusToken;
    uint256 statusId;
}

/// @notice An offer as stored: its window, status and counts in one slot.
/// @param businessCount How many businesses honour it; 0 means it is honoured anywhere, so removing
/// an offer's last business opens it to every business (pause or close it to withdraw it instead).
struct Offer {
    uint40 start;
    uint40 end;
    OfferStatus status;
    uint8 costCount;
    uint8 payoutCount;
    uint32 businessCount;
    uint64 supplyLeft;
    uint64 redeemed;
}

/// @title RedemptionRegistry: what a tenant's points and tokens buy.
/// @notice A holder redeems an offer directly or through the ERC-2771 forwarder (the platform pays
/// the gas); the cost is burned and the payouts minted in the same call, or nothing happens.
interface IRedemptionRegistry {
    event OfferCreated(uint256 indexed offerId, OfferConfig config, TokenAmount[] costs, TokenAmount[] payouts);
    event OfferUpdated(uint256 indexed offerId, OfferConfig config);
    event OfferPaused(uint256 indexed offerId);
    event OfferResumed(uint256 indexed offerId);
    event OfferClosed(uint256 indexed offerId);
    event OfferBusinessSet(uint256 indexed offerId, address indexed business, bool honoured);

    /// @notice `holder` redeemed `quantity` units of `offerId`. Emitted after the cost is recorded and
    /// before it is burned and the payouts minted, all in the same call.
    event Redeemed(
        uint256 indexed redemptionId,
        uint256 indexed offerId,
        address indexed holder,
        uint64 quantity,
        address business
    );

    error RedemptionOfferNotFound(uint256 offerId);
    error RedemptionOfferIsClosed(uint256 offerId);
    error RedemptionOfferNotActive(uint256 offerId, OfferStatus status);
    error RedemptionOfferNotPaused(uint256 offerId, OfferStatus status);
    error RedemptionOfferNotStarted(uint256 offerId, uint40 start);
    error RedemptionOfferEnded(uint256 offerId, uint40 end);
    error RedemptionSupplyExhausted(uint256 offerId, uint64 supplyLeft, uint64 quantity);
    /// @notice `supply` more units on top of the `redeemed` already counted would not fit the offer's
    /// uint64 `redeemed` counter, and the offer could then never be redeemed again.
    error RedemptionSupplyTooLarge(uint256 offerId, uint64 supply, uint64 redeemed);
    error RedemptionInvalidQuantity(uint64 quantity);
    error RedemptionBusinessNotHonouring(uint256 offerId, address business);
    error RedemptionStatusRequired(uint256 offerId, address statusToken, uint256 statusId);
    error RedemptionInvalidWindow(uint40 start, uint40 end);
    error RedemptionInvalidStatusToken(address statusToken, uint256 statusId);
    error RedemptionInvalidCostCount(uint256 count, uint256 max);
    error RedemptionInvalidPayoutCount(uint256 count, uint256 max);
    error RedemptionInvalidAmount(address token, uint256 id, uint256 amount);
    error RedemptionCostNotBurnable(address token);
    error RedemptionPayoutNotMintable(address token);
    error RedemptionInvalidBusiness(address business);

    /// @notice Sets up the registry. Called once, by the factory, in the transaction that deploys the proxy.
    function initialize(address admin, RoleGrant[] calldata grants) external;

    function CAMPAIGN_MANAGER_ROLE() external view returns (bytes32);

    /// @notice The most costs, and the most payouts, one offer may have.
    function MAX_ITEMS() external view returns (uint256);

    /// @notice Creates an active offer. Costs (at least one) must be tenant tokens that let this
    /// registry burn; payouts (reward or status tokens, possibly none for an off-chain good) must let
    /// it mint. Campaign manager role.
    /// @return offerId Ids count up from 1.
    function createOffer(
        OfferConfig calldata config,
        TokenAmount[] calldata costs,
        TokenAmount[] calldata payouts,
        address[] calldata businesses
    ) external returns (uint256 offerId);

    /// @notice Changes an offer's window, units left (`config.supply` replaces `supplyLeft`) and status
    /// requirement. Not once closed. Campaign manager role.
    /// @dev `config.supply` plus the units already redeemed must fit in a uint64 (`RedemptionSupplyTooLarge`),
    /// so that `redeemed` always counts every unit and redeeming the supply left never overflows.
    function updateOffer(uint256 offerId, OfferConfig calldata config) external;

    function pauseOffer(uint256 offerId) external;

    function resumeOffer(uint256 offerId) external;

    /// @notice Ends an offer for good. Campaign manager role.
    function closeOffer(uint256 offerId) external;

    /// @notice Adds (`honoured`) or removes a business that honours the offer. Campaign manager role.
    function setOfferBusiness(uint256 offerId, address business, bool honoured) external;

    /// @notice Burns `quantity` times the offer's cost from the caller and mints its payouts to them.
    /// `business` is where it is redeemed: zero, or one that honours the offer when the offer names any.
    /// @return redemptionId Ids count up from 1.
    function redeem(uint256 offerId, uint64 quantity, address business) external returns (uint256 redemptionId);

    function offerCount() external view returns (uint256);

    function redemptionCount() external view returns (uint256);

    function getOffer(uint256 offerId) external view returns (Offer memory);

    function getOfferStatusRequirement(uint256 offerId) external view returns (address statusToken, uint256 statusId);

    function getCosts(uint256 offerId) external view returns (TokenAmount[] memory);

    function getPayouts(uint256 offerId) external view returns (TokenAmount[] memory);

    function isHonouredBy(uint256 offerId, address business) external view returns (bool);
}
