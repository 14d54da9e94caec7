// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC1967Proxy} from "@openzeppelin/contracts/proxy/ERC1967/ERC1967Proxy.sol";

/// @title TenantProxy
/// @notice The ERC-1967 proxy of every tenant contract. It is created without initialisation data so
/// that its CREATE2 address depends only on the factory, the tenant and the implementation, never on
/// the tenant's settings; the factory initialises it in the same transaction, so nobody can step in
/// between.
contract TenantProxy is ERC1967Proxy {
    constructor(address implementation) ERC1967Proxy(implementation, "") {}

    function _unsafeAllowUninitialized() internal pure override returns (bool) {
        return true;
    }
}
