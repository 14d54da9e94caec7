import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { after, before, describe, it } from "node:test";
import { and, eq } from "drizzle-orm";
import { decodeJwt } from "jose";
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import { createSiweMessage, type SiweMessage } from "viem/siwe";
import { createCustodialWallet } from "../../crypto/wallets.ts";
import { businesses, businessMembers, siweNonces, users } from "../../db/schema.ts";
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

let chain: TestChain;
before(async () => (chain = await startTestChain()));
after(async () => chain.close());

const newWallet = () => privateKeyToAccount(generatePrivateKey());

/** A JSON POST with the Host header a client chose: fetch always sends the URL's own. */
const postWithHost = (api: TestApi, host: string, path: string, headers: Record<string, string>, body: unknown) =>
  new Promise<TestResponse>((resolve, reject) => {
    const { hostname, port } = new URL(api.url);
    const request = httpRequest(
      { hostname, port, path, method: "POST", headers: { ...headers, host, "content-type": "application/json" } },
      (response) => {
        let text = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => (text += chunk));
        response.on("end", () => {
          const responseHeaders = new Headers();
          for (const [name, value] of Object.entries(response.headers)) {
            if (typeof value === "string") responseHeaders.set(name, value);
          }
          resolve({ status: response.statusCode!, headers: responseHeaders, body: JSON.parse(text), text });
        });
      },
    );
    request.on("error", reject);
    request.end(JSON.stringify(body));
  });

