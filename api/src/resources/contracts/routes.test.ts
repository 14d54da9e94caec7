import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Hex } from "viem";
import { tenantFactoryAbi } from "../../../../abi/tenantFactory.ts";
import { implementationOf } from "../../../../test/helpers/erc1967.ts";
import { callersOf, everyLevel, type Callers } from "../../../test/levelCallers.ts";
import { faultyChain, hardhatWallet, type FaultyChain } from "../../../test/chains.ts";
import {
  createTestTenant,
  isProblem,
  PLATFORM_KEY,
  startTestApiOn,
  startTestChain,
  testDatabases,
  type TestApi,
  type TestChain,
  type TestTenant,
} from "../../../test/harness.ts";

const CHAIN_ID = 31337;

let base: TestChain;
let chain: FaultyChain;
before(async () => {
  base = await startTestChain();
  chain = faultyChain(base);
});
after(async () => base.close());

for (const database of testDatabases()) {
  describe(`/contracts on ${database.name}`, () => {
    let api: TestApi;
    let a: TestTenant;
    let b: TestTenant;
    let callers: Callers;
    let secondPoints: Hex;

    before(async () => {
      api = await startTestApiOn(database, { chain });
      const admin = hardhatWallet(base, 6);
      a = await createTestTenant(api, { adminAddress: admin.account.address });
      b = await createTestTenant(api);
      callers = await callersOf(api, a);
      const { publicClient, walletClient } = base.chains.get(CHAIN_ID)!;
      const hash = await admin.writeContract({
        address: a.tenant.contracts.tenantFactory,
        abi: tenantFactoryAbi,
        functionName: "addPointsToken",
        args: [
          a.tenant.onchainId,
          { name: "Miles", symbol: "MLS", decimals: 0, issuers: [walletClient.account.address] },
        ],
      });
      await publicClient.waitForTransactionReceipt({ hash });
      secondPoints = (
        await publicClient.readContract({
          address: a.tenant.contracts.tenantFactory,
          abi: tenantFactoryAbi,
          functionName: "getPointsTokens",
          args: [a.tenant.onchainId],
        })
      )[1]!;
    });
    after(() => api.close());

    it("lists the tenant's suite and every points token with the implementation each proxy runs", async () => {
      const { publicClient, deployment } = base.chains.get(CHAIN_ID)!;
      const answer = await api.request("GET", "/contracts", { projectKey: a.projectKey });
      assert.equal(answer.status, 200, answer.text);
      assert.equal(answer.body.chainId, CHAIN_ID);
      assert.equal(answer.body.onchainId, a.tenant.onchainId);
      assert.equal(answer.body.forwarder, deployment.contracts.forwarder);
      assert.equal(answer.body.factory, deployment.contracts.tenantFactory);
      const suite = a.tenant.contracts;
      assert.deepEqual(
        answer.body.contracts.map((contract: { kind: string; address: string; index: number }) => [
          contract.kind,
          contract.address,
          contract.index,
        ]),
        [
          ["POINTS_TOKEN", suite.pointsToken, 0],
          ["POINTS_TOKEN", secondPoints, 1],
          ["REWARD_TOKEN", suite.rewardToken, 0],
          ["STATUS_TOKEN", suite.statusToken, 0],
          ["CAMPAIGN_REGISTRY", suite.campaignRegistry, 0],
          ["REDEMPTION_REGISTRY", suite.redemptionRegistry, 0],
        ],
      );
      const deployed: Record<string, string> = {
        POINTS_TOKEN: deployment.contracts.implementations.PointsToken,
        REWARD_TOKEN: deployment.contracts.implementations.RewardToken,
        STATUS_TOKEN: deployment.contracts.implementations.StatusToken,
        CAMPAIGN_REGISTRY: deployment.contracts.implementations.CampaignRegistry,
        REDEMPTION_REGISTRY: deployment.contracts.implementations.RedemptionRegistry,
      };
      for (const contract of answer.body.contracts) {
        assert.equal(contract.implementation, await implementationOf(publicClient, contract.address), contract.kind);
        assert.equal(contract.implementation, deployed[contract.kind], contract.kind);
        assert.equal(contract.factoryImplementation, deployed[contract.kind]);
      }
      assert.notEqual(deployed.POINTS_TOKEN, deployed.REWARD_TOKEN, "the kinds run different code");
    });

    it("answers every level of the tenant alike, 401 without a credential, 403 to the platform", async () => {
      const reference = await api.request("GET", "/contracts", { projectKey: a.projectKey });
      for (const caller of everyLevel(callers)) {
        const answer = await api.request("GET", "/contracts", caller.credential);
        assert.equal(answer.status, 200, caller.level);
        assert.deepEqual(answer.body, reference.body, caller.level);
      }
      const anonymous = await api.request("GET", "/contracts");
      assert.equal(anonymous.status, 401);
      assert.ok(isProblem(anonymous));
      assert.equal((await api.request("GET", "/contracts", { apiKey: PLATFORM_KEY })).status, 403);
    });

    it("answers 503 while the chain does not answer", async () => {
      chain.breakChain(CHAIN_ID);
      try {
        const answer = await api.request("GET", "/contracts", callers.ADMIN.credential);
        assert.equal(answer.status, 503, answer.text);
        assert.ok(isProblem(answer));
        assert.equal(answer.body.type, "/problems/unavailable");
      } finally {
        chain.restore(CHAIN_ID);
      }
    });

    it("isolation: no caller of tenant A sees tenant B's contracts", async () => {
      const own = await api.request("GET", "/contracts", { projectKey: b.projectKey });
      assert.equal(own.body.onchainId, b.tenant.onchainId);
      const bValues = [
        b.tenant.onchainId,
        b.tenant.contracts.pointsToken,
        b.tenant.contracts.rewardToken,
        b.tenant.contracts.statusToken,
        b.tenant.contracts.campaignRegistry,
        b.tenant.contracts.redemptionRegistry,
      ];
      for (const credential of [{ projectKey: a.projectKey }, ...everyLevel(callers).map((c) => c.credential)]) {
        const answer = await api.request("GET", "/contracts", credential);
        assert.equal(answer.status, 200);
        for (const value of bValues) assert.ok(!answer.text.includes(value), `B's ${value}`);
      }
    });
  });
}
