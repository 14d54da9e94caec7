// The tenant's tokens: PointsToken (ERC-20), RewardToken (ERC-1155) and StatusToken (soulbound
// ERC-1155). Programme contracts are stood in for by a `programme` account that the tenant admin
// makes minter and burner of every token.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { network } from "hardhat";
import { encodeFunctionData, getAddress, parseEventLogs, zeroAddress, type Address, type Hex } from "viem";

import { IssueReason } from "../abi/enums.ts";
import { pointsTokenAbi } from "../abi/pointsToken.ts";
import { createTenant } from "../deploy/tenant.ts";
import { signForwardRequest } from "../deploy/signatures.ts";
import { asHex, now, REWARD_ID, STATUS_ID, tenantFixture } from "./helpers/fixtures.ts";

const { viem, networkHelpers } = await network.create();

async function tokensFixture() {
  const f = await tenantFixture(viem);
  const programme = (await viem.getWalletClients())[7];
  if (!programme) throw new Error("the token tests need an eighth account");
  const { points, reward, status } = f.tenant;
  const admin = { account: f.accounts.tenantAdmin.account };
  const address = programme.account.address;
  for (const token of [points, reward, status]) {
    // Every tenant token defines the same role getters; the points token's ABI reads them for all three.
    const asPoints = await viem.getContractAt("PointsToken", token.address);
    await asPoints.write.grantRole([await asPoints.read.MINTER_ROLE(), address], admin);
    await asPoints.write.grantRole([await asPoints.read.BURNER_ROLE(), address], admin);
  }
  return { ...f, programme };
}

type Fixture = Awaited<ReturnType<typeof tokensFixture>>;

const fixture = () => tokensFixture();

async function receiptOf(f: Fixture, hash: Hex | Promise<Hex>) {
  return f.publicClient.waitForTransactionReceipt({ hash: await hash });
}

// =========================================================================================== points