for (const database of testDatabases()) {
  describe(`Sign-In with Ethereum on ${database.name}`, () => {
    let api: TestApi;
    let a: TestTenant;
    let b: TestTenant;
    let domain: string;

    before(async () => {
      api = await startTestApiOn(database, { chain });
      a = await createTestTenant(api);
      b = await createTestTenant(api);
      domain = new URL(api.url).host;
    });
    after(() => api.close());

    const nonceFor = async (tenant: TestTenant) => {
      const response = await api.request("POST", "/auth/nonce", { projectKey: tenant.projectKey });
      assert.equal(response.status, 200, response.text);
      return response.body.nonce as string;
    };
    const message = (wallet: PrivateKeyAccount, nonce: string, fields: Partial<SiweMessage> = {}) =>
      createSiweMessage({
        domain,
        address: wallet.address,
        statement: "Sign in to the loyalty programme",
        uri: `${api.url}/login`,
        version: "1",
        chainId: 31337,
        nonce,
        ...fields,
      });
    const signIn = (tenant: TestTenant, body: Record<string, unknown>) =>
      api.request("POST", "/auth/token", { projectKey: tenant.projectKey, body: { type: "siwe", ...body } });
    /** A fresh nonce, a message with these fields, signed by the wallet (or by `signer`). */
    const signedIn = async (
      wallet: PrivateKeyAccount,
      options: { tenant?: TestTenant; fields?: Partial<SiweMessage>; signer?: PrivateKeyAccount } = {},
    ) => {
      const tenant = options.tenant ?? a;
      const text = message(wallet, await nonceFor(tenant), options.fields);
      const signature = await (options.signer ?? wallet).signMessage({ message: text });
      return { message: text, signature, response: await signIn(tenant, { message: text, signature }) };
    };
    const assertRefused = (response: TestResponse, what: string, pattern?: RegExp) => {
      assert.equal(response.status, 401, `${what}: ${response.text}`);
      assert.ok(isProblem(response), what);
      assert.equal(response.body.accessToken, undefined, what);
      if (pattern) assert.match(response.body.detail, pattern, what);
    };

    it("issues a nonce to a caller who names the tenant, stored for that tenant with its expiry", async () => {
      const anonymous = await api.request("POST", "/auth/nonce");
      assert.equal(anonymous.status, 401);
      const response = await api.request("POST", "/auth/nonce", { projectKey: a.projectKey });
      assert.equal(response.status, 200);
      assert.equal(response.headers.get("cache-control"), "no-store");
      assert.match(response.body.nonce, /^[0-9a-f]{32}$/);
      const ttl = Date.parse(response.body.expiresAt) - Date.now();
      assert.ok(ttl > 290_000 && ttl <= 300_000, `ttl ${ttl}`);
      const [row] = await api.services.db.select().from(siweNonces).where(eq(siweNonces.nonce, response.body.nonce));
      assert.equal(row!.tenantId, a.id);
      assert.equal(row!.usedAt, null);
      assert.notEqual((await nonceFor(a)) as string, response.body.nonce);
    });

    it("signs a new wallet in as a self-custody user, and the same wallet again as the same user", async () => {
      const wallet = newWallet();
      const first = (await signedIn(wallet)).response;
      assert.equal(first.status, 200, first.text);
      assert.equal(first.body.level, "USER");
      assert.equal(first.body.tenantId, a.id);
      const [user] = await api.services.db
        .select()
        .from(users)
        .where(and(eq(users.tenantId, a.id), eq(users.walletAddress, wallet.address)));
      assert.ok(user, "the wallet became a user of the tenant");
      assert.equal(user!.keyCiphertext, null, "a wallet that signed in is the user's own: the API keeps no key");
      assert.equal(decodeJwt(first.body.accessToken).sub, `user:${user!.id}`);

      const again = (await signedIn(wallet)).response;
      assert.equal(again.status, 200);
      assert.equal(decodeJwt(again.body.accessToken).sub, `user:${user!.id}`);
      const rows = await api.services.db.select().from(users).where(eq(users.walletAddress, wallet.address));
      assert.equal(rows.length, 1);
      // The same wallet in tenant B is B's own user.
      const inB = (await signedIn(wallet, { tenant: b })).response;
      assert.equal(inB.status, 200);
      assert.notEqual(decodeJwt(inB.body.accessToken).sub, `user:${user!.id}`);
      assert.equal(inB.body.tenantId, b.id);
    });

    it("takes a nonce once: a replay is refused, and of two concurrent uses exactly one signs in", async () => {
      const wallet = newWallet();
      const { message: text, signature, response } = await signedIn(wallet);
      assert.equal(response.status, 200);
      assertRefused(await signIn(a, { message: text, signature }), "replay", /nonce/);

      const raced = message(wallet, await nonceFor(a));
      const racedSignature = await wallet.signMessage({ message: raced });
      const answers = await Promise.all(
        Array.from({ length: 4 }, () => signIn(a, { message: raced, signature: racedSignature })),
      );
      assert.deepEqual(answers.map((answer) => answer.status).sort(), [200, 401, 401, 401]);
    });

    it("refuses a nonce that is unknown, another tenant's, or expired", async () => {
      const wallet = newWallet();
      const unknown = message(wallet, "abcdef0123456789abcdef0123456789");
      assertRefused(
        await signIn(a, { message: unknown, signature: await wallet.signMessage({ message: unknown }) }),
        "unknown nonce",
        /nonce/,
      );
      const foreign = message(wallet, await nonceFor(b));
      assertRefused(
        await signIn(a, { message: foreign, signature: await wallet.signMessage({ message: foreign }) }),
        "B's nonce at A",
        /nonce/,
      );
      const stale = await nonceFor(a);
      await api.services.db
        .update(siweNonces)
        .set({ expiresAt: new Date(Date.now() - 1000) })
        .where(eq(siweNonces.nonce, stale));
      const expired = message(wallet, stale);
      assertRefused(
        await signIn(a, { message: expired, signature: await wallet.signMessage({ message: expired }) }),
        "expired nonce",
        /nonce/,
      );
      // Expired nonces are cleared when the tenant asks for new ones.
      await nonceFor(a);
      assert.equal((await api.services.db.select().from(siweNonces).where(eq(siweNonces.nonce, stale))).length, 0);
    });

    it("refuses another domain, another chain, and messages expired, not yet valid or issued in the future", async () => {
      const wallet = newWallet();
      const cases: [Partial<SiweMessage>, RegExp][] = [
        [{ domain: "evil.test" }, /domain|evil\.test/],
        [{ chainId: 1 }, /chain 1/],
        [{ expirationTime: new Date(Date.now() - 60_000) }, /expired/],
        [{ notBefore: new Date(Date.now() + 600_000) }, /not yet valid/],
        [{ issuedAt: new Date(Date.now() + 3_600_000) }, /Issued At/],
      ];
      for (const [fields, detail] of cases) {
        assertRefused((await signedIn(wallet, { fields })).response, JSON.stringify(fields), detail);
      }
      const valid = await signedIn(wallet, { fields: { expirationTime: new Date(Date.now() + 60_000) } });
      assert.equal(valid.response.status, 200, "the control, with a future expiry, signs in");
    });

    it("takes no domain from the request: a message for the Host the request names is refused, localhost at the API's port signs in", async () => {
      const wallet = newWallet();
      const forEvil = message(wallet, await nonceFor(a), { domain: "evil.example", uri: "https://evil.example/login" });
      const relayed = await postWithHost(
        api,
        "evil.example",
        "/auth/token",
        { "x-project-key": a.projectKey },
        { type: "siwe", message: forEvil, signature: await wallet.signMessage({ message: forEvil }) },
      );
      assertRefused(
        relayed,
        "relayed with Host: evil.example",
        /for evil\.example; sign in to localhost:\d+ or 127\.0\.0\.1:\d+/,
      );

      const port = new URL(api.url).port;
      const local = await signedIn(wallet, { fields: { domain: `localhost:${port}` } });
      assert.equal(local.response.status, 200, local.response.text);
      const otherPort = await signedIn(wallet, { fields: { domain: `localhost:${Number(port) + 1}` } });
      assertRefused(otherPort.response, "localhost at another port", /domain|localhost/);
    });

    it("refuses a signature by another wallet, a changed message and a malformed signature, without using the nonce", async () => {
      const wallet = newWallet();
      const text = message(wallet, await nonceFor(a));
      const byOther = await newWallet().signMessage({ message: text });
      assertRefused(await signIn(a, { message: text, signature: byOther }), "another wallet", /signature/);
      const signature = await wallet.signMessage({ message: text });
      const changed = text.replace("Sign in to the loyalty programme", "Transfer everything");
      assertRefused(await signIn(a, { message: changed, signature }), "changed statement", /signature/);
      assertRefused(await signIn(a, { message: text, signature: "0x1234" }), "short signature");
      assertRefused(await signIn(a, { message: text, signature: `0x${"00".repeat(65)}` }), "zero signature");
      const rightOne = await signIn(a, { message: text, signature });
      assert.equal(rightOne.status, 200, "failed attempts do not burn the wallet's nonce");
    });

    it("answers a text that is no EIP-4361 message, or a signature that is no hex, with 400", async () => {
      const wallet = newWallet();
      const notSiwe = await signIn(a, {
        message: "please let me in",
        signature: await wallet.signMessage({ message: "x" }),
      });
      assert.equal(notSiwe.status, 400);
      assert.ok(isProblem(notSiwe));
      const noHex = await signIn(a, { message: message(wallet, await nonceFor(a)), signature: "signed!" });
      assert.equal(noHex.status, 400);
      assert.ok(noHex.body.errors.some((error: { path: string }) => error.path === "body.signature"));
      const noTenant = await api.request("POST", "/auth/token", {
        body: { type: "siwe", message: message(wallet, "abcdefgh12345678"), signature: "0x00" },
      });
      assert.equal(noTenant.status, 400);
    });

    it("refuses a deactivated user", async () => {
      const wallet = newWallet();
      assert.equal((await signedIn(wallet)).response.status, 200);
      await api.services.db.update(users).set({ active: false }).where(eq(users.walletAddress, wallet.address));
      assertRefused((await signedIn(wallet)).response, "deactivated", /deactivated/);
    });

    it("signs a business member in as BUSINESS with asBusiness or businessId", async () => {
      const wallet = newWallet();
      const first = await signedIn(wallet);
      const userId = String(decodeJwt(first.response.body.accessToken).sub).slice("user:".length);
      const custodial = createCustodialWallet(api.config.MASTER_KEY, "business:test");
      const [business] = await api.services.db
        .insert(businesses)
        .values({ tenantId: a.id, name: "Corner Cafe", ...custodial, walletAddress: custodial.address })
        .returning();
      await api.services.db.insert(businessMembers).values({ tenantId: a.id, businessId: business!.id, userId });

      for (const choice of [{ asBusiness: true }, { businessId: business!.id }]) {
        const text = message(wallet, await nonceFor(a));
        const response = await signIn(a, {
          message: text,
          signature: await wallet.signMessage({ message: text }),
          ...choice,
        });
        assert.equal(response.status, 200, response.text);
        assert.equal(response.body.level, "BUSINESS");
        assert.equal(response.body.businessId, business!.id);
        assert.equal(decodeJwt(response.body.accessToken).business, business!.id);
        assert.equal(decodeJwt(response.body.accessToken).sub, `user:${userId}`);
      }
    });
  });
}

