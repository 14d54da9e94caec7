// The OpenAPI document: valid OpenAPI 3.1 by an independent validator, and complete: every route
// the router serves is in it, with its security and its problem responses.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Validator } from "@seriousme/openapi-schema-validator";
import { createApp } from "../src/app.ts";
import { startTestApi, type TestApi } from "./harness.ts";

describe("/openapi.json", () => {
  let api: TestApi;
  let document: any;
  before(async () => {
    api = await startTestApi({ database: { kind: "memory" } });
    const response = await api.request("GET", "/openapi.json");
    assert.equal(response.status, 200);
    document = response.body;
  });
  after(async () => api.close());

  it("is a valid OpenAPI 3.1 document", async () => {
    assert.equal(document.openapi, "3.1.0");
    const result = await new Validator().validate(document);
    assert.equal(result.valid, true, JSON.stringify(result.errors, null, 2));
    // The validator does reject a broken copy, so the pass above means something.
    const broken = structuredClone(document);
    broken.paths["/health"].get.responses = { 200: { content: "not an object" } };
    assert.equal((await new Validator().validate(broken)).valid, false);
  });

  it("describes every route the router serves", () => {
    const { router } = createApp(api.services);
    const served = router.stack.flatMap((layer) =>
      layer.methods
        .filter((method) => method !== "HEAD")
        .map((method) => `${method.toLowerCase()} ${String(layer.path).replace(/:(\w+)/g, "{$1}")}`),
    );
    const documented = Object.entries(document.paths as Record<string, Record<string, unknown>>).flatMap(
      ([path, operations]) => Object.keys(operations).map((method) => `${method} ${path}`),
    );
    assert.ok(served.length > 10, `only ${served.length} routes`);
    assert.deepEqual([...served].sort(), [...documented].sort());
  });

  it("gives every operation its security and problem+json errors, and every credential scheme", () => {
    assert.deepEqual(Object.keys(document.components.securitySchemes).sort(), ["apiKey", "bearerAuth", "projectKey"]);
    for (const [path, operations] of Object.entries(document.paths as Record<string, Record<string, any>>)) {
      for (const [method, operation] of Object.entries(operations)) {
        const where = `${method} ${path}`;
        assert.ok(Array.isArray(operation.security), `${where} has no security`);
        for (const status of ["400", "429", "500"]) {
          assert.ok(operation.responses[status]?.content?.["application/problem+json"], `${where} lacks ${status}`);
        }
        if (operation.security.length > 0) {
          assert.ok(operation.responses["401"] && operation.responses["403"], `${where} lacks 401/403`);
        }
        if (path.includes("{")) assert.ok(operation.responses["404"], `${where} lacks 404`);
      }
    }
    // Admins and API keys are managed by an admin's password sign-in only: its bearer token, no key.
    for (const [path, method] of [
      ["/api-keys", "post"],
      ["/api-keys/{id}", "delete"],
      ["/admins", "post"],
      ["/admins/{id}", "patch"],
      ["/admins/{id}", "delete"],
    ] as const) {
      assert.deepEqual(document.paths[path][method].security, [{ bearerAuth: [] }], `${method} ${path}`);
    }
    // Path ids are read in lower case, and documented as what they are.
    const [idParameter] = document.paths["/admins/{id}"].delete.parameters;
    assert.deepEqual([idParameter.name, idParameter.schema.type, idParameter.schema.format], ["id", "string", "uuid"]);
  });
});
