import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { eq } from "drizzle-orm";
import { sha256 } from "../../crypto/hashing.ts";
import { apiKeys } from "../../db/schema.ts";
import { assertNeedsSignedInAdmin } from "../../../test/callers.ts";
import {
  createTestTenant,
  insertUser,
  isProblem,
  PLATFORM_KEY,
  startTestApiOn,
  startTestChain,
  testDatabases,
  tokenFor,
  type RequestOptions,
  type TestApi,
  type TestChain,
  type TestTenant,
} from "../../../test/harness.ts";

let chain: TestChain;
before(async () => (chain = await startTestChain()));
after(async () => chain.close());

for (const database of testDatabases()) {
  describe(`/api-keys on ${database.name}`, () => {
    let api: TestApi;
    let a: TestTenant;
    let b: TestTenant;
    /** B's key, which no caller of A may see or touch. */
    let bKey: { id: string; key: string; name: string; prefix: string };

    before(async () => {
      api = await startTestApiOn(database, { chain });
      a = await createTestTenant(api);
      b = await createTestTenant(api);
      const created = await api.request("POST", "/api-keys", {
        token: b.adminToken,
        body: { name: "B's secret integration", level: "ADMIN" },
      });
      bKey = created.body;
    });
    after(() => api.close());

    const create = async (tenant: TestTenant, body: Record<string, unknown>) => {
      const created = await api.request("POST", "/api-keys", { token: tenant.adminToken, body });
      assert.equal(created.status, 201, created.text);
      return created.body as { id: string; key: string; name: string; prefix: string; level: string };
    };

    it("creates a key and shows it in that answer only; lists and reads never show it, the database keeps a hash", async () => {
      const created = await api.request("POST", "/api-keys", { token: a.adminToken, body: { name: "POS terminal" } });
      assert.equal(created.status, 201);
      const { key, id } = created.body;
      assert.match(key, /^pers_sk_[A-Za-z0-9_-]{43}$/);
      assert.equal(created.body.level, "SYSTEM", "SYSTEM is the default level");
      assert.equal(created.body.name, "POS terminal");
      assert.equal(created.body.prefix, key.slice(0, "pers_sk_".length + 6));
      assert.equal(created.body.lastUsedAt, null);
      assert.equal(created.body.revokedAt, null);

      const list = await api.request("GET", "/api-keys", { token: a.adminToken });
      assert.equal(list.status, 200);
      assert.ok(list.body.data.some((row: { id: string }) => row.id === id));
      assert.ok(!list.text.includes(key), "the list must not contain the key");
      assert.ok(list.body.data.every((row: Record<string, unknown>) => !("key" in row) && !("hash" in row)));
      const read = await api.request("GET", `/api-keys/${id}`, { token: a.adminToken });
      assert.equal(read.status, 200);
      assert.equal(read.body.name, "POS terminal");
      assert.ok(!read.text.includes(key));
      assert.equal(read.body.key, undefined);

      const [row] = await api.services.db.select().from(apiKeys).where(eq(apiKeys.id, id));
      assert.equal(row!.hash, sha256(key));
      assert.ok(!JSON.stringify(row).includes(key), "no column holds the key itself");
    });

    it("authenticates X-API-Key at the key's level, records when it was last used, and lists with pagination", async () => {
      const admin = await create(a, { name: "admin automation", level: "ADMIN" });
      const system = await create(a, { name: "system integration", level: "SYSTEM" });
      const started = Date.now();
      const listed = await api.request("GET", "/api-keys?limit=2&sort=name&order=asc", { apiKey: admin.key });
      assert.equal(listed.status, 200, "an ADMIN key lists keys");
      assert.equal(listed.body.data.length, 2);
      assert.ok(listed.body.pagination.total >= 3);
      const names = listed.body.data.map((row: { name: string }) => row.name);
      assert.deepEqual(names, [...names].sort());
      const own = await api.request("GET", `/tenants/${a.id}`, { apiKey: system.key });
      assert.equal(own.status, 200, "a SYSTEM key works where SYSTEM is admitted");
      assert.equal(own.body.id, a.id);

      for (const used of [admin, system]) {
        const read = await api.request("GET", `/api-keys/${used.id}`, { token: a.adminToken });
        assert.ok(read.body.lastUsedAt, `${used.name} has a last-used time`);
        const lastUsed = Date.parse(read.body.lastUsedAt);
        assert.ok(lastUsed >= started - 1000 && lastUsed <= Date.now() + 1000, read.body.lastUsedAt);
      }
      const unused = await create(a, { name: "never used" });
      assert.equal((await api.request("GET", `/api-keys/${unused.id}`, { token: a.adminToken })).body.lastUsedAt, null);
    });

    it("does not let a SYSTEM key (nor a USER, BUSINESS or platform caller) manage keys: 403", async () => {
      const system = await create(a, { name: "system only" });
      const { user, token: userToken } = await insertUser(api, a.id);
      const businessToken = await tokenFor(api, {
        tenantId: a.id,
        level: "BUSINESS",
        subject: `user:${user.id}`,
        businessId: "00000000-0000-4000-8000-000000000000",
      });
      const systemToken = await tokenFor(api, { tenantId: a.id, level: "SYSTEM", subject: `key:${system.id}` });
      const callers: [string, RequestOptions][] = [
        ["SYSTEM key", { apiKey: system.key }],
        ["SYSTEM token", { token: systemToken }],
        ["USER", { token: userToken }],
        ["BUSINESS", { token: businessToken }],
        ["platform", { apiKey: PLATFORM_KEY }],
      ];
      for (const [who, credential] of callers) {
        for (const [method, path, body] of [
          ["GET", "/api-keys", undefined],
          ["POST", "/api-keys", { name: "escalation", level: "ADMIN" }],
          ["GET", `/api-keys/${system.id}`, undefined],
          ["DELETE", `/api-keys/${system.id}`, undefined],
        ] as const) {
          const response = await api.request(method, path, { ...credential, ...(body && { body }) });
          assert.equal(response.status, 403, `${who} ${method} ${path}: ${response.text}`);
          assert.ok(isProblem(response));
          assert.ok(!response.text.includes(system.prefix), `${who} ${method} ${path}`);
        }
      }
      const [row] = await api.services.db.select().from(apiKeys).where(eq(apiKeys.id, system.id));
      assert.equal(row!.revokedAt, null, "no refused caller revoked it");
      const anonymous = await api.request("GET", "/api-keys");
      assert.equal(anonymous.status, 401);
      assert.ok(isProblem(anonymous));
    });

    it("refuses creating and revoking keys to an ADMIN key and to a session it was exchanged for (403): they may list and read", async () => {
      const admin = await create(a, { name: "leaked admin key", level: "ADMIN" });
      const system = await create(a, { name: "a system key", level: "SYSTEM" });
      const exchanged = await api.request("POST", "/auth/token", { body: { type: "api_key", apiKey: admin.key } });
      assert.equal(exchanged.body.level, "ADMIN");
      for (const [who, credential] of [
        ["ADMIN key", { apiKey: admin.key }],
        ["ADMIN key's session", { token: exchanged.body.accessToken }],
      ] as const) {
        for (const [method, path, body] of [
          ["POST", "/api-keys", { name: "successor", level: "ADMIN" }],
          ["POST", "/api-keys", { name: "successor", level: "SYSTEM" }],
          ["DELETE", `/api-keys/${system.id}`, undefined],
          ["DELETE", `/api-keys/${admin.id}`, undefined],
        ] as const) {
          const refused = await api.request(method, path, { ...credential, ...(body && { body }) });
          assertNeedsSignedInAdmin(refused, `${who} ${method} ${path}`);
          assert.equal(refused.body.key, undefined);
        }
        assert.equal((await api.request("GET", "/api-keys", credential)).status, 200, `${who} lists keys`);
        assert.equal(
          (await api.request("GET", `/api-keys/${system.id}`, credential)).status,
          200,
          `${who} reads a key`,
        );
      }
      const rows = await api.services.db.select().from(apiKeys).where(eq(apiKeys.tenantId, a.id));
      assert.ok(!rows.some((row) => row.name === "successor"), "no key was made");
      for (const id of [admin.id, system.id]) {
        assert.equal(rows.find((row) => row.id === id)!.revokedAt, null, "no refused caller revoked it");
      }
    });

    it("revokes a key: it stops at once, a second revocation is a conflict, and the list filters by it", async () => {
      const key = await create(a, { name: "to revoke", level: "ADMIN" });
      assert.equal((await api.request("GET", "/api-keys", { apiKey: key.key })).status, 200);
      const revoked = await api.request("DELETE", `/api-keys/${key.id}`, { token: a.adminToken });
      assert.equal(revoked.status, 200);
      assert.ok(revoked.body.revokedAt);
      assert.equal(revoked.body.key, undefined);
      const after = await api.request("GET", "/api-keys", { apiKey: key.key });
      assert.equal(after.status, 401, "a revoked key stops working at once");
      assert.ok(isProblem(after));
      const again = await api.request("DELETE", `/api-keys/${key.id}`, { token: a.adminToken });
      assert.equal(again.status, 409);
      assert.ok(isProblem(again));

      const revokedOnes = await api.request("GET", "/api-keys?revoked=true&limit=100", { token: a.adminToken });
      const activeOnes = await api.request("GET", "/api-keys?revoked=false&limit=100", { token: a.adminToken });
      assert.ok(revokedOnes.body.data.some((row: { id: string }) => row.id === key.id));
      assert.ok(revokedOnes.body.data.every((row: { revokedAt: string | null }) => row.revokedAt));
      assert.ok(!activeOnes.body.data.some((row: { id: string }) => row.id === key.id));
      assert.ok(activeOnes.body.data.length > 0);
    });

    it("stops a key revoked by another API process (in the database) within API_KEY_CACHE_MS", async () => {
      const key = await create(a, { name: "revoked elsewhere", level: "ADMIN" });
      assert.equal((await api.request("GET", "/api-keys", { apiKey: key.key })).status, 200);
      await api.services.db.update(apiKeys).set({ revokedAt: new Date() }).where(eq(apiKeys.id, key.id));
      const cacheMs = api.services.config.API_KEY_CACHE_MS;
      await new Promise((resolve) => setTimeout(resolve, cacheMs + 100));
      const after = await api.request("GET", "/api-keys", { apiKey: key.key });
      assert.equal(after.status, 401, `refused ${cacheMs} ms after the revocation at the latest`);
    });

    it("stops every key of a tenant the platform deactivates, at once", async () => {
      const c = await createTestTenant(api);
      const key = await create(c, { name: "of a tenant soon gone", level: "ADMIN" });
      assert.equal((await api.request("GET", "/api-keys", { apiKey: key.key })).status, 200);
      const deactivated = await api.request("DELETE", `/tenants/${c.id}`, { apiKey: PLATFORM_KEY });
      assert.equal(deactivated.status, 204);
      assert.equal((await api.request("GET", "/api-keys", { apiKey: key.key })).status, 401);
    });

    it("answers bad bodies and ids with 400 naming the field", async () => {
      const bad = await api.request("POST", "/api-keys", {
        token: a.adminToken,
        body: { name: "", level: "USER", scopes: ["all"] },
      });
      assert.equal(bad.status, 400);
      assert.equal(bad.body.type, "/problems/validation-failed");
      const paths = bad.body.errors.map((error: { path: string }) => error.path);
      assert.ok(paths.includes("body.name") && paths.includes("body.level"), String(paths));
      assert.ok(bad.body.errors.some((error: { message: string }) => /scopes/.test(error.message)));
      const badId = await api.request("GET", "/api-keys/not-a-uuid", { token: a.adminToken });
      assert.equal(badId.status, 400);
      assert.ok(badId.body.errors.some((error: { path: string }) => error.path === "params.id"));
      const badQuery = await api.request("GET", "/api-keys?sort=hash", { token: a.adminToken });
      assert.equal(badQuery.status, 400);
      assert.ok(badQuery.body.errors.some((error: { path: string }) => error.path === "query.sort"));
    });

    it("isolates tenants: every level of A gets 404 or 403 for B's key, never its data, and B's key keeps working", async () => {
      const aAdminKey = await create(a, { name: "A admin key", level: "ADMIN" });
      const aSystemKey = await create(a, { name: "A system key", level: "SYSTEM" });
      const { user, token: userToken } = await insertUser(api, a.id);
      const businessToken = await tokenFor(api, {
        tenantId: a.id,
        level: "BUSINESS",
        subject: `user:${user.id}`,
        businessId: "00000000-0000-4000-8000-000000000000",
      });
      // An ADMIN key may read keys (B's is unknown to it: 404) but not revoke any (403, before looking).
      const callers: [string, RequestOptions, { GET: number; DELETE: number }][] = [
        ["USER", { token: userToken }, { GET: 403, DELETE: 403 }],
        ["BUSINESS", { token: businessToken }, { GET: 403, DELETE: 403 }],
        ["ADMIN token", { token: a.adminToken }, { GET: 404, DELETE: 404 }],
        ["ADMIN key", { apiKey: aAdminKey.key }, { GET: 404, DELETE: 403 }],
        ["SYSTEM key", { apiKey: aSystemKey.key }, { GET: 403, DELETE: 403 }],
      ];
      for (const [who, credential, expected] of callers) {
        for (const method of ["GET", "DELETE"] as const) {
          const response = await api.request(method, `/api-keys/${bKey.id}`, credential);
          assert.equal(response.status, expected[method], `${who} ${method}: ${response.text}`);
          assert.ok(isProblem(response));
          for (const value of [bKey.name, bKey.prefix, b.id]) {
            assert.ok(!response.text.includes(value), `${who} ${method} leaked ${value}`);
          }
        }
        const list = await api.request("GET", "/api-keys?limit=100", credential);
        for (const value of [bKey.name, bKey.prefix, bKey.id]) {
          assert.ok(!list.text.includes(value), `${who}'s list leaked ${value}`);
        }
      }
      const [row] = await api.services.db.select().from(apiKeys).where(eq(apiKeys.id, bKey.id));
      assert.equal(row!.revokedAt, null);
      const bStillWorks = await api.request("GET", `/api-keys/${bKey.id}`, { apiKey: bKey.key });
      assert.equal(bStillWorks.status, 200);
      assert.equal(bStillWorks.body.name, bKey.name);
      // And B's key cannot reach A's keys either.
      assert.equal((await api.request("GET", `/api-keys/${aAdminKey.id}`, { apiKey: bKey.key })).status, 404);
    });
  });
}
