// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IMultiToken} from "./IMultiToken.sol";

/// @title A tenant's status, achievement and membership tokens: ERC-1155 and soulbound.
/// @notice Only mint and burn move a status token; every transfer reverts.
interface IStatusToken is IMultiToken {
    /// @notice Status tokens cannot move from `from` to `to`: they are bound to their holder.
    error StatusTokenSoulbound(address from, address to);
}
