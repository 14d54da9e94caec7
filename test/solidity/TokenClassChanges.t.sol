// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {ERC2771Forwarder} from "@openzeppelin/contracts/metatx/ERC2771Forwarder.sol";
import {MultiTokenUpgradeable} from "../../contracts/base/MultiTokenUpgradeable.sol";
import {IMultiToken} from "../../contracts/interfaces/IMultiToken.sol";
import {IssueReason} from "../../contracts/interfaces/ITenantToken.sol";
import {TenantSetup} from "./utils/TenantSetup.sol";

/// @notice A class's cap holds against the tenant's operators: once a class is defined, a campaign
/// manager without the admin role may only keep or lower its maximum supply and must keep its URI;
/// anything else reverts with `TokenClassChangeNeedsAdmin` and leaves the class as it was. The
/// tenant's admin, given the campaign manager role, redefines freely, directly or relayed.
contract TokenClassChangesTest is TenantSetup {
    uint256 private constant CLASS_ID = 42;
    uint256 private constant MAX_CAP = 1e30;
    string private constant CLASS_URI = "ipfs://class-42";
    uint256 private constant RELAYED_ADMIN_KEY = 0xA11CE;
    bytes32 private constant FORWARD_REQUEST_TYPEHASH = keccak256(
        "ForwardRequest(address from,address to,uint256 value,uint256 gas,uint256 nonce,uint48 deadline,bytes data)"
    );

    uint256 private nextRef = 1;

    /// The test contract is the operator (campaign manager and issuer, without the admin role); the
    /// admin gets the campaign manager role on both tokens.
    function setUp() public {
        deployTenant();
        _grantCampaignManager(reward, admin);
        _grantCampaignManager(status, admin);
    }

    // ------------------------------------------------------------------ operator

    function testFuzz_OperatorKeepsOrLowersCap(bool onStatus, uint256 cap, uint256 minted, uint256 lowered) public {
        MultiTokenUpgradeable token = _token(onStatus);
        cap = bound(cap, 1, MAX_CAP);
        minted = bound(minted, 0, cap);
        lowered = bound(lowered, minted == 0 ? 1 : minted, cap);
        token.defineClass(CLASS_ID, cap, CLASS_URI);
        if (minted != 0) _issue(token, minted);

        vm.expectEmit(address(token));
        emit IMultiToken.TokenClassDefined(CLASS_ID, lowered, CLASS_URI);
        token.defineClass(CLASS_ID, lowered, CLASS_URI);

        _assertClass(token, lowered, CLASS_URI);
        vm.expectRevert(
            abi.encodeWithSelector(IMultiToken.TokenClassMaxSupplyExceeded.selector, CLASS_ID, lowered, lowered + 1)
        );
        _issue(token, lowered - minted + 1);
    }

    /// An unlimited class is at the highest cap there is: the operator may keep it or give it one.
    function testFuzz_OperatorCapsUnlimitedClass(bool onStatus, uint256 cap) public {
        MultiTokenUpgradeable token = _token(onStatus);
        cap = bound(cap, 0, MAX_CAP);
        token.defineClass(CLASS_ID, 0, CLASS_URI);

        token.defineClass(CLASS_ID, cap, CLASS_URI);

        _assertClass(token, cap, CLASS_URI);
    }

    /// The finding: an operator raising the cap, then issuing past it.
    function testFuzz_OperatorCannotRaiseCap(bool onStatus, uint256 cap, uint256 raised) public {
        MultiTokenUpgradeable token = _token(onStatus);
        cap = bound(cap, 1, MAX_CAP);
        raised = bound(raised, cap + 1, type(uint256).max);
        token.defineClass(CLASS_ID, cap, CLASS_URI);
        _issue(token, cap);

        _expectNeedsAdmin();
        token.defineClass(CLASS_ID, raised, CLASS_URI);

        _assertClass(token, cap, CLASS_URI);
        vm.expectRevert(
            abi.encodeWithSelector(IMultiToken.TokenClassMaxSupplyExceeded.selector, CLASS_ID, cap, cap + 1)
        );
        _issue(token, 1);
    }

    function testFuzz_OperatorCannotRemoveCap(bool onStatus, uint256 cap) public {
        MultiTokenUpgradeable token = _token(onStatus);
        cap = bound(cap, 1, MAX_CAP);
        token.defineClass(CLASS_ID, cap, CLASS_URI);

        _expectNeedsAdmin();
        token.defineClass(CLASS_ID, 0, CLASS_URI);

        _assertClass(token, cap, CLASS_URI);
    }

    /// Also when the cap is kept or lowered, and when the new URI is empty (the base URI).
    function testFuzz_OperatorCannotChangeUri(
        bool onStatus,
        uint256 cap,
        uint256 newCap,
        string calldata newUri
    ) public {
        vm.assume(keccak256(bytes(newUri)) != keccak256(bytes(CLASS_URI)));
        MultiTokenUpgradeable token = _token(onStatus);
        cap = bound(cap, 0, MAX_CAP);
        newCap = cap == 0 ? newCap : bound(newCap, 1, cap);
        token.defineClass(CLASS_ID, cap, CLASS_URI);

        _expectNeedsAdmin();
        token.defineClass(CLASS_ID, newCap, newUri);
        _expectNeedsAdmin();
        token.defineClass(CLASS_ID, cap, "");

        _assertClass(token, cap, CLASS_URI);
    }

    /// A class without a URI of its own keeps none: the operator cannot give it one.
    function testFuzz_OperatorCannotGiveUri(bool onStatus, string calldata newUri) public {
        vm.assume(bytes(newUri).length != 0);
        MultiTokenUpgradeable token = _token(onStatus);
        uint256 id = onStatus ? STATUS_ID : REWARD_ID;

        vm.expectRevert(abi.encodeWithSelector(IMultiToken.TokenClassChangeNeedsAdmin.selector, id));
        token.defineClass(id, 0, newUri);

        vm.assertEq(token.uri(id), onStatus ? "ipfs://status/{id}" : "ipfs://rewards/{id}");
    }

    function testFuzz_OperatorDefinesNewClass(bool onStatus, uint256 id, uint256 cap, string calldata classUri) public {
        MultiTokenUpgradeable token = _token(onStatus);
        vm.assume(!token.isClassDefined(id));

        vm.expectEmit(address(token));
        emit IMultiToken.TokenClassDefined(id, cap, classUri);
        token.defineClass(id, cap, classUri);

        vm.assertTrue(token.isClassDefined(id), "class not defined");
        vm.assertEq(token.maxSupply(id), cap, "max supply");
        if (bytes(classUri).length != 0) vm.assertEq(token.uri(id), classUri);
    }

    // --------------------------------------------------------------------- admin

    function testFuzz_AdminRaisesRemovesAndChangesUri(bool onStatus, uint256 cap, uint256 raised) public {
        MultiTokenUpgradeable token = _token(onStatus);
        cap = bound(cap, 1, MAX_CAP);
        raised = bound(raised, cap + 1, type(uint256).max);
        token.defineClass(CLASS_ID, cap, CLASS_URI);
        _issue(token, cap);

        vm.prank(admin);
        token.defineClass(CLASS_ID, raised, CLASS_URI);
        _assertClass(token, raised, CLASS_URI);
        _issue(token, 1);
        vm.assertEq(token.totalSupply(CLASS_ID), cap + 1, "issue past the old cap");

        vm.prank(admin);
        token.defineClass(CLASS_ID, 0, "ipfs://class-42-v2");
        _assertClass(token, 0, "ipfs://class-42-v2");

        vm.prank(admin);
        token.defineClass(CLASS_ID, 0, "");
        vm.assertEq(token.uri(CLASS_ID), onStatus ? "ipfs://status/{id}" : "ipfs://rewards/{id}");
    }

    /// The admin too cannot set a cap below what exists.
    function testFuzz_AdminCannotCapBelowSupply(bool onStatus, uint256 minted, uint256 cap) public {
        MultiTokenUpgradeable token = _token(onStatus);
        minted = bound(minted, 2, MAX_CAP);
        cap = bound(cap, 1, minted - 1);
        token.defineClass(CLASS_ID, 0, CLASS_URI);
        _issue(token, minted);

        vm.prank(admin);
        vm.expectRevert(
            abi.encodeWithSelector(IMultiToken.TokenClassMaxSupplyBelowSupply.selector, CLASS_ID, cap, minted)
        );
        token.defineClass(CLASS_ID, cap, CLASS_URI);

        _assertClass(token, 0, CLASS_URI);
    }

    /// The admin is recognised as the signer of a relayed request, not as the forwarder.
    function testFuzz_RelayedAdminRaisesCap(bool onStatus, uint256 cap, uint256 raised) public {
        MultiTokenUpgradeable token = _token(onStatus);
        cap = bound(cap, 1, MAX_CAP);
        raised = bound(raised, cap + 1, type(uint256).max);
        address relayedAdmin = vm.addr(RELAYED_ADMIN_KEY);
        vm.startPrank(admin);
        token.grantRole(token.DEFAULT_ADMIN_ROLE(), relayedAdmin);
        token.grantRole(token.CAMPAIGN_MANAGER_ROLE(), relayedAdmin);
        vm.stopPrank();
        token.defineClass(CLASS_ID, cap, CLASS_URI);

        forwarder.execute(
            _relayed(relayedAdmin, address(token), abi.encodeCall(IMultiToken.defineClass, (CLASS_ID, raised, "")))
        );

        _assertClass(token, raised, "");
    }

    // ----------------------------------------------------------------- internals

    function _token(bool onStatus) private view returns (MultiTokenUpgradeable) {
        return onStatus ? MultiTokenUpgradeable(address(status)) : MultiTokenUpgradeable(address(reward));
    }

    function _grantCampaignManager(MultiTokenUpgradeable token, address account) private {
        bytes32 role = token.CAMPAIGN_MANAGER_ROLE();
        vm.prank(admin);
        token.grantRole(role, account);
    }

    function _expectNeedsAdmin() private {
        vm.expectRevert(abi.encodeWithSelector(IMultiToken.TokenClassChangeNeedsAdmin.selector, CLASS_ID));
    }

    /// Class `CLASS_ID` is defined with `cap` and its own URI `classUri` (empty: the base URI).
    function _assertClass(MultiTokenUpgradeable token, uint256 cap, string memory classUri) private view {
        vm.assertTrue(token.isClassDefined(CLASS_ID), "class undefined");
        vm.assertEq(token.maxSupply(CLASS_ID), cap, "max supply");
        if (bytes(classUri).length != 0) vm.assertEq(token.uri(CLASS_ID), classUri);
    }

    /// The operator (the test contract, with the issuer role) issues `amount` of class `CLASS_ID`.
    function _issue(MultiTokenUpgradeable token, uint256 amount) private {
        token.issue(address(0xB0B), CLASS_ID, amount, IssueReason.GRANT, bytes32(nextRef++));
    }

    /// `data` to `target`, signed by `from` (whose key is `RELAYED_ADMIN_KEY`) for the forwarder.
    function _relayed(
        address from,
        address target,
        bytes memory data
    ) private view returns (ERC2771Forwarder.ForwardRequestData memory request) {
        request = ERC2771Forwarder.ForwardRequestData({
            from: from,
            to: target,
            value: 0,
            gas: 1_000_000,
            deadline: uint48(block.timestamp + 1 hours),
            data: data,
            signature: ""
        });
        bytes32 structHash = keccak256(
            abi.encode(
                FORWARD_REQUEST_TYPEHASH,
                from,
                target,
                0,
                request.gas,
                forwarder.nonces(from),
                request.deadline,
                keccak256(data)
            )
        );
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(
            RELAYED_ADMIN_KEY,
            keccak256(abi.encodePacked("\x19\x01", _forwarderDomainSeparator(), structHash))
        );
        request.signature = abi.encodePacked(r, s, v);
    }

    function _forwarderDomainSeparator() private view returns (bytes32) {
        (, string memory name, string memory version, uint256 chainId, address verifyingContract, , ) = forwarder
            .eip712Domain();
        return
            keccak256(
                abi.encode(
                    keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                    keccak256(bytes(name)),
                    keccak256(bytes(version)),
                    chainId,
                    verifyingContract
                )
            );
    }
}