describe("PointsToken", () => {
  describe("decimals", () => {
    it("keeps the decimals chosen at creation", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const created = await createTenant({
        publicClient: f.publicClient,
        walletClient: f.accounts.platform,
        factory: f.factory.address,
        externalId: asHex("two-decimals"),
        admin: f.accounts.tenantAdmin.account.address,
        operators: [],
        points: { name: "Cents", symbol: "CTS", decimals: 2 },
      });
      const cents = await viem.getContractAt("PointsToken", created.suite.pointsToken);

      assert.equal(await cents.read.decimals(), 2);
      assert.equal(await f.tenant.points.read.decimals(), 18);
    });
  });

  describe("mint", () => {
    it("mints to the recipient for a minter", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { points } = f.tenant;
      const alice = f.accounts.alice.account.address;

      await viem.assertions.emitWithArgs(
        points.write.mint([alice, 250n], { account: f.programme.account }),
        points,
        "Transfer",
        [zeroAddress, alice, 250n],
      );
      assert.equal(await points.read.balanceOf([alice]), 250n);
      assert.equal(await points.read.totalSupply(), 250n);
    });

    it("reverts with AccessControlUnauthorizedAccount for anyone without MINTER_ROLE, the admin and operator included", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { points } = f.tenant;
      const minterRole = await points.read.MINTER_ROLE();
      for (const caller of [f.accounts.outsider, f.accounts.platform, f.accounts.tenantAdmin]) {
        await viem.assertions.revertWithCustomErrorWithArgs(
          points.write.mint([caller.account.address, 1n], { account: caller.account }),
          points,
          "AccessControlUnauthorizedAccount",
          [getAddress(caller.account.address), minterRole],
        );
      }
    });
  });

  describe("mintBatch", () => {
    it("mints each amount to its recipient, with a Transfer per recipient", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { points } = f.tenant;
      const [alice, bob] = [f.accounts.alice.account.address, f.accounts.bob.account.address];

      const receipt = await receiptOf(
        f,
        points.write.mintBatch(
          [
            [alice, bob, alice],
            [10n, 20n, 5n],
          ],
          { account: f.programme.account },
        ),
      );

      const transfers = parseEventLogs({ abi: pointsTokenAbi, eventName: "Transfer", logs: receipt.logs });
      assert.deepEqual(
        transfers.map(({ args }) => [args.from, args.to, args.value]),
        [
          [zeroAddress, getAddress(alice), 10n],
          [zeroAddress, getAddress(bob), 20n],
          [zeroAddress, getAddress(alice), 5n],
        ],
      );
      assert.equal(await points.read.balanceOf([alice]), 15n);
      assert.equal(await points.read.balanceOf([bob]), 20n);
      assert.equal(await points.read.totalSupply(), 35n);
    });

    it("reverts with PointsBatchLengthMismatch when the lists differ in length", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { points } = f.tenant;
      const [alice, bob] = [f.accounts.alice.account.address, f.accounts.bob.account.address];

      await viem.assertions.revertWithCustomErrorWithArgs(
        points.write.mintBatch([[alice, bob], [10n]], { account: f.programme.account }),
        points,
        "PointsBatchLengthMismatch",
        [2n, 1n],
      );
    });

    it("reverts with AccessControlUnauthorizedAccount for anyone without MINTER_ROLE", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { points } = f.tenant;
      const operator = f.accounts.platform.account;

      await viem.assertions.revertWithCustomErrorWithArgs(
        points.write.mintBatch([[operator.address], [1n]], { account: operator }),
        points,
        "AccessControlUnauthorizedAccount",
        [getAddress(operator.address), await points.read.MINTER_ROLE()],
      );
    });
  });

  describe("issue", () => {
    it("mints for the issuer and emits Issued with the reason and reference", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { points } = f.tenant;
      const alice = f.accounts.alice.account.address;
      const ref = asHex("payment-42");
      assert.equal(await points.read.isReferenceUsed([ref]), false);

      const hash = await points.write.issue([alice, 300n, IssueReason.PURCHASE, ref]);

      await viem.assertions.emitWithArgs(hash, points, "Issued", [alice, 300n, IssueReason.PURCHASE, ref]);
      await viem.assertions.emitWithArgs(hash, points, "Transfer", [zeroAddress, alice, 300n]);
      assert.equal(await points.read.balanceOf([alice]), 300n);
      assert.equal(await points.read.isReferenceUsed([ref]), true);
      assert.equal(await points.read.isReferenceUsed([asHex("payment-43")]), false);
    });

    it("records a grant as such", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { points } = f.tenant;
      const bob = f.accounts.bob.account.address;
      const ref = asHex("grant-1");

      await viem.assertions.emitWithArgs(points.write.issue([bob, 7n, IssueReason.GRANT, ref]), points, "Issued", [
        bob,
        7n,
        IssueReason.GRANT,
        ref,
      ]);
    });

    it("reverts with TokenReferenceUsed when a reference is used again, whatever the recipient or reason", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { points } = f.tenant;
      const [alice, bob] = [f.accounts.alice.account.address, f.accounts.bob.account.address];
      const ref = asHex("payment-42");
      await points.write.issue([alice, 300n, IssueReason.PURCHASE, ref]);

      await viem.assertions.revertWithCustomErrorWithArgs(
        points.write.issue([bob, 1n, IssueReason.GRANT, ref]),
        points,
        "TokenReferenceUsed",
        [ref],
      );
      assert.equal(await points.read.totalSupply(), 300n);
    });

    it("reverts with TokenReferenceMissing for a zero reference", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { points } = f.tenant;
      const zeroRef: Hex = `0x${"00".repeat(32)}`;

      await viem.assertions.revertWithCustomError(
        points.write.issue([f.accounts.alice.account.address, 1n, IssueReason.GRANT, zeroRef]),
        points,
        "TokenReferenceMissing",
      );
    });

    it("reverts with AccessControlUnauthorizedAccount for anyone without ISSUER_ROLE, a minter included", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { points } = f.tenant;
      const issuerRole = await points.read.ISSUER_ROLE();
      for (const caller of [f.accounts.outsider, f.programme, f.accounts.tenantAdmin]) {
        await viem.assertions.revertWithCustomErrorWithArgs(
          points.write.issue([caller.account.address, 1n, IssueReason.GRANT, asHex("x")], { account: caller.account }),
          points,
          "AccessControlUnauthorizedAccount",
          [getAddress(caller.account.address), issuerRole],
        );
      }
    });
  });

  describe("programmeBurn", () => {
    it("burns a holder's points for a burner, without an allowance", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { points } = f.tenant;
      const alice = f.accounts.alice.account.address;
      await points.write.issue([alice, 100n, IssueReason.PURCHASE, asHex("p-1")]);

      await viem.assertions.emitWithArgs(
        points.write.programmeBurn([alice, 60n], { account: f.programme.account }),
        points,
        "Transfer",
        [alice, zeroAddress, 60n],
      );
      assert.equal(await points.read.balanceOf([alice]), 40n);
      assert.equal(await points.read.totalSupply(), 40n);
    });

    it("reverts with ERC20InsufficientBalance beyond the holder's balance", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { points } = f.tenant;
      const alice = f.accounts.alice.account.address;
      await points.write.issue([alice, 100n, IssueReason.PURCHASE, asHex("p-1")]);

      await viem.assertions.revertWithCustomErrorWithArgs(
        points.write.programmeBurn([alice, 101n], { account: f.programme.account }),
        points,
        "ERC20InsufficientBalance",
        [getAddress(alice), 100n, 101n],
      );
    });

    it("reverts with AccessControlUnauthorizedAccount for anyone without BURNER_ROLE", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { points } = f.tenant;
      const alice = f.accounts.alice.account.address;
      await points.write.issue([alice, 100n, IssueReason.PURCHASE, asHex("p-1")]);
      const burnerRole = await points.read.BURNER_ROLE();
      for (const caller of [f.accounts.outsider, f.accounts.platform, f.accounts.tenantAdmin]) {
        await viem.assertions.revertWithCustomErrorWithArgs(
          points.write.programmeBurn([alice, 1n], { account: caller.account }),
          points,
          "AccessControlUnauthorizedAccount",
          [getAddress(caller.account.address), burnerRole],
        );
      }
      assert.equal(await points.read.balanceOf([alice]), 100n);
    });
  });

  describe("burn and burnFrom (ERC20Burnable)", () => {
    it("lets a holder burn her own points", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { points } = f.tenant;
      const alice = f.accounts.alice.account;
      await points.write.issue([alice.address, 100n, IssueReason.PURCHASE, asHex("p-1")]);

      await points.write.burn([30n], { account: alice });

      assert.equal(await points.read.balanceOf([alice.address]), 70n);
      assert.equal(await points.read.totalSupply(), 70n);
    });

    it("burns another holder's points only within an allowance", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { points } = f.tenant;
      const [alice, bob] = [f.accounts.alice.account, f.accounts.bob.account];
      await points.write.issue([alice.address, 100n, IssueReason.PURCHASE, asHex("p-1")]);

      await viem.assertions.revertWithCustomErrorWithArgs(
        points.write.burnFrom([alice.address, 10n], { account: bob }),
        points,
        "ERC20InsufficientAllowance",
        [getAddress(bob.address), 0n, 10n],
      );
      await points.write.approve([bob.address, 10n], { account: alice });
      await points.write.burnFrom([alice.address, 10n], { account: bob });

      assert.equal(await points.read.balanceOf([alice.address]), 90n);
      assert.equal(await points.read.allowance([alice.address, bob.address]), 0n);
    });
  });

  describe("pause and unpause", () => {
    it("blocks transfers, mints, issues and burns with EnforcedPause until unpaused", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { points } = f.tenant;
      const [alice, bob, admin] = [f.accounts.alice.account, f.accounts.bob.account, f.accounts.tenantAdmin.account];
      await points.write.issue([alice.address, 100n, IssueReason.PURCHASE, asHex("p-1")]);

      await viem.assertions.emitWithArgs(points.write.pause({ account: admin }), points, "Paused", [admin.address]);
      assert.equal(await points.read.paused(), true);

      const blocked = [
        () => points.write.transfer([bob.address, 1n], { account: alice }),
        () => points.write.mint([bob.address, 1n], { account: f.programme.account }),
        () => points.write.mintBatch([[bob.address], [1n]], { account: f.programme.account }),
        () => points.write.issue([bob.address, 1n, IssueReason.GRANT, asHex("p-2")]),
        () => points.write.burn([1n], { account: alice }),
        () => points.write.programmeBurn([alice.address, 1n], { account: f.programme.account }),
      ];
      for (const call of blocked) {
        await viem.assertions.revertWithCustomError(call(), points, "EnforcedPause");
      }

      await viem.assertions.emitWithArgs(points.write.unpause({ account: admin }), points, "Unpaused", [admin.address]);
      await points.write.transfer([bob.address, 1n], { account: alice });
      assert.equal(await points.read.balanceOf([bob.address]), 1n);
    });

    it("reverts with AccessControlUnauthorizedAccount for anyone without PAUSER_ROLE, the operator included", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { points } = f.tenant;
      const pauserRole = await points.read.PAUSER_ROLE();
      for (const caller of [f.accounts.outsider.account, f.accounts.platform.account]) {
        await viem.assertions.revertWithCustomErrorWithArgs(
          points.write.pause({ account: caller }),
          points,
          "AccessControlUnauthorizedAccount",
          [getAddress(caller.address), pauserRole],
        );
      }
      await points.write.pause({ account: f.accounts.tenantAdmin.account });
      await viem.assertions.revertWithCustomErrorWithArgs(
        points.write.unpause({ account: f.accounts.outsider.account }),
        points,
        "AccessControlUnauthorizedAccount",
        [getAddress(f.accounts.outsider.account.address), pauserRole],
      );
      assert.equal(await points.read.paused(), true);
    });
  });

  describe("permit (ERC-2612)", () => {
    async function signPermit(f: Fixture, spender: Address, value: bigint, deadline: bigint) {
      const { points } = f.tenant;
      const owner = f.accounts.alice;
      const [, name, version, chainId, verifyingContract] = await points.read.eip712Domain();
      const nonce = await points.read.nonces([owner.account.address]);
      const signature = await owner.signTypedData({
        domain: { name, version, chainId, verifyingContract },
        types: {
          Permit: [
            { name: "owner", type: "address" },
            { name: "spender", type: "address" },
            { name: "value", type: "uint256" },
            { name: "nonce", type: "uint256" },
            { name: "deadline", type: "uint256" },
          ],
        },
        primaryType: "Permit",
        message: { owner: owner.account.address, spender, value, nonce, deadline },
      });
      const { r, s, v } = splitSignature(signature);
      return [owner.account.address, spender, value, deadline, v, r, s] as const;
    }

    it("sets an allowance from the holder's signature, submitted by anyone, and refuses a replay", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { points } = f.tenant;
      const [alice, bob] = [f.accounts.alice.account.address, f.accounts.bob.account];
      await points.write.issue([alice, 100n, IssueReason.PURCHASE, asHex("p-1")]);
      const deadline = BigInt(await now(f)) + 3600n;
      const permit = await signPermit(f, bob.address, 40n, deadline);

      await viem.assertions.emitWithArgs(
        points.write.permit([...permit], { account: f.accounts.outsider.account }),
        points,
        "Approval",
        [alice, bob.address, 40n],
      );
      assert.equal(await points.read.allowance([alice, bob.address]), 40n);
      assert.equal(await points.read.nonces([alice]), 1n);
      await points.write.transferFrom([alice, bob.address, 40n], { account: bob });
      assert.equal(await points.read.balanceOf([bob.address]), 40n);

      // The nonce moved on, so the same signature now recovers to someone else.
      await viem.assertions.revertWithCustomErrorWithArgs(
        points.write.permit([...permit], { account: f.accounts.outsider.account }),
        points,
        "ERC2612InvalidSigner",
        [(signer: Address) => getAddress(signer) !== getAddress(alice), getAddress(alice)],
      );
      assert.equal(await points.read.allowance([alice, bob.address]), 0n);
    });

    it("reverts with ERC2612ExpiredSignature after the deadline", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { points } = f.tenant;
      const deadline = BigInt(await now(f)) + 60n;
      const permit = await signPermit(f, f.accounts.bob.account.address, 40n, deadline);
      await networkHelpers.time.increaseTo(deadline + 1n);

      await viem.assertions.revertWithCustomErrorWithArgs(
        points.write.permit([...permit]),
        points,
        "ERC2612ExpiredSignature",
        [deadline],
      );
    });
  });

  describe("relayed through the ERC-2771 forwarder", () => {
    const relayed = async (f: Fixture, signer: Fixture["programme"], data: Hex) =>
      signForwardRequest({
        publicClient: f.publicClient,
        signer,
        forwarder: f.forwarder.address,
        to: f.tenant.points.address,
        data,
        gas: 200_000n,
        deadline: (await now(f)) + 3600,
      });

    it("moves the signer's points, not the relayer's", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { points } = f.tenant;
      const [alice, bob, relayer] = [f.accounts.alice, f.accounts.bob.account, f.accounts.outsider.account];
      await points.write.issue([alice.account.address, 100n, IssueReason.PURCHASE, asHex("p-1")]);
      await points.write.issue([relayer.address, 50n, IssueReason.PURCHASE, asHex("p-2")]);
      const data = encodeFunctionData({ abi: pointsTokenAbi, functionName: "transfer", args: [bob.address, 40n] });
      const request = await relayed(f, alice, data);

      await viem.assertions.emitWithArgs(
        f.forwarder.write.execute([request], { account: relayer }),
        points,
        "Transfer",
        [alice.account.address, bob.address, 40n],
      );

      assert.equal(await points.read.balanceOf([alice.account.address]), 60n);
      assert.equal(await points.read.balanceOf([bob.address]), 40n);
      assert.equal(await points.read.balanceOf([relayer.address]), 50n);
      assert.equal(await f.forwarder.read.nonces([alice.account.address]), 1n);
    });

    it("checks roles against the signer: a minter's relayed mint passes, an outsider's fails even via a minter", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { points } = f.tenant;
      const bob = f.accounts.bob.account.address;
      const data = encodeFunctionData({ abi: pointsTokenAbi, functionName: "mint", args: [bob, 5n] });

      await f.forwarder.write.execute([await relayed(f, f.programme, data)], {
        account: f.accounts.outsider.account,
      });
      assert.equal(await points.read.balanceOf([bob]), 5n);

      await viem.assertions.revertWithCustomError(
        f.forwarder.write.execute([await relayed(f, f.accounts.outsider, data)], { account: f.programme.account }),
        f.forwarder,
        "FailedCall",
      );
      assert.equal(await points.read.balanceOf([bob]), 5n);
    });
  });
});

