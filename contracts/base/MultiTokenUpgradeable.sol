// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC1155Upgradeable} from "@openzeppelin/contracts-upgradeable/token/ERC1155/ERC1155Upgradeable.sol";
import {ERC1155BurnableUpgradeable} from "@openzeppelin/contracts-upgradeable/token/ERC1155/extensions/ERC1155BurnableUpgradeable.sol";
import {ERC1155PausableUpgradeable} from "@openzeppelin/contracts-upgradeable/token/ERC1155/extensions/ERC1155PausableUpgradeable.sol";
import {ERC1155SupplyUpgradeable} from "@openzeppelin/contracts-upgradeable/token/ERC1155/extensions/ERC1155SupplyUpgradeable.sol";
import {AccessControlUpgradeable} from "@openzeppelin/contracts-upgradeable/access/AccessControlUpgradeable.sol";
import {ContextUpgradeable} from "@openzeppelin/contracts-upgradeable/utils/ContextUpgradeable.sol";
import {TenantUpgradeable} from "./TenantUpgradeable.sol";
import {IMultiToken} from "../interfaces/IMultiToken.sol";
import {RoleGrant} from "../interfaces/ITenantContract.sol";
import {IssueReason, ITenantToken} from "../interfaces/ITenantToken.sol";

/// @title The ERC-1155 half shared by the reward and status tokens. See {IMultiToken}.
abstract contract MultiTokenUpgradeable is
    IMultiToken,
    TenantUpgradeable,
    ERC1155Upgradeable,
    ERC1155BurnableUpgradeable,
    ERC1155PausableUpgradeable,
    ERC1155SupplyUpgradeable
{
    bytes32 public constant MINTER_ROLE = keccak256("MINTER_ROLE");
    bytes32 public constant BURNER_ROLE = keccak256("BURNER_ROLE");
    bytes32 public constant ISSUER_ROLE = keccak256("ISSUER_ROLE");
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");
    bytes32 public constant CAMPAIGN_MANAGER_ROLE = keccak256("CAMPAIGN_MANAGER_ROLE");

    struct TokenClass {
        bool defined;
        uint256 maxSupply;
        string uri;
    }

    /// @custom:storage-location erc7201:pers.storage.MultiToken
    struct MultiTokenStorage {
        mapping(uint256 id => TokenClass) classes;
        mapping(bytes32 ref => bool) usedReferences;
    }

    // keccak256(abi.encode(uint256(keccak256("pers.storage.MultiToken")) - 1)) & ~bytes32(uint256(0xff))
    bytes32 private constant MULTI_TOKEN_STORAGE_LOCATION =
        0xb5a27ad255ffcc4b546eadefaebdc7650ef4f61fd7a60746dd53e9597af0e800;

    /// @custom:oz-upgrades-unsafe-allow constructor
    constructor(address trustedForwarder_) TenantUpgradeable(trustedForwarder_) {}

    /// @inheritdoc IMultiToken
    function initialize(string calldata baseUri, address admin, RoleGrant[] calldata grants) public initializer {
        __ERC1155_init(baseUri);
        __ERC1155Burnable_init();
        __ERC1155Pausable_init();
        __ERC1155Supply_init();
        __TenantUpgradeable_init(admin, grants);
        _grantRole(PAUSER_ROLE, admin);
    }

    /// @inheritdoc IMultiToken
    function defineClass(
        uint256 id,
        uint256 maxSupply_,
        string calldata classUri
    ) external onlyRole(CAMPAIGN_MANAGER_ROLE) {
        TokenClass storage class = _getMultiTokenStorage().classes[id];
        if (
            class.defined &&
            !_keepsOrTightens(class, maxSupply_, classUri) &&
            !hasRole(DEFAULT_ADMIN_ROLE, _msgSender())
        ) {
            revert TokenClassChangeNeedsAdmin(id);
        }
        uint256 supply = totalSupply(id);
        if (maxSupply_ != 0 && maxSupply_ < supply) revert TokenClassMaxSupplyBelowSupply(id, maxSupply_, supply);
        _getMultiTokenStorage().classes[id] = TokenClass({defined: true, maxSupply: maxSupply_, uri: classUri});
        emit TokenClassDefined(id, maxSupply_, classUri);
        emit URI(uri(id), id);
    }

    /// @inheritdoc IMultiToken
    function isClassDefined(uint256 id) external view returns (bool) {
        return _getMultiTokenStorage().classes[id].defined;
    }

    /// @inheritdoc IMultiToken
    function maxSupply(uint256 id) external view returns (uint256) {
        return _getMultiTokenStorage().classes[id].maxSupply;
    }

    /// @notice The class's own URI, or the base URI if it has none.
    function uri(uint256 id) public view override returns (string memory) {
        string storage classUri = _getMultiTokenStorage().classes[id].uri;
        return bytes(classUri).length != 0 ? classUri : super.uri(id);
    }

    /// @inheritdoc IMultiToken
    function mint(address to, uint256 id, uint256 amount) external onlyRole(MINTER_ROLE) {
        _mintClass(to, id, amount);
    }

    /// @inheritdoc IMultiToken
    function issue(
        address to,
        uint256 id,
        uint256 amount,
        IssueReason reason,
        bytes32 ref
    ) external onlyRole(ISSUER_ROLE) {
        _useReference(ref);
        // Before the mint, as a claim's `Claimed` and a redemption's `Redeemed`: the cause comes first.
        emit Issued(to, id, amount, reason, ref);
        _mintClass(to, id, amount);
    }

    /// @inheritdoc IMultiToken
    function programmeBurn(address from, uint256 id, uint256 amount) external onlyRole(BURNER_ROLE) {
        _burn(from, id, amount);
    }

    /// @inheritdoc ITenantToken
    function isReferenceUsed(bytes32 ref) external view returns (bool) {
        return _getMultiTokenStorage().usedReferences[ref];
    }

    /// @inheritdoc ITenantToken
    function pause() external onlyRole(PAUSER_ROLE) {
        _pause();
    }

    /// @inheritdoc ITenantToken
    function unpause() external onlyRole(PAUSER_ROLE) {
        _unpause();
    }

    function supportsInterface(
        bytes4 interfaceId
    ) public view virtual override(AccessControlUpgradeable, ERC1155Upgradeable) returns (bool) {
        return super.supportsInterface(interfaceId);
    }

    /// @dev Mints with empty data: relayed and programme mints never carry a payload to the receiver.
    function _mintClass(address to, uint256 id, uint256 amount) private {
        TokenClass storage class = _getMultiTokenStorage().classes[id];
        if (!class.defined) revert TokenClassUndefined(id);
        uint256 cap = class.maxSupply;
        if (cap != 0) {
            uint256 supply = totalSupply(id) + amount;
            if (supply > cap) revert TokenClassMaxSupplyExceeded(id, cap, supply);
        }
        _mint(to, id, amount, "");
    }

    /// @dev Whether redefining `class` as `maxSupply_` and `classUri` keeps or lowers its cap (0, no
    /// cap, is the highest) and keeps its URI: all that the platform's operators may do to a class.
    function _keepsOrTightens(
        TokenClass storage class,
        uint256 maxSupply_,
        string calldata classUri
    ) private view returns (bool) {
        uint256 cap = class.maxSupply;
        bool capKeptOrLowered = cap == 0 || (maxSupply_ != 0 && maxSupply_ <= cap);
        return capKeptOrLowered && keccak256(bytes(classUri)) == keccak256(bytes(class.uri));
    }

    function _useReference(bytes32 ref) private {
        if (ref == bytes32(0)) revert TokenReferenceMissing();
        MultiTokenStorage storage $ = _getMultiTokenStorage();
        if ($.usedReferences[ref]) revert TokenReferenceUsed(ref);
        $.usedReferences[ref] = true;
    }

    function _update(
        address from,
        address to,
        uint256[] memory ids,
        uint256[] memory values
    ) internal virtual override(ERC1155Upgradeable, ERC1155PausableUpgradeable, ERC1155SupplyUpgradeable) {
        super._update(from, to, ids, values);
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

    function _getMultiTokenStorage() private pure returns (MultiTokenStorage storage $) {
        assembly {
            $.slot := MULTI_TOKEN_STORAGE_LOCATION
        }
    }
}
