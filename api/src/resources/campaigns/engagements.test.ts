import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
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
import { campaignCallers, insertBusiness, type CampaignCallers } from "../../../test/campaign-fixtures.ts";

const fieldsOf = (response: { body: any }) => response.body.errors.map((error: { path: string }) => error.path);

let chain: TestChain;
before(async () => (chain = await startTestChain()));
after(async () => chain.close());

for (const database of testDatabases()) {
  describe(`/campaigns/:id/engagements on ${database.name}`, () => {
    let api: TestApi;
    let a: TestTenant;
    let b: TestTenant;
    let aCallers: CampaignCallers;
    let bCallers: CampaignCallers;
    let bCampaign: string;
    let bEngagement: { id: string; maxClaims: number };

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
      bCallers = await campaignCallers(api, b);
      bCampaign = await create(b, { title: "B engages", status: "ACTIVE" });
      const engaged = await api.request("POST", `/campaigns/${bCampaign}/engagements`, {
        token: b.adminToken,
        body: { businessId: bCallers.business.id, maxClaims: 424242 },
      });
      assert.equal(engaged.status, 201);
      bEngagement = engaged.body;
    });
    after(() => api.close());

    it("engages the tenant's businesses, lists, updates and removes them", async () => {
      const id = await create(a, { title: "Engaging", status: "ACTIVE" });
      const path = `/campaigns/${id}/engagements`;
      const second = await insertBusiness(api, a.id, "Second shop");
      const first = await api.request("POST", path, {
        token: a.adminToken,
        body: { businessId: aCallers.business.id, maxClaims: 50 },
      });
      assert.equal(first.status, 201);
      assert.equal(first.body.campaignId, id);
      assert.equal(first.body.businessId, aCallers.business.id);
      assert.equal(first.body.maxClaims, 50);
      assert.equal(first.body.active, true);
      const other = await api.request("POST", path, {
        apiKey: aCallers.system.apiKey,
        body: { businessId: second.id },
      });
      assert.equal(other.status, 201);
      assert.equal(other.body.maxClaims, null);

      for (const [who, caller] of [["public", { projectKey: a.projectKey }], ...Object.entries(aCallers.levels)]) {
        const list = await api.request("GET", `${path}?order=asc`, caller as RequestOptions);
        assert.equal(list.status, 200, who as string);
        assert.deepEqual(
          list.body.data.map((row: { businessId: string }) => row.businessId),
          [aCallers.business.id, second.id],
        );
        assert.equal(list.body.pagination.total, 2);
      }
      const updated = await api.request("PATCH", `${path}/${first.body.id}`, {
        apiKey: aCallers.system.apiKey,
        body: { maxClaims: null, active: false },
      });
      assert.equal(updated.status, 200);
      assert.equal(updated.body.maxClaims, null);
      assert.equal(updated.body.active, false);
      const unchanged = await api.request("PATCH", `${path}/${first.body.id}`, { token: a.adminToken, body: {} });
      assert.equal(unchanged.status, 200);
      assert.equal(unchanged.body.active, false);
      const inactive = await api.request("GET", `${path}?active=false`, { token: a.adminToken });
      assert.deepEqual(
        inactive.body.data.map((row: { id: string }) => row.id),
        [first.body.id],
      );
      assert.equal((await api.request("DELETE", `${path}/${other.body.id}`, { token: a.adminToken })).status, 204);
      assert.equal((await api.request("DELETE", `${path}/${other.body.id}`, { token: a.adminToken })).status, 404);
      const page = await api.request("GET", `${path}?limit=1&page=1`, { token: a.adminToken });
      assert.equal(page.body.pagination.total, 1);
    });

    it("refuses a business twice (409), foreign or unknown businesses (404) and bad bodies (400)", async () => {
      const id = await create(a, { title: "Strict engagements" });
      const path = `/campaigns/${id}/engagements`;
      const first = await api.request("POST", path, {
        token: a.adminToken,
        body: { businessId: aCallers.business.id },
      });
      assert.equal(first.status, 201);
      const twice = await api.request("POST", path, {
        token: a.adminToken,
        body: { businessId: aCallers.business.id, maxClaims: 3 },
      });
      assert.equal(twice.status, 409);
      assert.equal(twice.body.type, "/problems/conflict");
      for (const businessId of [bCallers.business.id, randomUUID()]) {
        const response = await api.request("POST", path, { token: a.adminToken, body: { businessId } });
        assert.equal(response.status, 404);
        assert.match(response.body.detail, /business/);
      }
      const racer = await insertBusiness(api, a.id);
      const race = await Promise.all(
        [1, 2, 3].map(() => api.request("POST", path, { token: a.adminToken, body: { businessId: racer.id } })),
      );
      assert.deepEqual(race.map((response) => response.status).sort(), [201, 409, 409]);
      const bad = await api.request("POST", path, {
        token: a.adminToken,
        body: { businessId: "shop-1", maxClaims: 0, active: "yes" },
      });
      assert.equal(bad.status, 400);
      for (const field of ["body.businessId", "body.maxClaims"]) assert.ok(fieldsOf(bad).includes(field), field);
      const badUpdate = await api.request("PATCH", `${path}/${first.body.id}`, {
        token: a.adminToken,
        body: { maxClaims: 1.5, businessId: aCallers.business.id },
      });
      assert.equal(badUpdate.status, 400);
      assert.ok(fieldsOf(badUpdate).includes("body.maxClaims"));
    });

    it("guards writes: 401, 403 for USER, BUSINESS and the public, 409 once CLOSED, 404 through another campaign", async () => {
      const id = await create(a, { title: "Guarded engagements", status: "ACTIVE" });
      const other = await create(a, { title: "Other engagements" });
      const path = `/campaigns/${id}/engagements`;
      const engaged = await api.request("POST", path, {
        token: a.adminToken,
        body: { businessId: aCallers.business.id },
      });
      const target = `${path}/${engaged.body.id}`;
      assert.equal((await api.request("POST", path, { body: { businessId: aCallers.business.id } })).status, 401);
      const levels = aCallers.levels;
      for (const caller of [levels.USER, levels.BUSINESS, { projectKey: a.projectKey }] as RequestOptions[]) {
        assert.equal(
          (await api.request("POST", path, { ...caller, body: { businessId: aCallers.business.id } })).status,
          403,
        );
        assert.equal((await api.request("PATCH", target, { ...caller, body: { maxClaims: 1 } })).status, 403);
        assert.equal((await api.request("DELETE", target, caller)).status, 403);
      }
      for (const [method, body] of [
        ["PATCH", { maxClaims: 1 }],
        ["DELETE", undefined],
      ] as const) {
        const through = await api.request(method, `/campaigns/${other}/engagements/${engaged.body.id}`, {
          token: a.adminToken,
          ...(body && { body }),
        });
        assert.equal(through.status, 404, method);
      }
      await api.request("DELETE", `/campaigns/${id}`, { token: a.adminToken });
      const second = await insertBusiness(api, a.id);
      for (const [method, url, body] of [
        ["POST", path, { businessId: second.id }],
        ["PATCH", target, { maxClaims: 1 }],
        ["DELETE", target, undefined],
      ] as const) {
        const response = await api.request(method, url, { token: a.adminToken, ...(body && { body }) });
        assert.equal(response.status, 409, method);
        assert.ok(isProblem(response));
      }
      const kept = await api.request("GET", path, { token: a.adminToken });
      assert.equal(kept.body.data.length, 1);
      assert.equal(kept.body.data[0].maxClaims, null);
    });

    it("isolates tenants: every level of A gets 404 or 403 on B's engagements, never B's data", async () => {
      const mine = await create(a, { title: "A's engagements" });
      const callers: [string, RequestOptions][] = [
        ["public", { projectKey: a.projectKey }],
        ...Object.entries(aCallers.levels),
      ];
      for (const [who, caller] of callers) {
        const manager = who === "ADMIN" || who === "SYSTEM";
        for (const [method, target, body] of [
          ["GET", `/campaigns/${bCampaign}/engagements`, undefined],
          ["POST", `/campaigns/${bCampaign}/engagements`, { businessId: bCallers.business.id }],
          ["POST", `/campaigns/${mine}/engagements`, { businessId: bCallers.business.id }],
          ["PATCH", `/campaigns/${bCampaign}/engagements/${bEngagement.id}`, { maxClaims: 1 }],
          ["PATCH", `/campaigns/${mine}/engagements/${bEngagement.id}`, { maxClaims: 1 }],
          ["DELETE", `/campaigns/${bCampaign}/engagements/${bEngagement.id}`, undefined],
          ["DELETE", `/campaigns/${mine}/engagements/${bEngagement.id}`, undefined],
        ] as const) {
          const response = await api.request(method, target, { ...caller, ...(body && { body }) });
          assert.equal(response.status, method === "GET" || manager ? 404 : 403, `${who} ${method} ${target}`);
          assert.ok(!response.text.includes("424242"));
          if (method !== "POST") assert.ok(!response.text.includes(bCallers.business.id));
        }
      }
      const untouched = await api.request("GET", `/campaigns/${bCampaign}/engagements`, { token: b.adminToken });
      assert.equal(untouched.body.data.length, 1);
      assert.equal(untouched.body.data[0].maxClaims, 424242);
    });
  });
}