function splitSignature(signature: Hex): { r: Hex; s: Hex; v: number } {
  return {
    r: `0x${signature.slice(2, 66)}`,
    s: `0x${signature.slice(66, 130)}`,
    v: Number.parseInt(signature.slice(130, 132), 16),
  };
}

// ====================================================================================== multi-token

// RewardToken and StatusToken share MultiTokenUpgradeable: the same class, minting, issuing, burning
// and pausing rules. The RewardToken ABI holds all of those, so it drives both here.
for (const kind of ["reward", "status"] as const) {
  const name = kind === "reward" ? "RewardToken" : "StatusToken";
  const definedId = kind === "reward" ? REWARD_ID : STATUS_ID;
  const baseUri = kind === "reward" ? "ipfs://rewards/{id}" : "ipfs://status/{id}";
  const tokenOf = (f: Fixture) => viem.getContractAt("RewardToken", f.tenant[kind].address);

  describe(`${name} classes and minting`, () => {
    describe("defineClass", () => {
      it("defines a class, emitting TokenClassDefined and URI", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const token = await tokenOf(f);
        assert.equal(await token.read.isClassDefined([42n]), false);

        const hash = await token.write.defineClass([42n, 10n, "ipfs://class-42"]);

        await viem.assertions.emitWithArgs(hash, token, "TokenClassDefined", [42n, 10n, "ipfs://class-42"]);
        await viem.assertions.emitWithArgs(hash, token, "URI", ["ipfs://class-42", 42n]);
        assert.equal(await token.read.isClassDefined([42n]), true);
        assert.equal(await token.read.maxSupply([42n]), 10n);
        assert.equal(await token.read.uri([42n]), "ipfs://class-42");
      });

      it("falls back to the base URI for a class without its own, and for an undefined id", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const token = await tokenOf(f);
        await token.write.defineClass([42n, 0n, "ipfs://class-42"]);
        // Changing a class's URI is the tenant admin's (test/solidity/TokenClassChanges.t.sol).
        const admin = f.accounts.tenantAdmin.account;
        await token.write.grantRole([await token.read.CAMPAIGN_MANAGER_ROLE(), admin.address], { account: admin });
        const hash = await token.write.defineClass([42n, 0n, ""], { account: admin });

        await viem.assertions.emitWithArgs(hash, token, "URI", [baseUri, 42n]);
        assert.equal(await token.read.uri([42n]), baseUri);
        assert.equal(await token.read.uri([definedId]), baseUri);
        assert.equal(await token.read.uri([999n]), baseUri);
      });

      it("reverts with TokenClassMaxSupplyBelowSupply when the cap would fall below the supply", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const token = await tokenOf(f);
        await token.write.defineClass([42n, 10n, ""]);
        await token.write.mint([f.accounts.alice.account.address, 42n, 5n], { account: f.programme.account });

        await viem.assertions.revertWithCustomErrorWithArgs(
          token.write.defineClass([42n, 4n, ""]),
          token,
          "TokenClassMaxSupplyBelowSupply",
          [42n, 4n, 5n],
        );
        await token.write.defineClass([42n, 5n, ""]);
        assert.equal(await token.read.maxSupply([42n]), 5n);
        // Removing a cap is the tenant admin's (test/solidity/TokenClassChanges.t.sol).
        const admin = f.accounts.tenantAdmin.account;
        await token.write.grantRole([await token.read.CAMPAIGN_MANAGER_ROLE(), admin.address], { account: admin });
        await token.write.defineClass([42n, 0n, ""], { account: admin });
        assert.equal(await token.read.maxSupply([42n]), 0n);
      });

      it("reverts with AccessControlUnauthorizedAccount for anyone without CAMPAIGN_MANAGER_ROLE, the admin included", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const token = await tokenOf(f);
        const managerRole = await token.read.CAMPAIGN_MANAGER_ROLE();
        for (const caller of [f.accounts.outsider.account, f.accounts.tenantAdmin.account]) {
          await viem.assertions.revertWithCustomErrorWithArgs(
            token.write.defineClass([42n, 0n, ""], { account: caller }),
            token,
            "AccessControlUnauthorizedAccount",
            [getAddress(caller.address), managerRole],
          );
        }
      });
    });

    describe("mint", () => {
      it("mints a defined class for a minter, with TransferSingle", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const token = await tokenOf(f);
        const alice = f.accounts.alice.account.address;

        await viem.assertions.emitWithArgs(
          token.write.mint([alice, definedId, 3n], { account: f.programme.account }),
          token,
          "TransferSingle",
          [f.programme.account.address, zeroAddress, alice, definedId, 3n],
        );
        assert.equal(await token.read.balanceOf([alice, definedId]), 3n);
      });

      it("reverts with TokenClassUndefined for an id that is not a class", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const token = await tokenOf(f);

        await viem.assertions.revertWithCustomErrorWithArgs(
          token.write.mint([f.accounts.alice.account.address, 999n, 1n], { account: f.programme.account }),
          token,
          "TokenClassUndefined",
          [999n],
        );
      });

      it("mints up to the maximum supply and reverts with TokenClassMaxSupplyExceeded beyond it", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const token = await tokenOf(f);
        const [alice, bob] = [f.accounts.alice.account.address, f.accounts.bob.account.address];
        const minter = { account: f.programme.account };
        await token.write.defineClass([42n, 10n, ""]);
        await token.write.mint([alice, 42n, 7n], minter);

        await viem.assertions.revertWithCustomErrorWithArgs(
          token.write.mint([bob, 42n, 4n], minter),
          token,
          "TokenClassMaxSupplyExceeded",
          [42n, 10n, 11n],
        );
        await token.write.mint([bob, 42n, 3n], minter);
        assert.equal(await token.read.totalSupply([42n]), 10n);
        await viem.assertions.revertWithCustomErrorWithArgs(
          token.write.mint([bob, 42n, 1n], minter),
          token,
          "TokenClassMaxSupplyExceeded",
          [42n, 10n, 11n],
        );
      });

      it("treats a maximum supply of 0 as unlimited", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const token = await tokenOf(f);
        const alice = f.accounts.alice.account.address;
        const large = 10n ** 30n;
        assert.equal(await token.read.maxSupply([definedId]), 0n);

        await token.write.mint([alice, definedId, large], { account: f.programme.account });
        await token.write.mint([alice, definedId, large], { account: f.programme.account });

        assert.equal(await token.read.totalSupply([definedId]), 2n * large);
      });

      it("reverts with AccessControlUnauthorizedAccount for anyone without MINTER_ROLE", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const token = await tokenOf(f);
        const minterRole = await token.read.MINTER_ROLE();
        for (const caller of [f.accounts.outsider.account, f.accounts.platform.account]) {
          await viem.assertions.revertWithCustomErrorWithArgs(
            token.write.mint([caller.address, definedId, 1n], { account: caller }),
            token,
            "AccessControlUnauthorizedAccount",
            [getAddress(caller.address), minterRole],
          );
        }
      });
    });

    describe("issue", () => {
      it("mints for the issuer and emits Issued with the reason and reference", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const token = await tokenOf(f);
        const alice = f.accounts.alice.account.address;
        const ref = asHex("grant-7");

        await viem.assertions.emitWithArgs(
          token.write.issue([alice, definedId, 2n, IssueReason.GRANT, ref]),
          token,
          "Issued",
          [alice, definedId, 2n, IssueReason.GRANT, ref],
        );
        assert.equal(await token.read.balanceOf([alice, definedId]), 2n);
        assert.equal(await token.read.isReferenceUsed([ref]), true);
      });

      it("reverts with TokenReferenceUsed, TokenReferenceMissing and the class rules", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const token = await tokenOf(f);
        const alice = f.accounts.alice.account.address;
        const ref = asHex("grant-7");
        await token.write.issue([alice, definedId, 2n, IssueReason.GRANT, ref]);

        await viem.assertions.revertWithCustomErrorWithArgs(
          token.write.issue([alice, definedId, 1n, IssueReason.PURCHASE, ref]),
          token,
          "TokenReferenceUsed",
          [ref],
        );
        await viem.assertions.revertWithCustomError(
          token.write.issue([alice, definedId, 1n, IssueReason.PURCHASE, `0x${"00".repeat(32)}`]),
          token,
          "TokenReferenceMissing",
        );
        await viem.assertions.revertWithCustomErrorWithArgs(
          token.write.issue([alice, 999n, 1n, IssueReason.PURCHASE, asHex("grant-8")]),
          token,
          "TokenClassUndefined",
          [999n],
        );
        // A reverted issue leaves its reference unused.
        assert.equal(await token.read.isReferenceUsed([asHex("grant-8")]), false);
      });

      it("reverts with AccessControlUnauthorizedAccount for anyone without ISSUER_ROLE, a minter included", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const token = await tokenOf(f);
        const issuerRole = await token.read.ISSUER_ROLE();
        for (const caller of [f.accounts.outsider.account, f.programme.account]) {
          await viem.assertions.revertWithCustomErrorWithArgs(
            token.write.issue([caller.address, definedId, 1n, IssueReason.GRANT, asHex("g")], { account: caller }),
            token,
            "AccessControlUnauthorizedAccount",
            [getAddress(caller.address), issuerRole],
          );
        }
      });
    });

    describe("programmeBurn", () => {
      it("burns a holder's tokens for a burner, and refuses others and overdrafts", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const token = await tokenOf(f);
        const alice = f.accounts.alice.account.address;
        const burner = { account: f.programme.account };
        await token.write.mint([alice, definedId, 5n], burner);

        await viem.assertions.emitWithArgs(
          token.write.programmeBurn([alice, definedId, 2n], burner),
          token,
          "TransferSingle",
          [f.programme.account.address, alice, zeroAddress, definedId, 2n],
        );
        assert.equal(await token.read.balanceOf([alice, definedId]), 3n);
        assert.equal(await token.read.totalSupply([definedId]), 3n);

        await viem.assertions.revertWithCustomErrorWithArgs(
          token.write.programmeBurn([alice, definedId, 4n], burner),
          token,
          "ERC1155InsufficientBalance",
          [getAddress(alice), 3n, 4n, definedId],
        );
        const outsider = f.accounts.outsider.account;
        await viem.assertions.revertWithCustomErrorWithArgs(
          token.write.programmeBurn([alice, definedId, 1n], { account: outsider }),
          token,
          "AccessControlUnauthorizedAccount",
          [getAddress(outsider.address), await token.read.BURNER_ROLE()],
        );
      });

      it("lets a holder burn her own tokens (ERC1155Burnable)", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const token = await tokenOf(f);
        const alice = f.accounts.alice.account;
        await token.write.mint([alice.address, definedId, 5n], { account: f.programme.account });

        await token.write.burn([alice.address, definedId, 5n], { account: alice });

        assert.equal(await token.read.balanceOf([alice.address, definedId]), 0n);
        assert.equal(await token.read.totalSupply([definedId]), 0n);
      });
    });

    describe("pause and unpause", () => {
      it("blocks mints, issues and burns with EnforcedPause until unpaused; only a pauser may pause", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const token = await tokenOf(f);
        const [alice, admin] = [f.accounts.alice.account, f.accounts.tenantAdmin.account];
        const programme = { account: f.programme.account };
        await token.write.mint([alice.address, definedId, 5n], programme);
        await viem.assertions.revertWithCustomErrorWithArgs(
          token.write.pause({ account: f.accounts.platform.account }),
          token,
          "AccessControlUnauthorizedAccount",
          [getAddress(f.accounts.platform.account.address), await token.read.PAUSER_ROLE()],
        );

        await token.write.pause({ account: admin });

        const blocked = [
          () => token.write.mint([alice.address, definedId, 1n], programme),
          () => token.write.issue([alice.address, definedId, 1n, IssueReason.GRANT, asHex("g")]),
          () => token.write.programmeBurn([alice.address, definedId, 1n], programme),
          () => token.write.burn([alice.address, definedId, 1n], { account: alice }),
        ];
        for (const call of blocked) {
          await viem.assertions.revertWithCustomError(call(), token, "EnforcedPause");
        }
        await token.write.unpause({ account: admin });
        await token.write.mint([alice.address, definedId, 1n], programme);
        assert.equal(await token.read.balanceOf([alice.address, definedId]), 6n);
      });
    });
  });
}

