import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import {
  createTestTenant,
  isProblem,
  startTestApiOn,
  startTestChain,
  testDatabases,
  type TestApi,
  type TestChain,
  type TestTenant,
} from "../../../test/harness.ts";
import { campaigns } from "../../db/schema.ts";
import { tenantScope } from "../../db/scope.ts";
import { campaignCallers, type CampaignCallers } from "../../../test/campaign-fixtures.ts";

const fieldsOf = (response: { body: any }) => response.body.errors.map((error: { path: string }) => error.path);

let chain: TestChain;
before(async () => (chain = await startTestChain()));
after(async () => chain.close());

for (const database of testDatabases()) {
  describe(`/campaign-triggers on ${database.name}`, () => {
    let api: TestApi;
    let a: TestTenant;
    let b: TestTenant;
    let aCallers: CampaignCallers;
    let bTrigger: { id: string; name: string };

    before(async () => {
      api = await startTestApiOn(database, { chain });
      a = await createTestTenant(api);
      b = await createTestTenant(api);
      aCallers = await campaignCallers(api, a);
      const created = await api.request("POST", "/campaign-triggers", {
        token: b.adminToken,
        body: { name: "B-secret-trigger-name", maxPerUser: 77, conditions: { any: [] } },
      });
      assert.equal(created.status, 201);
      bTrigger = created.body;
    });
    after(() => api.close());

    it("creates a trigger with every limit, a point and conditions, and reads it back", async () => {
      const conditions = { all: [{ fact: "purchaseAmount", operator: "greaterThanInclusive", value: 10 }] };
      const created = await api.request("POST", "/campaign-triggers", {
        token: a.adminToken,
        body: {
          name: "  Coffee scan ",
          maxPerUser: 3,
          maxPerDay: 100,
          cooldownSeconds: 3600,
          maxGeoDistanceMeters: 250,
          latitude: 38.7223,
          longitude: -9.1393,
          conditions,
        },
      });
      assert.equal(created.status, 201);
      assert.equal(created.body.name, "Coffee scan");
      assert.equal(created.body.maxPerUser, 3);
      assert.equal(created.body.maxPerDay, 100);
      assert.equal(created.body.cooldownSeconds, 3600);
      assert.equal(created.body.maxGeoDistanceMeters, 250);
      assert.equal(created.body.latitude, 38.7223);
      assert.equal(created.body.longitude, -9.1393);
      assert.deepEqual(created.body.conditions, conditions);
      const read = await api.request("GET", `/campaign-triggers/${created.body.id}`, {
        apiKey: aCallers.system.apiKey,
      });
      assert.equal(read.status, 200);
      assert.deepEqual(read.body, created.body);
    });

    it("lets a SYSTEM key create a bare trigger; lists with a name filter, sorting and pagination", async () => {
      const bare = await api.request("POST", "/campaign-triggers", {
        apiKey: aCallers.system.apiKey,
        body: { name: "Zebra_100% webhook" },
      });
      assert.equal(bare.status, 201);
      assert.equal(bare.body.maxPerUser, null);
      assert.equal(bare.body.conditions, null);
      await api.request("POST", "/campaign-triggers", { token: a.adminToken, body: { name: "Apple 100 webhook" } });

      const filtered = await api.request("GET", "/campaign-triggers?name=100%25", { token: a.adminToken });
      assert.equal(filtered.status, 200);
      assert.deepEqual(
        filtered.body.data.map((row: { name: string }) => row.name),
        ["Zebra_100% webhook"],
      );
      const sorted = await api.request("GET", "/campaign-triggers?sort=name&order=asc&limit=1&page=2", {
        token: a.adminToken,
      });
      assert.equal(sorted.status, 200);
      assert.equal(sorted.body.pagination.total, 3);
      assert.deepEqual(
        sorted.body.data.map((row: { name: string }) => row.name),
        ["Coffee scan"],
      );
      const badSort = await api.request("GET", "/campaign-triggers?sort=maxPerUser", { token: a.adminToken });
      assert.equal(badSort.status, 400);
      assert.deepEqual(fieldsOf(badSort), ["query.sort"]);
    });

    it("answers 401 without a credential and 403 to USER, BUSINESS and the public", async () => {
      const anonymous = await api.request("POST", "/campaign-triggers", { body: { name: "x" } });
      assert.equal(anonymous.status, 401);
      assert.ok(isProblem(anonymous));
      const levels = aCallers.levels;
      for (const caller of [levels.USER, levels.BUSINESS, { projectKey: a.projectKey }]) {
        for (const [method, path] of [
          ["POST", "/campaign-triggers"],
          ["GET", "/campaign-triggers"],
          ["GET", `/campaign-triggers/${bTrigger.id}`],
          ["PATCH", `/campaign-triggers/${bTrigger.id}`],
          ["DELETE", `/campaign-triggers/${bTrigger.id}`],
        ] as const) {
          const body = method === "POST" || method === "PATCH" ? { body: { name: "x" } } : {};
          const response = await api.request(method, path, { ...caller, ...body });
          assert.equal(response.status, 403, `${method} ${path}`);
          assert.equal(response.body.type, "/problems/forbidden");
        }
      }
    });

    it("refuses bad bodies with 400 naming each field", async () => {
      const bad = await api.request("POST", "/campaign-triggers", {
        token: a.adminToken,
        body: { name: "", maxPerUser: 0, cooldownSeconds: 1.5, latitude: 91, longitude: -181, extra: true },
      });
      assert.equal(bad.status, 400);
      assert.equal(bad.body.type, "/problems/validation-failed");
      for (const path of ["body.name", "body.maxPerUser", "body.cooldownSeconds", "body.latitude", "body.longitude"]) {
        assert.ok(fieldsOf(bad).includes(path), `${path} missing from ${fieldsOf(bad)}`);
      }
      assert.ok(bad.body.errors.some((error: { message: string }) => /extra/.test(error.message)));

      const distanceAlone = await api.request("POST", "/campaign-triggers", {
        token: a.adminToken,
        body: { name: "far", maxGeoDistanceMeters: 100 },
      });
      assert.equal(distanceAlone.status, 400);
      assert.deepEqual(fieldsOf(distanceAlone), ["body.latitude", "body.longitude"]);
      const latitudeAlone = await api.request("POST", "/campaign-triggers", {
        token: a.adminToken,
        body: { name: "half a point", latitude: 10 },
      });
      assert.equal(latitudeAlone.status, 400);
      assert.deepEqual(fieldsOf(latitudeAlone), ["body.longitude"]);
    });

    it("checks conditions with json-rules-engine: a shape it refuses is a 400 on body.conditions", async () => {
      const refused = [
        {},
        { all: "not an array" },
        { all: [{ fact: "x" }] },
        { all: [{ value: 1, operator: "equal" }] },
        { all: [{ fact: "x", operator: "isSortOf", value: 1 }] },
        { any: [{ not: { fact: "x", operator: "noSuchOperator", value: 1 } }] },
        { all: [], any: [] },
        { condition: "shared" },
        { all: [{ condition: "shared" }] },
        [],
        "all",
      ];
      for (const conditions of refused) {
        const response = await api.request("POST", "/campaign-triggers", {
          token: a.adminToken,
          body: { name: "rules", conditions },
        });
        assert.equal(response.status, 400, JSON.stringify(conditions));
        assert.deepEqual(fieldsOf(response), ["body.conditions"], JSON.stringify(conditions));
      }
      const nested = {
        any: [
          { all: [{ fact: "city", operator: "in", value: ["Lisbon", "Porto"] }] },
          { not: { fact: "visits", path: "$.count", operator: "lessThan", value: 3 } },
        ],
      };
      const accepted = await api.request("POST", "/campaign-triggers", {
        token: a.adminToken,
        body: { name: "nested rules", conditions: nested },
      });
      assert.equal(accepted.status, 201);
      assert.deepEqual(accepted.body.conditions, nested);
      await api.request("DELETE", `/campaign-triggers/${accepted.body.id}`, { token: a.adminToken });
    });

    it("never answers a 5xx to generated conditions", async () => {
      await fc.assert(
        fc.asyncProperty(fc.jsonValue({ maxDepth: 4 }), async (conditions) => {
          const response = await api.request("POST", "/campaign-triggers", {
            token: a.adminToken,
            body: { name: "generated", conditions },
          });
          assert.ok(response.status === 201 || response.status === 400, `${response.status} ${response.text}`);
          if (response.status === 201) {
            await api.request("DELETE", `/campaign-triggers/${response.body.id}`, { token: a.adminToken });
          } else {
            assert.ok(isProblem(response));
          }
        }),
        { numRuns: 40 },
      );
    });

    it("updates limits, clears them with null, and keeps the point rule on the whole trigger", async () => {
      const created = await api.request("POST", "/campaign-triggers", {
        token: a.adminToken,
        body: { name: "To update", maxPerDay: 5, conditions: { all: [] } },
      });
      const path = `/campaign-triggers/${created.body.id}`;
      const updated = await api.request("PATCH", path, {
        apiKey: aCallers.system.apiKey,
        body: { maxPerDay: null, maxPerUser: 9, conditions: null, latitude: 1, longitude: 2 },
      });
      assert.equal(updated.status, 200);
      assert.equal(updated.body.maxPerDay, null);
      assert.equal(updated.body.maxPerUser, 9);
      assert.equal(updated.body.conditions, null);
      assert.equal(updated.body.name, "To update");
      const withDistance = await api.request("PATCH", path, {
        token: a.adminToken,
        body: { maxGeoDistanceMeters: 50 },
      });
      assert.equal(withDistance.status, 200);
      assert.equal(withDistance.body.maxGeoDistanceMeters, 50);
      assert.equal(withDistance.body.latitude, 1);
      const pointless = await api.request("PATCH", path, { token: a.adminToken, body: { latitude: null } });
      assert.equal(pointless.status, 400);
      assert.deepEqual(fieldsOf(pointless), ["body.latitude"]);
      const badRules = await api.request("PATCH", path, { token: a.adminToken, body: { conditions: { all: 1 } } });
      assert.equal(badRules.status, 400);
      assert.deepEqual(fieldsOf(badRules), ["body.conditions"]);
      const after = await api.request("GET", path, { token: a.adminToken });
      assert.equal(after.body.latitude, 1);
      assert.equal(after.body.maxGeoDistanceMeters, 50);
    });

    it("deletes a trigger only once no trigger source and no open campaign use it", async () => {
      const trigger = await api.request("POST", "/campaign-triggers", { token: a.adminToken, body: { name: "used" } });
      const path = `/campaign-triggers/${trigger.body.id}`;
      const source = await api.request("POST", "/trigger-sources", {
        token: a.adminToken,
        body: { type: "QR_CODE", name: "door", triggerId: trigger.body.id },
      });
      assert.equal(source.status, 201);
      const bySource = await api.request("DELETE", path, { token: a.adminToken });
      assert.equal(bySource.status, 409);
      assert.match(bySource.body.detail, /source/);
      await api.request("DELETE", `/trigger-sources/${source.body.id}`, { token: a.adminToken });

      const scope = tenantScope(api.services.db, a.id);
      const campaign = await scope.insert(campaigns, { title: "uses the trigger", triggerId: trigger.body.id });
      const byCampaign = await api.request("DELETE", path, { token: a.adminToken });
      assert.equal(byCampaign.status, 409);
      assert.match(byCampaign.body.detail, /campaign/);
      await scope.update(campaigns, campaign.id, { status: "CLOSED" }, "campaign");

      const deleted = await api.request("DELETE", path, { apiKey: aCallers.system.apiKey });
      assert.equal(deleted.status, 204);
      assert.equal((await api.request("GET", path, { token: a.adminToken })).status, 404);
      assert.equal((await scope.find(campaigns, campaign.id, "campaign")).triggerId, null);
    });

    it("isolates tenants: every level of A gets 404 or 403 on B's trigger and never sees it", async () => {
      for (const [level, credential] of Object.entries(aCallers.levels)) {
        const manager = level === "ADMIN" || level === "SYSTEM";
        const path = `/campaign-triggers/${bTrigger.id}`;
        for (const [method, body] of [
          ["GET", undefined],
          ["PATCH", { name: "taken over", maxPerUser: 1 }],
          ["DELETE", undefined],
        ] as const) {
          const response = await api.request(method, path, { ...credential, ...(body && { body }) });
          assert.equal(response.status, manager ? 404 : 403, `${level} ${method}`);
          assert.ok(isProblem(response));
          assert.ok(!response.text.includes(bTrigger.name));
        }
        const list = await api.request("GET", "/campaign-triggers?limit=100", credential);
        assert.equal(list.status, manager ? 200 : 403, level);
        assert.ok(!list.text.includes(bTrigger.name), level);
        assert.ok(!list.text.includes(bTrigger.id), level);
      }
      const untouched = await api.request("GET", `/campaign-triggers/${bTrigger.id}`, { token: b.adminToken });
      assert.equal(untouched.status, 200);
      assert.equal(untouched.body.name, "B-secret-trigger-name");
      assert.equal(untouched.body.maxPerUser, 77);
    });
  });
}
