import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { eq } from "drizzle-orm";
import { privateKeyToAccount } from "viem/accounts";
import type { Hex } from "viem";
import { open } from "../../crypto/secretBox.ts";
import { openCustodialWallet } from "../../crypto/wallets.ts";
import { users } from "../../db/schema.ts";
import {
  createTestTenant,
  insertUser,
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
import { custodialContext } from "./accounts.ts";

let chain: TestChain;
before(async () => (chain = await startTestChain()));
after(async () => chain.close());

const WALLET = "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65";

for (const database of testDatabases()) {
  describe(`/users on ${database.name}`, () => {
    let api: TestApi;
    let a: TestTenant;
    let b: TestTenant;
    let ca: TenantCallers;
    let cb: TenantCallers;

    const rowOf = async (id: string) => (await api.services.db.select().from(users).where(eq(users.id, id)))[0]!;
    const create = (body: Record<string, unknown>, caller: object = { token: a.adminToken }) =>
      api.request("POST", "/users", { ...caller, body });
    const ids = (response: TestResponse) => response.body.data.map((user: { id: string }) => user.id);

    before(async () => {
      api = await startTestApiOn(database, { chain });
      a = await createTestTenant(api);
      b = await createTestTenant(api);
      ca = await callersOf(api, a);
      cb = await callersOf(api, b);
    });
    after(() => api.close());

    it("makes a custodial wallet for a user who brings none: sealed under the master key, bound to the user, never returned", async () => {
      const created = await create({ email: "Custodial@Example.test", firstName: "Cus", segments: ["gold"] });
      assert.equal(created.status, 201, created.text);
      assert.equal(created.body.custodial, true);
      assert.equal(created.body.email, "custodial@example.test");
      assert.deepEqual(created.body.segments, ["gold"]);
      assert.equal(created.body.active, true);
      const { id, walletAddress } = created.body;

      const row = await rowOf(id);
      assert.equal(row.tenantId, a.id);
      assert.ok(row.keyCiphertext);
      const account = openCustodialWallet(api.config.MASTER_KEY, row.keyCiphertext, custodialContext("user", id));
      assert.equal(account.address, walletAddress);
      const privateKey = open(api.config.MASTER_KEY, row.keyCiphertext, custodialContext("user", id)) as Hex;
      assert.equal(privateKeyToAccount(privateKey).address, walletAddress);

      const responses = [
        created,
        await api.request("GET", `/users/${id}`, { token: a.adminToken }),
        await api.request("GET", "/users?limit=100", { token: a.adminToken }),
        await api.request("PATCH", `/users/${id}`, { token: a.adminToken, body: { lastName: "Todial" } }),
        await api.request("GET", "/users/me", {
          token: (await insertUser(api, a.id)).token,
        }),
      ];
      for (const response of responses) {
        assert.ok(response.status < 300, response.text);
        for (const secret of [row.keyCiphertext, privateKey, privateKey.slice(2), "keyCiphertext"]) {
          assert.ok(!response.text.includes(secret), `a response shows ${secret.slice(0, 12)}...`);
        }
      }

      // A ciphertext copied onto another user's row does not open there: the user's id is bound in.
      const other = await create({ email: "other@example.test" });
      await api.services.db.update(users).set({ keyCiphertext: row.keyCiphertext }).where(eq(users.id, other.body.id));
      assert.throws(() =>
        openCustodialWallet(api.config.MASTER_KEY, row.keyCiphertext!, custodialContext("user", other.body.id)),
      );
      assert.throws(() =>
        openCustodialWallet(api.config.MASTER_KEY, row.keyCiphertext!, custodialContext("business", id)),
      );
      const copied = await api.request("GET", `/users/${other.body.id}`, { token: a.adminToken });
      assert.ok(!copied.text.includes(row.keyCiphertext));
    });

    it("keeps the wallet a user brings (checksummed, no key stored); SYSTEM may create too", async () => {
      const created = await create(
        { walletAddress: WALLET.toLowerCase(), externalId: "idp|42", firstName: "Own", lastName: "Wallet" },
        ca.callers.SYSTEM,
      );
      assert.equal(created.status, 201, created.text);
      assert.equal(created.body.walletAddress, WALLET);
      assert.equal(created.body.custodial, false);
      assert.equal(created.body.externalId, "idp|42");
      assert.equal(created.body.email, null);
      assert.equal((await rowOf(created.body.id)).keyCiphertext, null);
    });

    it("refuses creation without credential (401), below SYSTEM (403), with bad bodies (400) and taken identifiers (409)", async () => {
      assert.equal((await api.request("POST", "/users", { body: {} })).status, 401);
      for (const level of ["PUBLIC", "USER", "BUSINESS"] as const) {
        const refused = await create({ email: `${level}@refused.test` }, ca.callers[level]);
        assert.equal(refused.status, 403, level);
        assert.ok(isProblem(refused));
      }
      assertInvalid(
        await create({ walletAddress: "0x123", email: "nope", segments: ["has space"], firstName: "", admin: true }),
        ["body.walletAddress", "body.email", "body.segments.0", "body.firstName"],
      );
      const unknown = await create({ password: "x" });
      assert.equal(unknown.status, 400);
      assert.match(unknown.text, /password/);
      const malformed = await api.request("POST", "/users", {
        token: a.adminToken,
        rawBody: "{not json",
        headers: { "content-type": "application/json" },
      });
      assert.equal(malformed.status, 400);
      assert.equal(malformed.body.type, "/problems/malformed-json");

      await create({
        walletAddress: "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc",
        email: "taken@example.test",
        externalId: "taken",
      });
      const before = (await api.request("GET", "/users?limit=1", { token: a.adminToken })).body.pagination.total;
      for (const [field, body] of [
        ["walletAddress", { walletAddress: "0x9965507d1a55bcc2695c58ba16fb37d819b0a4dc" }],
        ["email", { email: "TAKEN@example.test" }],
        ["externalId", { externalId: "taken" }],
      ] as const) {
        const taken = await create(body);
        assert.equal(taken.status, 409, `${field}: ${taken.text}`);
        assert.equal(taken.body.type, "/problems/conflict");
        assert.match(taken.body.detail, new RegExp(field));
      }
      assert.equal((await api.request("GET", "/users?limit=1", { token: a.adminToken })).body.pagination.total, before);
      // Racing creations pass the check together; the database's unique index still answers 409, not 500.
      const racing = await Promise.all(
        Array.from({ length: 6 }, (_, index) => create({ email: "race@example.test", firstName: `Racer ${index}` })),
      );
      assert.deepEqual(racing.map((response) => response.status).sort(), [201, 409, 409, 409, 409, 409]);
      // Another tenant's users are other people: the same identifiers are free there.
      const elsewhere = await create(
        {
          walletAddress: "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc",
          email: "taken@example.test",
          externalId: "taken",
        },
        { token: b.adminToken },
      );
      assert.equal(elsewhere.status, 201, elsewhere.text);
    });

    it("lists to ADMIN, SYSTEM and BUSINESS with filters on email, walletAddress, segment and active, and sorting", async () => {
      const c = await createTestTenant(api);
      const cc = await callersOf(api, c, "list");
      const made = [];
      for (const body of [
        { email: "ann@shop.test", firstName: "Ann", lastName: "Zeta", segments: ["gold", "vip"] },
        { email: "bob@shop.test", firstName: "Bob", lastName: "Alpha", segments: ["gold"] },
        { email: "cy@else.test", firstName: "Cy", lastName: "Mu", walletAddress: WALLET },
      ]) {
        const created = await create(body, { token: c.adminToken });
        assert.equal(created.status, 201, created.text);
        made.push(created.body);
      }
      const [ann, bob, cy] = made;
      for (const level of ["ADMIN", "SYSTEM", "BUSINESS"] as const) {
        const all = await api.request("GET", "/users?sort=email&order=asc&limit=100", cc.callers[level]);
        assert.equal(all.status, 200, `${level}: ${all.text}`);
        assert.equal(all.body.pagination.total, 5, level); // three here and callersOf's two
        assert.deepEqual(
          all.body.data.map((user: { email: string }) => user.email),
          [...all.body.data.map((user: { email: string }) => user.email)].sort(),
        );
      }
      const get = (query: string) => api.request("GET", `/users?${query}`, { token: c.adminToken });
      assert.deepEqual(ids(await get("email=SHOP.test&sort=email&order=asc")), [ann.id, bob.id]);
      assert.deepEqual(ids(await get(`walletAddress=${WALLET.toLowerCase()}`)), [cy.id]);
      assert.deepEqual(ids(await get("segment=gold&sort=lastName&order=asc")), [bob.id, ann.id]);
      assert.deepEqual(ids(await get("segment=vip")), [ann.id]);
      assert.deepEqual(ids(await get("segment=gold&sort=firstName&order=desc&limit=1&page=2")), [ann.id]);

      assert.equal((await api.request("DELETE", `/users/${bob.id}`, { token: c.adminToken })).status, 204);
      assert.deepEqual(ids(await get("active=false")), [bob.id]);
      assert.deepEqual(ids(await get("segment=gold&active=true")), [ann.id]);

      assertInvalid(await get("walletAddress=0xnope&segment=a%20b&sort=keyCiphertext&order=up"), [
        "query.walletAddress",
        "query.segment",
        "query.sort",
        "query.order",
      ]);
      assert.equal((await api.request("GET", "/users")).status, 401);
      for (const level of ["PUBLIC", "USER"] as const) {
        assert.equal((await api.request("GET", "/users", cc.callers[level])).status, 403, level);
      }
    });

    it("shows a USER only themself: /users/me and their own id; another user's id is 404", async () => {
      const me = await api.request("GET", "/users/me", ca.callers.USER);
      assert.equal(me.status, 200);
      assert.equal(me.body.id, ca.user.id);
      assert.equal(me.body.email, ca.user.email);
      const own = await api.request("GET", `/users/${ca.user.id}`, ca.callers.USER);
      assert.equal(own.status, 200);
      assert.equal(own.body.walletAddress, ca.user.walletAddress);

      const neighbour = await api.request("GET", `/users/${ca.member.id}`, ca.callers.USER);
      assert.equal(neighbour.status, 404);
      assert.ok(!neighbour.text.includes(ca.member.email!));
      assert.ok(!neighbour.text.includes(ca.member.walletAddress));

      for (const level of ["ADMIN", "SYSTEM", "BUSINESS"] as const) {
        const read = await api.request("GET", `/users/${ca.user.id}`, ca.callers[level]);
        assert.equal(read.status, 200, level);
        assert.equal(read.body.email, ca.user.email);
        assert.equal((await api.request("GET", "/users/me", ca.callers[level])).status, 403, level);
      }
      assert.equal((await api.request("GET", `/users/${ca.user.id}`, ca.callers.PUBLIC)).status, 403);
      assert.equal((await api.request("GET", `/users/${ca.user.id}`)).status, 401);
      assert.equal((await api.request("GET", "/users/me")).status, 401);
      assertInvalid(await api.request("GET", "/users/12", { token: a.adminToken }), ["params.id"]);
      assert.equal((await api.request("GET", `/users/${crypto.randomUUID()}`, { token: a.adminToken })).status, 404);
    });

    it("lets a USER change only their own names and email; ADMIN and SYSTEM change any field", async () => {
      const { user, token } = await insertUser(api, a.id, { email: "self@example.test" });
      const renamed = await api.request("PATCH", `/users/${user.id}`, {
        token,
        body: { firstName: "Self", lastName: "Made", email: "Me@Example.test" },
      });
      assert.equal(renamed.status, 200, renamed.text);
      assert.equal(renamed.body.firstName, "Self");
      assert.equal(renamed.body.email, "me@example.test");
      assert.equal(renamed.body.emailVerified, false, "an email the user typed in is not verified");
      assert.equal((await rowOf(user.id)).lastName, "Made");

      for (const body of [{ segments: ["vip"] }, { active: true }, { externalId: "mine" }, { walletAddress: WALLET }]) {
        const refused = await api.request("PATCH", `/users/${user.id}`, { token, body });
        assert.equal(refused.status, 403, JSON.stringify(body));
        assert.match(refused.body.detail, new RegExp(Object.keys(body)[0]!));
      }
      assert.deepEqual((await rowOf(user.id)).segments, []);

      const neighbour = await api.request("PATCH", `/users/${ca.member.id}`, {
        token,
        body: { firstName: "Hijacked" },
      });
      assert.equal(neighbour.status, 404);
      assert.notEqual((await rowOf(ca.member.id)).firstName, "Hijacked");
      const taken = await api.request("PATCH", `/users/${user.id}`, { token, body: { email: ca.member.email } });
      assert.equal(taken.status, 409);
      assert.equal((await rowOf(user.id)).email, "me@example.test");

      const byAdmin = await api.request("PATCH", `/users/${user.id}`, {
        token: a.adminToken,
        body: { segments: ["vip", "gold"], externalId: "idp|self", email: null, active: false },
      });
      assert.equal(byAdmin.status, 200, byAdmin.text);
      assert.deepEqual(byAdmin.body.segments, ["vip", "gold"]);
      assert.equal(byAdmin.body.email, null);
      assert.equal(byAdmin.body.emailVerified, true, "one the tenant sets is");
      assert.equal(byAdmin.body.active, false);
      const bySystem = await api.request("PATCH", `/users/${user.id}`, {
        ...ca.callers.SYSTEM,
        body: { active: true, lastName: null },
      });
      assert.equal(bySystem.body.active, true);
      assert.equal(bySystem.body.lastName, null);
      assert.equal(bySystem.body.externalId, "idp|self");

      // A custodial wallet's address is its key's: it cannot be swapped; a brought one can.
      const custodial = await api.request("PATCH", `/users/${user.id}`, {
        token: a.adminToken,
        body: { walletAddress: WALLET },
      });
      assert.equal(custodial.status, 409);
      const brought = await create({ walletAddress: "0x976EA74026E726554dB657fA54763abd0C3a0aa9" });
      const moved = await api.request("PATCH", `/users/${brought.body.id}`, {
        token: a.adminToken,
        body: { walletAddress: "0x14dC79964da2C08b23698B3D3cc7Ca32193d9955" },
      });
      assert.equal(moved.status, 200, moved.text);
      assert.equal(moved.body.walletAddress, "0x14dC79964da2C08b23698B3D3cc7Ca32193d9955");
      const clash = await api.request("PATCH", `/users/${brought.body.id}`, {
        token: a.adminToken,
        body: { walletAddress: ca.user.walletAddress },
      });
      assert.equal(clash.status, 409);

      assertInvalid(
        await api.request("PATCH", `/users/${user.id}`, { token: a.adminToken, body: { email: 5, segments: "vip" } }),
        ["body.email", "body.segments"],
      );
      assert.equal(
        (await api.request("PATCH", `/users/${crypto.randomUUID()}`, { token: a.adminToken, body: { firstName: "X" } }))
          .status,
        404,
      );
      assert.equal((await api.request("PATCH", `/users/${user.id}`, { body: { firstName: "X" } })).status, 401);
      for (const level of ["PUBLIC", "BUSINESS"] as const) {
        const refused = await api.request("PATCH", `/users/${user.id}`, {
          ...ca.callers[level],
          body: { firstName: "X" },
        });
        assert.equal(refused.status, 403, level);
      }
    });

    it("deactivates through DELETE (ADMIN or SYSTEM); refresh then stops", async () => {
      const { user } = await insertUser(api, a.id, { email: "gone@example.test" });
      const { startSession } = await import("../../auth/sessions.ts");
      const session = await startSession(api.services, { tenantId: a.id, level: "USER", subject: `user:${user.id}` });
      assert.equal((await api.request("DELETE", `/users/${user.id}`, ca.callers.SYSTEM)).status, 204);
      const read = await api.request("GET", `/users/${user.id}`, { token: a.adminToken });
      assert.equal(read.body.active, false);
      assert.equal(read.body.email, "gone@example.test");
      const refreshed = await api.request("POST", "/auth/refresh", { body: { refreshToken: session.refreshToken } });
      assert.equal(refreshed.status, 401);

      const { user: second } = await insertUser(api, a.id);
      assert.equal((await api.request("DELETE", `/users/${second.id}`, { token: a.adminToken })).status, 204);
      assert.equal((await rowOf(second.id)).active, false);

      for (const level of ["PUBLIC", "USER", "BUSINESS"] as const) {
        assert.equal((await api.request("DELETE", `/users/${ca.user.id}`, ca.callers[level])).status, 403, level);
      }
      assert.equal((await rowOf(ca.user.id)).active, true);
      assert.equal((await api.request("DELETE", `/users/${ca.user.id}`)).status, 401);
      assert.equal((await api.request("DELETE", `/users/${crypto.randomUUID()}`, { token: a.adminToken })).status, 404);
      assertInvalid(await api.request("DELETE", "/users/me", { token: a.adminToken }), ["params.id"]);
    });

    it("isolates tenants: no caller of A reads, changes or deactivates B's users, nor sees them in a list", async () => {
      const target = cb.user;
      const hidden = [target.email!, target.walletAddress];
      for (const [level, caller] of Object.entries(ca.callers)) {
        assertRefused(await api.request("GET", `/users/${target.id}`, caller), hidden, `${level} GET`);
        assertRefused(
          await api.request("PATCH", `/users/${target.id}`, { ...caller, body: { firstName: "Hijacked" } }),
          hidden,
          `${level} PATCH`,
        );
        assertRefused(await api.request("DELETE", `/users/${target.id}`, caller), hidden, `${level} DELETE`);
        const list = await api.request("GET", `/users?limit=100&walletAddress=${target.walletAddress}`, caller);
        for (const value of hidden) assert.ok(!list.text.includes(value), `${level} list shows ${value}`);
        if (list.status === 200) assert.equal(list.body.pagination.total, 0);
        const me = await api.request("GET", "/users/me", caller);
        for (const value of hidden) assert.ok(!me.text.includes(value), `${level} /users/me shows ${value}`);
      }
      const row = await rowOf(target.id);
      assert.equal(row.firstName, null);
      assert.equal(row.active, true);
      assert.equal(row.tenantId, b.id);
    });
  });
}
