// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/// Minimal replacement for forge-std's StdInvariant. The invariant runner (EDR, a
/// foundry fork) calls these view functions on the test contract after setUp().
/// ABI (names + return types) must match foundry's IInvariantTest exactly.
abstract contract StdInvariantLite {
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    address[] private _targetedContracts;
    address[] private _excludedContracts;
    address[] private _targetedSenders;
    address[] private _excludedSenders;
    FuzzSelector[] private _targetedSelectors;
    FuzzSelector[] private _excludedSelectors;

    function targetContract(address c) internal {
        _targetedContracts.push(c);
    }
    function excludeContract(address c) internal {
        _excludedContracts.push(c);
    }
    function targetSender(address s) internal {
        _targetedSenders.push(s);
    }
    function excludeSender(address s) internal {
        _excludedSenders.push(s);
    }
    function targetSelector(FuzzSelector memory s) internal {
        _targetedSelectors.push(s);
    }
    function excludeSelector(FuzzSelector memory s) internal {
        _excludedSelectors.push(s);
    }

    function targetContracts() public view returns (address[] memory) {
        return _targetedContracts;
    }
    function excludeContracts() public view returns (address[] memory) {
        return _excludedContracts;
    }
    function targetSenders() public view returns (address[] memory) {
        return _targetedSenders;
    }
    function excludeSenders() public view returns (address[] memory) {
        return _excludedSenders;
    }
    function targetSelectors() public view returns (FuzzSelector[] memory) {
        return _targetedSelectors;
    }
    function excludeSelectors() public view returns (FuzzSelector[] memory) {
        return _excludedSelectors;
    }
}
