import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { eq } from "drizzle-orm";
import { startSession, type Session } from "../../auth/sessions.ts";
import { open } from "../../crypto/secretBox.ts";
import { openCustodialWallet } from "../../crypto/wallets.ts";
import { businesses } from "../../db/schema.ts";
import {
  createTestTenant,
  insertUser,
  isProblem,
  startTestApiOn,
  startTestChain,
  testDatabases,
  tokenFor,
  type TestApi,
  type TestChain,
  type TestResponse,
  type TestTenant,
} from "../../../test/harness.ts";
import { assertInvalid, assertRefused, callersOf, type TenantCallers } from "../../../test/callers.ts";
import { custodialContext } from "../users/accounts.ts";

let chain: TestChain;
before(async () => (chain = await startTestChain()));
after(async () => chain.close());

const PUBLIC_FIELDS = ["businessTypeId", "id", "name", "walletAddress"];
const FULL_FIELDS = [...PUBLIC_FIELDS, "active", "createdAt", "custodial", "email", "updatedAt"].sort();

for (const database of testDatabases()) {
  describe(`/businesses on ${database.name}`, () => {
    let api: TestApi;
    let a: TestTenant;
    let b: TestTenant;
    let ca: TenantCallers;
    let cb: TenantCallers;
    let cafeType: string;
    let foreignType: string;

    const rowOf = async (id: string) =>
      (await api.services.db.select().from(businesses).where(eq(businesses.id, id)))[0]!;
    const create = (body: Record<string, unknown>, caller: object = { token: a.adminToken }) =>
      api.request("POST", "/businesses", { ...caller, body });
    const ids = (response: TestResponse) => response.body.data.map((business: { id: string }) => business.id);
    const fields = (value: object) => Object.keys(value).sort();

    before(async () => {
      api = await startTestApiOn(database, { chain });
      a = await createTestTenant(api);
      b = await createTestTenant(api);
      ca = await callersOf(api, a);
      cb = await callersOf(api, b);
      const cafe = await api.request("POST", "/business-types", { token: a.adminToken, body: { name: "Cafe" } });
      cafeType = cafe.body.id;
      const foreign = await api.request("POST", "/business-types", { token: b.adminToken, body: { name: "Cafe" } });
      foreignType = foreign.body.id;
    });
    after(() => api.close());

    it("gives each business its own custodial wallet, sealed and bound to the business, never returned", async () => {
      const created = await create({ name: "Bean There", email: "Hello@Bean.test", businessTypeId: cafeType });
      assert.equal(created.status, 201, created.text);
      assert.deepEqual(fields(created.body), FULL_FIELDS);
      assert.equal(created.body.name, "Bean There");
      assert.equal(created.body.email, "hello@bean.test");
      assert.equal(created.body.businessTypeId, cafeType);
      assert.equal(created.body.custodial, true);
      assert.equal(created.body.active, true);

      const row = await rowOf(created.body.id);
      assert.equal(row.tenantId, a.id);
      const context = custodialContext("business", row.id);
      assert.equal(
        openCustodialWallet(api.config.MASTER_KEY, row.keyCiphertext, context).address,
        created.body.walletAddress,
      );
      const privateKey = open(api.config.MASTER_KEY, row.keyCiphertext, context);

      const other = await create({ name: "Other" });
      assert.notEqual(other.body.walletAddress, created.body.walletAddress);
      await api.services.db
        .update(businesses)
        .set({ keyCiphertext: row.keyCiphertext })
        .where(eq(businesses.id, other.body.id));
      assert.throws(() =>
        openCustodialWallet(api.config.MASTER_KEY, row.keyCiphertext, custodialContext("business", other.body.id)),
      );
      assert.throws(() =>
        openCustodialWallet(api.config.MASTER_KEY, row.keyCiphertext, custodialContext("user", row.id)),
      );

      const responses = [
        created,
        await api.request("GET", `/businesses/${row.id}`, { token: a.adminToken }),
        await api.request("GET", `/businesses/${row.id}`, ca.callers.PUBLIC),
        await api.request("GET", "/businesses?limit=100", { token: a.adminToken }),
        await api.request("PATCH", `/businesses/${row.id}`, { token: a.adminToken, body: { name: "Bean Here" } }),
      ];
      for (const response of responses) {
        assert.equal(response.status, response === created ? 201 : 200, response.text);
        for (const secret of [row.keyCiphertext, privateKey, privateKey.slice(2), "keyCiphertext"]) {
          assert.ok(!response.text.includes(secret), `a response shows ${secret.slice(0, 12)}...`);
        }
      }
    });

    it("refuses creation below ADMIN (403), without credential (401), with a bad body (400) or another tenant's type (404)", async () => {
      const count = async () =>
        (await api.request("GET", "/businesses?limit=1", { token: a.adminToken })).body.pagination.total;
      const before = await count();
      assert.equal((await api.request("POST", "/businesses", { body: { name: "X" } })).status, 401);
      for (const level of ["PUBLIC", "USER", "BUSINESS", "SYSTEM"] as const) {
        const refused = await create({ name: "X" }, ca.callers[level]);
        assert.equal(refused.status, 403, level);
        assert.ok(isProblem(refused));
      }
      assertInvalid(await create({ name: " ", email: "no", businessTypeId: "cafe", walletAddress: "0x0" }), [
        "body.name",
        "body.email",
        "body.businessTypeId",
      ]);
      for (const businessTypeId of [foreignType, crypto.randomUUID()]) {
        const refused = await create({ name: "Typed", businessTypeId });
        assert.equal(refused.status, 404);
        assert.match(refused.body.detail, /business type/);
      }
      assert.equal(await count(), before);
    });

    it("lists the active businesses' public fields to anyone with the project key, everything to ADMIN and SYSTEM", async () => {
      const c = await createTestTenant(api);
      const cc = await callersOf(api, c, "list");
      const type = (await api.request("POST", "/business-types", { token: c.adminToken, body: { name: "Shop" } })).body
        .id;
      const made: Record<string, { id: string }> = {};
      for (const [name, businessTypeId] of [
        ["Alpha Shop", type],
        ["Beta Shop", type],
        ["Gamma 100%", null],
      ] as const) {
        const created = await create(
          { name, email: `${name.split(" ")[0]!.toLowerCase()}@list.test`, ...(businessTypeId && { businessTypeId }) },
          { token: c.adminToken },
        );
        made[name] = created.body;
      }
      assert.equal(
        (await api.request("DELETE", `/businesses/${made["Beta Shop"]!.id}`, { token: c.adminToken })).status,
        204,
      );
      const callersBusiness = cc.business.id;

      const anyone = await api.request("GET", "/businesses?sort=name&order=asc", cc.callers.PUBLIC);
      assert.equal(anyone.status, 200);
      assert.deepEqual(ids(anyone), [made["Alpha Shop"]!.id, made["Gamma 100%"]!.id, callersBusiness]);
      for (const business of anyone.body.data) assert.deepEqual(fields(business), PUBLIC_FIELDS);
      assert.ok(!anyone.text.includes("@list.test"));
      assert.equal(anyone.body.pagination.total, 3);
      const noInactive = await api.request("GET", "/businesses?active=false", cc.callers.PUBLIC);
      assert.deepEqual(ids(noInactive), []);

      for (const level of ["ADMIN", "SYSTEM"] as const) {
        const all = await api.request("GET", "/businesses?sort=name&order=asc", cc.callers[level]);
        assert.deepEqual(ids(all), [
          made["Alpha Shop"]!.id,
          made["Beta Shop"]!.id,
          made["Gamma 100%"]!.id,
          callersBusiness,
        ]);
        for (const business of all.body.data) assert.deepEqual(fields(business), FULL_FIELDS);
      }
      // Users see what anyone sees; a business sees itself in full and the others' public fields.
      const asUser = await api.request("GET", "/businesses", cc.callers.USER);
      for (const business of asUser.body.data) assert.deepEqual(fields(business), PUBLIC_FIELDS);
      const asBusiness = await api.request("GET", "/businesses", cc.callers.BUSINESS);
      assert.equal(asBusiness.body.pagination.total, 3);
      for (const business of asBusiness.body.data) {
        assert.deepEqual(fields(business), business.id === callersBusiness ? FULL_FIELDS : PUBLIC_FIELDS);
      }

      const admin = (query: string) => api.request("GET", `/businesses?${query}`, { token: c.adminToken });
      assert.deepEqual(ids(await admin(`businessTypeId=${type}&sort=name&order=desc`)), [
        made["Beta Shop"]!.id,
        made["Alpha Shop"]!.id,
      ]);
      assert.deepEqual(ids(await admin(`businessTypeId=${type}&active=true`)), [made["Alpha Shop"]!.id]);
      assert.deepEqual(ids(await admin("active=false")), [made["Beta Shop"]!.id]);
      assert.deepEqual(ids(await admin("name=SHOP&sort=name&order=asc")), [
        made["Alpha Shop"]!.id,
        made["Beta Shop"]!.id,
      ]);
      assert.deepEqual(ids(await admin(`name=${encodeURIComponent("0%")}`)), [made["Gamma 100%"]!.id]);
      // LIKE's wildcards match literally: "a_S" would otherwise match "Alpha Shop".
      assert.deepEqual(ids(await admin("name=a_S")), []);
      assert.deepEqual(ids(await admin("name=sh&limit=1&page=2&sort=name&order=asc")), [made["Beta Shop"]!.id]);

      assertInvalid(await admin("businessTypeId=shop&active=sometimes&sort=email"), [
        "query.businessTypeId",
        "query.active",
        "query.sort",
      ]);
      assert.equal((await api.request("GET", "/businesses")).status, 401);
      assert.equal((await api.request("GET", "/businesses", { projectKey: "pers_pk_unknown" })).status, 401);
    });

    it("reads one business: public fields to anyone while active, all of them to ADMIN, SYSTEM and itself", async () => {
      const { business } = ca;
      const anyone = await api.request("GET", `/businesses/${business.id}`, ca.callers.PUBLIC);
      assert.equal(anyone.status, 200);
      assert.deepEqual(anyone.body, {
        id: business.id,
        name: business.name,
        businessTypeId: null,
        walletAddress: business.walletAddress,
      });
      for (const level of ["ADMIN", "SYSTEM", "BUSINESS"] as const) {
        const full = await api.request("GET", `/businesses/${business.id}`, ca.callers[level]);
        assert.deepEqual(fields(full.body), FULL_FIELDS, level);
        assert.equal(full.body.active, true);
      }
      const elsewhere = await create({ name: "Elsewhere", email: "private@elsewhere.test" });
      const seenByBusiness = await api.request("GET", `/businesses/${elsewhere.body.id}`, ca.callers.BUSINESS);
      assert.deepEqual(fields(seenByBusiness.body), PUBLIC_FIELDS);
      assert.ok(!seenByBusiness.text.includes("private@elsewhere.test"));

      assert.equal(
        (await api.request("DELETE", `/businesses/${elsewhere.body.id}`, { token: a.adminToken })).status,
        204,
      );
      for (const level of ["PUBLIC", "USER", "BUSINESS"] as const) {
        const gone = await api.request("GET", `/businesses/${elsewhere.body.id}`, ca.callers[level]);
        assert.equal(gone.status, 404, level);
        assert.ok(!gone.text.includes("Elsewhere"));
      }
      const inactive = await api.request("GET", `/businesses/${elsewhere.body.id}`, { token: a.adminToken });
      assert.equal(inactive.body.active, false);
      assert.equal(inactive.body.email, "private@elsewhere.test");

      assertInvalid(await api.request("GET", "/businesses/cafe", ca.callers.PUBLIC), ["params.id"]);
      assert.equal(
        (await api.request("GET", `/businesses/${crypto.randomUUID()}`, { token: a.adminToken })).status,
        404,
      );
      assert.equal((await api.request("GET", `/businesses/${business.id}`)).status, 401);
    });

    it("lets ADMIN change any field and a business only its own name and email (another business: 404)", async () => {
      const own = await create({ name: "Own Place", email: "own@place.test" });
      const neighbour = await create({ name: "Next Door" });
      const { user: member } = await insertUser(api, a.id);
      await api.request("POST", `/businesses/${own.body.id}/members`, {
        token: a.adminToken,
        body: { userId: member.id },
      });
      const token = await tokenFor(api, {
        tenantId: a.id,
        level: "BUSINESS",
        subject: `user:${member.id}`,
        businessId: own.body.id,
      });

      const renamed = await api.request("PATCH", `/businesses/${own.body.id}`, {
        token,
        body: { name: "Own Place II", email: "New@Place.test" },
      });
      assert.equal(renamed.status, 200, renamed.text);
      assert.equal(renamed.body.name, "Own Place II");
      assert.equal(renamed.body.email, "new@place.test");
      for (const body of [{ active: false }, { businessTypeId: cafeType }]) {
        const refused = await api.request("PATCH", `/businesses/${own.body.id}`, { token, body });
        assert.equal(refused.status, 403);
        assert.match(refused.body.detail, new RegExp(Object.keys(body)[0]!));
      }
      assert.equal((await rowOf(own.body.id)).active, true);
      const foreign = await api.request("PATCH", `/businesses/${neighbour.body.id}`, {
        token,
        body: { name: "Taken Over" },
      });
      assert.equal(foreign.status, 404);
      assert.equal((await rowOf(neighbour.body.id)).name, "Next Door");

      const byAdmin = await api.request("PATCH", `/businesses/${neighbour.body.id}`, {
        token: a.adminToken,
        body: { businessTypeId: cafeType, email: "door@next.test", active: false },
      });
      assert.equal(byAdmin.status, 200);
      assert.equal(byAdmin.body.businessTypeId, cafeType);
      assert.equal(byAdmin.body.active, false);
      const untyped = await api.request("PATCH", `/businesses/${neighbour.body.id}`, {
        token: a.adminToken,
        body: { businessTypeId: null, email: null, active: true },
      });
      assert.equal(untyped.body.businessTypeId, null);
      assert.equal(untyped.body.email, null);
      assert.equal(untyped.body.active, true);
      const foreignType_ = await api.request("PATCH", `/businesses/${neighbour.body.id}`, {
        token: a.adminToken,
        body: { businessTypeId: foreignType },
      });
      assert.equal(foreignType_.status, 404);
      assert.equal((await rowOf(neighbour.body.id)).businessTypeId, null);

      assertInvalid(
        await api.request("PATCH", `/businesses/${own.body.id}`, {
          token: a.adminToken,
          body: { name: "", active: "no" },
        }),
        ["body.name", "body.active"],
      );
      assert.equal(
        (
          await api.request("PATCH", `/businesses/${own.body.id}`, {
            token: a.adminToken,
            body: { walletAddress: "0x1" },
          })
        ).status,
        400,
      );
      assert.equal(
        (await api.request("PATCH", `/businesses/${crypto.randomUUID()}`, { token: a.adminToken, body: { name: "X" } }))
          .status,
        404,
      );
      assert.equal((await api.request("PATCH", `/businesses/${own.body.id}`, { body: { name: "X" } })).status, 401);
      for (const level of ["PUBLIC", "USER", "SYSTEM"] as const) {
        const refused = await api.request("PATCH", `/businesses/${own.body.id}`, {
          ...ca.callers[level],
          body: { name: "X" },
        });
        assert.equal(refused.status, 403, level);
      }
      assert.equal((await rowOf(own.body.id)).name, "Own Place II");
    });

    it("deactivates through DELETE (ADMIN only): its members' business sessions stop refreshing", async () => {
      const place = await create({ name: "Closing Down" });
      const { user } = await insertUser(api, a.id);
      const { user: colleague } = await insertUser(api, a.id);
      const { user: outsider, token: outsiderToken } = await insertUser(api, a.id);
      const sessions = [];
      for (const member of [user, colleague]) {
        await api.request("POST", `/businesses/${place.body.id}/members`, {
          token: a.adminToken,
          body: { userId: member.id },
        });
        sessions.push(
          await startSession(api.services, {
            tenantId: a.id,
            level: "BUSINESS",
            subject: `user:${member.id}`,
            businessId: place.body.id,
          }),
        );
      }
      const [session, colleagueSession] = sessions as [Session, Session];
      const first = await api.request("POST", "/auth/refresh", { body: { refreshToken: session.refreshToken } });
      assert.equal(first.status, 200, first.text);

      for (const level of ["PUBLIC", "USER", "BUSINESS", "SYSTEM"] as const) {
        assert.equal(
          (await api.request("DELETE", `/businesses/${place.body.id}`, ca.callers[level])).status,
          403,
          level,
        );
      }
      assert.equal((await api.request("DELETE", `/businesses/${place.body.id}`)).status, 401);
      assert.equal((await rowOf(place.body.id)).active, true);

      const acting = { token: session.accessToken };
      assert.equal((await api.request("GET", `/businesses/${place.body.id}`, acting)).status, 200);
      const colleagues = { token: colleagueSession.accessToken };
      assert.equal((await api.request("GET", `/users/${colleague.id}`, colleagues)).status, 200);
      assert.equal((await api.request("DELETE", `/businesses/${place.body.id}`, { token: a.adminToken })).status, 204);
      assert.equal((await rowOf(place.body.id)).active, false);
      // Its members' access tokens stop with it, not when they expire; another user's go on.
      assert.equal((await api.request("GET", `/businesses/${place.body.id}`, acting)).status, 401);
      const second = await api.request("POST", "/auth/refresh", { body: { refreshToken: first.body.refreshToken } });
      assert.equal(second.status, 401);
      assert.equal((await api.request("GET", `/users/${colleague.id}`, colleagues)).status, 401);
      const colleagueRefresh = { refreshToken: colleagueSession.refreshToken };
      assert.equal((await api.request("POST", "/auth/refresh", { body: colleagueRefresh })).status, 401);
      assert.equal((await api.request("GET", `/users/${outsider.id}`, { token: outsiderToken })).status, 200);
      assert.equal(
        (await api.request("DELETE", `/businesses/${crypto.randomUUID()}`, { token: a.adminToken })).status,
        404,
      );
      assertInvalid(await api.request("DELETE", "/businesses/x", { token: a.adminToken }), ["params.id"]);
    });

    it("adds, lists and removes the users who act for a business", async () => {
      const place = await create({ name: "Members Only" });
      const id = place.body.id;
      const path = `/businesses/${id}/members`;
      const { user: first } = await insertUser(api, a.id, { email: "first@members.test", firstName: "First" });
      const { user: second } = await insertUser(api, a.id, { email: "second@members.test" });

      const added = await api.request("POST", path, { token: a.adminToken, body: { userId: first.id } });
      assert.equal(added.status, 201, added.text);
      assert.equal(added.body.userId, first.id);
      assert.equal(added.body.email, "first@members.test");
      assert.equal(added.body.firstName, "First");
      assert.equal(added.body.walletAddress, first.walletAddress);
      assert.ok(!added.text.includes(first.keyCiphertext!));
      assert.equal((await api.request("POST", path, { token: a.adminToken, body: { userId: second.id } })).status, 201);

      const again = await api.request("POST", path, { token: a.adminToken, body: { userId: first.id } });
      assert.equal(again.status, 409);
      const stranger = await api.request("POST", path, { token: a.adminToken, body: { userId: crypto.randomUUID() } });
      assert.equal(stranger.status, 404);
      assert.match(stranger.body.detail, /user/);
      const nowhere = await api.request("POST", `/businesses/${crypto.randomUUID()}/members`, {
        token: a.adminToken,
        body: { userId: first.id },
      });
      assert.equal(nowhere.status, 404);
      assertInvalid(
        await api.request("POST", path, { token: a.adminToken, body: { userId: "first", role: "owner" } }),
        ["body.userId"],
      );
      assert.equal((await api.request("POST", path, { body: { userId: first.id } })).status, 401);
      for (const level of ["PUBLIC", "USER", "BUSINESS", "SYSTEM"] as const) {
        const refused = await api.request("POST", path, { ...ca.callers[level], body: { userId: ca.user.id } });
        assert.equal(refused.status, 403, level);
      }

      const ownToken = await tokenFor(api, {
        tenantId: a.id,
        level: "BUSINESS",
        subject: `user:${first.id}`,
        businessId: id,
      });
      for (const caller of [{ token: a.adminToken }, ca.callers.SYSTEM, { token: ownToken }]) {
        const listed = await api.request("GET", `${path}?order=asc`, caller);
        assert.equal(listed.status, 200, listed.text);
        assert.deepEqual(
          listed.body.data.map((member: { userId: string }) => member.userId),
          [first.id, second.id],
        );
        assert.equal(listed.body.pagination.total, 2);
      }
      const paged = await api.request("GET", `${path}?order=desc&limit=1`, { token: a.adminToken });
      assert.deepEqual(
        paged.body.data.map((member: { userId: string }) => member.userId),
        [second.id],
      );
      // Another business's members are not a business caller's to see.
      const otherBusiness = await api.request("GET", path, ca.callers.BUSINESS);
      assert.equal(otherBusiness.status, 404);
      assert.ok(!otherBusiness.text.includes("first@members.test"));
      for (const level of ["PUBLIC", "USER"] as const) {
        assert.equal((await api.request("GET", path, ca.callers[level])).status, 403, level);
      }
      assert.equal((await api.request("GET", path)).status, 401);
      assertInvalid(await api.request("GET", `${path}?sort=email`, { token: a.adminToken }), ["query.sort"]);

      const session = await startSession(api.services, {
        tenantId: a.id,
        level: "BUSINESS",
        subject: `user:${second.id}`,
        businessId: id,
      });
      for (const level of ["PUBLIC", "USER", "BUSINESS", "SYSTEM"] as const) {
        assert.equal((await api.request("DELETE", `${path}/${second.id}`, ca.callers[level])).status, 403, level);
      }
      assert.equal((await api.request("DELETE", `${path}/${second.id}`)).status, 401);
      assert.equal((await api.request("GET", path, { token: session.accessToken })).status, 200);
      assert.equal((await api.request("DELETE", `${path}/${second.id}`, { token: a.adminToken })).status, 204);
      assert.equal((await api.request("GET", path, { token: session.accessToken })).status, 401);
      assert.equal((await api.request("GET", path, { token: ownToken })).status, 200, "other members act on");
      const removedAgain = await api.request("DELETE", `${path}/${second.id}`, { token: a.adminToken });
      assert.equal(removedAgain.status, 404);
      assert.equal(
        (await api.request("POST", "/auth/refresh", { body: { refreshToken: session.refreshToken } })).status,
        401,
      );
      const remaining = await api.request("GET", path, { token: a.adminToken });
      assert.deepEqual(
        remaining.body.data.map((member: { userId: string }) => member.userId),
        [first.id],
      );
      assertInvalid(await api.request("DELETE", `${path}/nobody`, { token: a.adminToken }), ["params.userId"]);
    });

    it("isolates tenants: no caller of A reads, changes or joins B's business or sees its members", async () => {
      const target = cb.business;
      const hidden = [target.name, target.walletAddress, cb.member.email!];
      const memberPath = `/businesses/${target.id}/members`;
      for (const [level, caller] of Object.entries(ca.callers)) {
        assertRefused(await api.request("GET", `/businesses/${target.id}`, caller), hidden, `${level} GET`);
        assertRefused(
          await api.request("PATCH", `/businesses/${target.id}`, { ...caller, body: { name: "Hijacked" } }),
          hidden,
          `${level} PATCH`,
        );
        assertRefused(await api.request("DELETE", `/businesses/${target.id}`, caller), hidden, `${level} DELETE`);
        assertRefused(await api.request("GET", memberPath, caller), hidden, `${level} GET members`);
        assertRefused(
          await api.request("POST", memberPath, { ...caller, body: { userId: ca.user.id } }),
          hidden,
          `${level} POST members`,
        );
        assertRefused(
          await api.request("DELETE", `${memberPath}/${cb.member.id}`, caller),
          hidden,
          `${level} DELETE member`,
        );
        const list = await api.request("GET", "/businesses?limit=100", caller);
        for (const value of hidden) assert.ok(!list.text.includes(value), `${level} list shows ${value}`);
      }
      // A's admin cannot pull B's user into A's business either.
      const pulled = await api.request("POST", `/businesses/${ca.business.id}/members`, {
        token: a.adminToken,
        body: { userId: cb.user.id },
      });
      assertRefused(pulled, [cb.user.email!, cb.user.walletAddress], "ADMIN POST B's user");

      const row = await rowOf(target.id);
      assert.equal(row.name, target.name);
      assert.equal(row.active, true);
      const members = await api.request("GET", memberPath, { token: b.adminToken });
      assert.deepEqual(
        members.body.data.map((member: { userId: string }) => member.userId),
        [cb.member.id],
      );
    });
  });
}
