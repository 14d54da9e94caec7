import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { getAddress } from "viem";
import { campaignTokens } from "../../db/schema.ts";
import { tenantScope } from "../../db/scope.ts";
import {
  createTestTenant,
  isProblem,
  startTestApiOn,
  startTestChain,
  testDatabases,
  type RequestOptions,
  type TestApi,
  type TestChain,
  type TestTenant,
} from "../../../test/harness.ts";
import { campaignCallers, type CampaignCallers } from "../../../test/campaign-fixtures.ts";

const fieldsOf = (response: { body: any }) => response.body.errors.map((error: { path: string }) => error.path);
const MAX_UINT88 = (2n ** 88n - 1n).toString();
// Races show on PostgreSQL only (PGlite serves one request's statements at a time).
const RACERS = 10;
const statusesOf = (responses: { status: number }[]) => responses.map((response) => response.status).sort();

let chain: TestChain;
before(async () => (chain = await startTestChain()));
after(async () => chain.close());

for (const database of testDatabases()) {
  describe(`/campaigns/:id/tokens on ${database.name}`, () => {
    let api: TestApi;
    let a: TestTenant;
    let b: TestTenant;
    let aCallers: CampaignCallers;
    let bCampaign: string;
    let bPayout: { id: string; amount: string };

    const create = async (tenant: TestTenant, body: Record<string, unknown>) => {
      const created = await api.request("POST", "/campaigns", { token: tenant.adminToken, body });
      assert.equal(created.status, 201, created.text);
      return created.body.id as string;
    };

    before(async () => {
      api = await startTestApiOn(database, { chain });
      a = await createTestTenant(api);
      b = await createTestTenant(api);
      aCallers = await campaignCallers(api, a);
      bCampaign = await create(b, { title: "B pays", status: "ACTIVE" });
      const payout = await api.request("POST", `/campaigns/${bCampaign}/tokens`, {
        token: b.adminToken,
        body: { tokenAddress: b.tenant.contracts.pointsToken, amount: "987654321" },
      });
      assert.equal(payout.status, 201);
      bPayout = payout.body;
    });
    after(() => api.close());

    it("adds payouts of the tenant's own tokens, lists and removes them", async () => {
      const id = await create(a, { title: "Pays", status: "ACTIVE" });
      const path = `/campaigns/${id}/tokens`;
      const { pointsToken, rewardToken, statusToken } = a.tenant.contracts;
      const points = await api.request("POST", path, {
        token: a.adminToken,
        body: { tokenAddress: pointsToken.toLowerCase(), amount: "00100" },
      });
      assert.equal(points.status, 201, points.text);
      assert.equal(points.body.tokenAddress, getAddress(pointsToken));
      assert.equal(points.body.token, "pointsToken");
      assert.equal(points.body.tokenId, "0");
      assert.equal(points.body.amount, "100");
      const reward = await api.request("POST", path, {
        apiKey: aCallers.system.apiKey,
        body: { tokenAddress: rewardToken, tokenId: "3", amount: "1" },
      });
      assert.equal(reward.status, 201);
      assert.equal(reward.body.token, "rewardToken");
      assert.equal(reward.body.tokenId, "3");
      const status = await api.request("POST", path, {
        token: a.adminToken,
        body: { tokenAddress: statusToken, tokenId: "1", amount: MAX_UINT88 },
      });
      assert.equal(status.status, 201);
      assert.equal(status.body.amount, MAX_UINT88);

      for (const [who, caller] of [["public", { projectKey: a.projectKey }], ...Object.entries(aCallers.levels)]) {
        const list = await api.request("GET", path, caller as RequestOptions);
        assert.equal(list.status, 200, who as string);
        assert.deepEqual(
          list.body.data.map((row: { token: string; amount: string }) => `${row.token}:${row.amount}`),
          ["pointsToken:100", "rewardToken:1", `statusToken:${MAX_UINT88}`],
        );
      }
      assert.equal((await api.request("DELETE", `${path}/${reward.body.id}`, { token: a.adminToken })).status, 204);
      assert.equal((await api.request("DELETE", `${path}/${reward.body.id}`, { token: a.adminToken })).status, 404);
      const after = await api.request("GET", path, { token: a.adminToken });
      assert.deepEqual(
        after.body.data.map((row: { id: string }) => row.id),
        [points.body.id, status.body.id],
      );
    });

    it("refuses a token twice, points with an id, zero or oversized amounts, and foreign tokens", async () => {
      const id = await create(a, { title: "Strict payouts" });
      const path = `/campaigns/${id}/tokens`;
      const { pointsToken, rewardToken } = a.tenant.contracts;
      assert.equal(
        (await api.request("POST", path, { token: a.adminToken, body: { tokenAddress: rewardToken, amount: "5" } }))
          .status,
        201,
      );
      const twice = await api.request("POST", path, {
        token: a.adminToken,
        body: { tokenAddress: rewardToken, tokenId: "9", amount: "5" },
      });
      assert.equal(twice.status, 409);
      const pointsWithId = await api.request("POST", path, {
        token: a.adminToken,
        body: { tokenAddress: pointsToken, tokenId: "1", amount: "5" },
      });
      assert.equal(pointsWithId.status, 400);
      assert.deepEqual(fieldsOf(pointsWithId), ["body.tokenId"]);
      for (const amount of ["0", "-1", "1.5", "1e3", (2n ** 88n).toString(), 5]) {
        const response = await api.request("POST", path, {
          token: a.adminToken,
          body: { tokenAddress: pointsToken, amount },
        });
        assert.equal(response.status, 400, String(amount));
        assert.deepEqual(fieldsOf(response), ["body.amount"], String(amount));
      }
      const badBody = await api.request("POST", path, {
        token: a.adminToken,
        body: { tokenAddress: "0x123", tokenId: "x", amount: "1", chainId: 1 },
      });
      assert.equal(badBody.status, 400);
      for (const field of ["body.tokenAddress", "body.tokenId"]) assert.ok(fieldsOf(badBody).includes(field), field);
      for (const tokenAddress of [b.tenant.contracts.pointsToken, a.tenant.contracts.campaignRegistry]) {
        const response = await api.request("POST", path, { token: a.adminToken, body: { tokenAddress, amount: "1" } });
        assert.equal(response.status, 404, tokenAddress);
        assert.ok(isProblem(response));
      }
      const list = await api.request("GET", path, { token: a.adminToken });
      assert.equal(list.body.data.length, 1);
    });

    it("stops at the registry's 8 payouts (409)", async () => {
      const id = await create(a, { title: "Eight payouts" });
      const scope = tenantScope(api.services.db, a.id);
      for (let index = 0; index < 8; index += 1) {
        await scope.insert(campaignTokens, {
          campaignId: id,
          tokenAddress: `0x${String(index + 1).padStart(40, "0")}`,
          amount: "1",
        });
      }
      const ninth = await api.request("POST", `/campaigns/${id}/tokens`, {
        token: a.adminToken,
        body: { tokenAddress: a.tenant.contracts.pointsToken, amount: "1" },
      });
      assert.equal(ninth.status, 409);
      assert.match(ninth.body.detail, /8/);
    });

    it("adds a token once however many requests race to add it (409 problem for the others)", async () => {
      const id = await create(a, { title: "Raced payout", status: "ACTIVE" });
      const path = `/campaigns/${id}/tokens`;
      const body = { tokenAddress: a.tenant.contracts.pointsToken, amount: "3" };
      const responses = await Promise.all(
        Array.from({ length: RACERS }, () => api.request("POST", path, { token: a.adminToken, body })),
      );
      assert.deepEqual(statusesOf(responses), [201, ...Array(RACERS - 1).fill(409)]);
      for (const refused of responses.filter((response) => response.status === 409)) assert.ok(isProblem(refused));
      const list = await api.request("GET", path, { token: a.adminToken });
      assert.deepEqual(
        list.body.data.map((row: { token: string }) => row.token),
        ["pointsToken"],
      );
    });

    it("keeps the 8 payouts limit when requests race for the last place", async () => {
      const id = await create(a, { title: "Raced eighth payout" });
      const scope = tenantScope(api.services.db, a.id);
      for (let index = 0; index < 7; index += 1) {
        await scope.insert(campaignTokens, {
          campaignId: id,
          tokenAddress: `0x${String(index + 1).padStart(40, "0")}`,
          amount: "1",
        });
      }
      const { pointsToken, rewardToken, statusToken } = a.tenant.contracts;
      const responses = await Promise.all(
        [
          { tokenAddress: pointsToken, amount: "1" },
          { tokenAddress: rewardToken, tokenId: "1", amount: "1" },
          { tokenAddress: statusToken, tokenId: "1", amount: "1" },
        ].map((body) => api.request("POST", `/campaigns/${id}/tokens`, { token: a.adminToken, body })),
      );
      assert.deepEqual(statusesOf(responses), [201, 409, 409]);
      const list = await api.request("GET", `/campaigns/${id}/tokens`, { token: a.adminToken });
      assert.equal(list.body.data.length, 8);
    });

    it("keeps a payout on a campaign on its way to the chain when its last two are removed at once", async () => {
      const id = await create(a, { title: "Raced removals" });
      const path = `/campaigns/${id}/tokens`;
      const added = [];
      for (const body of [
        { tokenAddress: a.tenant.contracts.pointsToken, amount: "1" },
        { tokenAddress: a.tenant.contracts.rewardToken, tokenId: "1", amount: "1" },
      ]) {
        const response = await api.request("POST", path, { token: a.adminToken, body });
        assert.equal(response.status, 201);
        added.push(response.body.id as string);
      }
      // ACTIVE with payouts: published (its create job queued), so it must keep one payout.
      const activated = await api.request("PATCH", `/campaigns/${id}`, {
        token: a.adminToken,
        body: { status: "ACTIVE" },
      });
      assert.equal(activated.status, 200);
      const responses = await Promise.all(
        added.map((payout) => api.request("DELETE", `${path}/${payout}`, { token: a.adminToken })),
      );
      assert.deepEqual(statusesOf(responses), [204, 409]);
      assert.equal((await api.request("GET", path, { token: a.adminToken })).body.data.length, 1);
    });

    it("guards writes: 401, 403 for USER, BUSINESS and the public, 409 once CLOSED, 404 for another campaign's payout", async () => {
      const id = await create(a, { title: "Guarded payouts", status: "ACTIVE" });
      const other = await create(a, { title: "Other payouts" });
      const path = `/campaigns/${id}/tokens`;
      const body = { tokenAddress: a.tenant.contracts.pointsToken, amount: "7" };
      const payout = await api.request("POST", path, { token: a.adminToken, body });
      assert.equal((await api.request("POST", path, { body })).status, 401);
      const levels = aCallers.levels;
      for (const caller of [levels.USER, levels.BUSINESS, { projectKey: a.projectKey }] as RequestOptions[]) {
        assert.equal((await api.request("POST", path, { ...caller, body })).status, 403);
        assert.equal((await api.request("DELETE", `${path}/${payout.body.id}`, caller)).status, 403);
      }
      const wrongCampaign = await api.request("DELETE", `/campaigns/${other}/tokens/${payout.body.id}`, {
        token: a.adminToken,
      });
      assert.equal(wrongCampaign.status, 404);
      await api.request("PATCH", `/campaigns/${id}`, { token: a.adminToken, body: { status: "CLOSED" } });
      const closedAdd = await api.request("POST", path, {
        token: a.adminToken,
        body: { tokenAddress: a.tenant.contracts.rewardToken, tokenId: "1", amount: "1" },
      });
      assert.equal(closedAdd.status, 409);
      const closedRemove = await api.request("DELETE", `${path}/${payout.body.id}`, { token: a.adminToken });
      assert.equal(closedRemove.status, 409);
      assert.equal((await api.request("GET", path, { token: a.adminToken })).body.data.length, 1);
      const missing = await api.request("DELETE", `/campaigns/${other}/tokens/${randomUUID()}`, {
        token: a.adminToken,
      });
      assert.equal(missing.status, 404);
    });

    it("isolates tenants: every level of A gets 404 or 403 on B's payouts, never B's amounts", async () => {
      const mine = await create(a, { title: "A's own" });
      const callers: [string, RequestOptions][] = [
        ["public", { projectKey: a.projectKey }],
        ...Object.entries(aCallers.levels),
      ];
      for (const [who, caller] of callers) {
        const manager = who === "ADMIN" || who === "SYSTEM";
        for (const [method, target, body] of [
          ["GET", `/campaigns/${bCampaign}/tokens`, undefined],
          ["POST", `/campaigns/${bCampaign}/tokens`, { tokenAddress: b.tenant.contracts.pointsToken, amount: "1" }],
          ["DELETE", `/campaigns/${bCampaign}/tokens/${bPayout.id}`, undefined],
          ["DELETE", `/campaigns/${mine}/tokens/${bPayout.id}`, undefined],
        ] as const) {
          const response = await api.request(method, target, { ...caller, ...(body && { body }) });
          assert.equal(response.status, method === "GET" || manager ? 404 : 403, `${who} ${method} ${target}`);
          assert.ok(!response.text.includes(bPayout.amount));
        }
      }
      const untouched = await api.request("GET", `/campaigns/${bCampaign}/tokens`, { token: b.adminToken });
      assert.deepEqual(
        untouched.body.data.map((row: { amount: string }) => row.amount),
        ["987654321"],
      );
    });
  });
}
