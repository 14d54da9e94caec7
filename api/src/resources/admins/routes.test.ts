import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { eq, sql } from "drizzle-orm";
import { verifyPassword } from "../../crypto/hashing.ts";
import { admins } from "../../db/schema.ts";
import {
  createTestTenant,
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
import {
  assertInvalid,
  assertNeedsSignedInAdmin,
  assertRefused,
  callersOf,
  type TenantCallers,
} from "../../../test/callers.ts";

let chain: TestChain;
before(async () => (chain = await startTestChain()));
after(async () => chain.close());

const PASSWORD = "a long enough password";

for (const database of testDatabases()) {
  describe(`/admins on ${database.name}`, () => {
    let api: TestApi;
    let a: TestTenant;
    let b: TestTenant;
    let ca: TenantCallers;

    const signIn = (tenant: TestTenant, email: string, password: string) =>
      api.request("POST", "/auth/token", {
        projectKey: tenant.projectKey,
        body: { type: "password", email, password },
      });
    const create = (tenant: TestTenant, body: Record<string, unknown>) =>
      api.request("POST", "/admins", { token: tenant.adminToken, body });

    before(async () => {
      api = await startTestApiOn(database, { chain });
      a = await createTestTenant(api);
      b = await createTestTenant(api);
      ca = await callersOf(api, a);
    });
    after(() => api.close());

    it("creates an admin with a scrypt hash that is never returned, who can then sign in", async () => {
      const created = await create(a, { email: "Ops@Example.test", name: "Ops", password: PASSWORD });
      assert.equal(created.status, 201, created.text);
      assert.equal(created.body.email, "ops@example.test");
      assert.equal(created.body.name, "Ops");
      assert.equal(created.body.active, true);
      assert.equal(created.body.lastLoginAt, null);
      assert.equal("passwordHash" in created.body, false);
      assert.ok(!created.text.includes("scrypt"));
      assert.ok(!created.text.includes(PASSWORD));

      const [row] = await api.services.db.select().from(admins).where(eq(admins.id, created.body.id));
      assert.equal(row!.tenantId, a.id);
      assert.match(row!.passwordHash, /^scrypt\$/);
      assert.equal(await verifyPassword(PASSWORD, row!.passwordHash), true);

      const session = await signIn(a, "ops@example.test", PASSWORD);
      assert.equal(session.status, 200, session.text);
      assert.equal(session.body.level, "ADMIN");
      const read = await api.request("GET", `/admins/${created.body.id}`, { token: session.body.accessToken });
      assert.equal(read.status, 200);
      assert.notEqual(read.body.lastLoginAt, null);
      for (const listed of [read, await api.request("GET", "/admins", { token: a.adminToken })]) {
        assert.ok(!listed.text.includes("scrypt"), "a hash leaked");
      }
    });

    it("refuses creation without credential (401), below ADMIN (403), with a bad body (400) or a taken email (409)", async () => {
      const body = { email: "new@example.test", name: "New", password: PASSWORD };
      const anonymous = await api.request("POST", "/admins", { body });
      assert.equal(anonymous.status, 401);
      assert.ok(isProblem(anonymous));
      for (const level of ["PUBLIC", "USER", "BUSINESS", "SYSTEM"] as const) {
        const refused = await api.request("POST", "/admins", { ...ca.callers[level], body });
        assert.equal(refused.status, 403, `${level}: ${refused.text}`);
        assert.equal(refused.body.type, "/problems/forbidden");
      }
      assertInvalid(await create(a, { email: "not an email", name: "", password: "short", role: "x" }), [
        "body.email",
        "body.name",
        "body.password",
      ]);
      const short = await create(a, { email: "short@example.test", name: "S", password: "elevenchars" });
      assertInvalid(short, ["body.password"]);
      assert.match(short.body.errors[0].message, /12/);
      const taken = await create(a, { email: a.admin.email.toUpperCase(), name: "Twin", password: PASSWORD });
      assert.equal(taken.status, 409);
      assert.equal(taken.body.type, "/problems/conflict");
      // The same email in another tenant is another person.
      const elsewhere = await create(b, { email: a.admin.email, name: "Namesake", password: PASSWORD });
      assert.equal(elsewhere.status, 201, elsewhere.text);
      const listed = await api.request("GET", "/admins", { token: a.adminToken });
      assert.equal(listed.body.data.filter((admin: { email: string }) => admin.email === a.admin.email).length, 1);
    });

    it("lists with filters on active and email, sorting and pagination", async () => {
      const c = await createTestTenant(api);
      for (const [email, name] of [
        ["zed@list.test", "Zed"],
        ["amy@list.test", "Amy"],
        ["max_100@other.test", "Max"],
        ["maxa100@other.test", "Maxa"],
      ]) {
        assert.equal((await create(c, { email, name, password: PASSWORD })).status, 201);
      }
      const all = await api.request("GET", "/admins?sort=name&order=asc", { token: c.adminToken });
      assert.equal(all.status, 200);
      assert.deepEqual(
        all.body.data.map((admin: { name: string }) => admin.name),
        ["Admin", "Amy", "Max", "Maxa", "Zed"],
      );
      assert.equal(all.body.pagination.total, 5);

      const emails = [c.admin.email, "amy@list.test", "max_100@other.test", "maxa100@other.test", "zed@list.test"];
      const page = await api.request("GET", "/admins?sort=email&order=desc&limit=2&page=2", { token: c.adminToken });
      assert.deepEqual(
        page.body.data.map((admin: { email: string }) => admin.email),
        emails.sort().reverse().slice(2, 4),
      );
      assert.deepEqual(page.body.pagination, { page: 2, limit: 2, total: 5 });

      const byEmail = await api.request("GET", "/admins?email=LIST.TEST&sort=email&order=asc", { token: c.adminToken });
      assert.deepEqual(
        byEmail.body.data.map((admin: { email: string }) => admin.email),
        ["amy@list.test", "zed@list.test"],
      );
      // "_" is a LIKE wildcard: the filter must match it literally.
      const literal = await api.request("GET", "/admins?email=x_100", { token: c.adminToken });
      assert.deepEqual(
        literal.body.data.map((admin: { email: string }) => admin.email),
        ["max_100@other.test"],
      );

      const zed = all.body.data.find((admin: { name: string }) => admin.name === "Zed");
      assert.equal((await api.request("DELETE", `/admins/${zed.id}`, { token: c.adminToken })).status, 204);
      const inactive = await api.request("GET", "/admins?active=false", { token: c.adminToken });
      assert.deepEqual(
        inactive.body.data.map((admin: { id: string }) => admin.id),
        [zed.id],
      );
      const active = await api.request("GET", "/admins?active=true", { token: c.adminToken });
      assert.equal(active.body.pagination.total, 4);

      assertInvalid(await api.request("GET", "/admins?sort=password&active=maybe&limit=0", { token: c.adminToken }), [
        "query.sort",
        "query.active",
        "query.limit",
      ]);
      assert.equal((await api.request("GET", "/admins")).status, 401);
      for (const level of ["PUBLIC", "USER", "BUSINESS", "SYSTEM"] as const) {
        assert.equal((await api.request("GET", "/admins", ca.callers[level])).status, 403, level);
      }
    });

    it("reads one admin; 400 for a malformed id, 404 for an unknown one, 401 and 403 as for every route", async () => {
      const read = await api.request("GET", `/admins/${a.admin.id}`, { token: a.adminToken });
      assert.equal(read.status, 200);
      assert.equal(read.body.id, a.admin.id);
      assert.equal(read.body.email, a.admin.email);
      assertInvalid(await api.request("GET", "/admins/not-a-uuid", { token: a.adminToken }), ["params.id"]);
      const unknown = await api.request("GET", `/admins/${crypto.randomUUID()}`, { token: a.adminToken });
      assert.equal(unknown.status, 404);
      assert.equal(unknown.body.type, "/problems/not-found");
      assert.equal((await api.request("GET", `/admins/${a.admin.id}`)).status, 401);
      assert.equal((await api.request("GET", `/admins/${a.admin.id}`, ca.callers.SYSTEM)).status, 403);
    });

    it("updates the name and the password (the old one stops working) and reactivates", async () => {
      const created = await create(a, { email: "rotate@example.test", name: "Before", password: PASSWORD });
      const id = created.body.id;
      const renamed = await api.request("PATCH", `/admins/${id}`, { token: a.adminToken, body: { name: "After" } });
      assert.equal(renamed.status, 200);
      assert.equal(renamed.body.name, "After");
      assert.equal(renamed.body.email, "rotate@example.test");
      assert.ok(renamed.body.updatedAt > created.body.updatedAt);

      const newPassword = "another long password";
      const changed = await api.request("PATCH", `/admins/${id}`, {
        token: a.adminToken,
        body: { password: newPassword },
      });
      assert.equal(changed.status, 200);
      assert.ok(!changed.text.includes("scrypt"));
      assert.equal((await signIn(a, "rotate@example.test", PASSWORD)).status, 401);
      assert.equal((await signIn(a, "rotate@example.test", newPassword)).status, 200);

      assert.equal((await api.request("DELETE", `/admins/${id}`, { token: a.adminToken })).status, 204);
      assert.equal((await signIn(a, "rotate@example.test", newPassword)).status, 401);
      const back = await api.request("PATCH", `/admins/${id}`, { token: a.adminToken, body: { active: true } });
      assert.equal(back.body.active, true);
      assert.equal((await signIn(a, "rotate@example.test", newPassword)).status, 200);

      assertInvalid(
        await api.request("PATCH", `/admins/${id}`, {
          token: a.adminToken,
          body: { password: "short", active: "yes", email: "x@y.test" },
        }),
        ["body.password", "body.active"],
      );
      const unknownField = await api.request("PATCH", `/admins/${id}`, {
        token: a.adminToken,
        body: { email: "x@y.test" },
      });
      assert.equal(unknownField.status, 400);
      assert.match(unknownField.text, /email/);
      assert.equal(
        (await api.request("PATCH", `/admins/${crypto.randomUUID()}`, { token: a.adminToken, body: { name: "X" } }))
          .status,
        404,
      );
      assert.equal((await api.request("PATCH", `/admins/${id}`, { body: { name: "X" } })).status, 401);
      assert.equal(
        (await api.request("PATCH", `/admins/${id}`, { ...ca.callers.SYSTEM, body: { name: "X" } })).status,
        403,
      );
    });

    it("deactivates another admin (sign-in and refresh stop) but never oneself (409)", async () => {
      await create(a, { email: "leaving@example.test", name: "Leaving", password: PASSWORD });
      const session = await signIn(a, "leaving@example.test", PASSWORD);
      const leavingId = (await api.request("GET", "/admins?email=leaving", { token: a.adminToken })).body.data[0].id;

      const self = await api.request("DELETE", `/admins/${leavingId}`, { token: session.body.accessToken });
      assert.equal(self.status, 409);
      assert.equal(self.body.type, "/problems/conflict");
      const selfPatch = await api.request("PATCH", `/admins/${leavingId}`, {
        token: session.body.accessToken,
        body: { active: false },
      });
      assert.equal(selfPatch.status, 409);
      // Nor under their id written in capitals (the same uuid).
      const selfUpper = await api.request("DELETE", `/admins/${leavingId.toUpperCase()}`, {
        token: session.body.accessToken,
      });
      assert.equal(selfUpper.status, 409, selfUpper.text);
      assert.equal(selfUpper.body.detail, "An admin cannot deactivate themself.");
      assert.equal((await api.request("GET", `/admins/${leavingId}`, { token: a.adminToken })).body.active, true);

      assert.equal((await api.request("DELETE", `/admins/${leavingId}`, { token: a.adminToken })).status, 204);
      assert.equal((await api.request("GET", `/admins/${leavingId}`, { token: a.adminToken })).body.active, false);
      assert.equal((await signIn(a, "leaving@example.test", PASSWORD)).status, 401);
      const refreshed = await api.request("POST", "/auth/refresh", {
        body: { refreshToken: session.body.refreshToken },
      });
      assert.equal(refreshed.status, 401);

      assert.equal(
        (await api.request("DELETE", `/admins/${crypto.randomUUID()}`, { token: a.adminToken })).status,
        404,
      );
      assertInvalid(await api.request("DELETE", "/admins/1", { token: a.adminToken }), ["params.id"]);
      assert.equal((await api.request("DELETE", `/admins/${leavingId}`)).status, 401);
      assert.equal((await api.request("DELETE", `/admins/${a.admin.id}`, ca.callers.SYSTEM)).status, 403);
    });

    /**
     * Sends the requests while the test holds the tenant's admin rows, and lets them go once both wait
     * for the database: both are then past authentication (neither's session can have been ended by
     * the other yet) and meet at the rows, as two admins clicking at once do. PostgreSQL shows who waits
     * for a lock; PGlite, one connection that the test holds, shows nothing: a while is ample there.
     */
    async function atOnce(tenantId: string, send: () => Promise<TestResponse>[]) {
      const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
      let answers!: Promise<TestResponse[]>;
      await api.services.db.transaction(async (tx) => {
        await tx.select({ id: admins.id }).from(admins).where(eq(admins.tenantId, tenantId)).for("update");
        const sent = send();
        answers = Promise.all(sent);
        if (database.name === "PGlite") return pause(500);
        const waiting = async () => {
          // From another connection: within a transaction, pg_stat_activity keeps its first answer.
          const { rows } = await api.services.db.execute<{ waiting: number }>(
            sql`select count(*)::int as waiting from pg_stat_activity
                where datname = current_database() and wait_event_type = 'Lock'`,
          );
          return rows[0]!.waiting;
        };
        const deadline = Date.now() + 10_000;
        while ((await waiting()) < sent.length) {
          assert.ok(Date.now() < deadline, "the requests never reached the admins' rows");
          await pause(10);
        }
      });
      return answers;
    }

    it("keeps one active admin: of two admins deactivating each other at once, one is deactivated and the other gets 409", async () => {
      const deactivate = (method: "DELETE" | "PATCH", token: string, id: string) =>
        method === "DELETE"
          ? api.request("DELETE", `/admins/${id}`, { token })
          : api.request("PATCH", `/admins/${id}`, { token, body: { active: false } });
      for (const [first, second] of [
        ["DELETE", "DELETE"],
        ["DELETE", "PATCH"],
        ["PATCH", "PATCH"],
      ] as const) {
        const c = await createTestTenant(api);
        const other = await create(c, { email: "other@example.test", name: "Other", password: PASSWORD });
        const otherSession = await signIn(c, "other@example.test", PASSWORD);
        // Each token used once before: the API keeps it verified, and authenticating takes no statement
        // (on PGlite one waiting behind the other request's could come after that request ended its session).
        for (const token of [c.adminToken, otherSession.body.accessToken]) {
          assert.equal((await api.request("GET", `/admins/${c.admin.id}`, { token })).status, 200);
        }
        const answers = await atOnce(c.id, () => [
          deactivate(first, c.adminToken, other.body.id),
          deactivate(second, otherSession.body.accessToken, c.admin.id),
        ]);
        const what = `${first} and ${second}: ${answers.map((answer) => `${answer.status} ${answer.text}`).join(", ")}`;
        const deactivated = answers.filter((answer) => answer.status === 200 || answer.status === 204);
        assert.equal(deactivated.length, 1, what);
        const [refused] = answers.filter((answer) => !deactivated.includes(answer));
        assert.equal(refused!.status, 409, what);
        assert.ok(isProblem(refused!), what);
        assert.equal(refused!.body.type, "/problems/conflict");
        assert.equal(refused!.body.detail, "This is the tenant's last active admin: activate another admin first.");
        const rows = await api.services.db
          .select({ active: admins.active })
          .from(admins)
          .where(eq(admins.tenantId, c.id));
        assert.equal(rows.length, 2);
        assert.equal(rows.filter((row) => row.active).length, 1, what);
      }
    });

    it("refuses to deactivate a tenant's last active admin, by DELETE or PATCH, whoever asks (409)", async () => {
      const c = await createTestTenant(api);
      const other = await create(c, { email: "gone@example.test", name: "Gone", password: PASSWORD });
      assert.equal((await api.request("DELETE", `/admins/${other.body.id}`, { token: c.adminToken })).status, 204);
      // A token of the admin deactivated a moment ago: its revocation comes after the deactivation, and a
      // request made with it may be under way meanwhile.
      const gone = await tokenFor(api, { tenantId: c.id, level: "ADMIN", subject: `admin:${other.body.id}` });
      for (const refused of [
        await api.request("DELETE", `/admins/${c.admin.id}`, { token: gone }),
        await api.request("PATCH", `/admins/${c.admin.id}`, { token: gone, body: { active: false } }),
      ]) {
        assert.equal(refused.status, 409, refused.text);
        assert.ok(isProblem(refused));
        assert.equal(refused.body.detail, "This is the tenant's last active admin: activate another admin first.");
      }
      const [row] = await api.services.db.select().from(admins).where(eq(admins.id, c.admin.id));
      assert.equal(row!.active, true);
      assert.equal((await signIn(c, c.admin.email, c.admin.password)).status, 200);
      // Other changes of the last admin go on, and once another admin is active again, so does the deactivation.
      const renamed = await api.request("PATCH", `/admins/${c.admin.id}`, { token: gone, body: { name: "Renamed" } });
      assert.equal(renamed.status, 200, renamed.text);
      assert.equal(renamed.body.active, true);
      const back = await api.request("PATCH", `/admins/${other.body.id}`, {
        token: c.adminToken,
        body: { active: true },
      });
      assert.equal(back.body.active, true);
      assert.equal((await api.request("DELETE", `/admins/${c.admin.id}`, { token: gone })).status, 204);
    });

    it("refuses every change of admins to an ADMIN API key and to a session it was exchanged for (403): reads stay open", async () => {
      const key = await api.request("POST", "/api-keys", {
        token: a.adminToken,
        body: { name: "automation", level: "ADMIN" },
      });
      assert.equal(key.status, 201, key.text);
      const exchanged = await api.request("POST", "/auth/token", { body: { type: "api_key", apiKey: key.body.key } });
      assert.equal(exchanged.body.level, "ADMIN");
      const target = await create(a, { email: "target@example.test", name: "Target", password: PASSWORD });
      const before = (await api.services.db.select().from(admins).where(eq(admins.id, target.body.id)))[0]!;
      for (const [who, credential] of [
        ["ADMIN key", { apiKey: key.body.key }],
        ["ADMIN key's session", { token: exchanged.body.accessToken }],
      ] as const) {
        for (const [method, path, body] of [
          ["POST", "/admins", { email: "intruder@example.test", name: "Intruder", password: PASSWORD }],
          ["PATCH", `/admins/${target.body.id}`, { password: "the intruder's password" }],
          ["PATCH", `/admins/${target.body.id}`, { name: "Renamed" }],
          ["PATCH", `/admins/${target.body.id}`, { active: false }],
          ["DELETE", `/admins/${target.body.id}`, undefined],
          ["DELETE", `/admins/${a.admin.id}`, undefined],
        ] as const) {
          const refused = await api.request(method, path, { ...credential, ...(body && { body }) });
          assertNeedsSignedInAdmin(refused, `${who} ${method} ${path}`);
        }
        const listed = await api.request("GET", "/admins?limit=100", credential);
        assert.equal(listed.status, 200, `${who} lists admins`);
        assert.equal((await api.request("GET", `/admins/${target.body.id}`, credential)).status, 200);
      }
      const [after] = await api.services.db.select().from(admins).where(eq(admins.id, target.body.id));
      assert.deepEqual(after, before, "no refused request changed the admin");
      const [stillActive] = await api.services.db.select().from(admins).where(eq(admins.id, a.admin.id));
      assert.equal(stillActive!.active, true);
      const intruders = await api.request("GET", "/admins?email=intruder", { token: a.adminToken });
      assert.equal(intruders.body.pagination.total, 0);
    });

    it("isolates tenants: no caller of A reads, changes or deactivates B's admin", async () => {
      const hidden = [b.admin.email];
      const cb = { id: b.admin.id };
      for (const [level, caller] of Object.entries(ca.callers)) {
        assertRefused(await api.request("GET", `/admins/${cb.id}`, caller), hidden, `${level} GET`);
        assertRefused(
          await api.request("PATCH", `/admins/${cb.id}`, { ...caller, body: { name: "Hijacked", password: PASSWORD } }),
          hidden,
          `${level} PATCH`,
        );
        assertRefused(await api.request("DELETE", `/admins/${cb.id}`, caller), hidden, `${level} DELETE`);
        const list = await api.request("GET", "/admins?limit=100", caller);
        assert.ok(!list.text.includes(b.admin.email), `${level} list shows B's admin`);
      }
      const own = await api.request("GET", `/admins/${b.admin.id}`, { token: b.adminToken });
      assert.equal(own.body.name, "Admin");
      assert.equal(own.body.active, true);
      assert.equal((await signIn(b, b.admin.email, b.admin.password)).status, 200);
      assert.equal((await signIn(b, b.admin.email, PASSWORD)).status, 401);
    });
  });
}
