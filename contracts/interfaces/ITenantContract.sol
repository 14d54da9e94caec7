// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @notice The kinds of contract that make up a tenant's suite. The protocol approves
/// implementations per kind; a tenant contract may only be upgraded to an approved one.
enum ContractKind {
    POINTS_TOKEN,
    REWARD_TOKEN,
    STATUS_TOKEN,
    CAMPAIGN_REGISTRY,
    REDEMPTION_REGISTRY
}

/// @notice A role to grant when a tenant contract is initialised.
struct RoleGrant {
    bytes32 role;
    address account;
}

/// @title The part every tenant contract shares: its kind, its factory and its upgrade rule.
interface ITenantContract {
    /// @notice `implementation` is not approved by the factory for contracts of `kind`.
    error TenantUpgradeNotApproved(ContractKind kind, address implementation);

    /// @notice The kind of this contract, checked by the factory when it approves an implementation.
    function contractKind() external pure returns (ContractKind);

    /// @notice The factory that created this contract and whose approved implementations bound its upgrades.
    function factory() external view returns (address);

    /// @notice The role allowed to upgrade this contract (still only to an approved implementation).
    function UPGRADER_ROLE() external view returns (bytes32);
}
