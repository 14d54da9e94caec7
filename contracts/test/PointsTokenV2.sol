// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {PointsToken} from "../PointsToken.sol";

/// @title PointsTokenV2 (test double)
/// @notice A storage-compatible next version of PointsToken, for the upgrade tests: it keeps every
/// inherited namespace and adds its own.
/// @dev It has no initializer of its own on purpose: it is only ever an upgrade target for proxies that
/// PointsToken.initialize already set up, and its new namespace needs no setting (it starts at zero).
/// @custom:oz-upgrades-unsafe-allow missing-initializer
contract PointsTokenV2 is PointsToken {
    /// @custom:storage-location erc7201:pers.storage.PointsTokenV2
    struct PointsTokenV2Storage {
        uint256 bonusBasisPoints;
    }

    // keccak256(abi.encode(uint256(keccak256("pers.storage.PointsTokenV2")) - 1)) & ~bytes32(uint256(0xff))
    bytes32 private constant POINTS_TOKEN_V2_STORAGE_LOCATION =
        0x8de648df53273254bdb34565098784f58b85ba889e791597cd1a0237dd7d4000;

    /// @custom:oz-upgrades-unsafe-allow constructor
    constructor(address trustedForwarder_) PointsToken(trustedForwarder_) {}

    function version() external pure returns (string memory) {
        return "2";
    }

    /// @notice The new namespace's one field: zero after an upgrade, since nothing writes it.
    function bonusBasisPoints() external view returns (uint256) {
        return _getPointsTokenV2Storage().bonusBasisPoints;
    }

    function _getPointsTokenV2Storage() private pure returns (PointsTokenV2Storage storage $) {
        assembly {
            $.slot := POINTS_TOKEN_V2_STORAGE_LOCATION
        }
    }
}
