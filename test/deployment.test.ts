import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { network } from "hardhat";
import { parseUnits, zeroAddress } from "viem";
import { ContractKind } from "../abi/enums.ts";
import { readDeployment, rpcUrlVariableFor, writeDeployment } from "../deploy/deployment-file.ts";
import { createDemoTenant } from "../deploy/demo-tenant.ts";
import { IMPLEMENTATION_CONTRACTS } from "../deploy/protocol.ts";
import { protocolFixture } from "./helpers/fixtures.ts";

const { viem, networkHelpers } = await network.create();
const fixture = () => protocolFixture(viem);

describe("deployProtocol", () => {
  it("makes every implementation current and approved in the factory, each for its own kind", async () => {
    const { deployment, factory } = await networkHelpers.loadFixture(fixture);
    for (const name of IMPLEMENTATION_CONTRACTS) {
      const address = deployment.contracts.implementations[name];
      const kind = await (await viem.getContractAt(name, address)).read.contractKind();
      assert.equal(
        kind,
        ContractKind[name.replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase() as keyof typeof ContractKind],
      );
      assert.equal((await factory.read.currentImplementation([kind])).toLowerCase(), address.toLowerCase());
      assert.equal(await factory.read.isApprovedImplementation([kind, address]), true);
    }
  });

  it("makes every implementation trust the deployed forwarder", async () => {
    const { deployment } = await networkHelpers.loadFixture(fixture);
    for (const name of IMPLEMENTATION_CONTRACTS) {
      const implementation = await viem.getContractAt(name, deployment.contracts.implementations[name]);
      assert.equal(await implementation.read.isTrustedForwarder([deployment.contracts.forwarder]), true);
    }
  });

  it("records the deployer as the factory's owner and a start block no later than the factory's", async () => {
    const { deployment, factory, accounts } = await networkHelpers.loadFixture(fixture);
    assert.equal((await factory.read.owner()).toLowerCase(), accounts.platform.account.address.toLowerCase());
    assert.equal(deployment.owner.toLowerCase(), accounts.platform.account.address.toLowerCase());
    assert.ok(deployment.startBlock <= deployment.contracts.tenantFactoryBlock);
  });
});

describe("deployment files", () => {
  const tempDir = () => mkdtempSync(join(tmpdir(), "pers-deployments-"));

  it("round-trips through deployments/<chainId>.json", async () => {
    const { deployment } = await networkHelpers.loadFixture(fixture);
    const dir = tempDir();
    const written = { ...deployment, network: "hardhat", rpcUrlVariable: rpcUrlVariableFor(deployment.chainId) };
    const path = writeDeployment(written, dir);
    assert.equal(path, join(dir, `${deployment.chainId}.json`));
    assert.deepEqual(readDeployment(deployment.chainId, dir), written);
    assert.equal(written.rpcUrlVariable, "RPC_URL_31337");
  });

  it("names the file when a chain has no deployment", () => {
    const dir = tempDir();
    assert.throws(
      () => readDeployment(5, dir),
      (error: Error) => error.message.includes(join(dir, "5.json")),
    );
  });

  it("refuses a file that is not a deployment of the chain it is named for", async () => {
    const { deployment } = await networkHelpers.loadFixture(fixture);
    const dir = tempDir();
    writeFileSync(join(dir, "10.json"), JSON.stringify({ ...deployment, network: "x", rpcUrlVariable: "X" }));
    assert.throws(() => readDeployment(10, dir), /is not a deployment of chain 10/);
    writeFileSync(
      join(dir, "31337.json"),
      JSON.stringify({ ...deployment, contracts: { ...deployment.contracts, forwarder: "0x1234" } }),
    );
    assert.throws(() => readDeployment(31337, dir), /is not a deployment of chain 31337/);
  });
});

describe("the demo tenant", () => {
  it("has a campaign its customer has claimed and an offer the customer can redeem", async () => {
    const { deployment } = await networkHelpers.loadFixture(fixture);
    const full = { ...deployment, network: "hardhat", rpcUrlVariable: rpcUrlVariableFor(deployment.chainId) };
    const demo = await createDemoTenant(viem, full);
    const points = await viem.getContractAt("PointsToken", demo.suite.pointsToken);
    const reward = await viem.getContractAt("RewardToken", demo.suite.rewardToken);
    const redemptions = await viem.getContractAt("RedemptionRegistry", demo.suite.redemptionRegistry);
    assert.equal(await points.read.balanceOf([demo.customer]), parseUnits("100", 18));

    const [, , customer] = await viem.getWalletClients();
    const publicClient = await viem.getPublicClient();
    await publicClient.waitForTransactionReceipt({
      hash: await redemptions.write.redeem([demo.offerId, 1n, zeroAddress], { account: customer!.account }),
    });
    assert.equal(await points.read.balanceOf([demo.customer]), parseUnits("50", 18));
    assert.equal(await reward.read.balanceOf([demo.customer, demo.rewardId]), 1n);
  });
});
