// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC1967Proxy} from "@openzeppelin/contracts/proxy/ERC1967/ERC1967Proxy.sol";

/// @notice What a `TenantProxy` asks the contract that creates it.
interface ITenantProxyDeployer {
    /// @notice The implementation of the proxy being created in this call.
    function implementationToDeploy() external view returns (address);
}

/// @title TenantProxy
/// @notice The ERC-1967 proxy of every tenant contract. Its creation code takes no argument: it asks
/// its deployer for the implementation, so that its CREATE2 address depends only on the factory and
/// the salt (the tenant), never on the implementation or the tenant's settings. The factory
/// initialises it in the same transaction, so nobody can step in between.
contract TenantProxy is ERC1967Proxy {
    constructor() ERC1967Proxy(ITenantProxyDeployer(msg.sender).implementationToDeploy(), "") {}

    function _unsafeAllowUninitialized() internal pure override returns (bool) {
        return true;
    }
}
