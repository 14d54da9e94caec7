import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { eq } from "drizzle-orm";
import { relayJobs } from "../../db/relaySchema.ts";
import { campaignBatchKey } from "../../relay/kinds/campaign.ts";
import {
  createTestTenant,
  insertUser,
  isProblem,
  startTestApiOn,
  startTestChain,
  testDatabases,
  type RequestOptions,
  type TestApi,
  type TestChain,
  type TestTenant,
} from "../../../test/harness.ts";
import { campaignCallers, insertBusiness, type CampaignCallers } from "../../../test/campaign-fixtures.ts";
import { publishedCampaign } from "../../../test/claim-fixtures.ts";

const fieldsOf = (response: { body: any }) => response.body.errors.map((error: { path: string }) => error.path);
const titlesOf = (response: { body: any }) => response.body.data.map((row: { title: string }) => row.title).sort();
const hour = 3_600_000;
const iso = (offset: number) => new Date(Date.now() + offset).toISOString();
// Races show on PostgreSQL only (PGlite serves one request's statements at a time); each race is run
// several times so that a lost update shows in any run.
const RACES = 5;

let chain: TestChain;
before(async () => (chain = await startTestChain()));
after(async () => chain.close());

for (const database of testDatabases()) {
  describe(`/campaigns on ${database.name}`, () => {
    let api: TestApi;
    let a: TestTenant;
    let b: TestTenant;
    let aCallers: CampaignCallers;
    let bCallers: CampaignCallers;
    let bPublic: { id: string; title: string };
    let bTargeted: { id: string; title: string };
    let bTrigger: string;

    const create = async (tenant: TestTenant, body: Record<string, unknown>) => {
      const created = await api.request("POST", "/campaigns", { token: tenant.adminToken, body });
      assert.equal(created.status, 201, created.text);
      return created.body;
    };

    before(async () => {
      api = await startTestApiOn(database, { chain });
      a = await createTestTenant(api);
      b = await createTestTenant(api);
      aCallers = await campaignCallers(api, a, ["gold"]);
      bCallers = await campaignCallers(api, b, ["gold"]);
      bPublic = await create(b, { title: "B-public-secret", status: "ACTIVE", description: "B-description-secret" });
      bTargeted = await create(b, {
        title: "B-targeted-secret",
        status: "ACTIVE",
        visibility: "TARGETED",
        targetUserIds: [bCallers.user.id],
        targetSegments: ["gold"],
        targetBusinessIds: [bCallers.business.id],
      });
      const trigger = await api.request("POST", "/campaign-triggers", { token: b.adminToken, body: { name: "B's" } });
      bTrigger = trigger.body.id;
    });
    after(() => api.close());

    it("creates a campaign with every field, DRAFT by default and not yet on chain", async () => {
      const trigger = await api.request("POST", "/campaign-triggers", { token: a.adminToken, body: { name: "scan" } });
      const startsAt = iso(-hour);
      const endsAt = iso(24 * hour);
      const created = await api.request("POST", "/campaigns", {
        token: a.adminToken,
        body: {
          title: " Summer coffee ",
          description: "A free coffee every fifth visit",
          imageUrl: "https://cdn.example.com/coffee.png",
          visibility: "TARGETED",
          targetUserIds: [aCallers.user.id, aCallers.user.id],
          targetSegments: ["gold", "silver", "gold"],
          targetBusinessIds: [aCallers.business.id],
          startsAt,
          endsAt,
          budget: 1000,
          maxClaimsPerUser: 5,
          triggerId: trigger.body.id,
        },
      });
      assert.equal(created.status, 201, created.text);
      const campaign = created.body;
      assert.equal(campaign.title, "Summer coffee");
      assert.equal(campaign.description, "A free coffee every fifth visit");
      assert.equal(campaign.imageUrl, "https://cdn.example.com/coffee.png");
      assert.equal(campaign.visibility, "TARGETED");
      assert.deepEqual(campaign.targetUserIds, [aCallers.user.id]);
      assert.deepEqual(campaign.targetSegments, ["gold", "silver"]);
      assert.deepEqual(campaign.targetBusinessIds, [aCallers.business.id]);
      assert.equal(campaign.startsAt, startsAt);
      assert.equal(campaign.endsAt, endsAt);
      assert.equal(campaign.budget, 1000);
      assert.equal(campaign.maxClaimsPerUser, 5);
      assert.equal(campaign.triggerId, trigger.body.id);
      assert.equal(campaign.status, "DRAFT");
      assert.equal(campaign.onchainCampaignId, null);
      assert.deepEqual(campaign.tags, []);
      const read = await api.request("GET", `/campaigns/${campaign.id}`, { token: a.adminToken });
      assert.equal(read.status, 200);
      assert.deepEqual(read.body, campaign);

      const bySystem = await api.request("POST", "/campaigns", {
        apiKey: aCallers.system.apiKey,
        body: { title: "From the platform", status: "ACTIVE" },
      });
      assert.equal(bySystem.status, 201);
      assert.equal(bySystem.body.status, "ACTIVE");
      assert.equal(bySystem.body.visibility, "PUBLIC");
      assert.equal(bySystem.body.startsAt, null);
      assert.equal(bySystem.body.triggerId, null);
    });

    it("refuses bad bodies with 400 naming each field", async () => {
      const bad = await api.request("POST", "/campaigns", {
        token: a.adminToken,
        body: {
          title: "",
          imageUrl: "ftp://x",
          budget: 0,
          maxClaimsPerUser: -1,
          startsAt: "yesterday",
          status: "PAUSED",
          targetUserIds: ["not-a-uuid"],
          onchainCampaignId: "7",
        },
      });
      assert.equal(bad.status, 400);
      assert.equal(bad.body.type, "/problems/validation-failed");
      for (const path of [
        "body.title",
        "body.imageUrl",
        "body.budget",
        "body.maxClaimsPerUser",
        "body.startsAt",
        "body.status",
        "body.targetUserIds.0",
      ]) {
        assert.ok(fieldsOf(bad).includes(path), `${path} missing from ${fieldsOf(bad)}`);
      }
      assert.ok(bad.body.errors.some((error: { message: string }) => /onchainCampaignId/.test(error.message)));

      const backwards = await api.request("POST", "/campaigns", {
        token: a.adminToken,
        body: { title: "backwards", startsAt: iso(hour), endsAt: iso(0) },
      });
      assert.equal(backwards.status, 400);
      assert.deepEqual(fieldsOf(backwards), ["body.endsAt"]);
      const publicWithTargets = await api.request("POST", "/campaigns", {
        token: a.adminToken,
        body: { title: "public", targetSegments: ["gold"] },
      });
      assert.equal(publicWithTargets.status, 400);
      assert.deepEqual(fieldsOf(publicWithTargets), ["body.targetSegments"]);
      const targetedAtNobody = await api.request("POST", "/campaigns", {
        token: a.adminToken,
        body: { title: "nobody", visibility: "TARGETED" },
      });
      assert.equal(targetedAtNobody.status, 400);
      assert.deepEqual(fieldsOf(targetedAtNobody), ["body.visibility"]);
    });

    it("refuses users, businesses and triggers the tenant does not have (404)", async () => {
      const unknown = randomUUID();
      for (const [field, body] of [
        ["user", { visibility: "TARGETED", targetUserIds: [aCallers.user.id, bCallers.user.id] }],
        ["user", { visibility: "TARGETED", targetUserIds: [unknown] }],
        ["business", { visibility: "TARGETED", targetBusinessIds: [bCallers.business.id] }],
        ["campaign trigger", { triggerId: bTrigger }],
      ] as const) {
        const response = await api.request("POST", "/campaigns", {
          token: a.adminToken,
          body: { title: "foreign references", ...body },
        });
        assert.equal(response.status, 404, JSON.stringify(body));
        assert.equal(response.body.type, "/problems/not-found");
        assert.match(response.body.detail, new RegExp(field));
      }
      const mine = await create(a, { title: "to point elsewhere" });
      const patched = await api.request("PATCH", `/campaigns/${mine.id}`, {
        token: a.adminToken,
        body: { triggerId: bTrigger },
      });
      assert.equal(patched.status, 404);
      const list = await api.request("GET", "/campaigns?limit=100&title=foreign", { token: a.adminToken });
      assert.equal(list.body.pagination.total, 0);
    });

    it("moves the status DRAFT → ACTIVE ⇄ PAUSED → CLOSED and no other way; CLOSED is final", async () => {
      const campaign = await create(a, { title: "Lifecycle" });
      const path = `/campaigns/${campaign.id}`;
      const to = (status: string) => api.request("PATCH", path, { token: a.adminToken, body: { status } });
      assert.equal((await to("PAUSED")).status, 409, "a draft cannot pause");
      assert.equal((await to("DRAFT")).status, 200, "staying is no move");
      assert.equal((await to("ACTIVE")).body.status, "ACTIVE");
      const backToDraft = await to("DRAFT");
      assert.equal(backToDraft.status, 409);
      assert.match(backToDraft.body.detail, /ACTIVE to DRAFT/);
      assert.equal((await to("PAUSED")).body.status, "PAUSED");
      assert.equal((await to("ACTIVE")).body.status, "ACTIVE");
      assert.equal((await to("PAUSED")).body.status, "PAUSED");
      assert.equal((await to("CLOSED")).body.status, "CLOSED");
      for (const status of ["ACTIVE", "PAUSED", "DRAFT", "CLOSED"]) {
        const response = await to(status);
        assert.equal(response.status, 409, status);
        assert.equal(response.body.type, "/problems/conflict");
      }
      const edit = await api.request("PATCH", path, { token: a.adminToken, body: { title: "Reopened?" } });
      assert.equal(edit.status, 409);
      const read = await api.request("GET", path, { token: a.adminToken });
      assert.equal(read.body.title, "Lifecycle");
      assert.equal(read.body.status, "CLOSED");
      const badStatus = await to("ARCHIVED");
      assert.equal(badStatus.status, 400);
      assert.deepEqual(fieldsOf(badStatus), ["body.status"]);
    });

    it("updates fields, clears them with null, and keeps the whole campaign valid", async () => {
      const startsAt = iso(hour);
      const campaign = await create(a, { title: "Editable", description: "old", budget: 10, startsAt });
      const path = `/campaigns/${campaign.id}`;
      const updated = await api.request("PATCH", path, {
        apiKey: aCallers.system.apiKey,
        body: { description: null, budget: 20, imageUrl: "https://img.example.com/a.jpg" },
      });
      assert.equal(updated.status, 200);
      assert.equal(updated.body.description, null);
      assert.equal(updated.body.budget, 20);
      assert.equal(updated.body.imageUrl, "https://img.example.com/a.jpg");
      assert.equal(updated.body.title, "Editable");
      assert.equal(updated.body.startsAt, startsAt);

      const endsBeforeStart = await api.request("PATCH", path, { token: a.adminToken, body: { endsAt: iso(0) } });
      assert.equal(endsBeforeStart.status, 400);
      assert.deepEqual(fieldsOf(endsBeforeStart), ["body.endsAt"]);
      const targetedAtNobody = await api.request("PATCH", path, {
        token: a.adminToken,
        body: { visibility: "TARGETED" },
      });
      assert.equal(targetedAtNobody.status, 400);
      assert.deepEqual(fieldsOf(targetedAtNobody), ["body.visibility"]);
      const targeted = await api.request("PATCH", path, {
        token: a.adminToken,
        body: { visibility: "TARGETED", targetSegments: ["silver"] },
      });
      assert.equal(targeted.status, 200);
      assert.deepEqual(targeted.body.targetSegments, ["silver"]);
      const publicKeepingTargets = await api.request("PATCH", path, {
        token: a.adminToken,
        body: { visibility: "PUBLIC" },
      });
      assert.equal(publicKeepingTargets.status, 400);
      assert.deepEqual(fieldsOf(publicKeepingTargets), ["body.targetSegments"]);
      const publicAgain = await api.request("PATCH", path, {
        token: a.adminToken,
        body: { visibility: "PUBLIC", targetSegments: [], startsAt: null },
      });
      assert.equal(publicAgain.status, 200);
      assert.equal(publicAgain.body.visibility, "PUBLIC");
      assert.deepEqual(publicAgain.body.targetSegments, []);
      assert.equal(publicAgain.body.startsAt, null);
      const unknownField = await api.request("PATCH", path, { token: a.adminToken, body: { onchainCampaignId: "1" } });
      assert.equal(unknownField.status, 400);
      const missing = await api.request("PATCH", `/campaigns/${randomUUID()}`, {
        token: a.adminToken,
        body: { title: "x" },
      });
      assert.equal(missing.status, 404);
    });

    it("deletes a DRAFT campaign and closes any other, never deleting it", async () => {
      const draft = await create(a, { title: "Draft to delete" });
      const deleted = await api.request("DELETE", `/campaigns/${draft.id}`, { token: a.adminToken });
      assert.equal(deleted.status, 204);
      assert.equal((await api.request("GET", `/campaigns/${draft.id}`, { token: a.adminToken })).status, 404);

      for (const status of ["ACTIVE", "PAUSED"]) {
        const running = await create(a, { title: `Running ${status}`, status: "ACTIVE" });
        if (status === "PAUSED") {
          await api.request("PATCH", `/campaigns/${running.id}`, { token: a.adminToken, body: { status } });
        }
        const closed = await api.request("DELETE", `/campaigns/${running.id}`, { apiKey: aCallers.system.apiKey });
        assert.equal(closed.status, 200);
        assert.equal(closed.body.status, "CLOSED");
        const kept = await api.request("GET", `/campaigns/${running.id}`, { token: a.adminToken });
        assert.equal(kept.status, 200);
        assert.equal(kept.body.status, "CLOSED");
        assert.equal(kept.body.title, `Running ${status}`);
        const again = await api.request("DELETE", `/campaigns/${running.id}`, { token: a.adminToken });
        assert.equal(again.status, 409);
      }
      assert.equal((await api.request("DELETE", `/campaigns/${randomUUID()}`, { token: a.adminToken })).status, 404);
    });

    /** The actions of the campaign's jobs for the chain, in the order they go. */
    const jobActions = async (campaignId: string) =>
      (
        await api.services.db
          .select()
          .from(relayJobs)
          .where(eq(relayJobs.batchKey, campaignBatchKey(campaignId)))
      )
        .map((job) => job.payload as { action: string; sequence: number })
        .sort((x, y) => x.sequence - y.sequence)
        .map((payload) => payload.action);

    it("closes a campaign for good when a pause races the close: the pause goes first or is refused", async () => {
      for (let race = 0; race < RACES; race += 1) {
        const campaign = await publishedCampaign(api, chain, a);
        const path = `/campaigns/${campaign.id}`;
        const [closed, paused] = await Promise.all([
          api.request("DELETE", path, { token: a.adminToken }),
          api.request("PATCH", path, { token: a.adminToken, body: { status: "PAUSED" } }),
        ]);
        assert.equal(closed.status, 200, closed.text);
        assert.equal(closed.body.status, "CLOSED");
        // Either the pause committed first (then the close closed a paused campaign) or it came after
        // the close and was refused as any change of a CLOSED campaign is.
        if (paused.status === 200) {
          assert.equal(paused.body.status, "PAUSED");
          assert.deepEqual(await jobActions(campaign.id), ["create", "pause", "close"]);
        } else {
          assert.equal(paused.status, 409, paused.text);
          assert.ok(isProblem(paused));
          assert.deepEqual(await jobActions(campaign.id), ["create", "close"]);
        }
        assert.equal((await api.request("GET", path, { token: a.adminToken })).body.status, "CLOSED", `race ${race}`);
        const reopened = await api.request("PATCH", path, { token: a.adminToken, body: { status: "ACTIVE" } });
        assert.equal(reopened.status, 409);
      }
    });

    it("never deletes a DRAFT that a racing PATCH activated: it is deleted, or activated and then closed", async () => {
      for (let race = 0; race < RACES; race += 1) {
        const draft = await create(a, { title: `Racing draft ${race}` });
        const path = `/campaigns/${draft.id}`;
        const payout = await api.request("POST", `${path}/tokens`, {
          token: a.adminToken,
          body: { tokenAddress: a.tenant.contracts.pointsToken, amount: "1" },
        });
        assert.equal(payout.status, 201);
        // The DELETE leaves a little later each race (0 to 4 ms), so that it reads the draft while the
        // PATCH activating it is under way: the window of the race.
        const [deleted, activated] = await Promise.all([
          sleep(race).then(() => api.request("DELETE", path, { token: a.adminToken })),
          api.request("PATCH", path, { token: a.adminToken, body: { status: "ACTIVE" } }),
        ]);
        const read = await api.request("GET", path, { token: a.adminToken });
        if (deleted.status === 204) {
          assert.equal(activated.status, 404, `race ${race}: ${activated.text}`);
          assert.equal(read.status, 404);
          assert.deepEqual(await jobActions(draft.id), [], "nothing goes to the chain for a deleted draft");
        } else {
          assert.equal(activated.status, 200, activated.text);
          assert.equal(activated.body.status, "ACTIVE");
          assert.equal(deleted.status, 200, deleted.text);
          assert.equal(deleted.body.status, "CLOSED");
          assert.equal(read.body.status, "CLOSED");
          assert.deepEqual(await jobActions(draft.id), ["create", "close"]);
        }
      }
    });

    it("lists with filters (status, visibility, tag, active now, title) sorting and pagination", async () => {
      const first = await create(a, { title: "List Alpha", status: "ACTIVE", startsAt: iso(-2 * hour) });
      await create(a, { title: "List Beta", startsAt: iso(hour), endsAt: iso(2 * hour) });
      await create(a, { title: "List Gamma_%", status: "ACTIVE", startsAt: iso(-3 * hour), endsAt: iso(-hour) });
      await create(a, {
        title: "List Delta",
        status: "ACTIVE",
        visibility: "TARGETED",
        targetUserIds: [aCallers.user.id],
        endsAt: iso(hour),
      });
      const tagged = await api.request("PUT", `/campaigns/${first.id}/tags`, {
        token: a.adminToken,
        body: { tags: ["coffee", "summer"] },
      });
      assert.equal(tagged.status, 200);
      const list = (query: string, caller: RequestOptions = { token: a.adminToken }) =>
        api.request("GET", `/campaigns?title=list&limit=100&${query}`, caller);

      assert.deepEqual(titlesOf(await list("")), ["List Alpha", "List Beta", "List Delta", "List Gamma_%"]);
      assert.deepEqual(titlesOf(await list("status=DRAFT")), ["List Beta"]);
      assert.deepEqual(titlesOf(await list("visibility=TARGETED")), ["List Delta"]);
      assert.deepEqual(titlesOf(await list("tag=coffee")), ["List Alpha"]);
      assert.deepEqual(titlesOf(await list("tag=COFFEE")), ["List Alpha"], "tags are lowercase");
      assert.deepEqual(titlesOf(await list("tag=tea")), []);
      assert.deepEqual(titlesOf(await list("activeNow=true")), ["List Alpha", "List Delta"]);
      assert.deepEqual(titlesOf(await list("activeNow=false")), ["List Beta", "List Gamma_%"]);
      const search = (title: string) => api.request("GET", `/campaigns?title=${title}`, { token: a.adminToken });
      assert.deepEqual(titlesOf(await search("GAMMA_%25")), ["List Gamma_%"]);
      assert.deepEqual(titlesOf(await search("t%25")), [], "LIKE wildcards match literally");
      const withTags = await list("tag=summer");
      assert.deepEqual(withTags.body.data[0].tags, ["coffee", "summer"]);

      const byTitle = await list("sort=title&order=asc");
      assert.deepEqual(
        byTitle.body.data.map((row: { title: string }) => row.title),
        ["List Alpha", "List Beta", "List Delta", "List Gamma_%"],
      );
      const byStart = await api.request("GET", "/campaigns?title=list&sort=startsAt&order=asc&limit=2&page=1", {
        token: a.adminToken,
      });
      assert.deepEqual(
        byStart.body.data.map((row: { title: string }) => row.title),
        ["List Gamma_%", "List Alpha"],
      );
      assert.deepEqual(byStart.body.pagination, { page: 1, limit: 2, total: 4 });
      const byEnd = await api.request("GET", "/campaigns?title=list&sort=endsAt&order=asc&limit=1", {
        token: a.adminToken,
      });
      assert.equal(byEnd.body.data[0].title, "List Gamma_%");

      for (const query of ["status=OPEN", "visibility=SECRET", "activeNow=maybe", "sort=budget", "tag=Not a slug"]) {
        const response = await list(query);
        assert.equal(response.status, 400, query);
        assert.equal(fieldsOf(response)[0], `query.${query.split("=")[0]}`);
      }
    });

    it("shows each caller only what they may see: public, targeted at them, or all for managers", async () => {
      const bystander = await insertUser(api, a.id, { segments: ["silver"] });
      const otherBusiness = await insertBusiness(api, a.id);
      const campaigns = {
        publicActive: {},
        publicDraft: { status: "DRAFT" },
        publicPaused: {},
        forUser: { targetUserIds: [aCallers.user.id, bystander.user.id] },
        forBystander: { targetUserIds: [bystander.user.id] },
        forGold: { targetSegments: ["gold"] },
        forSilver: { targetSegments: ["silver"] },
        forBusiness: { targetBusinessIds: [aCallers.business.id] },
        forOtherBusiness: { targetBusinessIds: [otherBusiness.id] },
        draftForUser: { targetUserIds: [aCallers.user.id], status: "DRAFT" },
      } as Record<string, Record<string, unknown>>;
      const ids: Record<string, string> = {};
      for (const [key, body] of Object.entries(campaigns)) {
        const targeted = !key.startsWith("public");
        const created = await create(a, {
          title: `Vis ${key}`,
          status: "ACTIVE",
          ...(targeted && { visibility: "TARGETED" }),
          ...body,
        });
        ids[key] = created.id;
      }
      await api.request("PATCH", `/campaigns/${ids.publicPaused}`, { token: a.adminToken, body: { status: "PAUSED" } });

      const levels = aCallers.levels;
      const expected: [string, RequestOptions, string[]][] = [
        ["public", { projectKey: a.projectKey }, ["publicActive"]],
        ["USER", levels.USER, ["forGold", "forUser", "publicActive"]],
        ["BUSINESS", levels.BUSINESS, ["forBusiness", "publicActive"]],
        ["ADMIN", levels.ADMIN, Object.keys(ids).sort()],
        ["SYSTEM", levels.SYSTEM, Object.keys(ids).sort()],
      ];
      for (const [who, caller, visible] of expected) {
        const list = await api.request("GET", "/campaigns?title=vis&limit=100", caller);
        assert.equal(list.status, 200, who);
        assert.deepEqual(titlesOf(list), visible.map((key) => `Vis ${key}`).sort(), who);
        for (const [key, id] of Object.entries(ids)) {
          const read = await api.request("GET", `/campaigns/${id}`, caller);
          assert.equal(read.status, visible.includes(key) ? 200 : 404, `${who} reading ${key}`);
          if (read.status === 404) assert.ok(!read.text.includes(`Vis ${key}`));
        }
        const manager = who === "ADMIN" || who === "SYSTEM";
        const forUser = list.body.data.find((row: { id: string }) => row.id === ids.forUser);
        if (forUser) {
          assert.equal(forUser.targetUserIds !== undefined, manager, `${who} sees targets only as a manager`);
          if (!manager) assert.ok(!list.text.includes(bystander.user.id), `${who} must not see another user's id`);
        }
      }
      const bystanderSees = await api.request("GET", "/campaigns?title=vis&limit=100", { token: bystander.token });
      assert.deepEqual(titlesOf(bystanderSees), [
        "Vis forBystander",
        "Vis forSilver",
        "Vis forUser",
        "Vis publicActive",
      ]);
      for (const sub of ["tags", "tokens", "engagements"]) {
        const hidden = await api.request("GET", `/campaigns/${ids.forBystander}/${sub}`, levels.USER);
        assert.equal(hidden.status, 404, sub);
        const shown = await api.request("GET", `/campaigns/${ids.forUser}/${sub}`, levels.USER);
        assert.equal(shown.status, 200, sub);
      }
    });

    it("answers 401 without a credential and 403 to USER, BUSINESS and the public on writes", async () => {
      const anonymous = await api.request("GET", "/campaigns");
      assert.equal(anonymous.status, 401);
      assert.ok(isProblem(anonymous));
      assert.equal((await api.request("GET", "/campaigns", { projectKey: "no-such-project" })).status, 401);
      const campaign = await create(a, { title: "Guarded", status: "ACTIVE" });
      const levels = aCallers.levels;
      for (const caller of [levels.USER, levels.BUSINESS, { projectKey: a.projectKey }]) {
        for (const [method, path, body] of [
          ["POST", "/campaigns", { title: "x" }],
          ["PATCH", `/campaigns/${campaign.id}`, { title: "x" }],
          ["DELETE", `/campaigns/${campaign.id}`, undefined],
        ] as const) {
          const response = await api.request(method, path, { ...caller, ...(body && { body }) });
          assert.equal(response.status, 403, `${method} ${path}`);
        }
      }
      const still = await api.request("GET", `/campaigns/${campaign.id}`, { token: a.adminToken });
      assert.equal(still.body.title, "Guarded");
      assert.equal(still.body.status, "ACTIVE");
    });

    it("isolates tenants: every level of A gets 404 or 403 on B's campaigns and never sees them", async () => {
      const callers: [string, RequestOptions][] = [
        ["public", { projectKey: a.projectKey }],
        ...Object.entries(aCallers.levels),
      ];
      const secrets = [bPublic.title, bTargeted.title, "B-description-secret"];
      for (const [who, caller] of callers) {
        const manager = who === "ADMIN" || who === "SYSTEM";
        const list = await api.request("GET", "/campaigns?limit=100", caller);
        assert.equal(list.status, 200, who);
        for (const secret of secrets) assert.ok(!list.text.includes(secret), `${who} list`);
        const searched = await api.request("GET", "/campaigns?title=B-&limit=100", caller);
        assert.equal(searched.body.pagination.total, 0, who);
        for (const campaign of [bPublic, bTargeted]) {
          for (const [method, path, body] of [
            ["GET", `/campaigns/${campaign.id}`, undefined],
            ["GET", `/campaigns/${campaign.id}/tags`, undefined],
            ["GET", `/campaigns/${campaign.id}/tokens`, undefined],
            ["GET", `/campaigns/${campaign.id}/engagements`, undefined],
            ["PATCH", `/campaigns/${campaign.id}`, { title: "taken over" }],
            ["DELETE", `/campaigns/${campaign.id}`, undefined],
            ["PUT", `/campaigns/${campaign.id}/tags`, { tags: ["taken"] }],
            ["POST", `/campaigns/${campaign.id}/tags`, { tag: "taken" }],
            ["POST", `/campaigns/${campaign.id}/engagements`, { businessId: aCallers.business.id }],
            ["POST", `/campaigns/${campaign.id}/tokens`, { tokenAddress: a.tenant.contracts.pointsToken, amount: "1" }],
          ] as const) {
            const response = await api.request(method, path, { ...caller, ...(body && { body }) });
            const expected = method === "GET" || manager ? 404 : 403;
            assert.equal(response.status, expected, `${who} ${method} ${path}`);
            assert.ok(isProblem(response));
            for (const secret of secrets) assert.ok(!response.text.includes(secret), `${who} ${method} ${path}`);
          }
        }
      }
      // A's user in the segment B targets, and A's business, still see nothing of B's.
      const targetedAtB = await api.request("GET", `/campaigns/${bTargeted.id}`, { token: bCallers.user.token });
      assert.equal(targetedAtB.status, 200, "B's own user sees it");
      const untouched = await api.request("GET", `/campaigns/${bPublic.id}`, { token: b.adminToken });
      assert.equal(untouched.body.title, bPublic.title);
      assert.equal(untouched.body.status, "ACTIVE");
      assert.deepEqual(untouched.body.tags, []);
    });
  });
}
