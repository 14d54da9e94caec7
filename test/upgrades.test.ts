// The upgrade rule (UPGRADER_ROLE of the tenant AND an implementation the protocol approved for the
// contract's kind) on chain, and storage-layout safety of the implementations off chain.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { silenceWarnings } from "@openzeppelin/upgrades-core";
import { network } from "hardhat";
import { getAddress } from "viem";

import { ContractKind, IssueReason } from "../abi/enums.ts";
import { IMPLEMENTATION_CONTRACTS } from "../deploy/protocol.ts";
import { implementationOf } from "./helpers/erc1967.ts";
import { asHex, tenantFixture } from "./helpers/fixtures.ts";
import { checkStorageUpgrade, checkUpgradeSafe } from "./helpers/upgrade-safety.ts";

const { viem, networkHelpers } = await network.create();

/** A tenant whose points token has state worth keeping, and a PointsTokenV2 implementation (not yet approved). */
async function upgradeFixture() {
  const f = await tenantFixture(viem);
  const { points } = f.tenant;
  const { alice, bob, tenantAdmin } = f.accounts;
  await points.write.issue([alice.account.address, 500n, IssueReason.PURCHASE, asHex("order-1")]);
  await points.write.transfer([bob.account.address, 120n], { account: alice.account });
  await points.write.approve([bob.account.address, 30n], { account: alice.account });
  const pointsV2 = await viem.deployContract("PointsTokenV2", [f.forwarder.address]);
  return { ...f, pointsV2, admin: tenantAdmin };
}

const fixture = () => upgradeFixture();

describe("upgrading a tenant contract", () => {
  it("lets the tenant admin upgrade the points token to an approved implementation, keeping its state", async () => {
    const f = await networkHelpers.loadFixture(fixture);
    const { points } = f.tenant;
    const { alice, bob, platform } = f.accounts;
    await f.factory.write.setImplementationApproval([ContractKind.POINTS_TOKEN, f.pointsV2.address, true]);

    await viem.assertions.emitWithArgs(
      points.write.upgradeToAndCall([f.pointsV2.address, "0x"], { account: f.admin.account }),
      points,
      "Upgraded",
      [f.pointsV2.address],
    );

    assert.equal(await implementationOf(f.publicClient, points.address), getAddress(f.pointsV2.address));
    const upgraded = await viem.getContractAt("PointsTokenV2", points.address);
    assert.equal(await upgraded.read.version(), "2");
    assert.equal(await upgraded.read.bonusBasisPoints(), 0n);
    assert.equal(await upgraded.read.balanceOf([alice.account.address]), 380n);
    assert.equal(await upgraded.read.balanceOf([bob.account.address]), 120n);
    assert.equal(await upgraded.read.totalSupply(), 500n);
    assert.equal(await upgraded.read.allowance([alice.account.address, bob.account.address]), 30n);
    assert.equal(await upgraded.read.decimals(), 18);
    assert.equal(await upgraded.read.name(), "Points");
    assert.equal(await upgraded.read.isReferenceUsed([asHex("order-1")]), true);
    assert.equal(await upgraded.read.factory(), getAddress(f.factory.address));
    const admin = f.admin.account.address;
    assert.equal(await upgraded.read.hasRole([await upgraded.read.DEFAULT_ADMIN_ROLE(), admin]), true);
    assert.equal(await upgraded.read.hasRole([await upgraded.read.UPGRADER_ROLE(), admin]), true);
    assert.equal(await upgraded.read.hasRole([await upgraded.read.PAUSER_ROLE(), admin]), true);
    const minter = f.tenant.suite.campaignRegistry;
    assert.equal(await upgraded.read.hasRole([await upgraded.read.MINTER_ROLE(), minter]), true);
    assert.equal(await upgraded.read.hasRole([await upgraded.read.ISSUER_ROLE(), platform.account.address]), true);

    // Still works as a token after the upgrade, including the used-reference guard.
    await upgraded.write.transfer([bob.account.address, 80n], { account: alice.account });
    assert.equal(await upgraded.read.balanceOf([bob.account.address]), 200n);
    await viem.assertions.revertWithCustomErrorWithArgs(
      upgraded.write.issue([alice.account.address, 1n, IssueReason.PURCHASE, asHex("order-1")]),
      upgraded,
      "TokenReferenceUsed",
      [asHex("order-1")],
    );
  });

  it("reverts with TenantUpgradeNotApproved before the protocol approves the implementation", async () => {
    const f = await networkHelpers.loadFixture(fixture);
    const { points } = f.tenant;

    await viem.assertions.revertWithCustomErrorWithArgs(
      points.write.upgradeToAndCall([f.pointsV2.address, "0x"], { account: f.admin.account }),
      points,
      "TenantUpgradeNotApproved",
      [ContractKind.POINTS_TOKEN, getAddress(f.pointsV2.address)],
    );
    assert.equal(
      await implementationOf(f.publicClient, points.address),
      f.deployment.contracts.implementations.PointsToken,
    );
  });

  for (const who of ["platform", "outsider"] as const) {
    it(`reverts with AccessControlUnauthorizedAccount when the ${who === "platform" ? "operator (also the protocol owner)" : "outsider"} upgrades to an approved implementation`, async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { points } = f.tenant;
      const caller = f.accounts[who];
      await f.factory.write.setImplementationApproval([ContractKind.POINTS_TOKEN, f.pointsV2.address, true]);

      await viem.assertions.revertWithCustomErrorWithArgs(
        points.write.upgradeToAndCall([f.pointsV2.address, "0x"], { account: caller.account }),
        points,
        "AccessControlUnauthorizedAccount",
        [getAddress(caller.account.address), await points.read.UPGRADER_ROLE()],
      );
    });
  }

  it("refuses the protocol owner's upgrade even after ownership moved to another wallet", async () => {
    const f = await networkHelpers.loadFixture(fixture);
    const { points } = f.tenant;
    const { protocolOwner } = f.accounts;
    await f.factory.write.transferOwnership([protocolOwner.account.address]);
    await f.factory.write.acceptOwnership({ account: protocolOwner.account });
    await f.factory.write.setImplementationApproval([ContractKind.POINTS_TOKEN, f.pointsV2.address, true], {
      account: protocolOwner.account,
    });
    assert.equal(await f.factory.read.owner(), getAddress(protocolOwner.account.address));
    assert.equal(f.deployment.deployer, getAddress(f.accounts.platform.account.address));

    await viem.assertions.revertWithCustomErrorWithArgs(
      points.write.upgradeToAndCall([f.pointsV2.address, "0x"], { account: protocolOwner.account }),
      points,
      "AccessControlUnauthorizedAccount",
      [getAddress(protocolOwner.account.address), await points.read.UPGRADER_ROLE()],
    );
  });

  it("reverts with TenantUpgradeNotApproved for an implementation approved for another kind", async () => {
    const f = await networkHelpers.loadFixture(fixture);
    const { points } = f.tenant;
    const rewardImplementation = f.deployment.contracts.implementations.RewardToken;
    assert.equal(
      await f.factory.read.isApprovedImplementation([ContractKind.REWARD_TOKEN, rewardImplementation]),
      true,
    );

    await viem.assertions.revertWithCustomErrorWithArgs(
      points.write.upgradeToAndCall([rewardImplementation, "0x"], { account: f.admin.account }),
      points,
      "TenantUpgradeNotApproved",
      [ContractKind.POINTS_TOKEN, rewardImplementation],
    );
  });

  it("reverts with TenantUpgradeNotApproved again once the approval is withdrawn", async () => {
    const f = await networkHelpers.loadFixture(fixture);
    const { points } = f.tenant;
    await f.factory.write.setImplementationApproval([ContractKind.POINTS_TOKEN, f.pointsV2.address, true]);
    await f.factory.write.setImplementationApproval([ContractKind.POINTS_TOKEN, f.pointsV2.address, false]);

    await viem.assertions.revertWithCustomErrorWithArgs(
      points.write.upgradeToAndCall([f.pointsV2.address, "0x"], { account: f.admin.account }),
      points,
      "TenantUpgradeNotApproved",
      [ContractKind.POINTS_TOKEN, getAddress(f.pointsV2.address)],
    );
  });
});

