import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  createTestTenant,
  isProblem,
  startTestApiOn,
  startTestChain,
  testDatabases,
  type TestApi,
  type TestChain,
  type TestResponse,
  type TestTenant,
} from "../../../test/harness.ts";
import { assertInvalid, assertRefused, callersOf, type TenantCallers } from "../../../test/callers.ts";

let chain: TestChain;
before(async () => (chain = await startTestChain()));
after(async () => chain.close());

for (const database of testDatabases()) {
  describe(`/business-types on ${database.name}`, () => {
    let api: TestApi;
    let a: TestTenant;
    let b: TestTenant;
    let ca: TenantCallers;

    const create = (body: Record<string, unknown>, caller: object = { token: a.adminToken }) =>
      api.request("POST", "/business-types", { ...caller, body });
    const names = (response: TestResponse) => response.body.data.map((type: { name: string }) => type.name);

    before(async () => {
      api = await startTestApiOn(database, { chain });
      a = await createTestTenant(api);
      b = await createTestTenant(api);
      ca = await callersOf(api, a);
    });
    after(() => api.close());

    it("answers racing creations and renames to one name with one success and 409s, never a 500", async () => {
      // A tenant of its own: the other tests list a's and b's types.
      const owner = { token: (await createTestTenant(api)).adminToken };
      const racing = await Promise.all(Array.from({ length: 8 }, () => create({ name: "Racing" }, owner)));
      assert.deepEqual(racing.map((answer) => answer.status).sort(), [201, 409, 409, 409, 409, 409, 409, 409]);
      const others = await Promise.all(["One", "Two", "Three", "Four"].map((name) => create({ name }, owner)));
      const renames = await Promise.all(
        others.map((other) =>
          api.request("PATCH", `/business-types/${other.body.id}`, { ...owner, body: { name: "Renamed" } }),
        ),
      );
      assert.deepEqual(renames.map((answer) => answer.status).sort(), [200, 409, 409, 409]);
      for (const refused of [...racing, ...renames].filter((answer) => answer.status === 409)) {
        assert.ok(isProblem(refused));
        assert.match(refused.body.detail, /A business type named (Racing|Renamed) exists/);
      }
    });

    it("creates a type (ADMIN only); a taken name is 409 in its tenant and free in another", async () => {
      const created = await create({ name: "  Bakery ", description: "Bread and cakes" });
      assert.equal(created.status, 201, created.text);
      assert.equal(created.body.name, "Bakery");
      assert.equal(created.body.description, "Bread and cakes");
      const read = await api.request("GET", `/business-types/${created.body.id}`, { token: a.adminToken });
      assert.deepEqual(read.body, created.body);

      const taken = await create({ name: "Bakery" });
      assert.equal(taken.status, 409);
      assert.equal(taken.body.type, "/problems/conflict");
      const elsewhere = await create({ name: "Bakery" }, { token: b.adminToken });
      assert.equal(elsewhere.status, 201);
      assert.equal(elsewhere.body.description, null);
      assert.notEqual(elsewhere.body.id, created.body.id);

      assertInvalid(await create({ name: "", description: 5, colour: "red" }), ["body.name", "body.description"]);
      assertInvalid(await create({ name: "x".repeat(121) }), ["body.name"]);
      assert.equal((await api.request("POST", "/business-types", { body: { name: "Anon" } })).status, 401);
      for (const level of ["PUBLIC", "USER", "BUSINESS", "SYSTEM"] as const) {
        const refused = await create({ name: `By ${level}` }, ca.callers[level]);
        assert.equal(refused.status, 403, level);
        assert.ok(isProblem(refused));
      }
      const all = await api.request("GET", "/business-types?limit=100", { token: a.adminToken });
      assert.deepEqual(names(all), ["Bakery"]);
    });

    it("lists to anyone who names the tenant, with a name filter, sorting and pagination", async () => {
      const c = await createTestTenant(api);
      const cc = await callersOf(api, c, "types");
      for (const name of ["Shop", "Cafe", "Coffee_Shop", "Coffee Bar"]) {
        assert.equal((await create({ name }, { token: c.adminToken })).status, 201);
      }
      for (const [level, caller] of Object.entries(cc.callers)) {
        const listed = await api.request("GET", "/business-types?sort=name&order=asc", caller);
        assert.equal(listed.status, 200, level);
        assert.deepEqual(names(listed), ["Cafe", "Coffee Bar", "Coffee_Shop", "Shop"]);
        assert.equal(listed.body.pagination.total, 4);
      }
      const get = (query: string) => api.request("GET", `/business-types?${query}`, cc.callers.PUBLIC);
      assert.deepEqual(names(await get("sort=name&order=desc&limit=2&page=2")), ["Coffee Bar", "Cafe"]);
      assert.deepEqual(names(await get("name=SHOP&sort=name&order=asc")), ["Coffee_Shop", "Shop"]);
      assert.deepEqual(names(await get("name=e_")), ["Coffee_Shop"]);
      assert.deepEqual(names(await get("name=tea")), []);
      assertInvalid(await get("sort=description&limit=101&page=0"), ["query.sort", "query.limit", "query.page"]);
      assert.equal((await api.request("GET", "/business-types")).status, 401);
      assert.equal((await api.request("GET", "/business-types", { projectKey: "pers_pk_nope" })).status, 401);
    });

    it("reads one type publicly; 404 for an unknown id, 400 for a malformed one", async () => {
      const created = await create({ name: "Florist", description: "Flowers" });
      const read = await api.request("GET", `/business-types/${created.body.id}`, ca.callers.PUBLIC);
      assert.equal(read.status, 200);
      assert.equal(read.body.name, "Florist");
      assert.equal(read.body.description, "Flowers");
      const unknown = await api.request("GET", `/business-types/${crypto.randomUUID()}`, ca.callers.PUBLIC);
      assert.equal(unknown.status, 404);
      assert.equal(unknown.body.type, "/problems/not-found");
      assertInvalid(await api.request("GET", "/business-types/florist", ca.callers.PUBLIC), ["params.id"]);
      assert.equal((await api.request("GET", `/business-types/${created.body.id}`)).status, 401);
    });

    it("updates name and description (ADMIN only); renaming onto another type's name is 409", async () => {
      const butcher = await create({ name: "Butcher", description: "Meat" });
      await create({ name: "Grocer" });
      const path = `/business-types/${butcher.body.id}`;
      const renamed = await api.request("PATCH", path, { token: a.adminToken, body: { name: "Deli" } });
      assert.equal(renamed.status, 200);
      assert.equal(renamed.body.name, "Deli");
      assert.equal(renamed.body.description, "Meat");
      const same = await api.request("PATCH", path, { token: a.adminToken, body: { name: "Deli", description: null } });
      assert.equal(same.status, 200);
      assert.equal(same.body.description, null);
      const taken = await api.request("PATCH", path, { token: a.adminToken, body: { name: "Grocer" } });
      assert.equal(taken.status, 409);
      assert.equal((await api.request("GET", path, { token: a.adminToken })).body.name, "Deli");

      assertInvalid(await api.request("PATCH", path, { token: a.adminToken, body: { name: null } }), ["body.name"]);
      assert.equal(
        (await api.request("PATCH", path, { token: a.adminToken, body: { id: crypto.randomUUID() } })).status,
        400,
      );
      assert.equal(
        (
          await api.request("PATCH", `/business-types/${crypto.randomUUID()}`, {
            token: a.adminToken,
            body: { name: "X" },
          })
        ).status,
        404,
      );
      assert.equal((await api.request("PATCH", path, { body: { name: "X" } })).status, 401);
      for (const level of ["PUBLIC", "USER", "BUSINESS", "SYSTEM"] as const) {
        assert.equal(
          (await api.request("PATCH", path, { ...ca.callers[level], body: { name: "X" } })).status,
          403,
          level,
        );
      }
    });

    it("deletes a type (ADMIN only); its businesses stay, without a type", async () => {
      const type = await create({ name: "Closing" });
      const business = await api.request("POST", "/businesses", {
        token: a.adminToken,
        body: { name: "Typed Business", businessTypeId: type.body.id },
      });
      assert.equal(business.body.businessTypeId, type.body.id);
      const path = `/business-types/${type.body.id}`;
      for (const level of ["PUBLIC", "USER", "BUSINESS", "SYSTEM"] as const) {
        assert.equal((await api.request("DELETE", path, ca.callers[level])).status, 403, level);
      }
      assert.equal((await api.request("DELETE", path)).status, 401);
      assert.equal((await api.request("GET", path, { token: a.adminToken })).status, 200);

      assert.equal((await api.request("DELETE", path, { token: a.adminToken })).status, 204);
      assert.equal((await api.request("GET", path, { token: a.adminToken })).status, 404);
      assert.equal((await api.request("DELETE", path, { token: a.adminToken })).status, 404);
      const kept = await api.request("GET", `/businesses/${business.body.id}`, { token: a.adminToken });
      assert.equal(kept.status, 200);
      assert.equal(kept.body.businessTypeId, null);
      assertInvalid(await api.request("DELETE", "/business-types/closing", { token: a.adminToken }), ["params.id"]);
    });

    it("isolates tenants: no caller of A reads, renames or deletes B's type, nor sees it in a list", async () => {
      const secret = await create({ name: "B Secret Type", description: "B's own words" }, { token: b.adminToken });
      const hidden = ["B Secret Type", "B's own words"];
      const path = `/business-types/${secret.body.id}`;
      for (const [level, caller] of Object.entries(ca.callers)) {
        assertRefused(await api.request("GET", path, caller), hidden, `${level} GET`);
        assertRefused(
          await api.request("PATCH", path, { ...caller, body: { name: "Hijacked" } }),
          hidden,
          `${level} PATCH`,
        );
        assertRefused(await api.request("DELETE", path, caller), hidden, `${level} DELETE`);
        const list = await api.request("GET", "/business-types?limit=100&name=Secret", caller);
        assert.equal(list.status, 200, level);
        assert.equal(list.body.pagination.total, 0, level);
        for (const value of hidden) assert.ok(!list.text.includes(value), `${level} list shows ${value}`);
      }
      // Nor use it for one of A's businesses.
      assertRefused(
        await api.request("POST", "/businesses", {
          token: a.adminToken,
          body: { name: "X", businessTypeId: secret.body.id },
        }),
        hidden,
        "ADMIN POST /businesses with B's type",
      );
      const still = await api.request("GET", path, { token: b.adminToken });
      assert.equal(still.body.name, "B Secret Type");
    });
  });
}
