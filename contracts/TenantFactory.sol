// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {Create2} from "@openzeppelin/contracts/utils/Create2.sol";
import {IImplementationRegistry} from "./interfaces/IImplementationRegistry.sol";
import {ICampaignRegistry} from "./interfaces/ICampaignRegistry.sol";
import {IMultiToken} from "./interfaces/IMultiToken.sol";
import {IPointsToken} from "./interfaces/IPointsToken.sol";
import {IRedemptionRegistry} from "./interfaces/IRedemptionRegistry.sol";
import {ContractKind, ITenantContract, RoleGrant} from "./interfaces/ITenantContract.sol";
import {ITenantFactory, PointsTokenParams, TenantParams, TenantSuite} from "./interfaces/ITenantFactory.sol";
import {ITenantProxyDeployer, TenantProxy} from "./proxy/TenantProxy.sol";

/// @title TenantFactory
/// @notice See {ITenantFactory}. Not upgradeable: it holds only the implementation registry and the
/// tenants' addresses; a new factory would be deployed beside it.
contract TenantFactory is ITenantFactory, ITenantProxyDeployer, Ownable2Step {
    // OpenZeppelin AccessControl's DEFAULT_ADMIN_ROLE, which IAccessControl does not expose.
    bytes32 private constant DEFAULT_ADMIN_ROLE = 0x00;

    mapping(ContractKind kind => address) private _currentImplementations;
    mapping(ContractKind kind => mapping(address implementation => bool)) private _approved;
    mapping(bytes32 tenantId => TenantSuite) private _tenants;
    mapping(bytes32 tenantId => address[]) private _pointsTokens;
    // Set only while a TenantProxy is being created, for its constructor to read.
    address private transient _implementationToDeploy;

    constructor(address owner_) Ownable(owner_) {}

    // ---------------------------------------------------------- implementations

    /// @inheritdoc ITenantFactory
    function setCurrentImplementation(ContractKind kind, address implementation) external onlyOwner {
        _checkKind(kind, implementation);
        _currentImplementations[kind] = implementation;
        emit CurrentImplementationSet(kind, implementation);
        if (!_approved[kind][implementation]) {
            _approved[kind][implementation] = true;
            emit ImplementationApproved(kind, implementation, true);
        }
    }

    /// @inheritdoc ITenantFactory
    function setImplementationApproval(ContractKind kind, address implementation, bool approved) external onlyOwner {
        if (approved) _checkKind(kind, implementation);
        else if (implementation == _currentImplementations[kind]) {
            revert TenantFactoryImplementationInUse(kind, implementation);
        }
        _approved[kind][implementation] = approved;
        emit ImplementationApproved(kind, implementation, approved);
    }

    /// @inheritdoc IImplementationRegistry
    function isApprovedImplementation(ContractKind kind, address implementation) external view returns (bool) {
        return _approved[kind][implementation];
    }

    /// @inheritdoc ITenantFactory
    function currentImplementation(ContractKind kind) external view returns (address) {
        return _currentImplementations[kind];
    }

    // ------------------------------------------------------------------ tenants

    /// @inheritdoc ITenantFactory
    function tenantIdOf(address creator, bytes32 externalId) public pure returns (bytes32) {
        return keccak256(abi.encode(creator, externalId));
    }

    /// @inheritdoc ITenantFactory
    function createTenant(
        bytes32 externalId,
        TenantParams calldata params
    ) external returns (bytes32 tenantId, TenantSuite memory suite) {
        if (params.admin == address(0)) revert TenantFactoryInvalidAdmin(params.admin);
        tenantId = tenantIdOf(msg.sender, externalId);
        if (_tenants[tenantId].campaignRegistry != address(0)) revert TenantFactoryTenantExists(tenantId);

        suite = TenantSuite({
            pointsToken: _deploy(tenantId, ContractKind.POINTS_TOKEN, 0),
            rewardToken: _deploy(tenantId, ContractKind.REWARD_TOKEN, 0),
            statusToken: _deploy(tenantId, ContractKind.STATUS_TOKEN, 0),
            campaignRegistry: _deploy(tenantId, ContractKind.CAMPAIGN_REGISTRY, 0),
            redemptionRegistry: _deploy(tenantId, ContractKind.REDEMPTION_REGISTRY, 0)
        });
        _tenants[tenantId] = suite;
        _pointsTokens[tenantId].push(suite.pointsToken);

        _initialiseRegistries(suite, params);
        _initialisePointsToken(
            suite,
            suite.pointsToken,
            PointsTokenParams(params.pointsName, params.pointsSymbol, params.pointsDecimals, params.operators),
            params.admin
        );
        _initialiseMultiToken(suite, suite.rewardToken, params.rewardUri, params.admin, params.operators);
        _initialiseMultiToken(suite, suite.statusToken, params.statusUri, params.admin, params.operators);

        emit PointsTokenAdded(tenantId, suite.pointsToken, 0);
        emit TenantCreated(
            tenantId,
            msg.sender,
            params.admin,
            suite.pointsToken,
            suite.rewardToken,
            suite.statusToken,
            suite.campaignRegistry,
            suite.redemptionRegistry
        );
    }

    /// @inheritdoc ITenantFactory
    function addPointsToken(bytes32 tenantId, PointsTokenParams calldata params) external returns (address token) {
        TenantSuite storage suite = _tenants[tenantId];
        if (suite.campaignRegistry == address(0)) revert TenantFactoryTenantNotFound(tenantId);
        IAccessControl registry = IAccessControl(suite.campaignRegistry);
        if (!registry.hasRole(DEFAULT_ADMIN_ROLE, msg.sender)) revert TenantFactoryUnauthorized(tenantId, msg.sender);

        uint256 index = _pointsTokens[tenantId].length;
        token = _deploy(tenantId, ContractKind.POINTS_TOKEN, index);
        _pointsTokens[tenantId].push(token);
        _initialisePointsToken(suite, token, params, msg.sender);
        emit PointsTokenAdded(tenantId, token, index);
    }

    /// @inheritdoc ITenantFactory
    function predictTenantSuite(address creator, bytes32 externalId) external view returns (TenantSuite memory) {
        bytes32 tenantId = tenantIdOf(creator, externalId);
        return
            TenantSuite({
                pointsToken: _predict(tenantId, ContractKind.POINTS_TOKEN, 0),
                rewardToken: _predict(tenantId, ContractKind.REWARD_TOKEN, 0),
                statusToken: _predict(tenantId, ContractKind.STATUS_TOKEN, 0),
                campaignRegistry: _predict(tenantId, ContractKind.CAMPAIGN_REGISTRY, 0),
                redemptionRegistry: _predict(tenantId, ContractKind.REDEMPTION_REGISTRY, 0)
            });
    }

    /// @inheritdoc ITenantFactory
    function predictPointsToken(bytes32 tenantId, uint256 index) external view returns (address) {
        return _predict(tenantId, ContractKind.POINTS_TOKEN, index);
    }

    /// @inheritdoc ITenantProxyDeployer
    function implementationToDeploy() external view returns (address) {
        return _implementationToDeploy;
    }

    /// @inheritdoc ITenantFactory
    function getTenant(bytes32 tenantId) external view returns (TenantSuite memory) {
        return _tenants[tenantId];
    }

    /// @inheritdoc ITenantFactory
    function getPointsTokens(bytes32 tenantId) external view returns (address[] memory) {
        return _pointsTokens[tenantId];
    }

    // ---------------------------------------------------------------- internals

    /// @dev The registries' roles: the admin's (granted by the contract) and the operators'.
    function _initialiseRegistries(TenantSuite memory suite, TenantParams calldata params) private {
        ICampaignRegistry campaigns = ICampaignRegistry(suite.campaignRegistry);
        bytes32[] memory campaignRoles = new bytes32[](3);
        campaignRoles[0] = campaigns.CAMPAIGN_MANAGER_ROLE();
        campaignRoles[1] = campaigns.CLAIM_OPERATOR_ROLE();
        campaignRoles[2] = campaigns.CLAIM_SIGNER_ROLE();
        campaigns.initialize(params.admin, _grantsTo(campaignRoles, params.operators));

        IRedemptionRegistry redemptions = IRedemptionRegistry(suite.redemptionRegistry);
        bytes32[] memory redemptionRoles = new bytes32[](1);
        redemptionRoles[0] = redemptions.CAMPAIGN_MANAGER_ROLE();
        redemptions.initialize(params.admin, _grantsTo(redemptionRoles, params.operators));
    }

    /// @dev Campaigns mint points, redemptions burn them, the issuers issue them.
    function _initialisePointsToken(
        TenantSuite memory suite,
        address token,
        PointsTokenParams memory params,
        address admin
    ) private {
        IPointsToken points = IPointsToken(token);
        RoleGrant[] memory grants = new RoleGrant[](2 + params.issuers.length);
        grants[0] = RoleGrant(points.MINTER_ROLE(), suite.campaignRegistry);
        grants[1] = RoleGrant(points.BURNER_ROLE(), suite.redemptionRegistry);
        bytes32 issuerRole = points.ISSUER_ROLE();
        for (uint256 i = 0; i < params.issuers.length; ++i) {
            grants[2 + i] = RoleGrant(issuerRole, params.issuers[i]);
        }
        points.initialize(params.name, params.symbol, params.decimals, admin, grants);
    }

    /// @dev Campaigns and redemptions mint, redemptions burn, operators issue and define classes.
    function _initialiseMultiToken(
        TenantSuite memory suite,
        address token,
        string calldata baseUri,
        address admin,
        address[] calldata operators
    ) private {
        IMultiToken multi = IMultiToken(token);
        RoleGrant[] memory grants = new RoleGrant[](3 + 2 * operators.length);
        grants[0] = RoleGrant(multi.MINTER_ROLE(), suite.campaignRegistry);
        grants[1] = RoleGrant(multi.MINTER_ROLE(), suite.redemptionRegistry);
        grants[2] = RoleGrant(multi.BURNER_ROLE(), suite.redemptionRegistry);
        (bytes32 issuerRole, bytes32 managerRole) = (multi.ISSUER_ROLE(), multi.CAMPAIGN_MANAGER_ROLE());
        for (uint256 i = 0; i < operators.length; ++i) {
            grants[3 + 2 * i] = RoleGrant(issuerRole, operators[i]);
            grants[4 + 2 * i] = RoleGrant(managerRole, operators[i]);
        }
        multi.initialize(baseUri, admin, grants);
    }

    function _grantsTo(
        bytes32[] memory roles,
        address[] calldata accounts
    ) private pure returns (RoleGrant[] memory grants) {
        grants = new RoleGrant[](roles.length * accounts.length);
        for (uint256 i = 0; i < accounts.length; ++i) {
            for (uint256 r = 0; r < roles.length; ++r) {
                grants[i * roles.length + r] = RoleGrant(roles[r], accounts[i]);
            }
        }
    }

    function _deploy(bytes32 tenantId, ContractKind kind, uint256 index) private returns (address proxy) {
        _implementationToDeploy = _implementationOf(kind);
        proxy = Create2.deploy(0, _salt(tenantId, kind, index), type(TenantProxy).creationCode);
        _implementationToDeploy = address(0);
    }

    function _predict(bytes32 tenantId, ContractKind kind, uint256 index) private view returns (address) {
        return Create2.computeAddress(_salt(tenantId, kind, index), keccak256(type(TenantProxy).creationCode));
    }

    function _implementationOf(ContractKind kind) private view returns (address implementation) {
        implementation = _currentImplementations[kind];
        if (implementation == address(0)) revert TenantFactoryImplementationMissing(kind);
    }

    function _salt(bytes32 tenantId, ContractKind kind, uint256 index) private pure returns (bytes32) {
        return keccak256(abi.encode(tenantId, kind, index));
    }

    function _checkKind(ContractKind kind, address implementation) private view {
        if (implementation.code.length == 0 || ITenantContract(implementation).contractKind() != kind) {
            revert TenantFactoryImplementationKindMismatch(kind, implementation);
        }
    }
}
