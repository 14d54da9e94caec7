import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { keccak256, stringToHex } from "viem";
import { tenantFactoryAbi } from "../../../../abi/tenantFactory.ts";
import { pointsTokenAbi } from "../../../../abi/pointsToken.ts";
import { assertInvalid } from "../../../test/callers.ts";
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

let chain: TestChain;
before(async () => (chain = await startTestChain()));
after(async () => chain.close());

for (const database of testDatabases()) {
  describe(`/tenants on ${database.name}`, () => {
    let api: TestApi;
    let a: TestTenant;
    let b: TestTenant;

    before(async () => {
      api = await startTestApiOn(database, { chain });
      a = await createTestTenant(api);
      b = await createTestTenant(api, { adminAddress: "0x90F79bf6EB2c4f870365E785982E1f101E93b906" });
    });
    after(() => api.close());

    it("deploys the suite on chain with the tenant's admin (custodial when none is given) and the platform as operator", async () => {
      const { publicClient, deployment, walletClient } = chain.chains.get(31337)!;
      for (const tenant of [a, b]) {
        const suite = await publicClient.readContract({
          address: deployment.contracts.tenantFactory,
          abi: tenantFactoryAbi,
          functionName: "getTenant",
          args: [tenant.tenant.onchainId],
        });
        assert.equal(suite.pointsToken, tenant.tenant.contracts.pointsToken);
        assert.equal(
          tenant.tenant.onchainId,
          await publicClient.readContract({
            address: deployment.contracts.tenantFactory,
            abi: tenantFactoryAbi,
            functionName: "tenantIdOf",
            args: [walletClient.account.address, keccak256(stringToHex(`pers:tenant:${tenant.tenant.externalId}`))],
          }),
        );
        const adminRole = await publicClient.readContract({
          address: suite.pointsToken,
          abi: pointsTokenAbi,
          functionName: "DEFAULT_ADMIN_ROLE",
        });
        const hasRole = (account: `0x${string}`) =>
          publicClient.readContract({
            address: suite.pointsToken,
            abi: pointsTokenAbi,
            functionName: "hasRole",
            args: [adminRole, account],
          });
        assert.equal(await hasRole(tenant.tenant.adminAddress), true);
        assert.equal(await hasRole(walletClient.account.address), false, "the platform must not be the tenant's admin");
      }
      assert.equal(a.tenant.adminCustodial, true);
      assert.equal(b.tenant.adminCustodial, false);
      assert.equal(b.tenant.adminAddress, "0x90F79bf6EB2c4f870365E785982E1f101E93b906");
      assert.notEqual(a.tenant.adminAddress, b.tenant.adminAddress);
    });

    it("lists tenants to the platform only, with filters and pagination", async () => {
      const page = await api.request("GET", "/tenants?limit=1&sort=name&order=asc", { apiKey: PLATFORM_KEY });
      assert.equal(page.status, 200);
      assert.equal(page.body.data.length, 1);
      assert.equal(page.body.pagination.total, 2);
      assert.equal(page.body.data[0].id, a.id);
      const forbidden = await api.request("GET", "/tenants", { token: a.adminToken });
      assert.equal(forbidden.status, 403);
      assert.ok(isProblem(forbidden));
      const anonymous = await api.request("GET", "/tenants");
      assert.equal(anonymous.status, 401);
      assert.equal(anonymous.headers.get("www-authenticate"), 'Bearer realm="pers"');
    });

    it("shows a tenant's admin its own tenant and answers 404 for another's", async () => {
      const own = await api.request("GET", `/tenants/${a.id}`, { token: a.adminToken });
      assert.equal(own.status, 200);
      assert.equal(own.body.projectKey, a.projectKey);
      const other = await api.request("GET", `/tenants/${b.id}`, { token: a.adminToken });
      assert.equal(other.status, 404);
      assert.ok(isProblem(other));
      assert.equal(other.body.type, "/problems/not-found");
      assert.ok(!other.text.includes(b.projectKey));
    });

    it("lets the admin rename its tenant but not deactivate it; the platform deactivates, and sign-in stops", async () => {
      const renamed = await api.request("PATCH", `/tenants/${a.id}`, {
        token: a.adminToken,
        body: { name: "Renamed" },
      });
      assert.equal(renamed.status, 200);
      assert.equal(renamed.body.name, "Renamed");
      const refused = await api.request("PATCH", `/tenants/${a.id}`, { token: a.adminToken, body: { active: false } });
      assert.equal(refused.status, 400);
      const plainHttp = await api.request("PATCH", `/tenants/${a.id}`, {
        token: a.adminToken,
        body: { idp: { issuer: "https://idp.test", audience: "pers", jwksUrl: "http://idp.test/jwks.json" } },
      });
      assertInvalid(plainHttp, ["body.idp.jwksUrl"]);
      assert.match(plainHttp.body.errors[0].message, /https/);
      const foreign = await api.request("PATCH", `/tenants/${b.id}`, { token: a.adminToken, body: { name: "x" } });
      assert.equal(foreign.status, 404);

      const c = await createTestTenant(api);
      assert.equal((await api.request("GET", "/admins", { token: c.adminToken })).status, 200);
      assert.equal((await api.request("DELETE", `/tenants/${c.id}`, { apiKey: PLATFORM_KEY })).status, 204);
      // The access tokens already out stop with it, not when they expire.
      const afterDeactivation = await api.request("GET", "/admins", { token: c.adminToken });
      assert.equal(afterDeactivation.status, 401);
      assert.match(afterDeactivation.body.detail, /session has ended/);
      const signIn = await api.request("POST", "/auth/token", {
        projectKey: c.projectKey,
        body: { type: "password", email: c.admin.email, password: c.admin.password },
      });
      assert.equal(signIn.status, 401);
    });

    it("refuses a second tenant with the same externalId (409) and bad bodies (400, naming the fields)", async () => {
      const again = await api.request("POST", "/tenants", {
        apiKey: PLATFORM_KEY,
        body: {
          name: "Again",
          externalId: a.tenant.externalId,
          points: { name: "P", symbol: "P" },
          admin: { email: "x@y.test", name: "X", password: "long enough password" },
        },
      });
      assert.equal(again.status, 409);
      const bad = await api.request("POST", "/tenants", {
        apiKey: PLATFORM_KEY,
        body: { name: "", externalId: "has space", points: { name: "P", symbol: "WAYTOOLONGSYMBOL" }, extra: 1 },
      });
      assert.equal(bad.status, 400);
      assert.equal(bad.body.type, "/problems/validation-failed");
      const paths = bad.body.errors.map((error: { path: string }) => error.path);
      for (const path of ["body.name", "body.externalId", "body.points.symbol", "body.admin"]) {
        assert.ok(paths.includes(path), `${path} missing from ${paths}`);
      }
      assert.ok(bad.body.errors.some((error: { message: string }) => /extra/.test(error.message)));
    });
  });
}
