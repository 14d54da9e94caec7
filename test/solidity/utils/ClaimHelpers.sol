// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {ClaimRequest, ClaimSource, ICampaignRegistry} from "../../../contracts/interfaces/ICampaignRegistry.sol";
import {TestBase, Vm} from "./Vm.sol";

/// @notice A claim that paid, as its `Claimed` event tells it.
struct PaidClaim {
    uint256 campaignId;
    uint256 claimId;
    address recipient;
    address business;
}

/// @notice Counts what claims paid from the registry's `Claimed` events, independently of its
/// storage, and signs claim vouchers.
abstract contract ClaimHelpers is TestBase {
    /// @notice Starts recording logs; `recordedClaims` reads (and clears) them.
    function startRecordingClaims() internal {
        vm.recordLogs();
    }

    /// @notice The `Claimed` events `registry` emitted since `startRecordingClaims`, in order.
    function recordedClaims(address registry) internal returns (PaidClaim[] memory paid) {
        Vm.Log[] memory logs = vm.getRecordedLogs();
        paid = new PaidClaim[](logs.length);
        uint256 count;
        for (uint256 i = 0; i < logs.length; ++i) {
            Vm.Log memory entry = logs[i];
            if (
                entry.emitter != registry ||
                entry.topics.length == 0 ||
                entry.topics[0] != ICampaignRegistry.Claimed.selector
            ) continue;
            (, address business) = abi.decode(entry.data, (ClaimSource, address));
            paid[count++] = PaidClaim({
                campaignId: uint256(entry.topics[1]),
                claimId: uint256(entry.topics[2]),
                recipient: address(uint160(uint256(entry.topics[3]))),
                business: business
            });
        }
        assembly {
            mstore(paid, count)
        }
    }

    /// @notice A claim voucher for `request`, signed with `privateKey` (65 bytes: r, s, v).
    function signVoucher(
        ICampaignRegistry registry,
        uint256 privateKey,
        ClaimRequest memory request,
        uint256 deadline
    ) internal view returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(privateKey, registry.voucherDigest(request, deadline));
        return abi.encodePacked(r, s, v);
    }
}
