import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  createTestTenant,
  isProblem,
  startTestApiOn,
  startTestChain,
  testDatabases,
  type RequestOptions,
  type TestApi,
  type TestChain,
  type TestTenant,
} from "../../../test/harness.ts";
import { campaignCallers, type CampaignCallers } from "../../../test/campaign-fixtures.ts";

const fieldsOf = (response: { body: any }) => response.body.errors.map((error: { path: string }) => error.path);
// Races show on PostgreSQL only (PGlite serves one request's statements at a time); some are run
// several times so that a lost update shows in any run.
const RACERS = 10;
const RACES = 5;
const statusesOf = (responses: { status: number }[]) => responses.map((response) => response.status).sort();

let chain: TestChain;
before(async () => (chain = await startTestChain()));
after(async () => chain.close());

for (const database of testDatabases()) {
  describe(`/campaigns/:id/tags on ${database.name}`, () => {
    let api: TestApi;
    let a: TestTenant;
    let b: TestTenant;
    let aCallers: CampaignCallers;
    let bCampaign: string;

    const create = async (tenant: TestTenant, body: Record<string, unknown>) => {
      const created = await api.request("POST", "/campaigns", { token: tenant.adminToken, body });
      assert.equal(created.status, 201, created.text);
      return created.body.id as string;
    };

    before(async () => {
      api = await startTestApiOn(database, { chain });
      a = await createTestTenant(api);
      b = await createTestTenant(api);
      aCallers = await campaignCallers(api, a);
      bCampaign = await create(b, { title: "B tagged", status: "ACTIVE" });
      const tagged = await api.request("PUT", `/campaigns/${bCampaign}/tags`, {
        token: b.adminToken,
        body: { tags: ["b-secret-tag"] },
      });
      assert.equal(tagged.status, 200);
    });
    after(() => api.close());

    it("replaces, adds and removes tags as a set of lowercase slugs; anyone who sees the campaign reads them", async () => {
      const id = await create(a, { title: "Tagged", status: "ACTIVE" });
      const path = `/campaigns/${id}/tags`;
      const replaced = await api.request("PUT", path, {
        token: a.adminToken,
        body: { tags: ["Summer", " coffee ", "summer", "two-words"] },
      });
      assert.equal(replaced.status, 200);
      assert.deepEqual(replaced.body.tags, ["coffee", "summer", "two-words"]);
      const added = await api.request("POST", path, { apiKey: aCallers.system.apiKey, body: { tag: "Brunch" } });
      assert.equal(added.status, 201);
      assert.deepEqual(added.body.tags, ["brunch", "coffee", "summer", "two-words"]);
      const twice = await api.request("POST", path, { token: a.adminToken, body: { tag: "brunch" } });
      assert.equal(twice.status, 409);
      assert.equal((await api.request("DELETE", `${path}/summer`, { token: a.adminToken })).status, 204);
      assert.equal((await api.request("DELETE", `${path}/summer`, { token: a.adminToken })).status, 404);

      for (const [who, caller] of [["public", { projectKey: a.projectKey }], ...Object.entries(aCallers.levels)]) {
        const read = await api.request("GET", path, caller as RequestOptions);
        assert.equal(read.status, 200, who as string);
        assert.deepEqual(read.body.tags, ["brunch", "coffee", "two-words"], who as string);
      }
      const campaign = await api.request("GET", `/campaigns/${id}`, { projectKey: a.projectKey });
      assert.deepEqual(campaign.body.tags, ["brunch", "coffee", "two-words"]);
      const cleared = await api.request("PUT", path, { token: a.adminToken, body: { tags: [] } });
      assert.deepEqual(cleared.body.tags, []);
    });

    it("keeps at most 20 tags and refuses anything but slugs (400 naming the field)", async () => {
      const id = await create(a, { title: "Many tags" });
      const path = `/campaigns/${id}/tags`;
      const twenty = Array.from({ length: 20 }, (_, index) => `tag-${index}`);
      const tooMany = await api.request("PUT", path, { token: a.adminToken, body: { tags: [...twenty, "one-more"] } });
      assert.equal(tooMany.status, 400);
      assert.deepEqual(fieldsOf(tooMany), ["body.tags"]);
      assert.equal((await api.request("PUT", path, { token: a.adminToken, body: { tags: twenty } })).status, 200);
      const twentyFirst = await api.request("POST", path, { token: a.adminToken, body: { tag: "one-more" } });
      assert.equal(twentyFirst.status, 409);
      assert.match(twentyFirst.body.detail, /20/);

      for (const tag of ["two words", "a--b", "-lead", "émoji", "", "x".repeat(41)]) {
        const response = await api.request("POST", path, { token: a.adminToken, body: { tag } });
        assert.equal(response.status, 400, JSON.stringify(tag));
        assert.deepEqual(fieldsOf(response), ["body.tag"]);
      }
      const badPut = await api.request("PUT", path, { token: a.adminToken, body: { tags: ["ok", "not ok"], x: 1 } });
      assert.equal(badPut.status, 400);
      assert.ok(fieldsOf(badPut).includes("body.tags.1"));
      const badParam = await api.request("DELETE", `${path}/not%20a%20slug`, { token: a.adminToken });
      assert.equal(badParam.status, 400);
      assert.deepEqual(fieldsOf(badParam), ["params.tag"]);
    });

    it("adds a tag once however many requests race to add it (409 problem for the others)", async () => {
      for (let race = 0; race < RACES; race += 1) {
        const id = await create(a, { title: `Raced tag ${race}` });
        const path = `/campaigns/${id}/tags`;
        const responses = await Promise.all(
          Array.from({ length: RACERS }, () =>
            api.request("POST", path, { token: a.adminToken, body: { tag: "raced" } }),
          ),
        );
        assert.deepEqual(statusesOf(responses), [201, ...Array(RACERS - 1).fill(409)], `race ${race}`);
        for (const refused of responses.filter((response) => response.status === 409)) assert.ok(isProblem(refused));
        assert.deepEqual((await api.request("GET", path, { token: a.adminToken })).body.tags, ["raced"]);
      }
    });

    it("keeps at most 20 tags when requests race for the last place", async () => {
      const id = await create(a, { title: "Raced twentieth tag" });
      const path = `/campaigns/${id}/tags`;
      const nineteen = Array.from({ length: 19 }, (_, index) => `kept-${index}`);
      assert.equal((await api.request("PUT", path, { token: a.adminToken, body: { tags: nineteen } })).status, 200);
      const responses = await Promise.all(
        Array.from({ length: RACERS }, (_, index) =>
          api.request("POST", path, { token: a.adminToken, body: { tag: `racer-${index}` } }),
        ),
      );
      assert.deepEqual(statusesOf(responses), [201, ...Array(RACERS - 1).fill(409)]);
      assert.equal((await api.request("GET", path, { token: a.adminToken })).body.tags.length, 20);
    });

    it("refuses tag changes on a CLOSED campaign (409) and writes by USER, BUSINESS or the public (403)", async () => {
      const id = await create(a, { title: "Closing", status: "ACTIVE" });
      const path = `/campaigns/${id}/tags`;
      await api.request("PUT", path, { token: a.adminToken, body: { tags: ["kept"] } });
      const levels = aCallers.levels;
      for (const caller of [levels.USER, levels.BUSINESS, { projectKey: a.projectKey }] as RequestOptions[]) {
        assert.equal((await api.request("PUT", path, { ...caller, body: { tags: [] } })).status, 403);
        assert.equal((await api.request("POST", path, { ...caller, body: { tag: "x" } })).status, 403);
        assert.equal((await api.request("DELETE", `${path}/kept`, caller)).status, 403);
      }
      assert.equal((await api.request("GET", path)).status, 401);
      await api.request("DELETE", `/campaigns/${id}`, { token: a.adminToken });
      for (const [method, target, body] of [
        ["PUT", path, { tags: [] }],
        ["POST", path, { tag: "late" }],
        ["DELETE", `${path}/kept`, undefined],
      ] as const) {
        const response = await api.request(method, target, { token: a.adminToken, ...(body && { body }) });
        assert.equal(response.status, 409, method);
        assert.ok(isProblem(response));
      }
      assert.deepEqual((await api.request("GET", path, { token: a.adminToken })).body.tags, ["kept"]);
    });

    it("isolates tenants: every level of A gets 404 or 403 on B's campaign tags", async () => {
      const callers: [string, RequestOptions][] = [
        ["public", { projectKey: a.projectKey }],
        ...Object.entries(aCallers.levels),
      ];
      for (const [who, caller] of callers) {
        const manager = who === "ADMIN" || who === "SYSTEM";
        for (const [method, target, body] of [
          ["GET", `/campaigns/${bCampaign}/tags`, undefined],
          ["PUT", `/campaigns/${bCampaign}/tags`, { tags: [] }],
          ["POST", `/campaigns/${bCampaign}/tags`, { tag: "mine" }],
          ["DELETE", `/campaigns/${bCampaign}/tags/b-secret-tag`, undefined],
        ] as const) {
          const response = await api.request(method, target, { ...caller, ...(body && { body }) });
          assert.equal(response.status, method === "GET" || manager ? 404 : 403, `${who} ${method}`);
          // (a DELETE's problem names its own path, tag included: that is the caller's text, not B's data)
          if (method !== "DELETE") assert.ok(!response.text.includes("b-secret-tag"));
        }
        const filtered = await api.request("GET", "/campaigns?tag=b-secret-tag", caller);
        assert.equal(filtered.body.pagination.total, 0, who);
      }
      const untouched = await api.request("GET", `/campaigns/${bCampaign}/tags`, { token: b.adminToken });
      assert.deepEqual(untouched.body.tags, ["b-secret-tag"]);
    });
  });
}