for (const database of testDatabases()) {
  describe(`Sign-In with Ethereum behind a configured domain on ${database.name}`, () => {
    let api: TestApi;
    let tenant: TestTenant;

    before(async () => {
      api = await startTestApiOn(database, {
        chain,
        environment: { SIWE_DOMAINS: "app.example.test, www.example.test" },
      });
      tenant = await createTestTenant(api);
    });
    after(() => api.close());

    it("accepts the configured domains and no longer the API's own host", async () => {
      const wallet = newWallet();
      const attempt = async (domain: string) => {
        const nonce = (await api.request("POST", "/auth/nonce", { projectKey: tenant.projectKey })).body.nonce;
        const text = createSiweMessage({
          domain,
          address: wallet.address,
          uri: `https://${domain}/login`,
          version: "1",
          chainId: 31337,
          nonce,
        });
        return api.request("POST", "/auth/token", {
          projectKey: tenant.projectKey,
          body: { type: "siwe", message: text, signature: await wallet.signMessage({ message: text }) },
        });
      };
      assert.equal((await attempt("app.example.test")).status, 200);
      assert.equal((await attempt("www.example.test")).status, 200);
      const ownHost = await attempt(new URL(api.url).host);
      assert.equal(ownHost.status, 401);
      assert.match(ownHost.body.detail, /app\.example\.test or www\.example\.test/);
    });
  });
}

