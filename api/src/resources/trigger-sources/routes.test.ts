import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { open } from "../../crypto/secretBox.ts";
import { triggerSources } from "../../db/schema.ts";
import { tenantScope } from "../../db/scope.ts";
import {
  createTestTenant,
  isProblem,
  startTestApi,
  startTestChain,
  testDatabases,
  type TestApi,
  type TestChain,
  type TestTenant,
} from "../../../test/harness.ts";
import { campaignCallers, type CampaignCallers } from "../../../test/campaign-fixtures.ts";

const fieldsOf = (response: { body: any }) => response.body.errors.map((error: { path: string }) => error.path);

let chain: TestChain;
before(async () => (chain = await startTestChain()));
after(async () => chain.close());

for (const database of testDatabases()) {
  describe(`/trigger-sources on ${database.name}`, () => {
    let api: TestApi;
    let drop: () => Promise<void>;
    let a: TestTenant;
    let b: TestTenant;
    let aCallers: CampaignCallers;
    let aTrigger: string;
    let bTrigger: string;
    let bSource: { id: string; name: string; secret: string };

    const newTrigger = async (tenant: TestTenant, name: string) => {
      const created = await api.request("POST", "/campaign-triggers", { token: tenant.adminToken, body: { name } });
      assert.equal(created.status, 201);
      return created.body.id as string;
    };
    /** The secret sealed in the source's row, opened as the claim path will open it. */
    const storedSecret = async (tenantId: string, id: string) => {
      const row = await tenantScope(api.services.db, tenantId).find(triggerSources, id, "trigger source");
      return open(api.config.MASTER_KEY, row.secretCiphertext, `trigger-source:${id}`);
    };

    before(async () => {
      const opened = await database.open();
      drop = opened.drop;
      api = await startTestApi({ database: opened.parameters, chain });
      a = await createTestTenant(api);
      b = await createTestTenant(api);
      aCallers = await campaignCallers(api, a);
      aTrigger = await newTrigger(a, "A trigger");
      bTrigger = await newTrigger(b, "B trigger");
      const created = await api.request("POST", "/trigger-sources", {
        token: b.adminToken,
        body: { type: "API_WEBHOOK", name: "B-secret-source-name", triggerId: bTrigger },
      });
      assert.equal(created.status, 201);
      bSource = created.body;
    });
    after(async () => {
      await api.close();
      await drop();
    });

    it("creates a source with a random secret shown once and stored sealed to the source", async () => {
      const created = await api.request("POST", "/trigger-sources", {
        token: a.adminToken,
        body: { type: "QR_CODE", name: "Front door", triggerId: aTrigger },
      });
      assert.equal(created.status, 201);
      assert.equal(created.body.type, "QR_CODE");
      assert.equal(created.body.name, "Front door");
      assert.equal(created.body.triggerId, aTrigger);
      assert.equal(created.body.active, true);
      assert.match(created.body.secret, /^pers_ts_[A-Za-z0-9_-]{43}$/);
      assert.equal(await storedSecret(a.id, created.body.id), created.body.secret);
      const row = await tenantScope(api.services.db, a.id).find(triggerSources, created.body.id, "trigger source");
      assert.ok(!row.secretCiphertext.includes(created.body.secret));
      assert.throws(() => open(api.config.MASTER_KEY, row.secretCiphertext, `trigger-source:${bSource.id}`));

      const read = await api.request("GET", `/trigger-sources/${created.body.id}`, { apiKey: aCallers.system.apiKey });
      assert.equal(read.status, 200);
      assert.equal(read.body.secret, undefined);
      assert.ok(!read.text.includes(created.body.secret));
      const list = await api.request("GET", "/trigger-sources", { token: a.adminToken });
      assert.equal(list.status, 200);
      assert.ok(list.body.data.some((source: { id: string }) => source.id === created.body.id));
      assert.ok(!list.text.includes(created.body.secret));

      const other = await api.request("POST", "/trigger-sources", {
        apiKey: aCallers.system.apiKey,
        body: { type: "API_WEBHOOK", name: "Platform hook", triggerId: aTrigger },
      });
      assert.equal(other.status, 201);
      assert.notEqual(other.body.secret, created.body.secret);
    });

    it("rotates the secret: a new one shown once, the old one gone", async () => {
      const created = await api.request("POST", "/trigger-sources", {
        token: a.adminToken,
        body: { type: "QR_CODE", name: "Rotating", triggerId: aTrigger },
      });
      const rotated = await api.request("POST", `/trigger-sources/${created.body.id}/rotate-secret`, {
        apiKey: aCallers.system.apiKey,
      });
      assert.equal(rotated.status, 200);
      assert.equal(rotated.body.id, created.body.id);
      assert.match(rotated.body.secret, /^pers_ts_/);
      assert.notEqual(rotated.body.secret, created.body.secret);
      assert.equal(await storedSecret(a.id, created.body.id), rotated.body.secret);
      const read = await api.request("GET", `/trigger-sources/${created.body.id}`, { token: a.adminToken });
      assert.ok(!read.text.includes(rotated.body.secret));
      const unknown = await api.request("POST", "/trigger-sources/00000000-0000-4000-8000-000000000000/rotate-secret", {
        token: a.adminToken,
      });
      assert.equal(unknown.status, 404);
    });

    it("renames, moves to another trigger, deactivates; lists with filters", async () => {
      const created = await api.request("POST", "/trigger-sources", {
        token: a.adminToken,
        body: { type: "API_WEBHOOK", name: "To change", triggerId: aTrigger },
      });
      const secondTrigger = await newTrigger(a, "Second trigger");
      const path = `/trigger-sources/${created.body.id}`;
      const moved = await api.request("PATCH", path, {
        token: a.adminToken,
        body: { name: "Changed", triggerId: secondTrigger },
      });
      assert.equal(moved.status, 200);
      assert.equal(moved.body.name, "Changed");
      assert.equal(moved.body.triggerId, secondTrigger);
      assert.equal(moved.body.active, true);
      const deactivated = await api.request("PATCH", path, { apiKey: aCallers.system.apiKey, body: { active: false } });
      assert.equal(deactivated.status, 200);
      assert.equal(deactivated.body.active, false);
      assert.equal(deactivated.body.name, "Changed");
      assert.equal(await storedSecret(a.id, created.body.id), created.body.secret, "updates keep the secret");

      const inactive = await api.request("GET", "/trigger-sources?active=false", { token: a.adminToken });
      assert.deepEqual(
        inactive.body.data.map((source: { id: string }) => source.id),
        [created.body.id],
      );
      const bySecond = await api.request("GET", `/trigger-sources?triggerId=${secondTrigger}&type=API_WEBHOOK`, {
        token: a.adminToken,
      });
      assert.deepEqual(
        bySecond.body.data.map((source: { name: string }) => source.name),
        ["Changed"],
      );
      const qr = await api.request("GET", "/trigger-sources?type=QR_CODE&sort=name&order=asc", { token: a.adminToken });
      assert.ok(qr.body.data.length >= 2);
      assert.ok(qr.body.data.every((source: { type: string }) => source.type === "QR_CODE"));
      const names = qr.body.data.map((source: { name: string }) => source.name);
      assert.deepEqual(names, [...names].sort());
    });

    it("refuses bad bodies (400 naming the field), unknown triggers (404), and deletes", async () => {
      const bad = await api.request("POST", "/trigger-sources", {
        token: a.adminToken,
        body: { type: "SMS", name: "", triggerId: "not-a-uuid", secret: "mine" },
      });
      assert.equal(bad.status, 400);
      for (const path of ["body.type", "body.name", "body.triggerId"]) {
        assert.ok(fieldsOf(bad).includes(path), `${path} missing from ${fieldsOf(bad)}`);
      }
      assert.ok(bad.body.errors.some((error: { message: string }) => /secret/.test(error.message)));
      const noType = await api.request("PATCH", `/trigger-sources/${bSource.id}`, {
        token: a.adminToken,
        body: { type: "QR_CODE" },
      });
      assert.equal(noType.status, 400, "the type is fixed at creation");

      const created = await api.request("POST", "/trigger-sources", {
        token: a.adminToken,
        body: { type: "QR_CODE", name: "Short-lived", triggerId: aTrigger },
      });
      const path = `/trigger-sources/${created.body.id}`;
      assert.equal((await api.request("DELETE", path, { apiKey: aCallers.system.apiKey })).status, 204);
      assert.equal((await api.request("GET", path, { token: a.adminToken })).status, 404);
      assert.equal((await api.request("DELETE", path, { token: a.adminToken })).status, 404);
    });

    it("answers 401 without a credential and 403 to USER, BUSINESS and the public", async () => {
      const anonymous = await api.request("GET", "/trigger-sources");
      assert.equal(anonymous.status, 401);
      assert.ok(isProblem(anonymous));
      const levels = aCallers.levels;
      for (const caller of [levels.USER, levels.BUSINESS, { projectKey: a.projectKey }]) {
        for (const [method, path, body] of [
          ["POST", "/trigger-sources", { type: "QR_CODE", name: "x", triggerId: aTrigger }],
          ["GET", "/trigger-sources", undefined],
          ["GET", `/trigger-sources/${bSource.id}`, undefined],
          ["PATCH", `/trigger-sources/${bSource.id}`, { name: "x" }],
          ["POST", `/trigger-sources/${bSource.id}/rotate-secret`, undefined],
          ["DELETE", `/trigger-sources/${bSource.id}`, undefined],
        ] as const) {
          const response = await api.request(method, path, { ...caller, ...(body && { body }) });
          assert.equal(response.status, 403, `${method} ${path}`);
        }
      }
    });

    it("isolates tenants: every level of A gets 404 or 403 on B's sources and triggers, never B's data", async () => {
      for (const [level, credential] of Object.entries(aCallers.levels)) {
        const manager = level === "ADMIN" || level === "SYSTEM";
        for (const [method, path, body] of [
          ["GET", `/trigger-sources/${bSource.id}`, undefined],
          ["PATCH", `/trigger-sources/${bSource.id}`, { name: "taken over", active: false }],
          ["POST", `/trigger-sources/${bSource.id}/rotate-secret`, undefined],
          ["DELETE", `/trigger-sources/${bSource.id}`, undefined],
          ["POST", "/trigger-sources", { type: "QR_CODE", name: "on B's trigger", triggerId: bTrigger }],
        ] as const) {
          const response = await api.request(method, path, { ...credential, ...(body && { body }) });
          assert.equal(response.status, manager ? 404 : 403, `${level} ${method} ${path}`);
          assert.ok(isProblem(response));
          assert.ok(!response.text.includes(bSource.name));
          assert.ok(!response.text.includes(bSource.secret));
        }
        if (manager) {
          const ownSource = await api.request("GET", "/trigger-sources?limit=1", credential);
          const moved = await api.request("PATCH", `/trigger-sources/${ownSource.body.data[0].id}`, {
            ...credential,
            body: { triggerId: bTrigger },
          });
          assert.equal(moved.status, 404, `${level} moving a source onto B's trigger`);
        }
        const list = await api.request("GET", `/trigger-sources?limit=100&triggerId=${bTrigger}`, credential);
        assert.equal(list.status, manager ? 200 : 403);
        assert.ok(!list.text.includes(bSource.id));
      }
      const untouched = await api.request("GET", `/trigger-sources/${bSource.id}`, { token: b.adminToken });
      assert.equal(untouched.body.name, "B-secret-source-name");
      assert.equal(untouched.body.active, true);
      assert.equal(await storedSecret(b.id, bSource.id), bSource.secret);
    });
  });
}
