// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IssueReason, ITenantToken} from "./ITenantToken.sol";
import {RoleGrant} from "./ITenantContract.sol";

/// @title A tenant's points: ERC-20 with permit, pausable, relayable through the ERC-2771 forwarder.
/// @notice Points are minted only by the tenant's programme contracts (`mint`, which emit their own
/// event saying which campaign caused it) or by the issuer role (`issue`, which records why).
interface IPointsToken is ITenantToken {
    /// @notice The issuer role minted `amount` to `to` for `reason`; `ref` names the payment or grant.
    /// Emitted just before the mint's `Transfer`.
    event Issued(address indexed to, uint256 amount, IssueReason indexed reason, bytes32 indexed ref);

    /// @notice `mintBatch` got `recipients` and `amounts` of different lengths.
    error PointsBatchLengthMismatch(uint256 recipients, uint256 amounts);

    /// @notice Sets up the token. Called once, by the factory, in the transaction that deploys the proxy.
    /// @param admin Receives the admin, upgrader and pauser roles.
    /// @param grants Further roles (minter, burner, issuer) for the tenant's contracts and operators.
    function initialize(
        string calldata name,
        string calldata symbol,
        uint8 decimals_,
        address admin,
        RoleGrant[] calldata grants
    ) external;

    /// @notice Mints for a programme contract (campaign claims). Minter role.
    function mint(address to, uint256 amount) external;

    /// @notice Mints `amounts[i]` to `recipients[i]` for a programme contract (a batch of claims). Minter role.
    function mintBatch(address[] calldata recipients, uint256[] calldata amounts) external;

    /// @notice Mints outside a programme, recording why. Issuer role; `ref` must be new.
    function issue(address to, uint256 amount, IssueReason reason, bytes32 ref) external;

    /// @notice Burns a holder's points for a programme contract (a redemption's cost). Burner role.
    function programmeBurn(address from, uint256 amount) external;
}
