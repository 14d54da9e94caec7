// Property: whatever is thrown at any route the API documents (generated bodies, path parameters,
// query strings, injection strings, wrong content types) by callers of every level, the answer is
// never a 5xx, and every error is application/problem+json.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import {
  createTestTenant,
  insertUser,
  isProblem,
  PLATFORM_KEY,
  startTestApiOn,
  startTestChain,
  testDatabases,
  tokenFor,
  type RequestOptions,
  type TestApi,
  type TestChain,
} from "./harness.ts";
import { startFakeIndexer, type FakeIndexer } from "./fakeIndexer.ts";

const RUNS_PER_OPERATION = Number(process.env.FUZZ_RUNS ?? 25);

const injections = [
  "' OR '1'='1",
  "'; DROP TABLE tenants; --",
  "<script>alert(1)</script>",
  "${7*7}{{7*7}}",
  "../../../../etc/passwd",
  "\u0000",
  "%00",
  "\ud800",
  "😀".repeat(300),
  "a".repeat(10_000),
  "__proto__",
  "constructor",
  "NaN",
  "-1",
  "1e309",
  "0x" + "f".repeat(64),
];

const scalar = fc.oneof(
  fc.constantFrom(...injections),
  fc.string(),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.uuid(),
);

/** Bodies: random JSON, and objects using the operation's own field names with wrong-ish values. */
function bodies(fieldNames: string[]) {
  const field = fieldNames.length ? fc.oneof(fc.constantFrom(...fieldNames), fc.string()) : fc.string();
  const value = fc.letrec((tie) => ({
    value: fc.oneof({ depthSize: "small" }, scalar, fc.array(tie("value"), { maxLength: 4 }), tie("object")),
    object: fc.dictionary(field, tie("value"), { maxKeys: 6 }),
  })).value;
  return fc.oneof(
    fc.jsonValue(),
    fc.dictionary(field, value, { maxKeys: 8 }),
    fc.constant(Object.fromEntries(fieldNames.map((name) => [name, "' OR 1=1 --"]))),
  );
}

/** Percent-encoded, except the few values that are sent raw to test the router's decoding. */
const RAW_PATH_VALUES = ["%E0%A4%A", "%", "%ZZ", "..%2F..%2F", "%00"];
const encodePathValue = (value: string) =>
  RAW_PATH_VALUES.includes(value) ? value : encodeURIComponent(value.replace(/\p{Surrogate}/gu, "\ufffd"));

const pathValue = fc.oneof(
  fc.constantFrom(...RAW_PATH_VALUES),
  fc.uuid(),
  fc.constantFrom(...injections.filter((text) => text.length < 100)),
  fc.string({ minLength: 1 }),
  fc.integer().map(String),
  fc.constant("0x70997970C51812dc3A010C7d01b50e0d17dc79C8"),
);

function fieldNamesOf(schema: any, components: any, depth = 0): string[] {
  if (!schema || depth > 3) return [];
  if (schema.$ref) return fieldNamesOf(components.schemas[schema.$ref.split("/").pop()], components, depth + 1);
  const nested = [...(schema.oneOf ?? []), ...(schema.anyOf ?? []), ...(schema.allOf ?? [])];
  return [
    ...Object.keys(schema.properties ?? {}),
    ...Object.values(schema.properties ?? {}).flatMap((child) => fieldNamesOf(child, components, depth + 1)),
    ...nested.flatMap((child) => fieldNamesOf(child, components, depth + 1)),
  ];
}

let chain: TestChain;
let indexer: FakeIndexer;
before(async () => {
  chain = await startTestChain();
  indexer = await startFakeIndexer();
});
after(async () => {
  await chain.close();
  await indexer.close();
});

