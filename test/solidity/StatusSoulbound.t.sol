// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IERC1155Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {IStatusToken} from "../../contracts/interfaces/IStatusToken.sol";
import {IssueReason} from "../../contracts/interfaces/ITenantToken.sol";
import {TenantSetup} from "./utils/TenantSetup.sol";

/// @notice Status tokens never move between holders: every transfer by the holder reverts with
/// `StatusTokenSoulbound(from, to)`, while mint and burn keep working. Nobody can be approved for a
/// holder's status (`StatusTokenApprovalRefused`), so nobody but the holder burns it with `burn`.
contract StatusSoulboundTest is TenantSetup {
    uint256 private constant SECOND_STATUS_ID = 8;
    // keccak256(abi.encode(uint256(keccak256("openzeppelin.storage.ERC1155")) - 1)) & ~bytes32(uint256(0xff))
    bytes32 private constant ERC1155_STORAGE_LOCATION =
        0x88be536d5240c274a3b1d3a1be54482fd9caa294f08c62a7cde569f49a3c4500;

    uint256 private nextRef = 1;

    function setUp() public {
        deployTenant();
        status.defineClass(SECOND_STATUS_ID, 0, "");
    }

    function testFuzz_TransferReverts(address from, address to, uint256 held, uint256 amount) public {
        _assumeHolders(from, to);
        held = bound(held, 1, 1_000);
        _issue(from, STATUS_ID, held);

        vm.prank(from);
        vm.expectRevert(abi.encodeWithSelector(IStatusToken.StatusTokenSoulbound.selector, from, to));
        status.safeTransferFrom(from, to, STATUS_ID, amount, "");

        vm.assertEq(status.balanceOf(from, STATUS_ID), held, "sender's balance changed");
        vm.assertEq(status.balanceOf(to, STATUS_ID), 0, "receiver got status");
        _assertMintAndBurnStillWork(from, to, held);
    }

    function testFuzz_BatchTransferReverts(address from, address to, uint256 held, uint256 amount) public {
        _assumeHolders(from, to);
        held = bound(held, 1, 1_000);
        _issue(from, STATUS_ID, held);
        _issue(from, SECOND_STATUS_ID, held);
        uint256[] memory ids = new uint256[](2);
        (ids[0], ids[1]) = (STATUS_ID, SECOND_STATUS_ID);
        uint256[] memory values = new uint256[](2);
        (values[0], values[1]) = (amount, held);

        vm.prank(from);
        vm.expectRevert(abi.encodeWithSelector(IStatusToken.StatusTokenSoulbound.selector, from, to));
        status.safeBatchTransferFrom(from, to, ids, values, "");

        vm.assertEq(status.balanceOf(from, STATUS_ID), held, "sender's first balance changed");
        vm.assertEq(status.balanceOf(from, SECOND_STATUS_ID), held, "sender's second balance changed");
        vm.assertEq(status.balanceOf(to, STATUS_ID), 0, "receiver got the first status");
        vm.assertEq(status.balanceOf(to, SECOND_STATUS_ID), 0, "receiver got the second status");
        _assertMintAndBurnStillWork(from, to, held);
    }

    /// A holder cannot approve an operator (or withdraw one), so a phished approval burns nothing.
    function testFuzz_ApprovalReverts(address holder, address operator_, bool approved, uint256 held) public {
        _assumeHolders(holder, operator_);
        held = bound(held, 1, 1_000);
        _issue(holder, STATUS_ID, held);

        vm.prank(holder);
        vm.expectRevert(abi.encodeWithSelector(IStatusToken.StatusTokenApprovalRefused.selector, holder, operator_));
        status.setApprovalForAll(operator_, approved);

        vm.assertFalse(status.isApprovedForAll(holder, operator_), "approval recorded");
        _assertOperatorCannotBurn(holder, operator_, held);
    }

    /// An approval stored before status tokens refused them (written straight into OpenZeppelin's
    /// ERC-1155 storage, as an earlier implementation would have left it) authorises nothing.
    function testFuzz_StoredApprovalAuthorisesNothing(address holder, address operator_, uint256 held) public {
        _assumeHolders(holder, operator_);
        held = bound(held, 1, 1_000);
        _issue(holder, STATUS_ID, held);
        // _operatorApprovals is the second field of ERC1155Storage: [holder][operator].
        bytes32 approvals = bytes32(uint256(ERC1155_STORAGE_LOCATION) + 1);
        bytes32 slot = keccak256(abi.encode(operator_, keccak256(abi.encode(holder, approvals))));
        vm.store(address(status), slot, bytes32(uint256(1)));

        vm.assertFalse(status.isApprovedForAll(holder, operator_), "stored approval reported");
        _assertOperatorCannotBurn(holder, operator_, held);
    }

    /// `operator_` is refused `burn` and `burnBatch` of the holder's status, which stays whole.
    function _assertOperatorCannotBurn(address holder, address operator_, uint256 held) private {
        bytes memory missingApproval = abi.encodeWithSelector(
            IERC1155Errors.ERC1155MissingApprovalForAll.selector,
            operator_,
            holder
        );
        vm.prank(operator_);
        vm.expectRevert(missingApproval);
        status.burn(holder, STATUS_ID, held);

        uint256[] memory ids = new uint256[](1);
        ids[0] = STATUS_ID;
        uint256[] memory values = new uint256[](1);
        values[0] = held;
        vm.prank(operator_);
        vm.expectRevert(missingApproval);
        status.burnBatch(holder, ids, values);

        vm.assertEq(status.balanceOf(holder, STATUS_ID), held, "operator burned the holder's status");
    }

    /// After a refused transfer, the holder still burns, and the issuer still mints.
    function _assertMintAndBurnStillWork(address from, address to, uint256 held) private {
        uint256 supply = status.totalSupply(STATUS_ID);
        vm.prank(from);
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

    function _issue(address to, uint256 id, uint256 amount) private {
        status.issue(to, id, amount, IssueReason.GRANT, bytes32(nextRef++));
    }
}
