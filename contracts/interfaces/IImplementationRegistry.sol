// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ContractKind} from "./ITenantContract.sol";

/// @title The implementations the protocol approves for tenant contracts, read by every tenant
/// contract when it is asked to upgrade.
interface IImplementationRegistry {
    /// @notice Whether a tenant contract of `kind` may be upgraded to `implementation`.
    function isApprovedImplementation(ContractKind kind, address implementation) external view returns (bool);
}
