// The tenant's own identity provider, served for real: a node:http server publishes its JWKS, and
// the tokens are signed with keys made here by jose.
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { after, before, describe, it } from "node:test";
import { and, eq } from "drizzle-orm";
import { base64url, decodeJwt, exportJWK, exportSPKI, generateKeyPair, SignJWT, type JWK, type JWTPayload } from "jose";
import { isAddress } from "viem";
import { createCustodialWallet } from "../../crypto/wallets.ts";
import { businesses, businessMembers, users } from "../../db/schema.ts";
import {
  createTestTenant,
  insertUser,
  isProblem,
  PLATFORM_KEY,
  startTestApiOn,
  startTestChain,
  testDatabases,
  type TestApi,
  type TestChain,
  type TestResponse,
  type TestTenant,
} from "../../../test/harness.ts";
import { SAFE_URLS, UNSAFE_URLS } from "../../../test/unsafeUrls.ts";

type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;
type SigningKey = Parameters<SignJWT["sign"]>[0];

const ISSUER = "https://idp.example.test";
const AUDIENCE = "loyalty-app";

/** An identity provider: its keys, its JWKS over HTTP (counting fetches), and a token minter. */
async function startIdentityProvider() {
  const rsa = await generateKeyPair("RS256", { extractable: true });
  const ec = await generateKeyPair("ES256", { extractable: true });
  const publicJwks: JWK[] = [
    { ...(await exportJWK(rsa.publicKey)), kid: "rsa-1", alg: "RS256", use: "sig" },
    { ...(await exportJWK(ec.publicKey)), kid: "ec-1", alg: "ES256", use: "sig" },
  ];
  const state = { fetches: 0 };
  const server: Server = createServer((request, response) => {
    if (request.url === "/huge-jwks.json") {
      // Its keys, and a megabyte more: no key set is this large.
      const body = JSON.stringify({ keys: publicJwks, padding: "x".repeat(1024 * 1024) });
      return void response.writeHead(200, { "content-type": "application/json" }).end(body);
    }
    if (request.url !== "/jwks.json") return void response.writeHead(404).end();
    state.fetches += 1;
    response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: publicJwks }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  const mint = (
    claims: JWTPayload,
    options: { alg?: string; kid?: string; key?: SigningKey; issuer?: string; audience?: string } = {},
  ) => {
    const alg = options.alg ?? "RS256";
    const jwt = new SignJWT(claims)
      .setProtectedHeader({ alg, kid: options.kid ?? (alg === "ES256" ? "ec-1" : "rsa-1"), typ: "JWT" })
      .setIssuedAt()
      .setIssuer(options.issuer ?? ISSUER)
      .setAudience(options.audience ?? AUDIENCE);
    if (claims.exp === undefined) jwt.setExpirationTime("10m");
    return jwt.sign(options.key ?? (alg === "ES256" ? ec.privateKey : rsa.privateKey));
  };
  return {
    rsa,
    ec,
    publicJwks,
    state,
    jwksUrl: `http://127.0.0.1:${port}/jwks.json`,
    mint,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

let chain: TestChain;
let idp: Awaited<ReturnType<typeof startIdentityProvider>>;
before(async () => {
  chain = await startTestChain();
  idp = await startIdentityProvider();
});
after(async () => {
  await idp.close();
  await chain.close();
});

for (const database of testDatabases()) {
  describe(`identity-provider sign-in on ${database.name}`, () => {
    let api: TestApi;
    let a: TestTenant;
    let b: TestTenant;
    /** B registered one public key (ES256) rather than a JWKS URL. */
    let bKey: KeyPair;

    before(async () => {
      api = await startTestApiOn(database, { chain, environment: { IDP_ALLOW_HTTP: "true" } });
      a = await createTestTenant(api, { idp: { issuer: ISSUER, audience: AUDIENCE, jwksUrl: idp.jwksUrl } });
      b = await createTestTenant(api);
      bKey = await generateKeyPair("ES256", { extractable: true });
      const registered = await api.request("PATCH", `/tenants/${b.id}`, {
        token: b.adminToken,
        body: {
          idp: {
            issuer: "https://login.b.test",
            audience: "b-app",
            publicJwk: { ...(await exportJWK(bKey.publicKey)), kid: "b-1" },
          },
        },
      });
      assert.equal(registered.status, 200, registered.text);
    });
    after(() => api.close());

    const signIn = (tenant: TestTenant, token: string, extra: Record<string, unknown> = {}) =>
      api.request("POST", "/auth/token", { projectKey: tenant.projectKey, body: { type: "idp", token, ...extra } });
    const userOf = async (tenantId: string, externalId: string) => {
      const [row] = await api.services.db
        .select()
        .from(users)
        .where(and(eq(users.tenantId, tenantId), eq(users.externalId, externalId)));
      return row;
    };
    const assertRefused = (response: TestResponse, what: string) => {
      assert.equal(response.status, 401, `${what}: ${response.status} ${response.text}`);
      assert.ok(isProblem(response), what);
      assert.equal(response.body.type, "/problems/unauthorized", what);
      assert.equal(response.body.accessToken, undefined, what);
    };
    const insertBusiness = async (tenantId: string, name: string, active = true) => {
      const wallet = createCustodialWallet(api.config.MASTER_KEY, `business:${name}`);
      const [row] = await api.services.db
        .insert(businesses)
        .values({ tenantId, name, walletAddress: wallet.address, keyCiphertext: wallet.keyCiphertext, active })
        .returning();
      return row!;
    };
    const join = (tenantId: string, businessId: string, userId: string) =>
      api.services.db.insert(businessMembers).values({ tenantId, businessId, userId });

    it("signs a new subject in as a user with a custodial wallet and the token's email; again as the same user", async () => {
      const fetchesBefore = idp.state.fetches;
      const first = await signIn(a, await idp.mint({ sub: "alice", email: "Alice@Example.test" }));
      assert.equal(first.status, 200, first.text);
      assert.equal(first.body.level, "USER");
      assert.equal(first.body.tenantId, a.id);
      const alice = await userOf(a.id, "alice");
      assert.ok(alice);
      assert.equal(alice!.email, "alice@example.test");
      assert.ok(isAddress(alice!.walletAddress));
      assert.ok(alice!.keyCiphertext, "a user who brings no wallet gets a custodial one");
      assert.equal(decodeJwt(first.body.accessToken).sub, `user:${alice!.id}`);

      const second = await signIn(a, await idp.mint({ sub: "alice" }, { alg: "ES256" }));
      assert.equal(second.status, 200, second.text);
      assert.equal(decodeJwt(second.body.accessToken).sub, `user:${alice!.id}`);
      assert.equal((await api.services.db.select().from(users).where(eq(users.externalId, "alice"))).length, 1);
      assert.equal(idp.state.fetches - fetchesBefore, 1, "the JWKS is fetched once and cached for the tenant");
    });

    it("verifies against the one public JWK a tenant registered, and keeps tenants' providers apart", async () => {
      const token = await new SignJWT({ sub: "bob" })
        .setProtectedHeader({ alg: "ES256", kid: "b-1" })
        .setIssuer("https://login.b.test")
        .setAudience("b-app")
        .setIssuedAt()
        .setExpirationTime("5m")
        .sign(bKey.privateKey);
      const session = await signIn(b, token);
      assert.equal(session.status, 200, session.text);
      assert.equal(session.body.tenantId, b.id);
      assert.ok(await userOf(b.id, "bob"));
      assertRefused(await signIn(a, token), "B's token at A");
      assertRefused(await signIn(b, await idp.mint({ sub: "alice" })), "A's token at B");
      assert.equal(await userOf(b.id, "alice"), undefined);
      const none = await createTestTenant(api);
      const unregistered = await signIn(none, await idp.mint({ sub: "alice" }));
      assert.equal(unregistered.status, 400);
      assert.match(unregistered.body.detail, /no identity provider/);
    });

    it("refuses wrong iss or aud, expired or not yet valid tokens, and tokens without sub or exp", async () => {
      const now = Math.floor(Date.now() / 1000);
      assertRefused(await signIn(a, await idp.mint({ sub: "carol" }, { issuer: "https://evil.test" })), "iss");
      assertRefused(await signIn(a, await idp.mint({ sub: "carol" }, { audience: "another-app" })), "aud");
      assertRefused(await signIn(a, await idp.mint({ sub: "carol", exp: now - 120 })), "expired");
      assertRefused(await signIn(a, await idp.mint({ sub: "carol", nbf: now + 600 })), "not yet valid");
      assertRefused(await signIn(a, await idp.mint({ email: "carol@example.test" })), "no sub");
      const noExp = await new SignJWT({ sub: "carol" })
        .setProtectedHeader({ alg: "RS256", kid: "rsa-1" })
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .sign(idp.rsa.privateKey);
      assertRefused(await signIn(a, noExp), "no exp");
      assert.equal(await userOf(a.id, "carol"), undefined, "no refused token creates a user");
    });

    it("refuses alg none, HS256 keyed with the provider's public key, foreign keys and tampered payloads", async () => {
      const encode = (value: object) => base64url.encode(JSON.stringify(value));
      const claims = { sub: "alice", iss: ISSUER, aud: AUDIENCE, exp: Math.floor(Date.now() / 1000) + 300 };
      assertRefused(await signIn(a, `${encode({ alg: "none", kid: "rsa-1" })}.${encode(claims)}.`), "alg none");
      const pem = await exportSPKI(idp.rsa.publicKey);
      for (const secret of [pem, JSON.stringify(idp.publicJwks[0]), JSON.stringify({ keys: idp.publicJwks })]) {
        const token = await new SignJWT(claims)
          .setProtectedHeader({ alg: "HS256", kid: "rsa-1" })
          .sign(new TextEncoder().encode(secret));
        assertRefused(await signIn(a, token), "HS256 keyed with the public key");
      }
      const stranger = await generateKeyPair("RS256");
      assertRefused(await signIn(a, await idp.mint({ sub: "alice" }, { key: stranger.privateKey })), "foreign key");
      assertRefused(
        await signIn(a, await idp.mint({ sub: "alice" }, { key: stranger.privateKey, kid: "rsa-9" })),
        "unknown kid",
      );
      const [header, payload, signature] = (await idp.mint({ sub: "mallory" })).split(".");
      const raised = { ...JSON.parse(new TextDecoder().decode(base64url.decode(payload!))), sub: "alice" };
      assertRefused(await signIn(a, `${header}.${encode(raised)}.${signature}`), "tampered sub");
      assertRefused(await signIn(a, "not a jwt"), "garbage");
    });

    it("never links a token's email to another user, nor keeps an unverified one", async () => {
      const taken = await insertUser(api, a.id, { email: "dave@example.test" });
      const session = await signIn(a, await idp.mint({ sub: "dave-at-idp", email: "dave@example.test" }));
      assert.equal(session.status, 200, session.text);
      const created = await userOf(a.id, "dave-at-idp");
      assert.notEqual(created!.id, taken.user.id, "a matching email must not hand over the existing account");
      assert.equal(created!.email, null);
      assert.notEqual(decodeJwt(session.body.accessToken).sub, `user:${taken.user.id}`);
      const unverified = await signIn(
        a,
        await idp.mint({ sub: "erin", email: "erin@example.test", email_verified: false }),
      );
      assert.equal(unverified.status, 200);
      assert.equal((await userOf(a.id, "erin"))!.email, null);
    });

    /** With tenant A's JWKS URL moved to `jwksUrl` a sign-in answers 503; with its own back, 200. */
    const assertUnavailableAt = async (jwksUrl: string) => {
      const moved = await api.request("PATCH", `/tenants/${a.id}`, {
        token: a.adminToken,
        body: { idp: { issuer: ISSUER, audience: AUDIENCE, jwksUrl } },
      });
      assert.equal(moved.status, 200, moved.text);
      try {
        const unavailable = await signIn(a, await idp.mint({ sub: "alice" }));
        assert.equal(unavailable.status, 503, unavailable.text);
        assert.ok(isProblem(unavailable));
        assert.equal(unavailable.body.type, "/problems/unavailable");
      } finally {
        await api.request("PATCH", `/tenants/${a.id}`, {
          token: a.adminToken,
          body: { idp: { issuer: ISSUER, audience: AUDIENCE, jwksUrl: idp.jwksUrl } },
        });
      }
      assert.equal((await signIn(a, await idp.mint({ sub: "alice" }))).status, 200, "the registered URL again");
    };

    it("refuses a deactivated user, and answers 503 when the provider's keys cannot be fetched", async () => {
      assert.equal((await signIn(a, await idp.mint({ sub: "frank" }))).status, 200);
      await api.services.db.update(users).set({ active: false }).where(eq(users.externalId, "frank"));
      assertRefused(await signIn(a, await idp.mint({ sub: "frank" })), "deactivated");

      const closed = createServer();
      await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
      const deadUrl = `http://127.0.0.1:${(closed.address() as { port: number }).port}/jwks.json`;
      await new Promise<void>((resolve) => closed.close(() => resolve()));
      await assertUnavailableAt(deadUrl);
    });

    it("answers 503 when the provider's JWKS is larger than any key set, without keeping it", async () => {
      await assertUnavailableAt(idp.jwksUrl.replace("/jwks.json", "/huge-jwks.json"));
    });

    it("refuses a jwksUrl into a private network, with credentials or not https, naming the field", async () => {
      const patch = (jwksUrl: string) =>
        api.request("PATCH", `/tenants/${b.id}`, {
          token: b.adminToken,
          body: { idp: { issuer: ISSUER, audience: AUDIENCE, jwksUrl } },
        });
      api.config.OUTBOUND_ALLOW_PRIVATE_NETWORKS = false;
      api.config.IDP_ALLOW_HTTP = false;
      try {
        for (const { url, message } of UNSAFE_URLS) {
          const refused = await patch(url);
          assert.equal(refused.status, 400, `${url}: ${refused.text}`);
          assert.ok(isProblem(refused), url);
          assert.equal(refused.body.type, "/problems/validation-failed", url);
          assert.deepEqual(
            refused.body.errors.map((error: { path: string }) => error.path),
            ["body.idp.jwksUrl"],
            url,
          );
          assert.match(refused.body.errors[0].message, message, url);
        }
        // A new tenant is refused before its contracts are deployed.
        const created = await api.request("POST", "/tenants", {
          apiKey: PLATFORM_KEY,
          body: {
            name: "Refused",
            externalId: `refused-${database.name}`,
            points: { name: "Points", symbol: "PTS" },
            admin: { email: "admin@refused.test", name: "Admin", password: "correct horse battery staple" },
            idp: { issuer: ISSUER, audience: AUDIENCE, jwksUrl: "https://169.254.169.254/jwks.json" },
          },
        });
        assert.equal(created.status, 400, created.text);
        assert.equal(created.body.errors[0].path, "body.idp.jwksUrl");
        const listed = await api.request("GET", `/tenants?limit=100`, { apiKey: PLATFORM_KEY });
        assert.ok(!listed.text.includes(`refused-${database.name}`));
        for (const url of SAFE_URLS) assert.equal((await patch(url)).status, 200, url);
      } finally {
        api.config.OUTBOUND_ALLOW_PRIVATE_NETWORKS = true;
        api.config.IDP_ALLOW_HTTP = true;
        const restored = await api.request("PATCH", `/tenants/${b.id}`, {
          token: b.adminToken,
          body: {
            idp: {
              issuer: "https://login.b.test",
              audience: "b-app",
              publicJwk: { ...(await exportJWK(bKey.publicKey)), kid: "b-1" },
            },
          },
        });
        assert.equal(restored.status, 200, restored.text);
      }
    });

    it("refuses to fetch the JWKS from a name that resolves to a private address (503), fetching nothing", async () => {
      // Registered while private networks were allowed: localhost resolves to 127.0.0.1 (/etc/hosts).
      const byName = idp.jwksUrl.replace("//127.0.0.1:", "//localhost:");
      const moved = await api.request("PATCH", `/tenants/${a.id}`, {
        token: a.adminToken,
        body: { idp: { issuer: ISSUER, audience: AUDIENCE, jwksUrl: byName } },
      });
      assert.equal(moved.status, 200, moved.text);
      assert.equal(moved.body.idp.jwksUrl, byName);
      const fetchesBefore = idp.state.fetches;
      api.config.OUTBOUND_ALLOW_PRIVATE_NETWORKS = false;
      try {
        const refused = await signIn(a, await idp.mint({ sub: "alice" }));
        assert.equal(refused.status, 503, refused.text);
        assert.ok(isProblem(refused));
        assert.equal(refused.body.type, "/problems/unavailable");
        assert.match(refused.body.detail, /address the API does not connect to/);
        assert.equal(refused.body.accessToken, undefined);
        assert.equal(idp.state.fetches, fetchesBefore, "the provider was never reached");
      } finally {
        api.config.OUTBOUND_ALLOW_PRIVATE_NETWORKS = true;
      }
      // Allowed again (local development), the same URL serves: the refusal was the guard's.
      const allowed = await signIn(a, await idp.mint({ sub: "alice" }));
      assert.equal(allowed.status, 200, allowed.text);
      assert.equal(idp.state.fetches, fetchesBefore + 1);
      const restored = await api.request("PATCH", `/tenants/${a.id}`, {
        token: a.adminToken,
        body: { idp: { issuer: ISSUER, audience: AUDIENCE, jwksUrl: idp.jwksUrl } },
      });
      assert.equal(restored.status, 200, restored.text);
    });

    it("picks the business context: businessId or asBusiness, 409 listing the choices, 403 outside them", async () => {
      const grace = (await signIn(a, await idp.mint({ sub: "grace" }))).body;
      const graceId = String(decodeJwt(grace.accessToken).sub).slice("user:".length);
      const bakery = await insertBusiness(a.id, "Bakery");
      const florist = await insertBusiness(a.id, "Florist");
      const closedShop = await insertBusiness(a.id, "Closed Shop", false);
      const foreign = await insertBusiness(b.id, "B's Shop");
      await join(a.id, bakery.id, graceId);
      await join(a.id, florist.id, graceId);
      await join(a.id, closedShop.id, graceId);
      const token = () => idp.mint({ sub: "grace" });

      const choose = await signIn(a, await token(), { asBusiness: true });
      assert.equal(choose.status, 409, choose.text);
      assert.ok(isProblem(choose));
      assert.equal(choose.body.type, "/problems/business-choice-required");
      assert.deepEqual(choose.body.businesses, [
        { id: bakery.id, name: "Bakery" },
        { id: florist.id, name: "Florist" },
      ]);
      assert.equal(choose.body.accessToken, undefined);

      const chosen = await signIn(a, await token(), { businessId: florist.id });
      assert.equal(chosen.status, 200, chosen.text);
      assert.equal(chosen.body.level, "BUSINESS");
      assert.equal(chosen.body.businessId, florist.id);
      const claims = decodeJwt(chosen.body.accessToken);
      assert.equal(claims.level, "BUSINESS");
      assert.equal(claims.business, florist.id);
      assert.equal(claims.sub, `user:${graceId}`);
      const refreshed = await api.request("POST", "/auth/refresh", {
        body: { refreshToken: chosen.body.refreshToken },
      });
      assert.equal(refreshed.body.businessId, florist.id, "the refreshed session keeps the business");

      for (const [businessId, what] of [
        [closedShop.id, "an inactive business"],
        [foreign.id, "another tenant's business"],
        [(await insertBusiness(a.id, "Not Grace's")).id, "a business she is not a member of"],
      ] as const) {
        const refused = await signIn(a, await token(), { businessId });
        assert.equal(refused.status, 403, `${what}: ${refused.text}`);
        assert.ok(isProblem(refused));
        assert.ok(!refused.text.includes("B's Shop"), what);
      }
      const plain = await signIn(a, await token(), { asBusiness: false });
      assert.equal(plain.body.level, "USER");
      assert.equal(plain.body.businessId, undefined);

      const heidi = (await signIn(a, await idp.mint({ sub: "heidi" }))).body;
      const heidiId = String(decodeJwt(heidi.accessToken).sub).slice("user:".length);
      const noBusiness = await signIn(a, await idp.mint({ sub: "heidi" }), { asBusiness: true });
      assert.equal(noBusiness.status, 403);
      await join(a.id, bakery.id, heidiId);
      const only = await signIn(a, await idp.mint({ sub: "heidi" }), { asBusiness: true });
      assert.equal(only.status, 200, only.text);
      assert.equal(only.body.level, "BUSINESS");
      assert.equal(only.body.businessId, bakery.id);
    });
  });
}
