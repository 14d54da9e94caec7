import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { ConfigError, readConfig } from "../config.ts";
import { isProblem, startTestApiOn, testDatabases, type TestApi, type TestResponse } from "../../test/harness.ts";

const assertLimited = (response: TestResponse, what: string) => {
  assert.equal(response.status, 429, `${what}: ${response.text}`);
  assert.ok(isProblem(response), what);
  assert.equal(response.body.type, "/problems/too-many-requests", what);
};

describe("TRUST_PROXY_HOPS", () => {
  const masterKey = randomBytes(32).toString("hex");

  it("is one hop unless set, and must be a positive whole number", () => {
    assert.equal(readConfig({ MASTER_KEY: masterKey }).TRUST_PROXY_HOPS, 1);
    assert.equal(readConfig({ MASTER_KEY: masterKey, TRUST_PROXY_HOPS: "2" }).TRUST_PROXY_HOPS, 2);
    for (const wrong of ["0", "-1", "1.5", "two"]) {
      assert.throws(
        () => readConfig({ MASTER_KEY: masterKey, TRUST_PROXY_HOPS: wrong }),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError, wrong);
          assert.match(error.message, /TRUST_PROXY_HOPS/, wrong);
          return true;
        },
      );
    }
  });
});

/** A sign-in with a wrong key, as it reaches the API through proxies that wrote `forwardedFor`. */
const signInThrough = (api: TestApi, forwardedFor: string) =>
  api.request("POST", "/auth/token", {
    headers: { "x-forwarded-for": forwardedFor },
    body: { type: "api_key", apiKey: "pers_sk_guess" },
  });

for (const database of testDatabases()) {
  describe(`per-IP rate limits behind one proxy (TRUST_PROXY) on ${database.name}`, () => {
    let api: TestApi;

    before(async () => {
      api = await startTestApiOn(database, {
        environment: { TRUST_PROXY: "true", AUTH_RATE_LIMIT_PER_IP: "3", RATE_LIMIT_PER_IP: "5" },
      });
    });
    after(() => api.close());

    const signInVia = (forwardedFor: string) => signInThrough(api, forwardedFor);
    const healthVia = (forwardedFor: string) =>
      api.request("GET", "/health", { headers: { "x-forwarded-for": forwardedFor } });

    it("counts sign-ins by the address the proxy appended, whatever the client wrote before it", async () => {
      for (let attempt = 0; attempt < 3; attempt += 1) {
        assert.equal((await signInVia(`10.0.0.${attempt}, 203.0.113.7`)).status, 401);
      }
      assertLimited(await signInVia("10.9.9.9, 203.0.113.7"), "a new leftmost entry");
      assertLimited(await signInVia("203.0.113.7"), "no leftmost entry");
      assert.equal((await signInVia("10.0.0.0, 203.0.113.8")).status, 401, "another client is counted apart");
    });

    it("counts every route's per-IP limit the same way", async () => {
      for (let attempt = 0; attempt < 5; attempt += 1) {
        assert.equal((await healthVia(`10.1.0.${attempt}, 198.51.100.7`)).status, 200);
      }
      assertLimited(await healthVia("10.1.9.9, 198.51.100.7"), "a new leftmost entry");
      assert.equal((await healthVia("10.1.0.0, 198.51.100.8")).status, 200, "another client is counted apart");
    });
  });

  describe(`per-IP rate limits behind two proxies (TRUST_PROXY_HOPS=2) on ${database.name}`, () => {
    let api: TestApi;

    before(async () => {
      api = await startTestApiOn(database, {
        environment: { TRUST_PROXY: "true", TRUST_PROXY_HOPS: "2", AUTH_RATE_LIMIT_PER_IP: "2" },
      });
    });
    after(() => api.close());

    const signInVia = (forwardedFor: string) => signInThrough(api, forwardedFor);

    it("counts by the address the outer proxy saw, not the inner proxy's nor the client's own entries", async () => {
      assert.equal((await signInVia("10.0.0.1, 203.0.113.7, 10.200.0.2")).status, 401);
      assert.equal((await signInVia("10.0.0.2, 203.0.113.7, 10.200.0.2")).status, 401);
      assertLimited(await signInVia("10.0.0.3, 203.0.113.7, 10.200.0.2"), "a new leftmost entry");
      assert.equal(
        (await signInVia("10.0.0.1, 203.0.113.8, 10.200.0.2")).status,
        401,
        "another client through the same inner proxy is counted apart",
      );
    });
  });
}