for (const database of testDatabases()) {
  describe(`generated requests to every route on ${database.name}`, () => {
    let api: TestApi;
    let credentials: { name: string; options: RequestOptions }[];
    let document: any;

    before(async () => {
      api = await startTestApiOn(database, { chain, environment: { INDEXER_URL: indexer.url } });
      const tenant = await createTestTenant(api);
      const { token: userToken, user } = await insertUser(api, tenant.id);
      const key = await api.request("POST", "/api-keys", {
        token: tenant.adminToken,
        body: { name: "fuzz", level: "SYSTEM" },
      });
      credentials = [
        { name: "none", options: {} },
        { name: "project key", options: { projectKey: tenant.projectKey } },
        { name: "USER", options: { token: userToken } },
        {
          name: "BUSINESS",
          options: {
            token: await tokenFor(api, {
              tenantId: tenant.id,
              level: "BUSINESS",
              subject: `user:${user.id}`,
              businessId: crypto.randomUUID(),
            }),
          },
        },
        { name: "ADMIN", options: { token: tenant.adminToken } },
        { name: "SYSTEM", options: { apiKey: key.body.key } },
        { name: "platform", options: { apiKey: PLATFORM_KEY } },
        { name: "garbage bearer", options: { headers: { authorization: "Bearer a.b.c" } } },
      ];
      document = (await api.request("GET", "/openapi.json")).body;
    });
    after(() => api.close());

    it("never answers 5xx, and answers every error with problem+json", async () => {
      const operations = Object.entries(document.paths as Record<string, Record<string, any>>).flatMap(
        ([path, methods]) => Object.entries(methods).map(([method, operation]) => ({ path, method, operation })),
      );
      assert.ok(operations.length > 10);
      const statuses = new Map<number, number>();
      for (const { path, method, operation } of operations) {
        const bodySchema = operation.requestBody?.content?.["application/json"]?.schema;
        const queryNames = (operation.parameters ?? [])
          .filter((parameter: any) => parameter.in === "query")
          .map((parameter: any) => parameter.name);
        const pathNames = [...path.matchAll(/\{(\w+)\}/g)].map((match) => match[1]!);
        const request = fc.record({
          credential: fc.integer({ min: 0, max: credentials.length - 1 }),
          params: fc.tuple(...pathNames.map(() => pathValue)),
          // No query at all a quarter of the time: random values rarely pass a route's query
          // validation, and the routes behind it (those that read the indexer) must be reached too.
          query: fc.oneof(
            { arbitrary: fc.constant({}), weight: 1 },
            {
              arbitrary: fc.dictionary(
                queryNames.length ? fc.oneof(fc.constantFrom(...queryNames), fc.string()) : fc.string(),
                fc.oneof(scalar.map(String), fc.array(fc.string(), { maxLength: 2 })),
                { maxKeys: 4 },
              ),
              weight: 3,
            },
          ),
          body:
            bodySchema || method !== "get"
              ? fc.option(bodies(fieldNamesOf(bodySchema, document.components)))
              : fc.constant(null),
          contentType: fc.constantFrom("application/json", "application/json", "text/plain", "application/xml"),
          raw: fc.option(fc.oneof(fc.string(), fc.constant('{"unterminated": '), fc.constant("[1,2")), { freq: 5 }),
        });
        await fc.assert(
          fc.asyncProperty(request, async ({ credential, params, query, body, contentType, raw }) => {
            let url = path;
            pathNames.forEach((name, index) => (url = url.replace(`{${name}}`, encodePathValue(params[index]!))));
            const search = new URLSearchParams();
            for (const [name, value] of Object.entries(query)) {
              for (const item of [value].flat()) search.append(name, String(item));
            }
            if ([...search].length) url += `?${search}`;
            const { options } = credentials[credential]!;
            const send: RequestOptions = { ...options, headers: { ...options.headers } };
            if (method !== "get" && (raw !== null || body !== null)) {
              send.rawBody = raw ?? JSON.stringify(body);
              send.headers!["content-type"] = contentType;
            }
            const response = await api.request(method.toUpperCase(), url, send);
            statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
            const context = `${method.toUpperCase()} ${url} as ${credentials[credential]!.name}: ${response.status} ${response.text.slice(0, 300)}`;
            assert.ok(response.status < 500, context);
            if (response.status >= 400) assert.ok(isProblem(response), `not problem+json: ${context}`);
          }),
          { numRuns: RUNS_PER_OPERATION },
        );
      }
      // The generator reaches past validation and authentication, not only 400s.
      assert.ok(
        [...statuses.keys()].some((status) => status < 300),
        JSON.stringify([...statuses]),
      );
      assert.ok(statuses.has(400) && statuses.has(401) && statuses.has(403), JSON.stringify([...statuses]));
      assert.ok(indexer.queries() > 0, "the routes that read the indexer were reached");
    });
  });
}
