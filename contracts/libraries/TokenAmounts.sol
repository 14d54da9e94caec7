// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ContractKind, ITenantContract} from "../interfaces/ITenantContract.sol";
import {IMultiToken} from "../interfaces/IMultiToken.sol";
import {IPointsToken} from "../interfaces/IPointsToken.sol";

/// @notice An amount of a tenant token: points (id 0) or an ERC-1155 class.
struct TokenAmount {
    address token;
    uint256 id;
    uint256 amount;
}

/// @notice A `TokenAmount` as stored: the token, its kind and the amount share one slot, so that a
/// points payout costs one storage read; the id, needed only by ERC-1155 tokens, has its own.
struct StoredTokenAmount {
    address token;
    ContractKind kind;
    uint88 amount;
    uint256 id;
}

/// @title Storing, paying and burning token amounts for the programme contracts.
library TokenAmounts {
    /// @notice The kind of tenant contract at `token`, or `found == false` if it is not one.
    /// @dev A low-level call: a plain interface call cannot catch an account without code or a
    /// return value that is not a kind.
    function kindOf(address token) internal view returns (bool found, ContractKind kind) {
        if (token.code.length == 0) return (false, kind);
        (bool success, bytes memory returned) = token.staticcall(abi.encodeCall(ITenantContract.contractKind, ()));
        if (!success || returned.length != 32) return (false, kind);
        uint256 value = abi.decode(returned, (uint256));
        if (value > uint256(type(ContractKind).max)) return (false, kind);
        return (true, ContractKind(value));
    }

    function isToken(ContractKind kind) internal pure returns (bool) {
        return
            kind == ContractKind.POINTS_TOKEN || kind == ContractKind.REWARD_TOKEN || kind == ContractKind.STATUS_TOKEN;
    }

    function store(StoredTokenAmount storage slot, TokenAmount calldata value, ContractKind kind) internal {
        slot.token = value.token;
        slot.kind = kind;
        slot.amount = uint88(value.amount);
        slot.id = value.id;
    }

    function load(StoredTokenAmount storage slot) internal view returns (TokenAmount memory) {
        return TokenAmount({token: slot.token, id: slot.id, amount: slot.amount});
    }

    /// @notice Mints `quantity` times the stored amount to `to`.
    function mintTo(StoredTokenAmount storage slot, address to, uint256 quantity) internal {
        (address token, ContractKind kind, uint256 amount) = (slot.token, slot.kind, slot.amount);
        if (kind == ContractKind.POINTS_TOKEN) {
            IPointsToken(token).mint(to, amount * quantity);
        } else {
            IMultiToken(token).mint(to, slot.id, amount * quantity);
        }
    }

    /// @notice Burns `quantity` times the stored amount from `from`.
    function burnFrom(StoredTokenAmount storage slot, address from, uint256 quantity) internal {
        (address token, ContractKind kind, uint256 amount) = (slot.token, slot.kind, slot.amount);
        if (kind == ContractKind.POINTS_TOKEN) {
            IPointsToken(token).programmeBurn(from, amount * quantity);
        } else {
            IMultiToken(token).programmeBurn(from, slot.id, amount * quantity);
        }
    }
}
