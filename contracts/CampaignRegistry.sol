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
import {IPointsToken} from "./interfaces/IPointsToken.sol";
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

    bytes32 private constant CLAIM_VOUCHER_TYPEHASH = keccak256(
        "ClaimVoucher(uint256 campaignId,uint256 claimId,address recipient,uint8 source,address business,uint256 deadline)"
    );

    /// @dev Everything about one campaign under one key, so that a claim hashes the campaign id once.
    struct CampaignState {
        Campaign campaign;
        mapping(uint256 index => StoredTokenAmount) payouts;
        mapping(address business => Engagement) engagements;
        mapping(address user => uint256) claimCounts;
    }

    /// @dev Points that `claimBatch` mints after its items, one `mintBatch` per points token.
    struct PendingPoints {
        address token;
        uint256 count;
        address[] recipients;
        uint256[] amounts;
    }

    /// @custom:storage-location erc7201:pers.storage.CampaignRegistry
    struct CampaignRegistryStorage {
        uint256 campaignCount;
        mapping(uint256 campaignId => CampaignState) campaigns;
        // Bit `claimId % 256` of word `claimId / 256` is set once `claimId` has paid.
        mapping(uint256 word => uint256 bits) usedClaimIds;
    }

    // keccak256(abi.encode(uint256(keccak256("pers.storage.CampaignRegistry")) - 1)) & ~bytes32(uint256(0xff))
    bytes32 private constant CAMPAIGN_REGISTRY_STORAGE_LOCATION =
        0xe32758190eab7635f6822903d586568e55a23a9be5bfdf17b37d9b0341bdaa00;

    /// @custom:oz-upgrades-unsafe-allow constructor
    constructor(address trustedForwarder_) TenantUpgradeable(trustedForwarder_) {}

    /// @inheritdoc ICampaignRegistry
    function initialize(address admin, RoleGrant[] calldata grants) public initializer {
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
        CampaignState storage state = $.campaigns[campaignId];
        state.campaign = Campaign({
            start: config.start,
            end: config.end,
            status: CampaignStatus.ACTIVE,
            payoutCount: 0,
            perUserLimit: config.perUserLimit,
            budget: config.budget,
            claimed: 0
        });
        _storePayouts(state, payouts);
        emit CampaignCreated(campaignId, config, payouts);
    }

    /// @inheritdoc ICampaignRegistry
    function updateCampaign(
        uint256 campaignId,
        CampaignConfig calldata config,
        TokenAmount[] calldata payouts
    ) external onlyRole(CAMPAIGN_MANAGER_ROLE) {
        CampaignState storage state = _openCampaign(campaignId);
        Campaign storage campaign = state.campaign;
        _checkConfig(config, campaign.claimed);
        campaign.start = config.start;
        campaign.end = config.end;
        campaign.perUserLimit = config.perUserLimit;
        campaign.budget = config.budget;
        _storePayouts(state, payouts);
        emit CampaignUpdated(campaignId, config, payouts);
    }

    /// @inheritdoc ICampaignRegistry
    function pauseCampaign(uint256 campaignId) external onlyRole(CAMPAIGN_MANAGER_ROLE) {
        Campaign storage campaign = _openCampaign(campaignId).campaign;
        if (campaign.status != CampaignStatus.ACTIVE) revert CampaignNotActive(campaignId, campaign.status);
        campaign.status = CampaignStatus.PAUSED;
        emit CampaignPaused(campaignId);
    }

    /// @inheritdoc ICampaignRegistry
    function resumeCampaign(uint256 campaignId) external onlyRole(CAMPAIGN_MANAGER_ROLE) {
        Campaign storage campaign = _openCampaign(campaignId).campaign;
        if (campaign.status != CampaignStatus.PAUSED) revert CampaignNotPaused(campaignId, campaign.status);
        campaign.status = CampaignStatus.ACTIVE;
        emit CampaignResumed(campaignId);
    }

    /// @inheritdoc ICampaignRegistry
    function closeCampaign(uint256 campaignId) external onlyRole(CAMPAIGN_MANAGER_ROLE) {
        _openCampaign(campaignId).campaign.status = CampaignStatus.CLOSED;
        emit CampaignClosed(campaignId);
    }

    /// @inheritdoc ICampaignRegistry
    function setEngagement(
        uint256 campaignId,
        address business,
        bool active,
        uint64 cap
    ) external onlyRole(CAMPAIGN_MANAGER_ROLE) {
        CampaignState storage state = _openCampaign(campaignId);
        if (business == address(0)) revert CampaignInvalidBusiness(business);
        Engagement storage engagement = state.engagements[business];
        engagement.active = active;
        engagement.cap = cap;
        emit EngagementSet(campaignId, business, active, cap);
    }

    // ------------------------------------------------------------------- claims

    /// @inheritdoc ICampaignRegistry
    function claim(ClaimRequest calldata request) external onlyRole(CLAIM_OPERATOR_ROLE) {
        _claimOne(request);
    }

    /// @inheritdoc ICampaignRegistry
    function claimBatch(
        ClaimRequest[] calldata requests
    ) external onlyRole(CLAIM_OPERATOR_ROLE) returns (uint256 paid) {
        CampaignRegistryStorage storage $ = _getCampaignRegistryStorage();
        PendingPoints[] memory pending = new PendingPoints[](MAX_PAYOUTS);
        for (uint256 i = 0; i < requests.length; ++i) {
            ClaimRequest calldata request = requests[i];
            CampaignState storage state = $.campaigns[request.campaignId];
            Campaign memory campaign = state.campaign;
            bytes memory failure = _record($, state, campaign, request);
            if (failure.length != 0) {
                emit ClaimSkipped(request.campaignId, request.claimId, bytes4(failure));
                continue;
            }
            unchecked {
                ++paid;
            }
            _payOrDefer(state, campaign.payoutCount, request.recipient, pending, requests.length);
        }
        _mintPending(pending);
    }

    /// @inheritdoc ICampaignRegistry
    function claimWithVoucher(ClaimRequest calldata request, uint256 deadline, bytes calldata signature) external {
        if (block.timestamp > deadline) revert CampaignVoucherExpired(deadline);
        address signer = ECDSA.recover(voucherDigest(request, deadline), signature);
        if (!hasRole(CLAIM_SIGNER_ROLE, signer)) revert CampaignVoucherSignerUnauthorized(signer);
        _claimOne(request);
    }

    // -------------------------------------------------------------------- views

    /// @inheritdoc ICampaignRegistry
    function campaignCount() external view returns (uint256) {
        return _getCampaignRegistryStorage().campaignCount;
    }

    /// @inheritdoc ICampaignRegistry
    function getCampaign(uint256 campaignId) external view returns (Campaign memory) {
        return _getCampaignRegistryStorage().campaigns[campaignId].campaign;
    }

    /// @inheritdoc ICampaignRegistry
    function getPayouts(uint256 campaignId) external view returns (TokenAmount[] memory payouts) {
        CampaignState storage state = _getCampaignRegistryStorage().campaigns[campaignId];
        payouts = new TokenAmount[](state.campaign.payoutCount);
        for (uint256 i = 0; i < payouts.length; ++i) {
            payouts[i] = state.payouts[i].load();
        }
    }

    /// @inheritdoc ICampaignRegistry
    function getEngagement(uint256 campaignId, address business) external view returns (Engagement memory) {
        return _getCampaignRegistryStorage().campaigns[campaignId].engagements[business];
    }

    /// @inheritdoc ICampaignRegistry
    function claimCountOf(uint256 campaignId, address user) external view returns (uint256) {
        return _getCampaignRegistryStorage().campaigns[campaignId].claimCounts[user];
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

    /// @dev Records one claim and mints its payouts, or reverts with the rule it breaks.
    function _claimOne(ClaimRequest calldata request) private {
        CampaignRegistryStorage storage $ = _getCampaignRegistryStorage();
        CampaignState storage state = $.campaigns[request.campaignId];
        Campaign memory campaign = state.campaign;
        bytes memory failure = _record($, state, campaign, request);
        if (failure.length != 0) {
            assembly {
                revert(add(failure, 0x20), mload(failure))
            }
        }
        for (uint256 i = 0; i < campaign.payoutCount; ++i) {
            state.payouts[i].mintTo(request.recipient, 1);
        }
    }

    /// @dev `c` is the campaign as stored before this claim. Checks every rule; if one breaks, changes nothing and returns the error `claim` raises
    /// for it, so that single claims revert and batch items skip with the same reason. Otherwise
    /// spends the claim id, counts the claim for the campaign, recipient and business, emits
    /// `Claimed` and returns empty: the caller mints.
    function _record(
        CampaignRegistryStorage storage $,
        CampaignState storage state,
        Campaign memory c,
        ClaimRequest calldata request
    ) private returns (bytes memory) {
        uint256 claimId = request.claimId;
        uint256 usedBits = $.usedClaimIds[claimId >> 8];
        uint256 bit = 1 << (claimId & 0xff);
        if (usedBits & bit != 0) return abi.encodeWithSelector(CampaignClaimIdUsed.selector, claimId);
        address recipient = request.recipient;
        if (recipient == address(0)) return abi.encodeWithSelector(CampaignInvalidRecipient.selector, claimId);
        address business = request.business;
        if (request.source == ClaimSource.BUSINESS && business == address(0)) {
            return abi.encodeWithSelector(CampaignBusinessRequired.selector, claimId);
        }

        bytes memory failure = _checkClaimable(request.campaignId, c);
        if (failure.length != 0) return failure;
        uint256 userClaims = state.claimCounts[recipient];
        if (c.perUserLimit != 0 && userClaims >= c.perUserLimit) {
            return
                abi.encodeWithSelector(
                    CampaignUserLimitReached.selector,
                    request.campaignId,
                    recipient,
                    c.perUserLimit
                );
        }
        if (business != address(0)) {
            failure = _recordEngagement(state.engagements[business], request.campaignId, business);
            if (failure.length != 0) return failure;
        }

        $.usedClaimIds[claimId >> 8] = usedBits | bit;
        // Neither count can overflow: the campaign's is below its uint64 budget, the user's is a
        // uint256 that grows by one per claim.
        unchecked {
            state.claimCounts[recipient] = userClaims + 1;
            state.campaign.claimed = c.claimed + 1;
        }
        emit Claimed(request.campaignId, claimId, recipient, request.source, business);
        if (c.claimed + 1 == c.budget) emit CampaignBudgetSpent(request.campaignId, c.budget);
        return "";
    }

    /// @dev Counts a claim against a business's engagement, or returns the rule it breaks. Called
    /// after every other rule has passed, so that counting it is the claim's effect.
    function _recordEngagement(
        Engagement storage engagement,
        uint256 campaignId,
        address business
    ) private returns (bytes memory) {
        Engagement memory e = engagement;
        if (!e.active) return abi.encodeWithSelector(CampaignBusinessNotEngaged.selector, campaignId, business);
        if (e.claimed >= e.cap)
            return abi.encodeWithSelector(CampaignBusinessCapReached.selector, campaignId, business, e.cap);
        engagement.claimed = e.claimed + 1;
        return "";
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
        if (c.claimed >= c.budget)
            return abi.encodeWithSelector(CampaignBudgetExhausted.selector, campaignId, c.budget);
        return "";
    }

    /// @dev In a batch, points payouts wait in `pending` (one list per token, in item order) and are
    /// minted with one `mintBatch` per token after every item is recorded: one call instead of one
    /// per claim. ERC-1155 payouts, and points beyond `pending`'s tokens, are minted at once.
    function _payOrDefer(
        CampaignState storage state,
        uint256 payoutCount,
        address recipient,
        PendingPoints[] memory pending,
        uint256 capacity
    ) private {
        for (uint256 p = 0; p < payoutCount; ++p) {
            StoredTokenAmount storage payout = state.payouts[p];
            if (payout.kind != ContractKind.POINTS_TOKEN || !_defer(pending, payout, recipient, capacity)) {
                payout.mintTo(recipient, 1);
            }
        }
    }

    /// @dev Adds a points payout to its token's pending list; false if every list holds another token.
    function _defer(
        PendingPoints[] memory pending,
        StoredTokenAmount storage payout,
        address recipient,
        uint256 capacity
    ) private view returns (bool) {
        address token = payout.token;
        for (uint256 t = 0; t < pending.length; ++t) {
            PendingPoints memory list = pending[t];
            if (list.token == address(0)) {
                (list.token, list.recipients, list.amounts) = (token, new address[](capacity), new uint256[](capacity));
            } else if (list.token != token) {
                continue;
            }
            // A campaign pays a token once, so a batch adds at most one entry per item to each list.
            (list.recipients[list.count], list.amounts[list.count]) = (recipient, payout.amount);
            ++list.count;
            return true;
        }
        return false;
    }

    function _mintPending(PendingPoints[] memory pending) private {
        for (uint256 t = 0; t < pending.length && pending[t].token != address(0); ++t) {
            PendingPoints memory list = pending[t];
            (address[] memory recipients, uint256[] memory amounts, uint256 count) = (
                list.recipients,
                list.amounts,
                list.count
            );
            // Trim both lists to the entries used (they were sized for every item paying).
            assembly {
                mstore(recipients, count)
                mstore(amounts, count)
            }
            IPointsToken(list.token).mintBatch(recipients, amounts);
        }
    }

    /// @dev The campaign, if it exists and is not closed.
    function _openCampaign(uint256 campaignId) private view returns (CampaignState storage state) {
        state = _getCampaignRegistryStorage().campaigns[campaignId];
        CampaignStatus status = state.campaign.status;
        if (status == CampaignStatus.NONE) revert CampaignNotFound(campaignId);
        if (status == CampaignStatus.CLOSED) revert CampaignIsClosed(campaignId);
    }

    function _checkConfig(CampaignConfig calldata config, uint64 claimed) private pure {
        if (config.end <= config.start) revert CampaignInvalidWindow(config.start, config.end);
        if (config.budget < claimed) revert CampaignBudgetBelowClaimed(config.budget, claimed);
    }

    /// @dev Each payout must be a tenant token that lets this registry mint, an amount that fits the
    /// packed slot, id 0 for points and a defined class for ERC-1155 tokens, and no token paid twice.
    function _storePayouts(CampaignState storage state, TokenAmount[] calldata payouts) private {
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
            bool validId =
                kind == ContractKind.POINTS_TOKEN
                    ? payout.id == 0
                    : IMultiToken(payout.token).isClassDefined(payout.id);
            if (payout.amount == 0 || payout.amount > type(uint88).max || !validId) {
                revert CampaignInvalidPayout(payout.token, payout.id, payout.amount);
            }
            for (uint256 j = 0; j < i; ++j) {
                if (payouts[j].token == payout.token) revert CampaignDuplicatePayout(payout.token);
            }
            state.payouts[i].store(payout, kind);
        }
        state.campaign.payoutCount = uint8(payouts.length);
    }

    function _getCampaignRegistryStorage() private pure returns (CampaignRegistryStorage storage $) {
        assembly {
            $.slot := CAMPAIGN_REGISTRY_STORAGE_LOCATION
        }
    }
}
