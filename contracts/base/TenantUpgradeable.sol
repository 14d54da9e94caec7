// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControlUpgradeable} from "@openzeppelin/contracts-upgradeable/access/AccessControlUpgradeable.sol";
import {ERC2771ContextUpgradeable} from "@openzeppelin/contracts-upgradeable/metatx/ERC2771ContextUpgradeable.sol";
import {UUPSUpgradeable} from "@openzeppelin/contracts-upgradeable/proxy/utils/UUPSUpgradeable.sol";
import {ContextUpgradeable} from "@openzeppelin/contracts-upgradeable/utils/ContextUpgradeable.sol";
import {IImplementationRegistry} from "../interfaces/IImplementationRegistry.sol";
import {ContractKind, ITenantContract, RoleGrant} from "../interfaces/ITenantContract.sol";

/// @title What every tenant contract is: access-controlled, UUPS-upgradeable only to implementations
/// that its factory approves, and aware of the protocol's ERC-2771 forwarder.
abstract contract TenantUpgradeable is
    ITenantContract,
    AccessControlUpgradeable,
    UUPSUpgradeable,
    ERC2771ContextUpgradeable
{
    bytes32 public constant UPGRADER_ROLE = keccak256("UPGRADER_ROLE");

    /// @custom:storage-location erc7201:pers.storage.TenantContract
    struct TenantContractStorage {
        address factory;
    }

    // keccak256(abi.encode(uint256(keccak256("pers.storage.TenantContract")) - 1)) & ~bytes32(uint256(0xff))
    bytes32 private constant TENANT_CONTRACT_STORAGE_LOCATION =
        0xc40d399455b83f2f254c3305c48ef8d001a2e5d2600753a2ea2b4bc38e883200;

    /// @custom:oz-upgrades-unsafe-allow constructor
    constructor(address trustedForwarder_) ERC2771ContextUpgradeable(trustedForwarder_) {
        _disableInitializers();
    }

    /// @dev Makes `admin` the suite's admin and upgrader, grants `grants`, and records the caller
    /// (the factory, which initialises in the transaction that deploys the proxy) as the factory.
    // solhint-disable-next-line func-name-mixedcase
    function __TenantUpgradeable_init(address admin, RoleGrant[] calldata grants) internal onlyInitializing {
        _getTenantContractStorage().factory = msg.sender;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(UPGRADER_ROLE, admin);
        for (uint256 i = 0; i < grants.length; ++i) {
            _grantRole(grants[i].role, grants[i].account);
        }
    }

    /// @inheritdoc ITenantContract
    function factory() public view returns (address) {
        return _getTenantContractStorage().factory;
    }

    /// @inheritdoc ITenantContract
    function contractKind() public pure virtual returns (ContractKind);

    /// @dev The upgrader role alone is not enough: the protocol must have approved the implementation,
    /// so that no tenant (nor the platform) can swap in code that nobody audited.
    function _authorizeUpgrade(address newImplementation) internal view override onlyRole(UPGRADER_ROLE) {
        ContractKind kind = contractKind();
        if (!IImplementationRegistry(factory()).isApprovedImplementation(kind, newImplementation)) {
            revert TenantUpgradeNotApproved(kind, newImplementation);
        }
    }

    function _msgSender()
        internal
        view
        virtual
        override(ContextUpgradeable, ERC2771ContextUpgradeable)
        returns (address)
    {
        return ERC2771ContextUpgradeable._msgSender();
    }

    function _msgData()
        internal
        view
        virtual
        override(ContextUpgradeable, ERC2771ContextUpgradeable)
        returns (bytes calldata)
    {
        return ERC2771ContextUpgradeable._msgData();
    }

    function _contextSuffixLength()
        internal
        view
        virtual
        override(ContextUpgradeable, ERC2771ContextUpgradeable)
        returns (uint256)
    {
        return ERC2771ContextUpgradeable._contextSuffixLength();
    }

    function _getTenantContractStorage() private pure returns (TenantContractStorage storage $) {
        assembly {
            $.slot := TENANT_CONTRACT_STORAGE_LOCATION
        }
    }
}
