// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC20Upgradeable} from "@openzeppelin/contracts-upgradeable/token/ERC20/ERC20Upgradeable.sol";
import {ERC20BurnableUpgradeable} from "@openzeppelin/contracts-upgradeable/token/ERC20/extensions/ERC20BurnableUpgradeable.sol";
import {ERC20PausableUpgradeable} from "@openzeppelin/contracts-upgradeable/token/ERC20/extensions/ERC20PausableUpgradeable.sol";
import {ERC20PermitUpgradeable} from "@openzeppelin/contracts-upgradeable/token/ERC20/extensions/ERC20PermitUpgradeable.sol";
import {ContextUpgradeable} from "@openzeppelin/contracts-upgradeable/utils/ContextUpgradeable.sol";
import {TenantUpgradeable} from "./base/TenantUpgradeable.sol";
import {IPointsToken} from "./interfaces/IPointsToken.sol";
import {ContractKind, RoleGrant} from "./interfaces/ITenantContract.sol";
import {IssueReason, ITenantToken} from "./interfaces/ITenantToken.sol";

/// @title PointsToken
/// @notice A tenant's points. See {IPointsToken}.
contract PointsToken is
    IPointsToken,
    TenantUpgradeable,
    ERC20Upgradeable,
    ERC20BurnableUpgradeable,
    ERC20PausableUpgradeable,
    ERC20PermitUpgradeable
{
    bytes32 public constant MINTER_ROLE = keccak256("MINTER_ROLE");
    bytes32 public constant BURNER_ROLE = keccak256("BURNER_ROLE");
    bytes32 public constant ISSUER_ROLE = keccak256("ISSUER_ROLE");
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");

    /// @custom:storage-location erc7201:pers.storage.PointsToken
    struct PointsTokenStorage {
        uint8 decimals;
        mapping(bytes32 ref => bool) usedReferences;
    }

    // keccak256(abi.encode(uint256(keccak256("pers.storage.PointsToken")) - 1)) & ~bytes32(uint256(0xff))
    bytes32 private constant POINTS_TOKEN_STORAGE_LOCATION =
        0xa0bb1fc67634fedb71ac29c6453dfa5f8da7feb644919e7a603d572f9e1b1100;

    /// @custom:oz-upgrades-unsafe-allow constructor
    constructor(address trustedForwarder_) TenantUpgradeable(trustedForwarder_) {}

    /// @inheritdoc IPointsToken
    function initialize(
        string calldata name,
        string calldata symbol,
        uint8 decimals_,
        address admin,
        RoleGrant[] calldata grants
    ) public initializer {
        __ERC20_init(name, symbol);
        __ERC20Burnable_init();
        __ERC20Pausable_init();
        __ERC20Permit_init(name);
        __TenantUpgradeable_init(admin, grants);
        _grantRole(PAUSER_ROLE, admin);
        _getPointsTokenStorage().decimals = decimals_;
    }

    /// @inheritdoc TenantUpgradeable
    function contractKind() public pure override returns (ContractKind) {
        return ContractKind.POINTS_TOKEN;
    }

    function decimals() public view override returns (uint8) {
        return _getPointsTokenStorage().decimals;
    }

    /// @inheritdoc IPointsToken
    function mint(address to, uint256 amount) external onlyRole(MINTER_ROLE) {
        _mint(to, amount);
    }

    /// @inheritdoc IPointsToken
    function mintBatch(address[] calldata recipients, uint256[] calldata amounts) external onlyRole(MINTER_ROLE) {
        if (recipients.length != amounts.length) revert PointsBatchLengthMismatch(recipients.length, amounts.length);
        for (uint256 i = 0; i < recipients.length; ++i) {
            _mint(recipients[i], amounts[i]);
        }
    }

    /// @inheritdoc IPointsToken
    function issue(address to, uint256 amount, IssueReason reason, bytes32 ref) external onlyRole(ISSUER_ROLE) {
        _useReference(ref);
        // Before the mint, as a claim's `Claimed` and a redemption's `Redeemed`: the cause comes first.
        emit Issued(to, amount, reason, ref);
        _mint(to, amount);
    }

    /// @inheritdoc IPointsToken
    function programmeBurn(address from, uint256 amount) external onlyRole(BURNER_ROLE) {
        _burn(from, amount);
    }

    /// @inheritdoc ITenantToken
    function isReferenceUsed(bytes32 ref) external view returns (bool) {
        return _getPointsTokenStorage().usedReferences[ref];
    }

    /// @inheritdoc ITenantToken
    function pause() external onlyRole(PAUSER_ROLE) {
        _pause();
    }

    /// @inheritdoc ITenantToken
    function unpause() external onlyRole(PAUSER_ROLE) {
        _unpause();
    }

    function _useReference(bytes32 ref) private {
        if (ref == bytes32(0)) revert TokenReferenceMissing();
        PointsTokenStorage storage $ = _getPointsTokenStorage();
        if ($.usedReferences[ref]) revert TokenReferenceUsed(ref);
        $.usedReferences[ref] = true;
    }

    function _update(
        address from,
        address to,
        uint256 value
    ) internal override(ERC20Upgradeable, ERC20PausableUpgradeable) {
        super._update(from, to, value);
    }

    function _msgSender() internal view override(ContextUpgradeable, TenantUpgradeable) returns (address) {
        return TenantUpgradeable._msgSender();
    }

    function _msgData() internal view override(ContextUpgradeable, TenantUpgradeable) returns (bytes calldata) {
        return TenantUpgradeable._msgData();
    }

    function _contextSuffixLength() internal view override(ContextUpgradeable, TenantUpgradeable) returns (uint256) {
        return TenantUpgradeable._contextSuffixLength();
    }

    function _getPointsTokenStorage() private pure returns (PointsTokenStorage storage $) {
        assembly {
            $.slot := POINTS_TOKEN_STORAGE_LOCATION
        }
    }
}
