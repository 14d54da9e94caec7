// Bad input answered as problems: malformed JSON, wrong types, unknown fields, huge bodies, wrong
// content types, injection strings stored as plain text, unknown routes and methods.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  createTestTenant,
  isProblem,
  startTestApi,
  startTestChain,
  type TestApi,
  type TestChain,
  type TestTenant,
} from "./harness.ts";

describe("bad input", () => {
  let chain: TestChain;
  let api: TestApi;
  let tenant: TestTenant;
  before(async () => {
    chain = await startTestChain();
    api = await startTestApi({ database: { kind: "memory" }, chain, environment: { BODY_LIMIT_BYTES: "4096" } });
    tenant = await createTestTenant(api);
  });
  after(async () => {
    await api.close();
    await chain.close();
  });

  const post = (rawBody: string | Buffer, contentType = "application/json") =>
    api.request("POST", "/business-types", {
      token: tenant.adminToken,
      rawBody,
      headers: { "content-type": contentType },
    });

  it("answers malformed JSON with 400 malformed-json", async () => {
    for (const body of ['{"name": ', "{'name': 'x'}", "[1,2", "nul", '"just a string"', "1"]) {
      const response = await post(body);
      assert.equal(response.status, 400, body);
      assert.ok(isProblem(response));
      assert.equal(response.body.type, "/problems/malformed-json", body);
    }
  });

  it("answers wrong types and unknown fields with 400 naming each field", async () => {
    const response = await post(JSON.stringify({ name: 42, description: ["x"], admin: true }));
    assert.equal(response.status, 400);
    assert.equal(response.body.type, "/problems/validation-failed");
    const paths = response.body.errors.map((error: { path: string }) => error.path).sort();
    assert.deepEqual(paths, ["body", "body.description", "body.name"]);
    assert.match(response.body.errors.find((error: { path: string }) => error.path === "body").message, /admin/);
  });

  it("answers a body over the limit with 413 and a non-JSON body with 415", async () => {
    const huge = await post(JSON.stringify({ name: "x".repeat(10_000) }));
    assert.equal(huge.status, 413);
    assert.ok(isProblem(huge));
    const text = await post("name=x", "application/x-www-form-urlencoded");
    assert.equal(text.status, 415);
    assert.ok(isProblem(text));
  });

  it("stores injection strings as plain text and finds them back literally", async () => {
    const names = ["'; DROP TABLE business_types; --", "%_\\", "<script>alert(1)</script>"];
    for (const name of names) assert.equal((await post(JSON.stringify({ name }))).status, 201, name);
    const all = await api.request("GET", "/business-types?limit=100", { token: tenant.adminToken });
    assert.deepEqual(all.body.data.map((row: { name: string }) => row.name).sort(), [...names].sort());
    // LIKE wildcards in a filter match literally: "%_" finds only the row that contains them.
    const filtered = await api.request("GET", `/business-types?name=${encodeURIComponent("%_")}`, {
      token: tenant.adminToken,
    });
    assert.deepEqual(
      filtered.body.data.map((row: { name: string }) => row.name),
      ["%_\\"],
    );
  });

  it("honours Idempotency-Key on every write, except those whose answer is a secret shown once", async () => {
    const key = { "idempotency-key": `types-${Date.now()}` };
    const first = await post(JSON.stringify({ name: "Bakery" }));
    assert.equal(first.status, 201);
    const once = await api.request("POST", "/business-types", {
      token: tenant.adminToken,
      headers: key,
      body: { name: "Cafe" },
    });
    const again = await api.request("POST", "/business-types", {
      token: tenant.adminToken,
      headers: key,
      body: { name: "Cafe" },
    });
    assert.equal(once.status, 201);
    assert.equal(again.status, 201);
    assert.equal(again.body.id, once.body.id, "the first answer, replayed");
    assert.equal(again.headers.get("idempotent-replayed"), "true");
    const other = await api.request("POST", "/business-types", {
      token: tenant.adminToken,
      headers: key,
      body: { name: "Bar" },
    });
    assert.equal(other.status, 422);
    assert.ok(isProblem(other));
    // An API key is shown once: a repeat makes another key rather than keeping this one for replay.
    const apiKey = { "idempotency-key": `keys-${Date.now()}` };
    const k1 = await api.request("POST", "/api-keys", {
      token: tenant.adminToken,
      headers: apiKey,
      body: { name: "ci" },
    });
    const k2 = await api.request("POST", "/api-keys", {
      token: tenant.adminToken,
      headers: apiKey,
      body: { name: "ci" },
    });
    assert.equal(k1.status, 201);
    assert.equal(k2.status, 201);
    assert.notEqual(k1.body.key, k2.body.key);
  });

  it("answers a browser's preflight with the allowed headers (CORS)", async () => {
    const preflight = await api.request("OPTIONS", "/business-types", {
      headers: {
        origin: "https://dapp.example",
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization,content-type",
      },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get("access-control-allow-origin"), "*");
    assert.match(preflight.headers.get("access-control-allow-headers") ?? "", /authorization/);
    assert.equal(preflight.headers.get("access-control-allow-credentials"), null);
  });

  it("answers a body nested too deep with 400, with and without an Idempotency-Key", async () => {
    // 1,500 levels in 3 KB: enough to overflow a recursive walk of the body.
    const deep = `{"name":"x","description":${"[".repeat(1500)}${"]".repeat(1500)}}`;
    for (const headers of [{}, { "idempotency-key": "deep-body" }] as Record<string, string>[]) {
      const answer = await api.request("POST", "/business-types", {
        token: tenant.adminToken,
        rawBody: deep,
        headers: { "content-type": "application/json", ...headers },
      });
      assert.equal(answer.status, 400, answer.text);
      assert.ok(isProblem(answer));
      assert.match(answer.text, /must not nest deeper than 32 levels/);
    }
    // At the limit, the body reaches validation (which refuses the field's type, not its depth).
    const atLimit = await post(`{"name":"x","description":${"[".repeat(31)}${"]".repeat(31)}}`);
    assert.equal(atLimit.status, 400);
    assert.doesNotMatch(atLimit.text, /nest deeper/);
  });

  it("answers a time before 1970 with 400 (the year 0000 is no date; a chain's clock starts in 1970)", async () => {
    for (const startsAt of ["0000-01-01T00:00:00Z", "1969-12-31T23:59:59Z"]) {
      const campaign = await api.request("POST", "/campaigns", {
        token: tenant.adminToken,
        body: { title: "Early", startsAt },
      });
      assert.equal(campaign.status, 400, campaign.text);
      assert.match(campaign.text, /body\.startsAt/);
      const claims = await api.request("GET", `/campaigns/claims?from=${startsAt}`, { token: tenant.adminToken });
      assert.equal(claims.status, 400, claims.text);
      assert.ok(isProblem(claims));
    }
    const epoch = await api.request("GET", "/campaigns/claims?from=1970-01-01T00:00:00Z", { token: tenant.adminToken });
    assert.equal(epoch.status, 200, epoch.text);
  });

  it("answers NUL characters with 400, unknown routes with 404 and wrong methods with 405", async () => {
    const nul = await post(JSON.stringify({ name: "a\u0000b" }));
    assert.equal(nul.status, 400);
    const unknown = await api.request("GET", "/no-such-thing");
    assert.equal(unknown.status, 404);
    assert.ok(isProblem(unknown));
    const longUrl = await api.request("GET", `/business-types?name=${"x".repeat(20_000)}`, {
      token: tenant.adminToken,
    });
    assert.equal(longUrl.status, 431);
    assert.ok(isProblem(longUrl), longUrl.text);
    const method = await api.request("PUT", "/health");
    assert.equal(method.status, 405);
    assert.match(method.headers.get("allow") ?? "", /\bGET\b/);
    assert.ok(isProblem(method));
  });
});
