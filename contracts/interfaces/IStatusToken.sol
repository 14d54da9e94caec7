// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IMultiToken} from "./IMultiToken.sol";

/// @title A tenant's status, achievement and membership tokens: ERC-1155 and soulbound.
/// @notice Only mint and burn move a status token; every transfer reverts. Nobody can be approved
/// for a holder's status tokens: `setApprovalForAll` reverts and `isApprovedForAll` is always false,
/// so only the holder (`burn`, `burnBatch`) and the burner role (`programmeBurn`) burn them.
interface IStatusToken is IMultiToken {
    /// @notice Status tokens cannot move from `from` to `to`: they are bound to their holder.
    error StatusTokenSoulbound(address from, address to);

    /// @notice `owner` cannot approve `operator` for its status tokens: an operator could only burn them.
    error StatusTokenApprovalRefused(address owner, address operator);
}
