// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IERC1155} from "@openzeppelin/contracts/token/ERC1155/IERC1155.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {TenantUpgradeable} from "./base/TenantUpgradeable.sol";
import {IMultiToken} from "./interfaces/IMultiToken.sol";
import {IRedemptionRegistry, Offer, OfferConfig, OfferStatus} from "./interfaces/IRedemptionRegistry.sol";
import {ContractKind, RoleGrant} from "./interfaces/ITenantContract.sol";
import {ITenantToken} from "./interfaces/ITenantToken.sol";
import {StoredTokenAmount, TokenAmount, TokenAmounts} from "./libraries/TokenAmounts.sol";

/// @title RedemptionRegistry
/// @notice See {IRedemptionRegistry}.
contract RedemptionRegistry is IRedemptionRegistry, TenantUpgradeable, ReentrancyGuardTransient {
    using TokenAmounts for StoredTokenAmount;

    bytes32 public constant CAMPAIGN_MANAGER_ROLE = keccak256("CAMPAIGN_MANAGER_ROLE");
    uint256 public constant MAX_ITEMS = 8;

    struct StatusRequirement {
        address token;
        uint256 id;
    }

    /// @custom:storage-location erc7201:pers.storage.RedemptionRegistry
    struct RedemptionRegistryStorage {
        uint256 offerCount;
        uint256 redemptionCount;
        mapping(uint256 offerId => Offer) offers;
        mapping(uint256 offerId => StatusRequirement) statusRequirements;
        mapping(uint256 offerId => mapping(uint256 index => StoredTokenAmount)) costs;
        mapping(uint256 offerId => mapping(uint256 index => StoredTokenAmount)) payouts;
        mapping(uint256 offerId => mapping(address business => bool)) honouredBy;
    }

    // keccak256(abi.encode(uint256(keccak256("pers.storage.RedemptionRegistry")) - 1)) & ~bytes32(uint256(0xff))
    bytes32 private constant REDEMPTION_REGISTRY_STORAGE_LOCATION =
        0x6f4927b7c66639eced2ac0980e11e31dd70af638e706f5d173521d9fe31c5100;

    /// @custom:oz-upgrades-unsafe-allow constructor
    constructor(address trustedForwarder_) TenantUpgradeable(trustedForwarder_) {}

    /// @inheritdoc IRedemptionRegistry
    function initialize(address admin, RoleGrant[] calldata grants) public initializer {
        __TenantUpgradeable_init(admin, grants);
    }

    /// @inheritdoc TenantUpgradeable
    function contractKind() public pure override returns (ContractKind) {
        return ContractKind.REDEMPTION_REGISTRY;
    }

    // ------------------------------------------------------------------- offers

    /// @inheritdoc IRedemptionRegistry
    function createOffer(
        OfferConfig calldata config,
        TokenAmount[] calldata costs,
        TokenAmount[] calldata payouts,
        address[] calldata businesses
    ) external onlyRole(CAMPAIGN_MANAGER_ROLE) returns (uint256 offerId) {
        RedemptionRegistryStorage storage $ = _getRedemptionRegistryStorage();
        _checkConfig(config);
        if (costs.length == 0 || costs.length > MAX_ITEMS) revert RedemptionInvalidCostCount(costs.length, MAX_ITEMS);
        if (payouts.length > MAX_ITEMS) revert RedemptionInvalidPayoutCount(payouts.length, MAX_ITEMS);

        offerId = ++$.offerCount;
        $.offers[offerId] = Offer({
            start: config.start,
            end: config.end,
            status: OfferStatus.ACTIVE,
            costCount: uint8(costs.length),
            payoutCount: uint8(payouts.length),
            businessCount: 0,
            supplyLeft: config.supply,
            redeemed: 0
        });
        $.statusRequirements[offerId] = StatusRequirement(config.statusToken, config.statusId);
        for (uint256 i = 0; i < costs.length; ++i) {
            $.costs[offerId][i].store(costs[i], _checkItem(costs[i], true));
        }
        for (uint256 i = 0; i < payouts.length; ++i) {
            $.payouts[offerId][i].store(payouts[i], _checkItem(payouts[i], false));
        }
        emit OfferCreated(offerId, config, costs, payouts);
        for (uint256 i = 0; i < businesses.length; ++i) {
            _setOfferBusiness($, offerId, businesses[i], true);
        }
    }

    /// @inheritdoc IRedemptionRegistry
    function updateOffer(uint256 offerId, OfferConfig calldata config) external onlyRole(CAMPAIGN_MANAGER_ROLE) {
        RedemptionRegistryStorage storage $ = _getRedemptionRegistryStorage();
        Offer storage offer = _openOffer($, offerId);
        _checkConfig(config);
        uint64 redeemed = offer.redeemed;
        if (config.supply > type(uint64).max - redeemed) {
            revert RedemptionSupplyTooLarge(offerId, config.supply, redeemed);
        }
        offer.start = config.start;
        offer.end = config.end;
        offer.supplyLeft = config.supply;
        $.statusRequirements[offerId] = StatusRequirement(config.statusToken, config.statusId);
        emit OfferUpdated(offerId, config);
    }

    /// @inheritdoc IRedemptionRegistry
    function pauseOffer(uint256 offerId) external onlyRole(CAMPAIGN_MANAGER_ROLE) {
        Offer storage offer = _openOffer(_getRedemptionRegistryStorage(), offerId);
        if (offer.status != OfferStatus.ACTIVE) revert RedemptionOfferNotActive(offerId, offer.status);
        offer.status = OfferStatus.PAUSED;
        emit OfferPaused(offerId);
    }

    /// @inheritdoc IRedemptionRegistry
    function resumeOffer(uint256 offerId) external onlyRole(CAMPAIGN_MANAGER_ROLE) {
        Offer storage offer = _openOffer(_getRedemptionRegistryStorage(), offerId);
        if (offer.status != OfferStatus.PAUSED) revert RedemptionOfferNotPaused(offerId, offer.status);
        offer.status = OfferStatus.ACTIVE;
        emit OfferResumed(offerId);
    }

    /// @inheritdoc IRedemptionRegistry
    function closeOffer(uint256 offerId) external onlyRole(CAMPAIGN_MANAGER_ROLE) {
        _openOffer(_getRedemptionRegistryStorage(), offerId).status = OfferStatus.CLOSED;
        emit OfferClosed(offerId);
    }

    /// @inheritdoc IRedemptionRegistry
    function setOfferBusiness(
        uint256 offerId,
        address business,
        bool honoured
    ) external onlyRole(CAMPAIGN_MANAGER_ROLE) {
        RedemptionRegistryStorage storage $ = _getRedemptionRegistryStorage();
        _openOffer($, offerId);
        _setOfferBusiness($, offerId, business, honoured);
    }

    // --------------------------------------------------------------- redemption

    /// @inheritdoc IRedemptionRegistry
    function redeem(
        uint256 offerId,
        uint64 quantity,
        address business
    ) external nonReentrant returns (uint256 redemptionId) {
        RedemptionRegistryStorage storage $ = _getRedemptionRegistryStorage();
        address holder = _msgSender();
        Offer storage offer = $.offers[offerId];
        Offer memory o = offer;
        _checkRedeemable($, offerId, o, quantity, business, holder);

        offer.supplyLeft = o.supplyLeft - quantity;
        offer.redeemed = o.redeemed + quantity;
        redemptionId = ++$.redemptionCount;
        emit Redeemed(redemptionId, offerId, holder, quantity, business);

        for (uint256 i = 0; i < o.costCount; ++i) {
            $.costs[offerId][i].burnFrom(holder, quantity);
        }
        for (uint256 i = 0; i < o.payoutCount; ++i) {
            $.payouts[offerId][i].mintTo(holder, quantity);
        }
    }

    // -------------------------------------------------------------------- views

    /// @inheritdoc IRedemptionRegistry
    function offerCount() external view returns (uint256) {
        return _getRedemptionRegistryStorage().offerCount;
    }

    /// @inheritdoc IRedemptionRegistry
    function redemptionCount() external view returns (uint256) {
        return _getRedemptionRegistryStorage().redemptionCount;
    }

    /// @inheritdoc IRedemptionRegistry
    function getOffer(uint256 offerId) external view returns (Offer memory) {
        return _getRedemptionRegistryStorage().offers[offerId];
    }

    /// @inheritdoc IRedemptionRegistry
    function getOfferStatusRequirement(uint256 offerId) external view returns (address statusToken, uint256 statusId) {
        StatusRequirement storage requirement = _getRedemptionRegistryStorage().statusRequirements[offerId];
        return (requirement.token, requirement.id);
    }

    /// @inheritdoc IRedemptionRegistry
    function getCosts(uint256 offerId) external view returns (TokenAmount[] memory) {
        RedemptionRegistryStorage storage $ = _getRedemptionRegistryStorage();
        return _load($.costs[offerId], $.offers[offerId].costCount);
    }

    /// @inheritdoc IRedemptionRegistry
    function getPayouts(uint256 offerId) external view returns (TokenAmount[] memory) {
        RedemptionRegistryStorage storage $ = _getRedemptionRegistryStorage();
        return _load($.payouts[offerId], $.offers[offerId].payoutCount);
    }

    /// @inheritdoc IRedemptionRegistry
    function isHonouredBy(uint256 offerId, address business) external view returns (bool) {
        return _getRedemptionRegistryStorage().honouredBy[offerId][business];
    }

    // ---------------------------------------------------------------- internals

    function _checkRedeemable(
        RedemptionRegistryStorage storage $,
        uint256 offerId,
        Offer memory o,
        uint64 quantity,
        address business,
        address holder
    ) private view {
        if (o.status != OfferStatus.ACTIVE) {
            if (o.status == OfferStatus.NONE) revert RedemptionOfferNotFound(offerId);
            revert RedemptionOfferNotActive(offerId, o.status);
        }
        if (block.timestamp < o.start) revert RedemptionOfferNotStarted(offerId, o.start);
        if (block.timestamp >= o.end) revert RedemptionOfferEnded(offerId, o.end);
        if (quantity == 0) revert RedemptionInvalidQuantity(quantity);
        if (quantity > o.supplyLeft) revert RedemptionSupplyExhausted(offerId, o.supplyLeft, quantity);
        if (o.businessCount != 0 && !$.honouredBy[offerId][business]) {
            revert RedemptionBusinessNotHonouring(offerId, business);
        }
        StatusRequirement storage requirement = $.statusRequirements[offerId];
        address statusToken = requirement.token;
        if (statusToken != address(0) && IERC1155(statusToken).balanceOf(holder, requirement.id) == 0) {
            revert RedemptionStatusRequired(offerId, statusToken, requirement.id);
        }
    }

    /// @dev A cost must be a tenant token this registry may burn; a payout a reward or status class it
    /// may mint. Points carry id 0; ERC-1155 ids must be defined classes.
    function _checkItem(TokenAmount calldata item, bool isCost) private view returns (ContractKind kind) {
        bool found;
        (found, kind) = TokenAmounts.kindOf(item.token);
        bool acceptable =
            found &&
                (
                    isCost
                        ? TokenAmounts.isToken(kind)
                        : kind == ContractKind.REWARD_TOKEN || kind == ContractKind.STATUS_TOKEN
                );
        bytes32 role;
        if (acceptable) role = isCost ? ITenantToken(item.token).BURNER_ROLE() : ITenantToken(item.token).MINTER_ROLE();
        if (!acceptable || !IAccessControl(item.token).hasRole(role, address(this))) {
            if (isCost) revert RedemptionCostNotBurnable(item.token);
            revert RedemptionPayoutNotMintable(item.token);
        }
        bool validId =
            kind == ContractKind.POINTS_TOKEN ? item.id == 0 : IMultiToken(item.token).isClassDefined(item.id);
        if (item.amount == 0 || item.amount > type(uint88).max || !validId) {
            revert RedemptionInvalidAmount(item.token, item.id, item.amount);
        }
    }

    /// @dev A status requirement must name a defined class of a status token of this tenant: one
    /// that lets this registry mint, as only the tenant's own tokens do.
    function _checkConfig(OfferConfig calldata config) private view {
        if (config.end <= config.start) revert RedemptionInvalidWindow(config.start, config.end);
        address statusToken = config.statusToken;
        if (statusToken == address(0)) return;
        (bool found, ContractKind kind) = TokenAmounts.kindOf(statusToken);
        if (
            !found ||
            kind != ContractKind.STATUS_TOKEN ||
            !IAccessControl(statusToken).hasRole(ITenantToken(statusToken).MINTER_ROLE(), address(this)) ||
            !IMultiToken(statusToken).isClassDefined(config.statusId)
        ) revert RedemptionInvalidStatusToken(statusToken, config.statusId);
    }

    function _setOfferBusiness(
        RedemptionRegistryStorage storage $,
        uint256 offerId,
        address business,
        bool honoured
    ) private {
        if (business == address(0)) revert RedemptionInvalidBusiness(business);
        if ($.honouredBy[offerId][business] == honoured) return;
        $.honouredBy[offerId][business] = honoured;
        if (honoured) {
            ++$.offers[offerId].businessCount;
        } else {
            --$.offers[offerId].businessCount;
        }
        emit OfferBusinessSet(offerId, business, honoured);
    }

    function _openOffer(
        RedemptionRegistryStorage storage $,
        uint256 offerId
    ) private view returns (Offer storage offer) {
        offer = $.offers[offerId];
        if (offer.status == OfferStatus.NONE) revert RedemptionOfferNotFound(offerId);
        if (offer.status == OfferStatus.CLOSED) revert RedemptionOfferIsClosed(offerId);
    }

    function _load(
        mapping(uint256 => StoredTokenAmount) storage items,
        uint256 count
    ) private view returns (TokenAmount[] memory loaded) {
        loaded = new TokenAmount[](count);
        for (uint256 i = 0; i < count; ++i) {
            loaded[i] = items[i].load();
        }
    }

    function _getRedemptionRegistryStorage() private pure returns (RedemptionRegistryStorage storage $) {
        assembly {
            $.slot := REDEMPTION_REGISTRY_STORAGE_LOCATION
        }
    }
}
