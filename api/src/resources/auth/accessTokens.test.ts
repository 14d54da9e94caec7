// Access tokens that must not pass: each forged one is a 401 problem on a protected route, next to
// a control token made the same way that does pass (so the refusal is the forgery's, not the setup's).
import assert from "node:assert/strict";
import { createPublicKey, randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { eq } from "drizzle-orm";
import {
  base64url,
  createLocalJWKSet,
  decodeProtectedHeader,
  generateKeyPair,
  importJWK,
  jwtVerify,
  SignJWT,
  type JWK,
  type JWTPayload,
} from "jose";
import { open } from "../../crypto/secretBox.ts";
import { signingKeys } from "../../db/schema.ts";
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
  type TestTenant,
} from "../../../test/harness.ts";

let chain: TestChain;
before(async () => (chain = await startTestChain()));
after(async () => chain.close());

type SigningKey = Parameters<SignJWT["sign"]>[0];

const encode = (value: object) => base64url.encode(JSON.stringify(value));
const now = () => Math.floor(Date.now() / 1000);

for (const database of testDatabases()) {
  describe(`access tokens on ${database.name}`, () => {
    let api: TestApi;
    let a: TestTenant;
    /** The API's current signing key, as an attacker who stole it would hold it (for the control). */
    let signer: { kid: string; privateKey: SigningKey; publicJwk: JWK };

    before(async () => {
      api = await startTestApiOn(database, { chain });
      a = await createTestTenant(api);
      const kid = decodeProtectedHeader(a.adminToken).kid!;
      const [row] = await api.services.db.select().from(signingKeys).where(eq(signingKeys.kid, kid));
      const privateJwk = JSON.parse(open(api.config.MASTER_KEY, row!.privateKeyCiphertext, `signing-key:${kid}`));
      signer = { kid, privateKey: (await importJWK(privateJwk, "ES256")) as SigningKey, publicJwk: row!.publicJwk };
    });
    after(() => api.close());

    const adminClaims = (): JWTPayload => ({
      sub: `admin:${a.admin.id}`,
      tenant: a.id,
      level: "ADMIN",
      iss: "pers-api",
      aud: "pers",
      iat: now(),
      nbf: now(),
      exp: now() + 300,
      jti: randomUUID(),
    });
    const signed = (payload: JWTPayload, header: Record<string, unknown> = {}, key: SigningKey = signer.privateKey) =>
      new SignJWT(payload).setProtectedHeader({ alg: "ES256", kid: signer.kid, typ: "at+jwt", ...header }).sign(key);
    const listKeys = (token: string) => api.request("GET", "/api-keys", { token });
    const assertRefused = async (token: string, what: string) => {
      const response = await listKeys(token);
      assert.equal(response.status, 401, `${what}: ${response.status} ${response.text}`);
      assert.ok(isProblem(response), what);
      assert.equal(response.body.type, "/problems/unauthorized", what);
      assert.equal(response.headers.get("www-authenticate"), 'Bearer realm="pers"', what);
      assert.equal(response.body.data, undefined, what);
    };

    it("accepts the control: a token with the right key, header and claims", async () => {
      const response = await listKeys(await signed(adminClaims()));
      assert.equal(response.status, 200, response.text);
      assert.ok(Array.isArray(response.body.data));
    });

    it("refuses alg none", async () => {
      const header = { alg: "none", typ: "at+jwt", kid: signer.kid };
      await assertRefused(`${encode(header)}.${encode(adminClaims())}.`, "alg none");
      await assertRefused(`${encode({ ...header, alg: "None" })}.${encode(adminClaims())}.`, "alg None");
    });

    it("refuses HS256 signed with the public key as the HMAC secret (JWK bytes, PEM, raw coordinates)", async () => {
      const pem = createPublicKey({ key: signer.publicJwk as never, format: "jwk" })
        .export({ type: "spki", format: "pem" })
        .toString();
      const secrets = [
        new TextEncoder().encode(JSON.stringify(signer.publicJwk)),
        new TextEncoder().encode(pem),
        Buffer.concat([base64url.decode(signer.publicJwk.x!), base64url.decode(signer.publicJwk.y!)]),
      ];
      for (const secret of secrets) {
        const token = await new SignJWT(adminClaims())
          .setProtectedHeader({ alg: "HS256", kid: signer.kid, typ: "at+jwt" })
          .sign(secret);
        await assertRefused(token, "HS256 with the public key");
      }
    });

    it("refuses expired, not yet valid, wrong iss, wrong aud, wrong typ, and tokens missing exp", async () => {
      const base = adminClaims();
      await assertRefused(await signed({ ...base, iat: now() - 1000, nbf: now() - 1000, exp: now() - 60 }), "expired");
      await assertRefused(await signed({ ...base, nbf: now() + 600, exp: now() + 900 }), "not yet valid");
      await assertRefused(await signed({ ...base, iss: "https://evil.test" }), "wrong iss");
      await assertRefused(await signed({ ...base, aud: "another-api" }), "wrong aud");
      await assertRefused(await signed(base, { typ: "JWT" }), "wrong typ");
      await assertRefused(await signed(base, { typ: undefined }), "no typ");
      const { exp: _exp, ...withoutExp } = base;
      await assertRefused(await signed(withoutExp), "no exp");
      await assertRefused(await signed({ ...base, level: "ROOT" }), "unknown level");
      await assertRefused(await signed({ ...base, sub: "somebody" }), "malformed sub");
    });

    it("refuses an unknown kid, and a key that is not the API's under a known kid", async () => {
      const { privateKey } = await generateKeyPair("ES256");
      await assertRefused(await signed(adminClaims(), { kid: randomUUID() }), "unknown kid, right key");
      await assertRefused(await signed(adminClaims(), { kid: randomUUID() }, privateKey), "unknown kid, own key");
      await assertRefused(await signed(adminClaims(), {}, privateKey), "known kid, own key");
      await assertRefused(await signed(adminClaims(), { kid: undefined }, privateKey), "no kid, own key");
    });

    it("refuses a tampered payload: a USER token raised to ADMIN with its original signature", async () => {
      const { token } = await insertUser(api, a.id);
      assert.equal((await listKeys(token)).status, 403, "the USER token itself is valid, only too low");
      const [header, payload, signature] = token.split(".");
      const claims = JSON.parse(new TextDecoder().decode(base64url.decode(payload!)));
      assert.equal(claims.level, "USER");
      await assertRefused(`${header}.${encode({ ...claims, level: "ADMIN" })}.${signature}`, "USER raised to ADMIN");
      await assertRefused(`${header}.${encode({ ...claims, tenant: randomUUID() })}.${signature}`, "tenant changed");
      await assertRefused(`${header}.${payload}.${signature!.slice(0, -4)}AAAA`, "signature changed");
      await assertRefused("not.a.jwt", "garbage");
      const malformedScheme = await api.request("GET", "/api-keys", { headers: { authorization: `Token ${token}` } });
      assert.equal(malformedScheme.status, 401);
    });

    it("keeps a token signed before rotate() valid and publishes both keys, the current first", async () => {
      const before = await tokenFor(api, { tenantId: a.id, level: "ADMIN", subject: `admin:${a.admin.id}` });
      await api.services.keys.rotate();
      assert.equal((await listKeys(before)).status, 200, "rotation must not break a live token");
      const session = await api.request("POST", "/auth/token", {
        projectKey: a.projectKey,
        body: { type: "password", email: a.admin.email, password: a.admin.password },
      });
      const after = session.body.accessToken;
      const [oldKid, newKid] = [decodeProtectedHeader(before).kid, decodeProtectedHeader(after).kid];
      assert.notEqual(newKid, oldKid);

      const jwks = await api.request("GET", "/.well-known/jwks.json");
      assert.equal(jwks.status, 200);
      assert.equal(jwks.headers.get("cache-control"), "public, max-age=60");
      const kids = jwks.body.keys.map((key: JWK) => key.kid);
      assert.equal(kids[0], newKid, "the current key is listed first");
      assert.ok(kids.includes(oldKid));
      assert.ok(jwks.body.keys.every((key: JWK) => key.d === undefined && key.alg === "ES256" && key.use === "sig"));
      // A third party holding only the JWKS verifies both tokens.
      const keySet = createLocalJWKSet(jwks.body);
      for (const token of [before, after]) {
        const { payload } = await jwtVerify(token, keySet, { issuer: "pers-api", audience: "pers" });
        assert.equal(payload.tenant, a.id);
      }
    });
  });
}
