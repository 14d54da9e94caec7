import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { eq } from "drizzle-orm";
import { campaigns } from "../../db/schema.ts";
import {
  createTestTenant,
  insertUser,
  startTestApiOn,
  startTestChain,
  testDatabases,
  type TestApi,
  type TestChain,
  type TestTenant,
} from "../../../test/harness.ts";

const titlesOf = (response: { body: any }) => response.body.data.map((row: { title: string }) => row.title).sort();

let chain: TestChain;
before(async () => (chain = await startTestChain()));
after(async () => chain.close());

for (const database of testDatabases()) {
  describe(`the campaign list cache on ${database.name}`, () => {
    let api: TestApi;
    let a: TestTenant;
    let b: TestTenant;

    const create = async (tenant: TestTenant, body: Record<string, unknown>) => {
      const created = await api.request("POST", "/campaigns", {
        token: tenant.adminToken,
        body: { status: "ACTIVE", ...body },
      });
      assert.equal(created.status, 201, created.text);
      return created.body as { id: string };
    };
    // What another API process would do: change the row behind this process's back.
    const retitleElsewhere = (id: string, title: string) =>
      api.services.db.update(campaigns).set({ title }).where(eq(campaigns.id, id));

    before(async () => {
      // Long enough that nothing ages out during the test: every change seen comes from forgetting.
      api = await startTestApiOn(database, {
        chain,
        environment: { CAMPAIGN_LIST_CACHE_MS: "600000" },
      });
      a = await createTestTenant(api);
      b = await createTestTenant(api);
    });
    after(() => api.close());

    it("serves a kept answer until the tenant's campaigns change through this API", async () => {
      const coffee = await create(a, { title: "Coffee" });
      const asPublic = { projectKey: a.projectKey };
      assert.deepEqual(titlesOf(await api.request("GET", "/campaigns", asPublic)), ["Coffee"]);

      await retitleElsewhere(coffee.id, "Coffee (changed elsewhere)");
      assert.deepEqual(titlesOf(await api.request("GET", "/campaigns", asPublic)), ["Coffee"], "kept");
      const otherQuery = await api.request("GET", "/campaigns?limit=5", asPublic);
      assert.deepEqual(titlesOf(otherQuery), ["Coffee (changed elsewhere)"], "another query is its own answer");

      const tagged = await api.request("POST", `/campaigns/${coffee.id}/tags`, {
        token: a.adminToken,
        body: { tag: "drinks" },
      });
      assert.equal(tagged.status, 201, tagged.text);
      const afterTag = await api.request("GET", "/campaigns", asPublic);
      assert.deepEqual(titlesOf(afterTag), ["Coffee (changed elsewhere)"], "a change through the API is seen at once");
      assert.deepEqual(afterTag.body.data[0].tags, ["drinks"]);

      await create(a, { title: "Tea" });
      assert.deepEqual(titlesOf(await api.request("GET", "/campaigns", asPublic)), [
        "Coffee (changed elsewhere)",
        "Tea",
      ]);
      const paused = await api.request("PATCH", `/campaigns/${coffee.id}`, {
        token: a.adminToken,
        body: { status: "PAUSED" },
      });
      assert.equal(paused.status, 200, paused.text);
      assert.deepEqual(titlesOf(await api.request("GET", "/campaigns", asPublic)), ["Tea"]);
    });

    it("keeps each tenant's and each caller's view apart", async () => {
      await create(b, { title: "B's only" });
      const member = await insertUser(api, a.id, { segments: [] });
      const stranger = await insertUser(api, a.id, { segments: [] });
      await create(a, { title: "For members", visibility: "TARGETED", targetSegments: ["members"] });
      await create(a, { title: "For the stranger", visibility: "TARGETED", targetUserIds: [stranger.user.id] });

      const seenBy = async (options: { token?: string; projectKey?: string }) =>
        titlesOf(await api.request("GET", "/campaigns?title=for", options));
      assert.deepEqual(await seenBy({ projectKey: a.projectKey }), []);
      assert.deepEqual(await seenBy({ token: member.token }), []);
      assert.deepEqual(await seenBy({ token: stranger.token }), ["For the stranger"]);
      assert.deepEqual(await seenBy({ token: a.adminToken }), ["For members", "For the stranger"]);
      assert.deepEqual(titlesOf(await api.request("GET", "/campaigns", { projectKey: b.projectKey })), ["B's only"]);

      // The user's segments decide what they see: changing them through the API shows at once.
      const joined = await api.request("PATCH", `/users/${member.user.id}`, {
        token: a.adminToken,
        body: { segments: ["members"] },
      });
      assert.equal(joined.status, 200, joined.text);
      assert.deepEqual(await seenBy({ token: member.token }), ["For members"]);
      assert.deepEqual(await seenBy({ token: stranger.token }), ["For the stranger"]);
      assert.deepEqual(await seenBy({ projectKey: a.projectKey }), []);
    });
  });
}