describe("upgrade safety (off chain, @openzeppelin/upgrades-core)", () => {
  silenceWarnings();

  for (const name of IMPLEMENTATION_CONTRACTS) {
    it(`${name} is a safe UUPS implementation`, async () => {
      const report = await checkUpgradeSafe(name);
      assert.equal(report.ok, true, report.explain());
      assert.deepEqual(report.errors, []);
    });
  }

  it("accepts PointsToken -> PointsTokenV2, which only adds a namespace", async () => {
    const safety = await checkUpgradeSafe("PointsTokenV2");
    assert.equal(safety.ok, true, safety.explain());
    const report = await checkStorageUpgrade("PointsToken", "PointsTokenV2");
    assert.equal(report.ok, true, report.explain());
  });

  it("reports PointsToken -> PointsTokenV2Incompatible, which inserts a field before decimals", async () => {
    const report = await checkStorageUpgrade("PointsToken", "PointsTokenV2Incompatible");
    assert.equal(report.ok, false);
    const explanation = report.explain();
    assert.match(explanation, /PointsTokenV2Incompatible\.sol:\d+: Inserted `issuedCount`/);
  });

  it("guards against a real corruption: on chain, the incompatible layout loses decimals and used references", async () => {
    const f = await networkHelpers.loadFixture(fixture);
    const { points } = f.tenant;
    const broken = await viem.deployContract("PointsTokenV2Incompatible", [f.forwarder.address]);
    await f.factory.write.setImplementationApproval([ContractKind.POINTS_TOKEN, broken.address, true]);

    await points.write.upgradeToAndCall([broken.address, "0x"], { account: f.admin.account });

    assert.equal(await points.read.decimals(), 0);
    assert.equal(await points.read.isReferenceUsed([asHex("order-1")]), false);
  });
});
