// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IImplementationRegistry} from "./IImplementationRegistry.sol";
import {ContractKind} from "./ITenantContract.sol";

/// @notice What a new tenant's suite starts with.
/// @param admin The tenant's admin wallet (a custodial wallet or the tenant's own Safe): admin,
/// upgrader and pauser of every contract in the suite.
/// @param operators The platform's signers: campaign manager, claim operator, claim signer and
/// issuer, nothing more; the admin can revoke them.
struct TenantParams {
    address admin;
    address[] operators;
    string pointsName;
    string pointsSymbol;
    uint8 pointsDecimals;
    string rewardUri;
    string statusUri;
}

/// @notice The addresses of a tenant's suite.
struct TenantSuite {
    address pointsToken;
    address rewardToken;
    address statusToken;
    address campaignRegistry;
    address redemptionRegistry;
}

/// @notice A further points token for an existing tenant.
struct PointsTokenParams {
    string name;
    string symbol;
    uint8 decimals;
    address[] issuers;
}

/// @title TenantFactory: creates tenants' contract suites and approves the implementations they run.
/// @notice A tenant's id is derived from its creator and an id the creator chooses, so that nobody
/// can take another creator's tenant or addresses. Every contract of the suite is a `TenantProxy` at a
/// CREATE2 address derived from the tenant id alone; `predictTenantSuite` tells them before creation.
interface ITenantFactory is IImplementationRegistry {
    event TenantCreated(
        bytes32 indexed tenantId,
        address indexed creator,
        address indexed admin,
        address pointsToken,
        address rewardToken,
        address statusToken,
        address campaignRegistry,
        address redemptionRegistry
    );

    /// @notice A points token joined a tenant; emitted for the first one at creation too, so that one
    /// event finds every points token.
    event PointsTokenAdded(bytes32 indexed tenantId, address indexed pointsToken, uint256 index);

    event ImplementationApproved(ContractKind indexed kind, address indexed implementation, bool approved);
    event CurrentImplementationSet(ContractKind indexed kind, address indexed implementation);

    error TenantFactoryTenantExists(bytes32 tenantId);
    error TenantFactoryTenantNotFound(bytes32 tenantId);
    error TenantFactoryUnauthorized(bytes32 tenantId, address caller);
    error TenantFactoryInvalidAdmin(address admin);
    error TenantFactoryImplementationMissing(ContractKind kind);
    error TenantFactoryImplementationKindMismatch(ContractKind kind, address implementation);
    error TenantFactoryImplementationInUse(ContractKind kind, address implementation);

    /// @notice The id of the tenant that `creator` creates with `externalId`.
    function tenantIdOf(address creator, bytes32 externalId) external pure returns (bytes32);

    /// @notice Deploys and wires a tenant's suite with the current implementations.
    /// @param externalId The creator's own id for the tenant (the API uses its tenant id).
    function createTenant(
        bytes32 externalId,
        TenantParams calldata params
    ) external returns (bytes32 tenantId, TenantSuite memory suite);

    /// @notice The addresses `createTenant` gives (or gave) `creator`'s tenant `externalId`. They depend
    /// on nothing else: not on the implementations, nor on the tenant's settings.
    function predictTenantSuite(address creator, bytes32 externalId) external view returns (TenantSuite memory);

    /// @notice The address of a tenant's points token number `index` (0 is created with the tenant,
    /// 1 by the first `addPointsToken`).
    function predictPointsToken(bytes32 tenantId, uint256 index) external view returns (address);

    /// @notice Adds a points token to a tenant: its campaigns may mint it and its redemptions burn it.
    /// Only an admin of the tenant's campaign registry.
    function addPointsToken(bytes32 tenantId, PointsTokenParams calldata params) external returns (address token);

    /// @notice A tenant's suite; its first points token is `pointsToken`.
    function getTenant(bytes32 tenantId) external view returns (TenantSuite memory);

    /// @notice Every points token of a tenant, the first one first.
    function getPointsTokens(bytes32 tenantId) external view returns (address[] memory);

    /// @notice The implementation new tenants get for `kind`.
    function currentImplementation(ContractKind kind) external view returns (address);

    /// @notice Makes `implementation` the one new tenants get for `kind`, and approves it. Owner only.
    function setCurrentImplementation(ContractKind kind, address implementation) external;

    /// @notice Approves or withdraws `implementation` as an upgrade target for `kind`. The current
    /// implementation cannot be withdrawn. Owner only.
    function setImplementationApproval(ContractKind kind, address implementation, bool approved) external;
}
