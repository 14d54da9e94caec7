// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IStatusToken} from "../../contracts/interfaces/IStatusToken.sol";
import {IssueReason} from "../../contracts/interfaces/ITenantToken.sol";
import {TenantSetup} from "./utils/TenantSetup.sol";

/// @notice Status tokens never move between holders: every transfer reverts with
/// `StatusTokenSoulbound(from, to)`, whoever sends it, while mint and burn keep working.
contract StatusSoulboundTest is TenantSetup {
    uint256 private constant SECOND_STATUS_ID = 8;

    uint256 private nextRef = 1;

    function setUp() public {
        deployTenant();
        status.defineClass(SECOND_STATUS_ID, 0, "");
    }

    function testFuzz_TransferReverts(
        address from,
        address to,
        uint256 held,
        uint256 amount,
        address approved,
        bool byApproved
    ) public {
        _assumeHolders(from, to);
        held = bound(held, 1, 1_000);
        _issue(from, STATUS_ID, held);
        address sender = byApproved ? _approve(from, approved) : from;

        vm.prank(sender);
        vm.expectRevert(abi.encodeWithSelector(IStatusToken.StatusTokenSoulbound.selector, from, to));
        status.safeTransferFrom(from, to, STATUS_ID, amount, "");

        vm.assertEq(status.balanceOf(from, STATUS_ID), held, "sender's balance changed");
        vm.assertEq(status.balanceOf(to, STATUS_ID), 0, "receiver got status");
        _assertMintAndBurnStillWork(from, to, sender, held);
    }

    function testFuzz_BatchTransferReverts(
        address from,
        address to,
        uint256 held,
        uint256 amount,
        address approved,
        bool byApproved
    ) public {
        _assumeHolders(from, to);
        held = bound(held, 1, 1_000);
        _issue(from, STATUS_ID, held);
        _issue(from, SECOND_STATUS_ID, held);
        address sender = byApproved ? _approve(from, approved) : from;
        uint256[] memory ids = new uint256[](2);
        (ids[0], ids[1]) = (STATUS_ID, SECOND_STATUS_ID);
        uint256[] memory values = new uint256[](2);
        (values[0], values[1]) = (amount, held);

        vm.prank(sender);
        vm.expectRevert(abi.encodeWithSelector(IStatusToken.StatusTokenSoulbound.selector, from, to));
        status.safeBatchTransferFrom(from, to, ids, values, "");

        vm.assertEq(status.balanceOf(from, STATUS_ID), held, "sender's first balance changed");
        vm.assertEq(status.balanceOf(from, SECOND_STATUS_ID), held, "sender's second balance changed");
        vm.assertEq(status.balanceOf(to, STATUS_ID), 0, "receiver got the first status");
        vm.assertEq(status.balanceOf(to, SECOND_STATUS_ID), 0, "receiver got the second status");
        _assertMintAndBurnStillWork(from, to, sender, held);
    }

    /// After a refused transfer, the holder (or its approved operator) still burns, and the issuer still mints.
    function _assertMintAndBurnStillWork(address from, address to, address burner, uint256 held) private {
        uint256 supply = status.totalSupply(STATUS_ID);
        vm.prank(burner);
        status.burn(from, STATUS_ID, held);
        vm.assertEq(status.balanceOf(from, STATUS_ID), 0, "burn did not take the holder's status");
        vm.assertEq(status.totalSupply(STATUS_ID), supply - held, "burn did not lower the supply");

        _issue(to, STATUS_ID, 1);
        vm.assertEq(status.balanceOf(to, STATUS_ID), 1, "issue did not mint");
        vm.assertEq(status.totalSupply(STATUS_ID), supply - held + 1, "issue did not raise the supply");
    }

    /// Distinct non-zero holders that can receive ERC-1155 mints (no code) and are not the forwarder,
    /// whose calls carry their sender in the calldata.
    function _assumeHolders(address from, address to) private view {
        vm.assume(from != address(0) && to != address(0) && from != to);
        vm.assume(from.code.length == 0 && to.code.length == 0);
        vm.assume(from != address(forwarder) && to != address(forwarder));
    }

    function _approve(address holder, address approved) private returns (address) {
        vm.assume(approved != address(0) && approved != holder && approved != address(forwarder));
        vm.prank(holder);
        status.setApprovalForAll(approved, true);
        vm.assertTrue(status.isApprovedForAll(holder, approved), "approval not recorded");
        return approved;
    }

    function _issue(address to, uint256 id, uint256 amount) private {
        status.issue(to, id, amount, IssueReason.GRANT, bytes32(nextRef++));
    }
}