for (const database of testDatabases()) {
  describe(`Sign-In with Ethereum behind a proxy (TRUST_PROXY) with SIWE_DOMAINS unset on ${database.name}`, () => {
    let api: TestApi;
    let tenant: TestTenant;

    before(async () => {
      api = await startTestApiOn(database, { chain, environment: { TRUST_PROXY: "true" } });
      tenant = await createTestTenant(api);
    });
    after(() => api.close());

    it("takes no domain from X-Forwarded-Host either", async () => {
      const wallet = newWallet();
      const nonce = (await api.request("POST", "/auth/nonce", { projectKey: tenant.projectKey })).body.nonce;
      const text = createSiweMessage({
        domain: "evil.example",
        address: wallet.address,
        uri: "https://evil.example/login",
        version: "1",
        chainId: tenant.tenant.chainId,
        nonce,
      });
      const relayed = await api.request("POST", "/auth/token", {
        projectKey: tenant.projectKey,
        headers: { "x-forwarded-host": "evil.example" },
        body: { type: "siwe", message: text, signature: await wallet.signMessage({ message: text }) },
      });
      assert.equal(relayed.status, 401, relayed.text);
      assert.ok(isProblem(relayed));
      assert.match(relayed.body.detail, /for evil\.example; sign in to localhost:\d+ or 127\.0\.0\.1:\d+/);
      assert.equal(relayed.body.accessToken, undefined);
    });
  });
}
