// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC2771Forwarder} from "@openzeppelin/contracts/metatx/ERC2771Forwarder.sol";
import {ERC1155Holder} from "@openzeppelin/contracts/token/ERC1155/utils/ERC1155Holder.sol";

/// @title Test double: a token receiver that, once armed with a signed forward request, has the
/// forwarder execute it when it receives tokens: inside the forwarded call that sent them, so the
/// forwarder is re-entered and the request runs before the rest of the outer batch.
contract ForwarderReenterer is ERC1155Holder {
    ERC2771Forwarder public immutable FORWARDER;
    bytes private _armed;

    constructor(ERC2771Forwarder forwarder_) {
        FORWARDER = forwarder_;
    }

    /// @param request An abi-encoded `ERC2771Forwarder.ForwardRequestData`.
    function arm(bytes calldata request) external {
        _armed = request;
    }

    function onERC1155Received(
        address operator,
        address from,
        uint256 id,
        uint256 value,
        bytes memory data
    ) public override returns (bytes4) {
        bytes memory armed = _armed;
        if (armed.length > 0) {
            delete _armed;
            FORWARDER.execute(abi.decode(armed, (ERC2771Forwarder.ForwardRequestData)));
        }
        return super.onERC1155Received(operator, from, id, value, data);
    }
}
