// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {UUPSUpgradeable} from "@openzeppelin/contracts-upgradeable/proxy/utils/UUPSUpgradeable.sol";
import {PointsToken} from "../../contracts/PointsToken.sol";
import {RewardToken} from "../../contracts/RewardToken.sol";
import {StatusToken} from "../../contracts/StatusToken.sol";
import {CampaignRegistry} from "../../contracts/CampaignRegistry.sol";
import {RedemptionRegistry} from "../../contracts/RedemptionRegistry.sol";
import {ContractKind, ITenantContract} from "../../contracts/interfaces/ITenantContract.sol";
import {TenantSetup} from "./utils/TenantSetup.sol";

/// @notice A tenant contract upgrades only to an implementation its factory approved for its kind,
/// and only when its upgrader asks.
contract TenantUpgradeTest is TenantSetup {
    // keccak256("eip1967.proxy.implementation") - 1
    bytes32 private constant IMPLEMENTATION_SLOT = 0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc;

    function setUp() public {
        deployTenant();
    }

    function testFuzz_UnapprovedImplementationReverts(uint8 kindIndex, address implementation) public {
        ContractKind kind = _kind(kindIndex);
        vm.assume(!factory.isApprovedImplementation(kind, implementation));
        _expectNotApproved(kind, implementation);
    }

    function testFuzz_FreshUnapprovedImplementationReverts(uint8 kindIndex) public {
        ContractKind kind = _kind(kindIndex);
        address implementation = _deployImplementation(kind);
        vm.assertFalse(factory.isApprovedImplementation(kind, implementation), "fresh implementation is approved");
        _expectNotApproved(kind, implementation);
    }

    /// An implementation approved for another kind is not approved for this one.
    function testFuzz_ImplementationOfAnotherKindReverts(uint8 kindIndex, uint8 otherIndex) public {
        ContractKind kind = _kind(kindIndex);
        ContractKind other = _kind(otherIndex);
        vm.assume(kind != other);
        address implementation = implementations[other];
        vm.assertTrue(factory.isApprovedImplementation(other, implementation), "other kind's current not approved");
        _expectNotApproved(kind, implementation);
    }

    /// An approval that the factory withdrew no longer allows the upgrade.
    function testFuzz_WithdrawnApprovalReverts(uint8 kindIndex) public {
        ContractKind kind = _kind(kindIndex);
        address implementation = _deployImplementation(kind);
        factory.setImplementationApproval(kind, implementation, true);
        factory.setImplementationApproval(kind, implementation, false);
        _expectNotApproved(kind, implementation);
    }

    function testFuzz_NonUpgraderReverts(uint8 kindIndex, address caller, bool toApproved) public {
        ContractKind kind = _kind(kindIndex);
        UUPSUpgradeable proxy = _proxyOf(kind);
        // The forwarder's calls carry their sender in the calldata; it is tested through the forwarder elsewhere.
        vm.assume(caller != admin && caller != address(forwarder));
        address implementation = _deployImplementation(kind);
        if (toApproved) factory.setImplementationApproval(kind, implementation, true);
        bytes32 upgraderRole = ITenantContract(address(proxy)).UPGRADER_ROLE();
        address before = _implementationOf(proxy);

        vm.prank(caller);
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, caller, upgraderRole)
        );
        proxy.upgradeToAndCall(implementation, "");
        vm.assertEq(_implementationOf(proxy), before, "implementation changed");
    }

    /// The positive case, so that the reverts above are about approval and not about upgrading at all.
    function testFuzz_ApprovedImplementationUpgrades(uint8 kindIndex) public {
        ContractKind kind = _kind(kindIndex);
        UUPSUpgradeable proxy = _proxyOf(kind);
        address implementation = _deployImplementation(kind);
        factory.setImplementationApproval(kind, implementation, true);

        vm.prank(admin);
        proxy.upgradeToAndCall(implementation, "");
        vm.assertEq(_implementationOf(proxy), implementation, "implementation not upgraded");
        vm.assertTrue(ITenantContract(address(proxy)).contractKind() == kind, "kind changed");
    }

    function _expectNotApproved(ContractKind kind, address implementation) private {
        UUPSUpgradeable proxy = _proxyOf(kind);
        address before = _implementationOf(proxy);
        vm.prank(admin);
        vm.expectRevert(
            abi.encodeWithSelector(ITenantContract.TenantUpgradeNotApproved.selector, kind, implementation)
        );
        proxy.upgradeToAndCall(implementation, "");
        vm.assertEq(_implementationOf(proxy), before, "implementation changed");
    }

    function _kind(uint8 index) private pure returns (ContractKind) {
        return ContractKind(bound(index, 0, uint256(type(ContractKind).max)));
    }

    function _proxyOf(ContractKind kind) private view returns (UUPSUpgradeable) {
        if (kind == ContractKind.POINTS_TOKEN) return UUPSUpgradeable(address(points));
        if (kind == ContractKind.REWARD_TOKEN) return UUPSUpgradeable(address(reward));
        if (kind == ContractKind.STATUS_TOKEN) return UUPSUpgradeable(address(status));
        if (kind == ContractKind.CAMPAIGN_REGISTRY) return UUPSUpgradeable(address(campaigns));
        return UUPSUpgradeable(address(redemptions));
    }

    function _deployImplementation(ContractKind kind) private returns (address) {
        if (kind == ContractKind.POINTS_TOKEN) return address(new PointsToken(address(forwarder)));
        if (kind == ContractKind.REWARD_TOKEN) return address(new RewardToken(address(forwarder)));
        if (kind == ContractKind.STATUS_TOKEN) return address(new StatusToken(address(forwarder)));
        if (kind == ContractKind.CAMPAIGN_REGISTRY) return address(new CampaignRegistry(address(forwarder)));
        return address(new RedemptionRegistry(address(forwarder)));
    }

    function _implementationOf(UUPSUpgradeable proxy) private view returns (address) {
        return address(uint160(uint256(vm.load(address(proxy), IMPLEMENTATION_SLOT))));
    }
}
