// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712Upgradeable} from "@openzeppelin/contracts-upgradeable/utils/cryptography/EIP712Upgradeable.sol";
import {TenantUpgradeable} from "./base/TenantUpgradeable.sol";
import {
    Campaign,
    CampaignConfig,
    CampaignStatus,
    ClaimRequest,
    ClaimSource,
    Engagement,
    ICampaignRegistry
} from "./interfaces/ICampaignRegistry.sol";
import {ContractKind, RoleGrant} from "./interfaces/ITenantContract.sol";
import {IMultiToken} from "./interfaces/IMultiToken.sol";
import {ITenantToken} from "./interfaces/ITenantToken.sol";
import {StoredTokenAmount, TokenAmount, TokenAmounts} from "./libraries/TokenAmounts.sol";

/// @title CampaignRegistry
/// @notice See {ICampaignRegistry}.
contract CampaignRegistry is ICampaignRegistry, TenantUpgradeable, EIP712Upgradeable {
    using TokenAmounts for StoredTokenAmount;

    bytes32 public constant CAMPAIGN_MANAGER_ROLE = keccak256("CAMPAIGN_MANAGER_ROLE");
    bytes32 public constant CLAIM_OPERATOR_ROLE = keccak256("CLAIM_OPERATOR_ROLE");
    bytes32 public constant CLAIM_SIGNER_ROLE = keccak256("CLAIM_SIGNER_ROLE");
    uint256 public constant MAX_PAYOUTS = 8;

    bytes32 private constant CLAIM_VOUCHER_TYPEHASH =
        keccak256(
            "ClaimVoucher(uint256 campaignId,uint256 claimId,address recipient,uint8 source,address business,uint256 deadline)"
        );

    /// @custom:storage-location erc7201:pers.storage.CampaignRegistry
    struct CampaignRegistryStorage {
        uint256 campaignCount;
        mapping(uint256 campaignId => Campaign) campaigns;
        mapping(uint256 campaignId => mapping(uint256 index => StoredTokenAmount)) payouts;
        mapping(uint256 campaignId => mapping(address business => Engagement)) engagements;
        mapping(uint256 campaignId => mapping(address user => uint256)) claimCounts;
        // Bit `claimId % 256` of word `claimId / 256` is set once `claimId` has paid.
        mapping(uint256 word => uint256 bits) usedClaimIds;
    }

    // keccak256(abi.encode(uint256(keccak256("pers.storage.CampaignRegistry")) - 1)) & ~bytes32(uint256(0xff))
    bytes32 private constant CAMPAIGN_REGISTRY_STORAGE_LOCATION =
        0xe32758190eab7635f6822903d586568e55a23a9be5bfdf17b37d9b0341bdaa00;

    /// @custom:oz-upgrades-unsafe-allow constructor
    constructor(address trustedForwarder_) TenantUpgradeable(trustedForwarder_) {}

    /// @inheritdoc ICampaignRegistry
    function initialize(address admin, RoleGrant[] calldata grants) external initializer {
        __EIP712_init("PERS CampaignRegistry", "1");
        __TenantUpgradeable_init(admin, grants);
    }

    /// @inheritdoc TenantUpgradeable
    function contractKind() public pure override returns (ContractKind) {
        return ContractKind.CAMPAIGN_REGISTRY;
    }

    // ---------------------------------------------------------------- campaigns

    /// @inheritdoc ICampaignRegistry
    function createCampaign(
        CampaignConfig calldata config,
        TokenAmount[] calldata payouts
    ) external onlyRole(CAMPAIGN_MANAGER_ROLE) returns (uint256 campaignId) {
        CampaignRegistryStorage storage $ = _getCampaignRegistryStorage();
        _checkConfig(config, 0);
        campaignId = ++$.campaignCount;
        $.campaigns[campaignId] = Campaign({
            start: config.start,
            end: config.end,
            status: CampaignStatus.ACTIVE,
            payoutCount: 0,
            perUserLimit: config.perUserLimit,
            budget: config.budget,
            claimed: 0
        });
        _storePayouts($, campaignId, payouts);
        emit CampaignCreated(campaignId, config, payouts);
    }

    /// @inheritdoc ICampaignRegistry
    function updateCampaign(
        uint256 campaignId,
        CampaignConfig calldata config,
        TokenAmount[] calldata payouts
    ) external onlyRole(CAMPAIGN_MANAGER_ROLE) {
        CampaignRegistryStorage storage $ = _getCampaignRegistryStorage();
        Campaign storage campaign = _openCampaign($, campaignId);
        _checkConfig(config, campaign.claimed);
        campaign.start = config.start;
        campaign.end = config.end;
        campaign.perUserLimit = config.perUserLimit;
        campaign.budget = config.budget;
        _storePayouts($, campaignId, payouts);
        emit CampaignUpdated(campaignId, config, payouts);
    }

    /// @inheritdoc ICampaignRegistry
    function pauseCampaign(uint256 campaignId) external onlyRole(CAMPAIGN_MANAGER_ROLE) {
        Campaign storage campaign = _openCampaign(_getCampaignRegistryStorage(), campaignId);
        if (campaign.status != CampaignStatus.ACTIVE) revert CampaignNotActive(campaignId, campaign.status);
        campaign.status = CampaignStatus.PAUSED;
        emit CampaignPaused(campaignId);
    }

    /// @inheritdoc ICampaignRegistry
    function resumeCampaign(uint256 campaignId) external onlyRole(CAMPAIGN_MANAGER_ROLE) {
        Campaign storage campaign = _openCampaign(_getCampaignRegistryStorage(), campaignId);
        if (campaign.status != CampaignStatus.PAUSED) revert CampaignNotPaused(campaignId, campaign.status);
        campaign.status = CampaignStatus.ACTIVE;
        emit CampaignResumed(campaignId);
    }

    /// @inheritdoc ICampaignRegistry
    function closeCampaign(uint256 campaignId) external onlyRole(CAMPAIGN_MANAGER_ROLE) {
        _openCampaign(_getCampaignRegistryStorage(), campaignId).status = CampaignStatus.CLOSED;
        emit CampaignClosed(campaignId);
    }

    /// @inheritdoc ICampaignRegistry
    function setEngagement(
        uint256 campaignId,
        address business,
        bool active,
        uint64 cap
    ) external onlyRole(CAMPAIGN_MANAGER_ROLE) {
        CampaignRegistryStorage storage $ = _getCampaignRegistryStorage();
        _openCampaign($, campaignId);
        if (business == address(0)) revert CampaignInvalidBusiness(business);
        Engagement storage engagement = $.engagements[campaignId][business];
        engagement.active = active;
        engagement.cap = cap;
        emit EngagementSet(campaignId, business, active, cap);
    }

    // ------------------------------------------------------------------- claims

    /// @inheritdoc ICampaignRegistry
    function claim(ClaimRequest calldata request) external onlyRole(CLAIM_OPERATOR_ROLE) {
        _revertIfFailed(_pay(_getCampaignRegistryStorage(), request));
    }

    /// @inheritdoc ICampaignRegistry
    function claimBatch(
        ClaimRequest[] calldata requests
    ) external onlyRole(CLAIM_OPERATOR_ROLE) returns (uint256 paid) {
        CampaignRegistryStorage storage $ = _getCampaignRegistryStorage();
        for (uint256 i = 0; i < requests.length; ++i) {
            bytes memory failure = _pay($, requests[i]);
            if (failure.length == 0) {
                ++paid;
            } else {
                emit ClaimSkipped(requests[i].campaignId, requests[i].claimId, bytes4(failure));
            }
        }
    }

    /// @inheritdoc ICampaignRegistry
    function claimWithVoucher(ClaimRequest calldata request, uint256 deadline, bytes calldata signature) external {
        if (block.timestamp > deadline) revert CampaignVoucherExpired(deadline);
        address signer = ECDSA.recover(voucherDigest(request, deadline), signature);
        if (!hasRole(CLAIM_SIGNER_ROLE, signer)) revert CampaignVoucherSignerUnauthorized(signer);
        _revertIfFailed(_pay(_getCampaignRegistryStorage(), request));
    }

    // -------------------------------------------------------------------- views

    /// @inheritdoc ICampaignRegistry
    function campaignCount() external view returns (uint256) {
        return _getCampaignRegistryStorage().campaignCount;
    }

    /// @inheritdoc ICampaignRegistry
    function getCampaign(uint256 campaignId) external view returns (Campaign memory) {
        return _getCampaignRegistryStorage().campaigns[campaignId];
    }

    /// @inheritdoc ICampaignRegistry
    function getPayouts(uint256 campaignId) external view returns (TokenAmount[] memory payouts) {
        CampaignRegistryStorage storage $ = _getCampaignRegistryStorage();
        payouts = new TokenAmount[]($.campaigns[campaignId].payoutCount);
        for (uint256 i = 0; i < payouts.length; ++i) {
            payouts[i] = $.payouts[campaignId][i].load();
        }
    }

    /// @inheritdoc ICampaignRegistry
    function getEngagement(uint256 campaignId, address business) external view returns (Engagement memory) {
        return _getCampaignRegistryStorage().engagements[campaignId][business];
    }

    /// @inheritdoc ICampaignRegistry
    function claimCountOf(uint256 campaignId, address user) external view returns (uint256) {
        return _getCampaignRegistryStorage().claimCounts[campaignId][user];
    }

    /// @inheritdoc ICampaignRegistry
    function isClaimIdUsed(uint256 claimId) external view returns (bool) {
        return _getCampaignRegistryStorage().usedClaimIds[claimId >> 8] & (1 << (claimId & 0xff)) != 0;
    }

    /// @inheritdoc ICampaignRegistry
    function voucherDigest(ClaimRequest calldata request, uint256 deadline) public view returns (bytes32) {
        return
            _hashTypedDataV4(
                keccak256(
                    abi.encode(
                        CLAIM_VOUCHER_TYPEHASH,
                        request.campaignId,
                        request.claimId,
                        request.recipient,
                        request.source,
                        request.business,
                        deadline
                    )
                )
            );
    }

    // ---------------------------------------------------------------- internals

    /// @dev Checks every rule, then records the claim, emits `Claimed` and mints the payouts. On a
    /// broken rule it changes nothing and returns the error `claim` raises (empty when it paid), so
    /// that single claims revert and batch items skip with the same reason.
    function _pay(CampaignRegistryStorage storage $, ClaimRequest calldata request) private returns (bytes memory) {
        uint256 campaignId = request.campaignId;
        Campaign memory c = $.campaigns[campaignId];
        bytes memory failure = _checkClaim($, request, c);
        if (failure.length != 0) return failure;

        address recipient = request.recipient;
        _recordClaim($, request, c);
        emit Claimed(campaignId, request.claimId, recipient, request.source, request.business);
        if (c.claimed + 1 == c.budget) emit CampaignBudgetSpent(campaignId, c.budget);

        mapping(uint256 => StoredTokenAmount) storage payouts = $.payouts[campaignId];
        for (uint256 i = 0; i < c.payoutCount; ++i) {
            payouts[i].mintTo(recipient, 1);
        }
        return "";
    }

    /// @dev Every rule a claim must meet, as the encoded error it breaks; empty if it may pay.
    function _checkClaim(
        CampaignRegistryStorage storage $,
        ClaimRequest calldata request,
        Campaign memory c
    ) private view returns (bytes memory) {
        uint256 claimId = request.claimId;
        if ($.usedClaimIds[claimId >> 8] & (1 << (claimId & 0xff)) != 0) {
            return abi.encodeWithSelector(CampaignClaimIdUsed.selector, claimId);
        }
        address recipient = request.recipient;
        if (recipient == address(0)) return abi.encodeWithSelector(CampaignInvalidRecipient.selector, claimId);
        address business = request.business;
        if (request.source == ClaimSource.BUSINESS && business == address(0)) {
            return abi.encodeWithSelector(CampaignBusinessRequired.selector, claimId);
        }

        uint256 campaignId = request.campaignId;
        bytes memory failure = _checkClaimable(campaignId, c);
        if (failure.length != 0) return failure;
        if (c.perUserLimit != 0 && $.claimCounts[campaignId][recipient] >= c.perUserLimit) {
            return abi.encodeWithSelector(CampaignUserLimitReached.selector, campaignId, recipient, c.perUserLimit);
        }
        if (business != address(0)) {
            Engagement memory e = $.engagements[campaignId][business];
            if (!e.active) return abi.encodeWithSelector(CampaignBusinessNotEngaged.selector, campaignId, business);
            if (e.claimed >= e.cap) {
                return abi.encodeWithSelector(CampaignBusinessCapReached.selector, campaignId, business, e.cap);
            }
        }
        return "";
    }

    /// @dev The claim's effects: its id is spent and the campaign's, recipient's and business's counts grow.
    function _recordClaim(CampaignRegistryStorage storage $, ClaimRequest calldata request, Campaign memory c) private {
        uint256 claimId = request.claimId;
        uint256 campaignId = request.campaignId;
        $.usedClaimIds[claimId >> 8] |= 1 << (claimId & 0xff);
        ++$.claimCounts[campaignId][request.recipient];
        $.campaigns[campaignId].claimed = c.claimed + 1;
        if (request.business != address(0)) ++$.engagements[campaignId][request.business].claimed;
    }

    function _checkClaimable(uint256 campaignId, Campaign memory c) private view returns (bytes memory) {
        if (c.status != CampaignStatus.ACTIVE) {
            return
                c.status == CampaignStatus.NONE
                    ? abi.encodeWithSelector(CampaignNotFound.selector, campaignId)
                    : abi.encodeWithSelector(CampaignNotActive.selector, campaignId, c.status);
        }
        if (block.timestamp < c.start) return abi.encodeWithSelector(CampaignNotStarted.selector, campaignId, c.start);
        if (block.timestamp >= c.end) return abi.encodeWithSelector(CampaignEnded.selector, campaignId, c.end);
        if (c.claimed >= c.budget) return abi.encodeWithSelector(CampaignBudgetExhausted.selector, campaignId, c.budget);
        return "";
    }

    function _revertIfFailed(bytes memory failure) private pure {
        if (failure.length != 0) {
            assembly {
                revert(add(failure, 0x20), mload(failure))
            }
        }
    }

    /// @dev The campaign, if it exists and is not closed.
    function _openCampaign(
        CampaignRegistryStorage storage $,
        uint256 campaignId
    ) private view returns (Campaign storage campaign) {
        campaign = $.campaigns[campaignId];
        if (campaign.status == CampaignStatus.NONE) revert CampaignNotFound(campaignId);
        if (campaign.status == CampaignStatus.CLOSED) revert CampaignIsClosed(campaignId);
    }

    function _checkConfig(CampaignConfig calldata config, uint64 claimed) private pure {
        if (config.end <= config.start) revert CampaignInvalidWindow(config.start, config.end);
        if (config.budget < claimed) revert CampaignBudgetBelowClaimed(config.budget, claimed);
    }

    /// @dev Each payout must be a tenant token that lets this registry mint, an amount that fits the
    /// packed slot, id 0 for points and a defined class for ERC-1155 tokens.
    function _storePayouts(
        CampaignRegistryStorage storage $,
        uint256 campaignId,
        TokenAmount[] calldata payouts
    ) private {
        if (payouts.length == 0 || payouts.length > MAX_PAYOUTS) {
            revert CampaignInvalidPayoutCount(payouts.length, MAX_PAYOUTS);
        }
        for (uint256 i = 0; i < payouts.length; ++i) {
            TokenAmount calldata payout = payouts[i];
            (bool found, ContractKind kind) = TokenAmounts.kindOf(payout.token);
            if (!found || !TokenAmounts.isToken(kind)) revert CampaignPayoutNotMintable(payout.token);
            if (!IAccessControl(payout.token).hasRole(ITenantToken(payout.token).MINTER_ROLE(), address(this))) {
                revert CampaignPayoutNotMintable(payout.token);
            }
            bool validId = kind == ContractKind.POINTS_TOKEN
                ? payout.id == 0
                : IMultiToken(payout.token).isClassDefined(payout.id);
            if (payout.amount == 0 || payout.amount > type(uint88).max || !validId) {
                revert CampaignInvalidPayout(payout.token, payout.id, payout.amount);
            }
            $.payouts[campaignId][i].store(payout, kind);
        }
        $.campaigns[campaignId].payoutCount = uint8(payouts.length);
    }

    function _getCampaignRegistryStorage() private pure returns (CampaignRegistryStorage storage $) {
        assembly {
            $.slot := CAMPAIGN_REGISTRY_STORAGE_LOCATION
        }
    }
}
