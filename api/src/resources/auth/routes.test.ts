import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { eq } from "drizzle-orm";
import { decodeJwt, decodeProtectedHeader } from "jose";
import { admins, apiKeys, refreshTokens } from "../../db/schema.ts";
import { databaseNow, raiseGeneration } from "../../auth/revocations.ts";
import { refreshSession, revokeSessions, startSession } from "../../auth/sessions.ts";
import { sha256 } from "../../crypto/hashing.ts";
import type { Problem } from "../../errors.ts";
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

let chain: TestChain;
before(async () => (chain = await startTestChain()));
after(async () => chain.close());

for (const database of testDatabases()) {
  describe(`/auth (password, api_key, refresh, limits) on ${database.name}`, () => {
    let api: TestApi;
    let a: TestTenant;
    let b: TestTenant;

    before(async () => {
      api = await startTestApiOn(database, { chain });
      a = await createTestTenant(api);
      b = await createTestTenant(api);
    });
    after(() => api.close());

    const signIn = (tenant: TestTenant, email: string, password: string) =>
      api.request("POST", "/auth/token", {
        projectKey: tenant.projectKey,
        body: { type: "password", email, password },
      });

    /** Every refresh token of the family `refreshToken` belongs to. */
    const familyOf = async (refreshToken: string) => {
      const { db } = api.services;
      const [stored] = await db
        .select()
        .from(refreshTokens)
        .where(eq(refreshTokens.tokenHash, sha256(refreshToken)));
      return db.select().from(refreshTokens).where(eq(refreshTokens.familyId, stored!.familyId));
    };

    it("signs an admin in with email and password: an ES256 access token with its claims, and a refresh token", async () => {
      const session = await signIn(a, a.admin.email.toUpperCase(), a.admin.password);
      assert.equal(session.status, 200);
      assert.equal(session.body.level, "ADMIN");
      assert.equal(session.body.tenantId, a.id);
      assert.equal(session.body.tokenType, "Bearer");
      assert.equal(session.body.expiresIn, 900);
      assert.match(session.body.refreshToken, /^pers_rt_/);
      const header = decodeProtectedHeader(session.body.accessToken);
      assert.equal(header.alg, "ES256");
      assert.equal(header.typ, "at+jwt");
      const claims = decodeJwt(session.body.accessToken);
      assert.equal(claims.iss, "pers-api");
      assert.equal(claims.aud, "pers");
      assert.equal(claims.sub, `admin:${a.admin.id}`);
      assert.equal(claims.tenant, a.id);
      assert.equal(claims.level, "ADMIN");
      assert.equal(claims.exp! - claims.iat!, 900);
      const [admin] = await api.services.db.select().from(admins).where(eq(admins.id, a.admin.id));
      assert.ok(admin!.lastLoginAt, "sign-in records the time");
      const works = await api.request("GET", "/api-keys", { token: session.body.accessToken });
      assert.equal(works.status, 200);
    });

    it("refuses a wrong password, an unknown email, another tenant's admin and an inactive admin alike", async () => {
      const c = await createTestTenant(api);
      await api.services.db.update(admins).set({ active: false }).where(eq(admins.id, c.admin.id));
      const refusals = [
        await signIn(a, a.admin.email, "wrong password, long enough"),
        await signIn(a, "nobody@nowhere.test", a.admin.password),
        await signIn(a, b.admin.email, b.admin.password),
        await signIn(c, c.admin.email, c.admin.password),
      ];
      for (const refused of refusals) {
        assert.equal(refused.status, 401);
        assert.ok(isProblem(refused));
        assert.equal(refused.body.type, "/problems/unauthorized");
        assert.equal(refused.body.detail, "Wrong email or password.");
        assert.equal(refused.body.accessToken, undefined);
      }
      const noTenant = await api.request("POST", "/auth/token", {
        body: { type: "password", email: a.admin.email, password: a.admin.password },
      });
      assert.equal(noTenant.status, 400);
      assert.match(noTenant.body.detail, /X-Project-Key/);
      const unknownTenant = await api.request("POST", "/auth/token", {
        projectKey: "pers_pk_unknown",
        body: { type: "password", email: a.admin.email, password: a.admin.password },
      });
      assert.equal(unknownTenant.status, 401);
    });

    it("exchanges an API key for a session at the key's level; a revoked or unknown key is refused", async () => {
      const created = await api.request("POST", "/api-keys", {
        token: a.adminToken,
        body: { name: "integration", level: "SYSTEM" },
      });
      assert.equal(created.status, 201);
      const session = await api.request("POST", "/auth/token", { body: { type: "api_key", apiKey: created.body.key } });
      assert.equal(session.status, 200);
      assert.equal(session.body.level, "SYSTEM");
      assert.equal(session.body.tenantId, a.id);
      assert.equal(decodeJwt(session.body.accessToken).sub, `key:${created.body.id}`);
      // SYSTEM may not manage keys: the level travels from the key into the token.
      assert.equal((await api.request("GET", "/api-keys", { token: session.body.accessToken })).status, 403);

      const admin = await api.request("POST", "/api-keys", {
        token: a.adminToken,
        body: { name: "admin key", level: "ADMIN" },
      });
      const adminSession = await api.request("POST", "/auth/token", {
        body: { type: "api_key", apiKey: admin.body.key },
      });
      assert.equal(adminSession.body.level, "ADMIN");
      assert.equal((await api.request("GET", "/api-keys", { token: adminSession.body.accessToken })).status, 200);

      assert.equal((await api.request("GET", "/campaigns", { token: session.body.accessToken })).status, 200);
      await api.request("DELETE", `/api-keys/${created.body.id}`, { token: a.adminToken });
      // The access token it was exchanged for stops with it; the other key's goes on.
      assert.equal((await api.request("GET", "/campaigns", { token: session.body.accessToken })).status, 401);
      assert.equal((await api.request("GET", "/api-keys", { token: adminSession.body.accessToken })).status, 200);
      const revoked = await api.request("POST", "/auth/token", { body: { type: "api_key", apiKey: created.body.key } });
      assert.equal(revoked.status, 401);
      assert.ok(isProblem(revoked));
      // The session made before the revocation cannot be refreshed either.
      const refreshed = await api.request("POST", "/auth/refresh", {
        body: { refreshToken: session.body.refreshToken },
      });
      assert.equal(refreshed.status, 401);
      const unknown = await api.request("POST", "/auth/token", { body: { type: "api_key", apiKey: "pers_sk_nope" } });
      assert.equal(unknown.status, 401);

      // Revoked through another API process a moment ago: this process may still keep the key for
      // API_KEY_CACHE_MS, but exchanging it reads the database.
      const third = await api.request("POST", "/api-keys", { token: a.adminToken, body: { name: "elsewhere" } });
      const exchange = () => api.request("POST", "/auth/token", { body: { type: "api_key", apiKey: third.body.key } });
      assert.equal((await exchange()).status, 200);
      await api.services.db.update(apiKeys).set({ revokedAt: new Date() }).where(eq(apiKeys.id, third.body.id));
      assert.equal((await exchange()).status, 401);
    });

    it("rotates refresh tokens; one used twice is refused and revokes its whole family", async () => {
      const first = await signIn(a, a.admin.email, a.admin.password);
      const other = await signIn(a, a.admin.email, a.admin.password);
      const second = await api.request("POST", "/auth/refresh", { body: { refreshToken: first.body.refreshToken } });
      assert.equal(second.status, 200);
      assert.notEqual(second.body.refreshToken, first.body.refreshToken);
      assert.notEqual(second.body.accessToken, first.body.accessToken);
      assert.equal(second.body.level, "ADMIN");
      assert.equal(decodeJwt(second.body.accessToken).sub, `admin:${a.admin.id}`);

      const reused = await api.request("POST", "/auth/refresh", { body: { refreshToken: first.body.refreshToken } });
      assert.equal(reused.status, 401);
      assert.ok(isProblem(reused));
      const newer = await api.request("POST", "/auth/refresh", { body: { refreshToken: second.body.refreshToken } });
      assert.equal(newer.status, 401, "the newer token of the reused family must stop working too");
      const family = await familyOf(second.body.refreshToken);
      assert.ok(family.find((token) => token.tokenHash === sha256(second.body.refreshToken))!.revokedAt);
      assert.equal(family.length, 2);
      assert.ok(family.every((token) => token.revokedAt));

      const unrelated = await api.request("POST", "/auth/refresh", { body: { refreshToken: other.body.refreshToken } });
      assert.equal(unrelated.status, 200, "another sign-in's family is untouched");
      const garbage = await api.request("POST", "/auth/refresh", { body: { refreshToken: "pers_rt_nope" } });
      assert.equal(garbage.status, 401);
    });

    it("of two uses of one refresh token at once, one rotates and the other revokes the family, the new token too", async () => {
      for (let round = 0; round < 5; round += 1) {
        const first = await signIn(a, a.admin.email, a.admin.password);
        const outcomes = await Promise.allSettled([
          refreshSession(api.services, first.body.refreshToken),
          refreshSession(api.services, first.body.refreshToken),
        ]);
        const rotated = outcomes.filter((outcome) => outcome.status === "fulfilled");
        assert.equal(rotated.length, 1, `round ${round}: one of the two rotates`);
        const refused = outcomes.find((outcome) => outcome.status === "rejected")!;
        assert.equal((refused.reason as Problem).status, 401);
        const next = await api.request("POST", "/auth/refresh", {
          body: { refreshToken: rotated[0]!.value.refreshToken },
        });
        assert.equal(next.status, 401, `round ${round}: the token the rotation made is revoked with its family`);
        const family = await familyOf(first.body.refreshToken);
        assert.equal(family.length, 2);
        assert.ok(family.every((token) => token.revokedAt));
      }
    });

    it("ends an admin's sessions on a new password or a deactivation, a user's on a deactivation; a reactivation brings none back", async () => {
      const created = await api.request("POST", "/admins", {
        token: a.adminToken,
        body: { email: "rotating@example.test", name: "Rotating", password: "first password 1" },
      });
      assert.equal(created.status, 201, created.text);
      const refresh = (session: TestResponse) =>
        api.request("POST", "/auth/refresh", { body: { refreshToken: session.body.refreshToken } });
      /** What an access token gets reading a list its admin may read. */
      const reads = async (accessToken: string) => (await api.request("GET", "/admins", { token: accessToken })).status;
      const before = await signIn(a, "rotating@example.test", "first password 1");
      const renamed = await api.request("PATCH", `/admins/${created.body.id}`, {
        token: a.adminToken,
        body: { name: "Renamed" },
      });
      assert.equal(renamed.status, 200);
      const kept = await refresh(before);
      assert.equal(kept.status, 200, "a change of name ends nothing");
      assert.equal(await reads(before.body.accessToken), 200);
      assert.equal(await reads(kept.body.accessToken), 200);
      const changed = await api.request("PATCH", `/admins/${created.body.id}`, {
        token: a.adminToken,
        body: { password: "second password 2" },
      });
      assert.equal(changed.status, 200);
      assert.equal((await refresh(kept)).status, 401, "a new password ends the sessions made with the old one");
      assert.equal(await reads(before.body.accessToken), 401, "and their access tokens, at once");
      assert.equal(await reads(kept.body.accessToken), 401);
      const after = await signIn(a, "rotating@example.test", "second password 2");
      assert.equal(after.status, 200);
      assert.equal(await reads(after.body.accessToken), 200, "a session made after the change stands");
      assert.equal((await api.request("DELETE", `/admins/${created.body.id}`, { token: a.adminToken })).status, 204);
      assert.equal(await reads(after.body.accessToken), 401);
      const reactivated = await api.request("PATCH", `/admins/${created.body.id}`, {
        token: a.adminToken,
        body: { active: true },
      });
      assert.equal(reactivated.status, 200);
      assert.equal((await refresh(after)).status, 401, "a reactivation brings no session back");
      assert.equal(await reads(after.body.accessToken), 401, "nor an access token");
      const again = await signIn(a, "rotating@example.test", "second password 2");
      assert.equal(again.status, 200);
      assert.equal(await reads(again.body.accessToken), 200);

      // A user's sessions end with their deactivation, and stay ended when they are reactivated.
      const { user } = await insertUser(api, a.id);
      const userSession = await startSession(api.services, {
        tenantId: a.id,
        level: "USER",
        subject: `user:${user.id}`,
      });
      assert.equal((await api.request("GET", "/users/me", { token: userSession.accessToken })).status, 200);
      assert.equal((await api.request("DELETE", `/users/${user.id}`, { token: a.adminToken })).status, 204);
      assert.equal((await api.request("GET", "/users/me", { token: userSession.accessToken })).status, 401);
      const userBack = await api.request("PATCH", `/users/${user.id}`, { token: a.adminToken, body: { active: true } });
      assert.equal(userBack.status, 200);
      const userRefresh = await api.request("POST", "/auth/refresh", {
        body: { refreshToken: userSession.refreshToken },
      });
      assert.equal(userRefresh.status, 401);
      // Only that subject's: the tenant's own admin still refreshes.
      const own = await signIn(a, a.admin.email, a.admin.password);
      assert.equal((await refresh(own)).status, 200);
      assert.equal(await reads(a.adminToken), 200);
      const revokedFamilies = await api.services.db
        .select()
        .from(refreshTokens)
        .where(eq(refreshTokens.subject, `user:${user.id}`));
      assert.ok(revokedFamilies.length > 0 && revokedFamilies.every((token) => token.revokedAt));
    });

    it("refuses a sign-in whose proof was checked before a revocation, and a refresh token written after one", async () => {
      const { user } = await insertUser(api, a.id);
      const subject = { tenantId: a.id, level: "USER" as const, subject: `user:${user.id}` };
      const isUnauthorized = (error: unknown) => (error as Problem).status === 401;
      // A new password committed while the old one was being verified: the proof predates the revocation.
      const provenAt = await databaseNow(api.services.db);
      await revokeSessions(api.services, a.id, subject.subject);
      await assert.rejects(startSession(api.services, subject, provenAt), isUnauthorized);
      const afterwards = await startSession(api.services, subject, await databaseNow(api.services.db));
      assert.equal((await api.request("GET", "/users/me", { token: afterwards.accessToken })).status, 200);

      // A refresh token written just after a revocation that had already revoked the others (a sign-in
      // racing it) is of the older generation: refused, like its access token.
      const racing = await startSession(api.services, subject);
      const generation = await raiseGeneration(api.services.db, a.id, subject.subject);
      api.services.revocations.noteRaise(a.id, subject.subject, generation);
      await assert.rejects(refreshSession(api.services, racing.refreshToken), isUnauthorized);
      assert.equal((await api.request("GET", "/users/me", { token: racing.accessToken })).status, 401);
      const fresh = await startSession(api.services, subject);
      const rotated = await refreshSession(api.services, fresh.refreshToken);
      assert.equal((await api.request("GET", "/users/me", { token: rotated.accessToken })).status, 200);
    });

    it("answers bad bodies with 400 naming the field, other media types with 415, broken JSON with 400", async () => {
      const unknownType = await api.request("POST", "/auth/token", { body: { type: "magic" } });
      assert.equal(unknownType.status, 400);
      assert.equal(unknownType.body.type, "/problems/validation-failed");
      assert.ok(unknownType.body.errors.some((error: { path: string }) => error.path === "body.type"));
      const extra = await api.request("POST", "/auth/token", {
        projectKey: a.projectKey,
        body: { type: "password", email: a.admin.email, password: "x", admin: true },
      });
      assert.equal(extra.status, 400);
      assert.ok(extra.body.errors.some((error: { message: string }) => /admin/.test(error.message)));
      const missing = await api.request("POST", "/auth/token", { body: { type: "password", email: "not-an-email" } });
      assert.equal(missing.status, 400);
      const paths = missing.body.errors.map((error: { path: string }) => error.path);
      assert.ok(paths.includes("body.email") && paths.includes("body.password"), String(paths));
      const both = await api.request("POST", "/auth/token", {
        body: { type: "idp", token: "x", businessId: "9b2c8c2e-3f43-4a4b-9c7e-1d2f3a4b5c6d", asBusiness: true },
      });
      assert.equal(both.status, 400);
      assert.ok(both.body.errors.some((error: { path: string }) => error.path === "body.asBusiness"));

      const malformed = await api.request("POST", "/auth/token", {
        rawBody: '{"type": "password", "email": ',
        headers: { "content-type": "application/json" },
      });
      assert.equal(malformed.status, 400);
      assert.ok(isProblem(malformed));
      assert.equal(malformed.body.type, "/problems/malformed-json");
      const text = await api.request("POST", "/auth/token", {
        rawBody: "type=password",
        headers: { "content-type": "text/plain" },
      });
      assert.equal(text.status, 415);
      assert.ok(isProblem(text));
    });

    it("documents every grant in the OpenAPI document", async () => {
      const document = (await api.request("GET", "/openapi.json")).body;
      const tokenRequest = document.components.schemas.TokenRequest;
      const variants = (tokenRequest.oneOf ?? tokenRequest.anyOf).map((variant: { $ref: string }) => variant.$ref);
      for (const grant of ["PasswordGrant", "ApiKeyGrant", "SiweGrant", "IdpGrant"]) {
        assert.ok(variants.includes(`#/components/schemas/${grant}`), `${grant} missing from ${variants}`);
      }
      assert.deepEqual(document.components.schemas.SiweGrant.properties.type.enum, ["siwe"]);
      assert.deepEqual(document.components.schemas.IdpGrant.required.sort(), ["token", "type"]);
      assert.ok(document.paths["/auth/nonce"].post.responses["200"]);
      assert.ok(document.paths["/auth/token"].post.responses["409"]);
    });
  });

  describe(`/auth limits on ${database.name}`, () => {
    let api: TestApi;

    before(async () => {
      api = await startTestApiOn(database, {
        environment: { AUTH_RATE_LIMIT_PER_IP: "3", BODY_LIMIT_BYTES: "512" },
      });
    });
    after(() => api.close());

    it("answers a body over the limit with 413 before it counts as a sign-in", async () => {
      const huge = await api.request("POST", "/auth/token", {
        body: { type: "api_key", apiKey: "x".repeat(2000) },
      });
      assert.equal(huge.status, 413);
      assert.ok(isProblem(huge));
      assert.equal(huge.body.type, "/problems/payload-too-large");
      assert.match(huge.body.detail, /512 bytes/);
    });

    it("limits sign-in attempts per IP: 429 with Retry-After, while other routes still answer", async () => {
      const attempt = () => api.request("POST", "/auth/token", { body: { type: "api_key", apiKey: "pers_sk_guess" } });
      for (let count = 0; count < 3; count += 1) assert.equal((await attempt()).status, 401);
      const limited = await attempt();
      assert.equal(limited.status, 429);
      assert.ok(isProblem(limited));
      assert.equal(limited.body.type, "/problems/too-many-requests");
      const retryAfter = Number(limited.headers.get("retry-after"));
      assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
      const refresh = await api.request("POST", "/auth/refresh", { body: { refreshToken: "pers_rt_guess" } });
      assert.equal(refresh.status, 429, "refreshing shares the sign-in budget");
      assert.equal((await api.request("GET", "/health")).status, 200);
    });
  });
}
