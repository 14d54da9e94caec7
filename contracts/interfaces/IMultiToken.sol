// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IssueReason, ITenantToken} from "./ITenantToken.sol";
import {RoleGrant} from "./ITenantContract.sol";

/// @title A tenant's ERC-1155 token (rewards, status): classes of ids with a maximum supply and a URI.
/// @notice An id must be defined as a class before it can be minted.
interface IMultiToken is ITenantToken {
    /// @notice A class (an id) was defined or changed by a campaign manager. `maxSupply` 0 means unlimited.
    event TokenClassDefined(uint256 indexed id, uint256 maxSupply, string uri);

    /// @notice The issuer role minted `amount` of `id` to `to` for `reason`; `ref` names the grant.
    /// Emitted just before the mint's transfer event.
    event Issued(address indexed to, uint256 indexed id, uint256 amount, IssueReason reason, bytes32 indexed ref);

    /// @notice `id` has not been defined as a class.
    error TokenClassUndefined(uint256 id);

    /// @notice Minting would take the supply of `id` to `supply`, above its `maxSupply`.
    error TokenClassMaxSupplyExceeded(uint256 id, uint256 maxSupply, uint256 supply);

    /// @notice A class's maximum supply cannot be set below what already exists.
    error TokenClassMaxSupplyBelowSupply(uint256 id, uint256 maxSupply, uint256 supply);

    /// @notice Only the tenant's admin may raise or remove the maximum supply of class `id`, or change
    /// its URI: the platform's operators also hold the campaign manager role, and a tenant's caps must
    /// hold against them.
    error TokenClassChangeNeedsAdmin(uint256 id);

    /// @notice Sets up the token. Called once, by the factory, in the transaction that deploys the proxy.
    /// @param baseUri The URI of every class that has none of its own.
    /// @param admin Receives the admin, upgrader and pauser roles.
    /// @param grants Further roles (minter, burner, issuer, campaign manager).
    function initialize(string calldata baseUri, address admin, RoleGrant[] calldata grants) external;

    function CAMPAIGN_MANAGER_ROLE() external view returns (bytes32);

    /// @notice Defines class `id`, or changes its maximum supply (0: unlimited) and URI (empty: the
    /// base URI). Campaign manager role. Once `id` is defined, a caller without `DEFAULT_ADMIN_ROLE`
    /// may only keep or lower its maximum supply (0, unlimited, is the highest) and must keep its URI,
    /// or the call reverts with {TokenClassChangeNeedsAdmin}; the tenant's admin, given the campaign
    /// manager role, may change both.
    function defineClass(uint256 id, uint256 maxSupply, string calldata classUri) external;

    /// @notice Whether `id` is a defined class.
    function isClassDefined(uint256 id) external view returns (bool);

    /// @notice The maximum supply of class `id`; 0 means unlimited.
    function maxSupply(uint256 id) external view returns (uint256);

    /// @notice Mints for a programme contract (campaign claims, redemption payouts). Minter role.
    function mint(address to, uint256 id, uint256 amount) external;

    /// @notice Mints outside a programme, recording why. Issuer role; `ref` must be new.
    function issue(address to, uint256 id, uint256 amount, IssueReason reason, bytes32 ref) external;

    /// @notice Burns a holder's tokens for a programme contract (a redemption's cost). Burner role.
    function programmeBurn(address from, uint256 id, uint256 amount) external;
}
