// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {ERC2771Forwarder} from "@openzeppelin/contracts/metatx/ERC2771Forwarder.sol";
import {CampaignRegistry} from "../../../contracts/CampaignRegistry.sol";
import {PointsToken} from "../../../contracts/PointsToken.sol";
import {RedemptionRegistry} from "../../../contracts/RedemptionRegistry.sol";
import {RewardToken} from "../../../contracts/RewardToken.sol";
import {StatusToken} from "../../../contracts/StatusToken.sol";
import {TenantFactory} from "../../../contracts/TenantFactory.sol";
import {CampaignConfig} from "../../../contracts/interfaces/ICampaignRegistry.sol";
import {OfferConfig} from "../../../contracts/interfaces/IRedemptionRegistry.sol";
import {ContractKind} from "../../../contracts/interfaces/ITenantContract.sol";
import {TenantParams, TenantSuite} from "../../../contracts/interfaces/ITenantFactory.sol";
import {TokenAmount} from "../../../contracts/libraries/TokenAmounts.sol";
import {TestBase} from "./Vm.sol";

/// @notice One protocol deployment (forwarder, the five implementations, a factory owned by the test)
/// and one tenant created through the real `TenantFactory`, shared by every Solidity test.
/// @dev The operator is usually an invariant handler that does not exist before the tenant does:
/// deploy the protocol, read `predictedSuite()`, build the handler on it, then `createTenant(handler)`.
abstract contract TenantSetup is TestBase {
    bytes32 internal constant EXTERNAL_ID = keccak256("tenant-under-test");
    uint256 internal constant REWARD_ID = 1;
    uint256 internal constant STATUS_ID = 7;
    uint256 internal constant DAY = 1 days;

    address internal admin = address(0xAD317);
    address internal operator;

    ERC2771Forwarder internal forwarder;
    TenantFactory internal factory;
    mapping(ContractKind kind => address) internal implementations;

    PointsToken internal points;
    RewardToken internal reward;
    StatusToken internal status;
    CampaignRegistry internal campaigns;
    RedemptionRegistry internal redemptions;

    /// @notice Deploys the forwarder, the implementations and the factory, and makes each
    /// implementation the current (hence approved) one for its kind.
    function deployProtocol() internal {
        vm.warp(1_750_000_000);
        forwarder = new ERC2771Forwarder("PERS Forwarder");
        factory = new TenantFactory(address(this));
        implementations[ContractKind.POINTS_TOKEN] = address(new PointsToken(address(forwarder)));
        implementations[ContractKind.REWARD_TOKEN] = address(new RewardToken(address(forwarder)));
        implementations[ContractKind.STATUS_TOKEN] = address(new StatusToken(address(forwarder)));
        implementations[ContractKind.CAMPAIGN_REGISTRY] = address(new CampaignRegistry(address(forwarder)));
        implementations[ContractKind.REDEMPTION_REGISTRY] = address(new RedemptionRegistry(address(forwarder)));
        for (uint256 k = 0; k <= uint256(type(ContractKind).max); ++k) {
            ContractKind kind = ContractKind(k);
            factory.setCurrentImplementation(kind, implementations[kind]);
        }
        vm.label(admin, "admin");
    }

    /// @notice The suite `createTenant` will deploy.
    function predictedSuite() internal view returns (TenantSuite memory) {
        return factory.predictTenantSuite(address(this), EXTERNAL_ID);
    }

    /// @notice Creates the tenant with `operator_` as its only operator (campaign manager, claim
    /// operator, claim signer, issuer) and defines reward class `REWARD_ID` and status class `STATUS_ID`.
    function createTenant(address operator_) internal {
        operator = operator_;
        address[] memory operators = new address[](1);
        operators[0] = operator_;
        (, TenantSuite memory suite) = factory.createTenant(
            EXTERNAL_ID,
            TenantParams({
                admin: admin,
                operators: operators,
                pointsName: "Points",
                pointsSymbol: "PTS",
                pointsDecimals: 18,
                rewardUri: "ipfs://rewards/{id}",
                statusUri: "ipfs://status/{id}"
            })
        );
        points = PointsToken(suite.pointsToken);
        reward = RewardToken(suite.rewardToken);
        status = StatusToken(suite.statusToken);
        campaigns = CampaignRegistry(suite.campaignRegistry);
        redemptions = RedemptionRegistry(suite.redemptionRegistry);

        vm.startPrank(operator_);
        reward.defineClass(REWARD_ID, 0, "");
        status.defineClass(STATUS_ID, 0, "");
        vm.stopPrank();
    }

    /// @notice Deploys the protocol and a tenant whose operator is the test contract itself.
    function deployTenant() internal {
        deployProtocol();
        createTenant(address(this));
    }

    /// @notice Creates, as the operator, a campaign open from now for a day that pays `amount` points per claim.
    function createPointsCampaign(uint256 amount, uint32 perUserLimit, uint64 budget) internal returns (uint256) {
        TokenAmount[] memory payouts = new TokenAmount[](1);
        payouts[0] = TokenAmount({token: address(points), id: 0, amount: amount});
        uint40 start = uint40(block.timestamp);
        vm.prank(operator);
        return
            campaigns.createCampaign(
                CampaignConfig({start: start, end: start + uint40(DAY), perUserLimit: perUserLimit, budget: budget}),
                payouts
            );
    }

    /// @notice Creates, as the operator, an offer open from now for a day that costs `cost` points per
    /// unit, pays `payout` of reward class `REWARD_ID` per unit and has `supply` units.
    function createRewardOffer(uint256 cost, uint256 payout, uint64 supply) internal returns (uint256) {
        TokenAmount[] memory costs = new TokenAmount[](1);
        costs[0] = TokenAmount({token: address(points), id: 0, amount: cost});
        TokenAmount[] memory payouts = new TokenAmount[](1);
        payouts[0] = TokenAmount({token: address(reward), id: REWARD_ID, amount: payout});
        uint40 start = uint40(block.timestamp);
        vm.prank(operator);
        return
            redemptions.createOffer(
                OfferConfig({
                    start: start,
                    end: start + uint40(DAY),
                    supply: supply,
                    statusToken: address(0),
                    statusId: 0
                }),
                costs,
                payouts,
                new address[](0)
            );
    }
}