// ============================================================================= reward transfers

describe("RewardToken transfers", () => {
  it("moves rewards between holders, directly and by an approved operator", async () => {
    const f = await networkHelpers.loadFixture(fixture);
    const { reward } = f.tenant;
    const [alice, bob] = [f.accounts.alice.account, f.accounts.bob.account];
    await reward.write.mint([alice.address, REWARD_ID, 5n], { account: f.programme.account });

    await viem.assertions.emitWithArgs(
      reward.write.safeTransferFrom([alice.address, bob.address, REWARD_ID, 2n, "0x"], { account: alice }),
      reward,
      "TransferSingle",
      [alice.address, alice.address, bob.address, REWARD_ID, 2n],
    );
    await reward.write.setApprovalForAll([bob.address, true], { account: alice });
    await reward.write.safeBatchTransferFrom([alice.address, bob.address, [REWARD_ID], [1n], "0x"], {
      account: bob,
    });

    assert.equal(await reward.read.balanceOf([alice.address, REWARD_ID]), 2n);
    assert.equal(await reward.read.balanceOf([bob.address, REWARD_ID]), 3n);
  });

  it("blocks transfers with EnforcedPause while paused", async () => {
    const f = await networkHelpers.loadFixture(fixture);
    const { reward } = f.tenant;
    const [alice, bob] = [f.accounts.alice.account, f.accounts.bob.account];
    await reward.write.mint([alice.address, REWARD_ID, 5n], { account: f.programme.account });
    await reward.write.pause({ account: f.accounts.tenantAdmin.account });

    await viem.assertions.revertWithCustomError(
      reward.write.safeTransferFrom([alice.address, bob.address, REWARD_ID, 1n, "0x"], { account: alice }),
      reward,
      "EnforcedPause",
    );
    assert.equal(await reward.read.balanceOf([alice.address, REWARD_ID]), 5n);
  });
});

