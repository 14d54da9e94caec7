// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @notice Why the issuer role minted tokens outside a campaign or redemption.
enum IssueReason {
    PURCHASE,
    GRANT
}

/// @title What the tenant's tokens share: roles, and issuing with a recorded reason and reference.
interface ITenantToken {
    /// @notice `ref` was already used by an earlier issue: a payment or grant is issued once.
    error TokenReferenceUsed(bytes32 ref);

    /// @notice An issue needs a non-zero ref (a payment id, a grant id).
    error TokenReferenceMissing();

    /// @notice Whether `ref` has been used by an issue of this token.
    function isReferenceUsed(bytes32 ref) external view returns (bool);

    function MINTER_ROLE() external view returns (bytes32);

    function BURNER_ROLE() external view returns (bytes32);

    function ISSUER_ROLE() external view returns (bytes32);

    function PAUSER_ROLE() external view returns (bytes32);

    /// @notice Stops every transfer, mint and burn until `unpause`. Pauser role.
    function pause() external;

    /// @notice Ends a pause. Pauser role.
    function unpause() external;
}