// ================================================================================ status soulbound

describe("StatusToken soulbinding", () => {
  async function holding(f: Fixture) {
    const { status } = f.tenant;
    const [alice, bob] = [f.accounts.alice.account, f.accounts.bob.account];
    await status.write.mint([alice.address, STATUS_ID, 2n], { account: f.programme.account });
    return { status, alice, bob };
  }

  it("reverts safeTransferFrom with StatusTokenSoulbound, even by the holder", async () => {
    const f = await networkHelpers.loadFixture(fixture);
    const { status, alice, bob } = await holding(f);

    await viem.assertions.revertWithCustomErrorWithArgs(
      status.write.safeTransferFrom([alice.address, bob.address, STATUS_ID, 1n, "0x"], { account: alice }),
      status,
      "StatusTokenSoulbound",
      [getAddress(alice.address), getAddress(bob.address)],
    );
    assert.equal(await status.read.balanceOf([alice.address, STATUS_ID]), 2n);
  });

  it("refuses approvals, so that no operator can move or burn a holder's status", async () => {
    const f = await networkHelpers.loadFixture(fixture);
    const { status, alice, bob } = await holding(f);
    await viem.assertions.revertWithCustomErrorWithArgs(
      status.write.setApprovalForAll([bob.address, true], { account: alice }),
      status,
      "StatusTokenApprovalRefused",
      [getAddress(alice.address), getAddress(bob.address)],
    );
    assert.equal(await status.read.isApprovedForAll([alice.address, bob.address]), false);

    await viem.assertions.revertWithCustomErrorWithArgs(
      status.write.safeTransferFrom([alice.address, bob.address, STATUS_ID, 1n, "0x"], { account: bob }),
      status,
      "ERC1155MissingApprovalForAll",
      [getAddress(bob.address), getAddress(alice.address)],
    );
    await viem.assertions.revertWithCustomErrorWithArgs(
      status.write.burn([alice.address, STATUS_ID, 1n], { account: bob }),
      status,
      "ERC1155MissingApprovalForAll",
      [getAddress(bob.address), getAddress(alice.address)],
    );
    assert.equal(await status.read.balanceOf([alice.address, STATUS_ID]), 2n);
    assert.equal(await status.read.balanceOf([bob.address, STATUS_ID]), 0n);
  });

  it("still mints, issues and burns", async () => {
    const f = await networkHelpers.loadFixture(fixture);
    const { status, alice } = await holding(f);

    await status.write.issue([alice.address, STATUS_ID, 1n, IssueReason.GRANT, asHex("tier-gold")]);
    await status.write.burn([alice.address, STATUS_ID, 1n], { account: alice });
    await status.write.programmeBurn([alice.address, STATUS_ID, 1n], { account: f.programme.account });

    assert.equal(await status.read.balanceOf([alice.address, STATUS_ID]), 1n);
    assert.equal(await status.read.totalSupply([STATUS_ID]), 1n);
  });
});
