import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { eq } from "drizzle-orm";
import { campaignCallers, insertBusiness, type CampaignCallers } from "../../../test/campaign-fixtures.ts";
import { assertRefused } from "../../../test/callers.ts";
import { publishedCampaign, type PublishedCampaign } from "../../../test/claim-fixtures.ts";
import { countPgliteStatements } from "../../../test/pgliteStatements.ts";
import {
  createTestTenant,
  insertUser,
  isProblem,
  PLATFORM_KEY,
  startTestApiOn,
  startTestChain,
  testDatabases,
  type RequestOptions,
  type TestApi,
  type TestChain,
  type TestResponse,
  type TestTenant,
} from "../../../test/harness.ts";
import { availableJobs, contextOf, runJobs } from "../../../test/relay-by-hand.ts";
import { claims, idempotencyKeys, relayJobs } from "../../db/relaySchema.ts";
import { businesses, campaigns } from "../../db/schema.ts";
import { fingerprint } from "../../http/idempotency.ts";
import { claimKind } from "../../relay/kinds/claim.ts";
import { signQrPayload, signTriggerWebhook, type QrPayload } from "./triggerProof.ts";

const fieldsOf = (response: { body: any }) => response.body.errors.map((error: { path: string }) => error.path);
const hour = 3_600_000;
const inSeconds = (seconds: number) => Math.floor(Date.now() / 1000) + seconds;

/** A refusal naming its rule. */
function assertRefusedBy(response: TestResponse, status: number, rule: string) {
  assert.equal(response.status, status, response.text);
  assert.ok(isProblem(response), response.text);
  assert.equal(response.body.type, "/problems/claim-refused");
  assert.equal(response.body.rule, rule);
}

let chain: TestChain;
before(async () => (chain = await startTestChain()));
after(async () => chain.close());

for (const database of testDatabases()) {
  describe(`/campaigns/claims on ${database.name}`, () => {
    let api: TestApi;
    let a: TestTenant;
    let b: TestTenant;
    let aCallers: CampaignCallers;
    let bCallers: CampaignCallers;
    let open: PublishedCampaign;
    let bCampaign: PublishedCampaign;
    let bClaim: { id: string; claimId: string };
    let bUserWallet: string;

    const claim = (body: Record<string, unknown>, options: RequestOptions = { token: a.adminToken }) =>
      api.request("POST", "/campaigns/claims", { ...options, body });
    const newUser = async (tenant: TestTenant = a, segments: string[] = []) => insertUser(api, tenant.id, { segments });
    const trigger = async (body: Record<string, unknown>) => {
      const created = await api.request("POST", "/campaign-triggers", {
        token: a.adminToken,
        body: { name: `trigger ${randomUUID().slice(0, 6)}`, ...body },
      });
      assert.equal(created.status, 201, created.text);
      return created.body.id as string;
    };
    const source = async (triggerId: string, type: "QR_CODE" | "API_WEBHOOK" = "QR_CODE", tenant = a) => {
      const created = await api.request("POST", "/trigger-sources", {
        token: tenant.adminToken,
        body: { type, name: `source ${randomUUID().slice(0, 6)}`, triggerId },
      });
      assert.equal(created.status, 201, created.text);
      return created.body as { id: string; secret: string };
    };
    const published = (body: Record<string, unknown> = {}, options = {}) =>
      publishedCampaign(api, chain, a, body, options);

    before(async () => {
      // Campaigns read by claims are kept for the whole suite (they are a hint, ./recentCampaigns.ts):
      // every change a test makes to a campaign must still decide the claims after it.
      api = await startTestApiOn(database, { chain, environment: { CLAIM_CAMPAIGN_CACHE_MS: "600000" } });
      a = await createTestTenant(api);
      b = await createTestTenant(api);
      aCallers = await campaignCallers(api, a);
      bCallers = await campaignCallers(api, b);
      open = await published({}, { engage: [{ businessId: aCallers.business.id }] });
      bCampaign = await publishedCampaign(api, chain, b, { title: "B-campaign-secret" });
      const bUser = await newUser(b);
      bUserWallet = bUser.user.walletAddress;
      const claimed = await claim({ campaignId: bCampaign.id, userId: bUser.user.id }, { token: b.adminToken });
      assert.equal(claimed.status, 202, claimed.text);
      bClaim = claimed.body;
    });
    after(() => api.close());

    it("a USER claims for themself: 202 with the on-chain claim id, then GET shows it PENDING", async () => {
      const { user, token } = await newUser();
      const accepted = await claim({ campaignId: open.id }, { token });
      assert.equal(accepted.status, 202, accepted.text);
      assert.equal(accepted.body.status, "PENDING");
      assert.match(accepted.body.claimId, /^\d+$/);
      assert.equal(accepted.headers.get("location"), `/campaigns/claims/${accepted.body.id}`);
      const shown = await api.request("GET", `/campaigns/claims/${accepted.body.id}`, { token });
      assert.equal(shown.status, 200, shown.text);
      assert.equal(shown.body.claimId, accepted.body.claimId);
      assert.equal(shown.body.userId, user.id);
      assert.equal(shown.body.recipient, user.walletAddress);
      assert.equal(shown.body.source, "USER");
      assert.equal(shown.body.status, "PENDING");
      assert.equal(shown.body.transactionHash, null);
      // The job that carries it is queued with the claim.
      const [job] = await api.services.db
        .select()
        .from(relayJobs)
        .where(eq(relayJobs.id, (await rowOf(accepted.body.id)).jobId!));
      assert.equal(job!.kind, "claim");
      assert.equal(job!.payload.onchainClaimId, accepted.body.claimId);
      assert.equal(job!.payload.onchainCampaignId, open.onchainCampaignId);
      assert.equal(job!.payload.recipient, user.walletAddress);
    });

    const rowOf = async (id: string) => (await api.services.db.select().from(claims).where(eq(claims.id, id)))[0]!;

    it("BUSINESS, SYSTEM and ADMIN claim for a user, named by id or wallet; the source is their level", async () => {
      const { user } = await newUser();
      const byBusiness = await claim({ campaignId: open.id, userId: user.id }, { token: aCallers.business.token });
      assert.equal(byBusiness.status, 202, byBusiness.text);
      // Ids in upper case are the same ids.
      const upperCase = await claim(
        {
          campaignId: open.id.toUpperCase(),
          userId: user.id.toUpperCase(),
          businessId: aCallers.business.id.toUpperCase(),
        },
        { token: aCallers.business.token },
      );
      assert.equal(upperCase.status, 202, upperCase.text);
      const row = await rowOf(byBusiness.body.id);
      assert.equal(row.source, "BUSINESS");
      assert.equal(row.businessId, aCallers.business.id);
      const [job] = await api.services.db.select().from(relayJobs).where(eq(relayJobs.id, row.jobId!));
      assert.notEqual(job!.payload.business, "0x0000000000000000000000000000000000000000");

      const bySystem = await claim(
        { campaignId: open.id, recipient: user.walletAddress.toLowerCase() },
        { apiKey: aCallers.system.apiKey },
      );
      assert.equal(bySystem.status, 202, bySystem.text);
      assert.equal((await rowOf(bySystem.body.id)).source, "SYSTEM");
      assert.equal((await rowOf(bySystem.body.id)).userId, user.id);
      const byAdmin = await claim({ campaignId: open.id, userId: user.id, businessId: aCallers.business.id });
      assert.equal(byAdmin.status, 202, byAdmin.text);
      assert.equal((await rowOf(byAdmin.body.id)).source, "ADMIN");
      assert.equal((await rowOf(byAdmin.body.id)).businessId, aCallers.business.id);
    });

    it("refuses callers without a credential (401), the platform (403), a USER claiming for another (403), a business for another (403)", async () => {
      const { user } = await newUser();
      const anonymous = await api.request("POST", "/campaigns/claims", {
        body: { campaignId: open.id, userId: user.id },
      });
      assert.equal(anonymous.status, 401);
      assert.ok(isProblem(anonymous));
      const projectKeyOnly = await claim({ campaignId: open.id, userId: user.id }, { projectKey: a.projectKey });
      assert.equal(projectKeyOnly.status, 401, projectKeyOnly.text);
      const platform = await claim({ campaignId: open.id, userId: user.id }, { apiKey: PLATFORM_KEY });
      assert.equal(platform.status, 403);
      const forOther = await claim({ campaignId: open.id, userId: user.id }, { token: aCallers.user.token });
      assert.equal(forOther.status, 403, forOther.text);
      const asOther = await claim(
        { campaignId: open.id, userId: user.id, businessId: randomUUID() },
        { token: aCallers.business.token },
      );
      assert.equal(asOther.status, 403, asOther.text);
    });

    it("takes the business and the facts only from callers who vouch for them; refuses an inactive business", async () => {
      const forBusiness = await published(
        { visibility: "TARGETED", targetBusinessIds: [aCallers.business.id] },
        { engage: [{ businessId: aCallers.business.id }] },
      );
      const { user, token } = await newUser();
      // A user naming the business would pass its targeting and spend its cap.
      assert.equal((await claim({ campaignId: forBusiness.id }, { token })).status, 404);
      const naming = await claim({ campaignId: forBusiness.id, businessId: aCallers.business.id }, { token });
      assert.equal(naming.status, 403, naming.text);
      assert.match(naming.body.detail, /names the business/);
      const withFacts = await claim({ campaignId: open.id, facts: { purchaseAmount: 1e9 } }, { token });
      assert.equal(withFacts.status, 403, withFacts.text);
      assert.match(withFacts.body.detail, /Facts come from/);
      // The business itself, an admin and a SYSTEM key may.
      const byBusiness = await claim(
        { campaignId: forBusiness.id, userId: user.id },
        { token: aCallers.business.token },
      );
      assert.equal(byBusiness.status, 202, byBusiness.text);
      const byAdmin = await claim({
        campaignId: forBusiness.id,
        userId: user.id,
        businessId: aCallers.business.id,
        facts: { purchaseAmount: 12 },
      });
      assert.equal(byAdmin.status, 202, byAdmin.text);
      const bySystem = await claim(
        { campaignId: open.id, userId: user.id, facts: { purchaseAmount: 12 } },
        { apiKey: aCallers.system.apiKey },
      );
      assert.equal(bySystem.status, 202, bySystem.text);

      const closing = await insertBusiness(api, a.id);
      const engaged = await published({}, { engage: [{ businessId: closing.id }] });
      await api.services.db.update(businesses).set({ active: false }).where(eq(businesses.id, closing.id));
      assertRefusedBy(
        await claim({ campaignId: engaged.id, userId: user.id, businessId: closing.id }),
        409,
        "business-inactive",
      );
    });

    it("answers 400 naming the field for bad bodies, and 404 for unknown or foreign campaigns and users", async () => {
      const unknownField = await claim({ campaignId: open.id, userId: aCallers.user.id, amount: 5 });
      assert.equal(unknownField.status, 400);
      assert.ok(fieldsOf(unknownField).includes("body"), unknownField.text);
      const badId = await claim({ campaignId: "nope", userId: aCallers.user.id });
      assert.deepEqual(fieldsOf(badId), ["body.campaignId"]);
      const nobody = await claim({ campaignId: open.id });
      assert.deepEqual(fieldsOf(nobody), ["body.userId"]);
      const both = await claim({ campaignId: open.id, qr: "x.y", triggerSourceId: randomUUID() });
      assert.ok(fieldsOf(both).includes("body.triggerSourceId"));
      const badLocation = await claim({ campaignId: open.id, userId: aCallers.user.id, location: { lat: 91, lng: 0 } });
      assert.deepEqual(fieldsOf(badLocation), ["body.location.lat"]);
      const badWallet = await claim({ campaignId: open.id, recipient: "0x123" });
      assert.deepEqual(fieldsOf(badWallet), ["body.recipient"]);
      const notJson = await api.request("POST", "/campaigns/claims", {
        token: a.adminToken,
        rawBody: "{",
        headers: { "content-type": "application/json" },
      });
      assert.equal(notJson.status, 400);

      assert.equal((await claim({ campaignId: randomUUID(), userId: aCallers.user.id })).status, 404);
      assert.equal((await claim({ campaignId: open.id, userId: randomUUID() })).status, 404);
      const unknownWallet = await claim({
        campaignId: open.id,
        recipient: "0x000000000000000000000000000000000000dEaD",
      });
      assert.equal(unknownWallet.status, 404);
      assert.equal(
        (await claim({ campaignId: open.id, userId: aCallers.user.id, businessId: randomUUID() })).status,
        404,
      );
    });

    it("refuses campaigns that are not ACTIVE or not yet on chain, and outside their window (409 naming the rule)", async () => {
      const { user } = await newUser();
      const draft = await api.request("POST", "/campaigns", { token: a.adminToken, body: { title: "Draft" } });
      assertRefusedBy(await claim({ campaignId: draft.body.id, userId: user.id }), 409, "campaign-not-active");
      // A USER does not see drafts at all.
      assert.equal((await claim({ campaignId: draft.body.id }, { token: aCallers.user.token })).status, 404);

      const unpublished = await published({}, { publish: false });
      assertRefusedBy(await claim({ campaignId: unpublished.id, userId: user.id }), 409, "campaign-not-published");

      const paused = await published();
      await api.request("PATCH", `/campaigns/${paused.id}`, { token: a.adminToken, body: { status: "PAUSED" } });
      assertRefusedBy(await claim({ campaignId: paused.id, userId: user.id }), 409, "campaign-not-active");

      const later = await published({ startsAt: new Date(Date.now() + hour).toISOString() });
      assertRefusedBy(await claim({ campaignId: later.id, userId: user.id }), 409, "campaign-not-started");
      const ended = await published();
      await api.services.db
        .update(campaigns)
        .set({ endsAt: new Date(Date.now() - 1000), startsAt: new Date(Date.now() - hour) })
        .where(eq(campaigns.id, ended.id));
      assertRefusedBy(await claim({ campaignId: ended.id, userId: user.id }), 409, "campaign-ended");
    });

    it("keeps TARGETED campaigns to their targets, and business claims to engaged businesses within their cap", async () => {
      const gold = await newUser(a, ["gold"]);
      const plain = await newUser();
      const targeted = await published({ visibility: "TARGETED", targetSegments: ["gold"] });
      assert.equal((await claim({ campaignId: targeted.id }, { token: gold.token })).status, 202);
      assert.equal((await claim({ campaignId: targeted.id }, { token: plain.token })).status, 404);
      assertRefusedBy(await claim({ campaignId: targeted.id, userId: plain.user.id }), 422, "not-targeted");
      // A business sees the TARGETED campaigns that target it, or its user: not this one.
      const asBusiness = { token: aCallers.business.token };
      const hidden = await claim({ campaignId: targeted.id, userId: plain.user.id }, asBusiness);
      assert.equal(hidden.status, 404, hidden.text);
      assert.deepEqual(hidden.body.detail, "No such campaign.");
      const forGold = await claim({ campaignId: targeted.id, userId: gold.user.id }, asBusiness);
      assertRefusedBy(forGold, 409, "business-not-engaged");
      const forBusiness = await published(
        { visibility: "TARGETED", targetBusinessIds: [aCallers.business.id] },
        { engage: [{ businessId: aCallers.business.id }] },
      );
      assert.equal((await claim({ campaignId: forBusiness.id, userId: plain.user.id }, asBusiness)).status, 202);

      const notEngaged = await published();
      assertRefusedBy(
        await claim({ campaignId: notEngaged.id, userId: plain.user.id }, { token: aCallers.business.token }),
        409,
        "business-not-engaged",
      );
      const capped = await published({}, { engage: [{ businessId: aCallers.business.id, maxClaims: 1 }] });
      assert.equal(
        (await claim({ campaignId: capped.id, userId: plain.user.id }, { token: aCallers.business.token })).status,
        202,
      );
      assertRefusedBy(
        await claim({ campaignId: capped.id, userId: gold.user.id }, { token: aCallers.business.token }),
        409,
        "business-cap-reached",
      );
    });

    it("decides claims on the campaign as it is now, whatever an earlier claim read of it", async () => {
      const [one, two] = [await newUser(), await newUser()];
      const campaign = await published();
      assert.equal((await claim({ campaignId: campaign.id, userId: one.user.id })).status, 202);
      // Changed behind this process's back (as by another API process): now TARGETED at `two` only.
      const target = (userIds: string[]) =>
        api.services.db
          .update(campaigns)
          .set({ visibility: "TARGETED", targetUserIds: userIds })
          .where(eq(campaigns.id, campaign.id));
      await target([two.user.id]);
      assertRefusedBy(await claim({ campaignId: campaign.id, userId: one.user.id }), 422, "not-targeted");
      assert.equal((await claim({ campaignId: campaign.id, userId: two.user.id })).status, 202);
      // And back: the refusal read above does not outlive the change that lifts it.
      await target([one.user.id, two.user.id]);
      assert.equal((await claim({ campaignId: campaign.id, userId: one.user.id })).status, 202);

      // Only the first claim of a campaign reads it (on PGlite, where each statement is counted).
      if (database.name !== "PGlite") return;
      const fresh = await published();
      const [three, four] = [await newUser(), await newUser()];
      const counter = countPgliteStatements(api.services.db);
      const statementsOf = async (userId: string) => {
        const before = counter.statements;
        const accepted = await claim({ campaignId: fresh.id, userId });
        assert.equal(accepted.status, 202, accepted.text);
        return counter.statements - before;
      };
      try {
        assert.equal(await statementsOf(three.user.id), (await statementsOf(four.user.id)) + 1);
      } finally {
        counter.stop();
      }
    });

    it("counts the budget and the per-user cap over claims that did not fail", async () => {
      const campaign = await published({ budget: 2, maxClaimsPerUser: 1 });
      const [one, two, three] = [await newUser(), await newUser(), await newUser()];
      const first = await claim({ campaignId: campaign.id }, { token: one.token });
      assert.equal(first.status, 202);
      assertRefusedBy(await claim({ campaignId: campaign.id }, { token: one.token }), 409, "user-limit-reached");
      assert.equal((await claim({ campaignId: campaign.id }, { token: two.token })).status, 202);
      assertRefusedBy(await claim({ campaignId: campaign.id }, { token: three.token }), 409, "budget-exhausted");
      // A claim that failed on chain gives its place back (the relayer settles it FAILED).
      const [firstRow] = await api.services.db.select().from(claims).where(eq(claims.id, first.body.id));
      const [job] = await availableJobs(api.services.db, claimKind, [firstRow!.jobId!]);
      await claimKind.fail([job!], "dropped by the test", await contextOf(api, chain, job!));
      assert.equal((await claim({ campaignId: campaign.id }, { token: three.token })).status, 202);
      assertRefusedBy(await claim({ campaignId: campaign.id }, { token: one.token }), 409, "budget-exhausted");
    });

    it("accepts exactly one of 50 simultaneous claims by one user against a per-user limit of 1", async () => {
      const campaign = await published({ maxClaimsPerUser: 1 });
      const { user, token } = await newUser();
      const answers = await Promise.all(
        Array.from({ length: 50 }, () => claim({ campaignId: campaign.id }, { token })),
      );
      const statuses = answers.map((answer) => answer.status);
      assert.equal(statuses.filter((status) => status === 202).length, 1, statuses.join(","));
      assert.equal(statuses.filter((status) => status === 409).length, 49, statuses.join(","));
      for (const answer of answers.filter((answer) => answer.status === 409)) {
        assert.equal(answer.body.rule, "user-limit-reached");
      }
      const rows = await api.services.db.select().from(claims).where(eq(claims.userId, user.id));
      assert.equal(rows.length, 1);
    });

    it("accepts exactly 5 of 20 simultaneous claims by 20 users against a budget of 5", async () => {
      const campaign = await published({ budget: 5 });
      const claimants = await Promise.all(Array.from({ length: 20 }, () => newUser()));
      const answers = await Promise.all(claimants.map(({ token }) => claim({ campaignId: campaign.id }, { token })));
      const statuses = answers.map((answer) => answer.status);
      assert.equal(statuses.filter((status) => status === 202).length, 5, statuses.join(","));
      for (const answer of answers.filter((answer) => answer.status !== 202)) {
        assert.equal(answer.status, 409);
        assert.equal(answer.body.rule, "budget-exhausted");
      }
      const rows = await api.services.db.select().from(claims).where(eq(claims.campaignId, campaign.id));
      assert.equal(rows.length, 5);
      const [row] = await api.services.db.select().from(campaigns).where(eq(campaigns.id, campaign.id));
      assert.equal(row!.liveClaims, 5);
    });

    it("applies the trigger's per-user limit, daily limit and cool-down across the campaigns that use it", async () => {
      const perUser = await trigger({ maxPerUser: 2 });
      const [first, second] = [await published({ triggerId: perUser }), await published({ triggerId: perUser })];
      const { token } = await newUser();
      assert.equal((await claim({ campaignId: first.id }, { token })).status, 202);
      assert.equal((await claim({ campaignId: second.id }, { token })).status, 202);
      assertRefusedBy(await claim({ campaignId: first.id }, { token }), 409, "trigger-user-limit-reached");

      const daily = await published({ triggerId: await trigger({ maxPerDay: 1 }) });
      const dayUser = await newUser();
      const today = await claim({ campaignId: daily.id }, { token: dayUser.token });
      assert.equal(today.status, 202);
      assertRefusedBy(
        await claim({ campaignId: daily.id }, { token: dayUser.token }),
        409,
        "trigger-daily-limit-reached",
      );
      // Yesterday's claim does not count today.
      await api.services.db
        .update(claims)
        .set({ createdAt: new Date(Date.now() - 25 * hour) })
        .where(eq(claims.id, today.body.id));
      assert.equal((await claim({ campaignId: daily.id }, { token: dayUser.token })).status, 202);

      const cooled = await published({ triggerId: await trigger({ cooldownSeconds: 600 }) });
      const coolUser = await newUser();
      const made = await claim({ campaignId: cooled.id }, { token: coolUser.token });
      assert.equal(made.status, 202);
      const again = await claim({ campaignId: cooled.id }, { token: coolUser.token });
      assertRefusedBy(again, 409, "cooldown");
      assert.ok(again.body.retryAfterSeconds > 590 && again.body.retryAfterSeconds <= 600, again.text);
      await api.services.db
        .update(claims)
        .set({ createdAt: new Date(Date.now() - 601_000) })
        .where(eq(claims.id, made.body.id));
      assert.equal((await claim({ campaignId: cooled.id }, { token: coolUser.token })).status, 202);
    });

    it("checks the distance to the trigger's point (haversine) and the trigger's conditions", async () => {
      const eiffel = { lat: 48.8584, lng: 2.2945 };
      const near = await published({
        triggerId: await trigger({ maxGeoDistanceMeters: 100, latitude: eiffel.lat, longitude: eiffel.lng }),
      });
      const { user } = await newUser();
      assertRefusedBy(await claim({ campaignId: near.id, userId: user.id }), 422, "location-required");
      // 0.0009° of latitude is about 100 m: 0.0004° about 44 m, 0.045° about 5 km.
      const far = await claim({
        campaignId: near.id,
        userId: user.id,
        location: { lat: eiffel.lat + 0.045, lng: eiffel.lng },
      });
      assertRefusedBy(far, 422, "too-far");
      assert.ok(Math.abs(far.body.distanceMeters - 5004) < 10, far.text);
      const close = await claim({
        campaignId: near.id,
        userId: user.id,
        location: { lat: eiffel.lat + 0.0004, lng: eiffel.lng },
      });
      assert.equal(close.status, 202, close.text);
      assert.deepEqual(
        (await api.request("GET", `/campaigns/claims/${close.body.id}`, { token: a.adminToken })).body.location,
        {
          lat: eiffel.lat + 0.0004,
          lng: eiffel.lng,
        },
      );

      const spend = await published({
        triggerId: await trigger({
          conditions: {
            all: [
              { fact: "purchaseAmount", operator: "greaterThanInclusive", value: 10 },
              { fact: "store", operator: "in", value: ["paris", "lyon"] },
            ],
          },
        }),
      });
      assertRefusedBy(await claim({ campaignId: spend.id, userId: user.id }), 422, "conditions-not-met");
      assertRefusedBy(
        await claim({ campaignId: spend.id, userId: user.id, facts: { purchaseAmount: 9.99, store: "paris" } }),
        422,
        "conditions-not-met",
      );
      assertRefusedBy(
        await claim({ campaignId: spend.id, userId: user.id, facts: { purchaseAmount: 12, store: "nice" } }),
        422,
        "conditions-not-met",
      );
      const met = await claim({ campaignId: spend.id, userId: user.id, facts: { purchaseAmount: 12, store: "lyon" } });
      assert.equal(met.status, 202, met.text);
    });

    describe("trigger sources", () => {
      let scan: string;
      let qrSource: { id: string; secret: string };
      let qrCampaign: PublishedCampaign;
      const qrFor = (payload: Partial<QrPayload> = {}, secret = qrSource.secret) =>
        signQrPayload(secret, {
          triggerSourceId: qrSource.id,
          campaignId: qrCampaign.id,
          exp: inSeconds(60),
          nonce: randomUUID(),
          ...payload,
        });

      before(async () => {
        scan = await trigger({});
        qrSource = await source(scan);
        qrCampaign = await published({ triggerId: scan });
      });

      it("accepts a valid QR payload with only the project key (SYSTEM) or with the user's token", async () => {
        const { user, token } = await newUser();
        const byQr = await claim(
          { campaignId: qrCampaign.id, userId: user.id, qr: qrFor() },
          { projectKey: a.projectKey },
        );
        assert.equal(byQr.status, 202, byQr.text);
        const row = await rowOf(byQr.body.id);
        assert.equal(row.source, "SYSTEM");
        assert.equal(row.triggerSourceId, qrSource.id);
        const byUser = await claim({ campaignId: qrCampaign.id, qr: qrFor() }, { token });
        assert.equal(byUser.status, 202, byUser.text);
        assert.equal((await rowOf(byUser.body.id)).source, "USER");
        // Without the payload, a USER cannot claim a campaign whose trigger has a source.
        assertRefusedBy(await claim({ campaignId: qrCampaign.id }, { token }), 422, "trigger-source-required");
      });

      it("takes no business and no facts with a QR payload (its signature covers neither), but does from a signed webhook", async () => {
        const { user } = await newUser();
        const send = (extra: Record<string, unknown>) =>
          claim({ campaignId: qrCampaign.id, userId: user.id, qr: qrFor(), ...extra }, { projectKey: a.projectKey });
        assert.equal((await send({ businessId: aCallers.business.id })).status, 403);
        assert.equal((await send({ facts: { purchaseAmount: 1e9 } })).status, 403);
        const hook = await source(scan, "API_WEBHOOK");
        const body = JSON.stringify({
          campaignId: qrCampaign.id,
          userId: user.id,
          triggerSourceId: hook.id,
          facts: { purchaseAmount: 12 },
        });
        const now = inSeconds(0);
        const signed = await api.request("POST", "/campaigns/claims", {
          projectKey: a.projectKey,
          rawBody: body,
          headers: {
            "content-type": "application/json",
            "x-trigger-timestamp": String(now),
            "x-trigger-signature": signTriggerWebhook(hook.secret, now, body),
          },
        });
        assert.equal(signed.status, 202, signed.text);
      });

      it("keeps a source that has paid a claim: deleting it is a 409, one that paid none is deleted", async () => {
        const paying = await source(scan);
        const { user } = await newUser();
        const paid = await claim(
          { campaignId: qrCampaign.id, userId: user.id, qr: qrFor({ triggerSourceId: paying.id }, paying.secret) },
          { projectKey: a.projectKey },
        );
        assert.equal(paid.status, 202, paid.text);
        const kept = await api.request("DELETE", `/trigger-sources/${paying.id}`, { token: a.adminToken });
        assert.equal(kept.status, 409, kept.text);
        assert.ok(isProblem(kept));
        assert.match(kept.body.detail, /Other records refer to this trigger source/);
        const unused = await source(scan);
        assert.equal(
          (await api.request("DELETE", `/trigger-sources/${unused.id}`, { token: a.adminToken })).status,
          204,
        );
      });

      it("refuses expired, tampered and foreign QR payloads (401), and payloads for another campaign or trigger (422)", async () => {
        const { user } = await newUser();
        const send = (qr: string) =>
          claim({ campaignId: qrCampaign.id, userId: user.id, qr }, { projectKey: a.projectKey });
        const expired = await send(qrFor({ exp: inSeconds(-1) }));
        assert.equal(expired.status, 401);
        assert.match(expired.body.detail, /expired/);

        const [encoded, signature] = qrFor().split(".");
        const tampered = JSON.parse(Buffer.from(encoded!, "base64url").toString());
        tampered.exp = inSeconds(3600 * 24 * 365);
        const forged = await send(`${Buffer.from(JSON.stringify(tampered)).toString("base64url")}.${signature}`);
        assert.equal(forged.status, 401);
        assert.match(forged.body.detail, /does not verify/);

        const other = await source(scan);
        const otherSecret = await send(qrFor({}, other.secret));
        assert.equal(otherSecret.status, 401, "signed by another source's secret");
        assert.equal((await send("not-a-payload")).status, 401);

        const bSource = await source(
          (await api.request("POST", "/campaign-triggers", { token: b.adminToken, body: { name: "B" } })).body.id,
          "QR_CODE",
          b,
        );
        const foreign = await send(qrFor({ triggerSourceId: bSource.id }, bSource.secret));
        assert.equal(foreign.status, 401, "another tenant's source does not exist here");

        const otherCampaign = await send(qrFor({ campaignId: open.id }));
        assertRefusedBy(otherCampaign, 422, "trigger-payload-campaign");
        const elsewhere = await source(await trigger({}));
        const wrongTrigger = await send(
          signQrPayload(elsewhere.secret, {
            triggerSourceId: elsewhere.id,
            campaignId: qrCampaign.id,
            exp: inSeconds(60),
            nonce: "n",
          }),
        );
        assertRefusedBy(wrongTrigger, 422, "trigger-source-campaign");

        await api.request("PATCH", `/trigger-sources/${other.id}`, { token: a.adminToken, body: { active: false } });
        const inactive = await send(
          signQrPayload(other.secret, {
            triggerSourceId: other.id,
            campaignId: qrCampaign.id,
            exp: inSeconds(60),
            nonce: "n",
          }),
        );
        assert.equal(inactive.status, 401);
        assert.match(inactive.body.detail, /inactive/);
      });

      it("pays one claim a proof: a QR payload or a signed webhook sent again is refused, even at once or for another user", async () => {
        const send = (user: { id: string }, qr: string, campaignId = qrCampaign.id) =>
          claim({ campaignId, userId: user.id, qr }, { projectKey: a.projectKey });
        const [first, second] = [(await newUser()).user, (await newUser()).user];
        const qr = qrFor();
        assert.equal((await send(first, qr)).status, 202);
        assertRefusedBy(await send(first, qr), 409, "trigger-proof-used");
        assertRefusedBy(await send(second, qr), 409, "trigger-proof-used");
        // A payload valid past any date is malformed, not a claim that could fail its whole batch.
        const farFuture = await send(first, qrFor({ exp: 10 ** 15 }));
        assert.equal(farFuture.status, 401, farFuture.text);
        assert.match(farFuture.body.detail, /malformed/);
        // A payload for years is a standing credential: beyond a day ahead (the default), refused.
        const lasting = await send(first, qrFor({ exp: inSeconds(86_400 + 300 + 60) }));
        assert.equal(lasting.status, 401, lasting.text);
        assert.match(lasting.body.detail, /TRIGGER_QR_MAX_LIFETIME_SECONDS/);
        // A source's clock a little ahead is allowed for (the webhooks' 300 s).
        assert.equal((await send(first, qrFor({ exp: inSeconds(86_400 + 240) }), open.id)).status, 422);
        // Sent by five users at once: one claim.
        const shared = qrFor();
        const users = await Promise.all(Array.from({ length: 5 }, async () => (await newUser()).user));
        const answers = await Promise.all(users.map((user) => send(user, shared)));
        assert.deepEqual(answers.map((answer) => answer.status).sort(), [202, 409, 409, 409, 409]);
        for (const answer of answers.filter((answer) => answer.status === 409)) {
          assertRefusedBy(answer, 409, "trigger-proof-used");
        }
        // A TARGETED campaign: a payload made for it tells its holder why it does not pay this user;
        // one made for another campaign does not show that it exists.
        const targeted = await published({ triggerId: scan, visibility: "TARGETED", targetUserIds: [second.id] });
        assertRefusedBy(await send(first, qrFor({ campaignId: targeted.id }), targeted.id), 422, "not-targeted");
        const unseen = await send(first, qrFor(), targeted.id);
        assert.equal(unseen.status, 404, unseen.text);
        assert.equal((await send(second, qrFor({ campaignId: targeted.id }), targeted.id)).status, 202);
        // A claim refused by a rule leaves its proof free for one that is accepted.
        const capped = await published({ triggerId: scan, maxClaimsPerUser: 1 });
        const cappedFor = () => qrFor({ campaignId: capped.id });
        assert.equal((await send(first, cappedFor(), capped.id)).status, 202);
        const again = cappedFor();
        assertRefusedBy(await send(first, again, capped.id), 409, "user-limit-reached");
        assert.equal((await send(second, again, capped.id)).status, 202);
        // The same signed webhook request, sent again within its five minutes.
        const hook = await source(scan, "API_WEBHOOK");
        const body = JSON.stringify({ campaignId: qrCampaign.id, userId: first.id, triggerSourceId: hook.id });
        const now = inSeconds(0);
        const headers = {
          "content-type": "application/json",
          "x-trigger-timestamp": String(now),
          "x-trigger-signature": signTriggerWebhook(hook.secret, now, body),
        };
        const post = () =>
          api.request("POST", "/campaigns/claims", { projectKey: a.projectKey, rawBody: body, headers });
        assert.equal((await post()).status, 202);
        assertRefusedBy(await post(), 409, "trigger-proof-used");
      });

      it("keeps an anonymous caller's Idempotency-Key to its own request: another's same key is not refused", async () => {
        const [first, second] = [(await newUser()).user, (await newUser()).user];
        const headers = { "idempotency-key": "guessable-1" };
        const send = (user: { id: string }, qr: string) =>
          claim({ campaignId: qrCampaign.id, userId: user.id, qr }, { projectKey: a.projectKey, headers });
        const firstQr = qrFor();
        const accepted = await send(first, firstQr);
        assert.equal(accepted.status, 202, accepted.text);
        const other = await send(second, qrFor());
        assert.equal(other.status, 202, `another caller's request with the same key: ${other.text}`);
        assert.notEqual(other.body.id, accepted.body.id);
        const repeat = await send(first, firstQr);
        assert.equal(repeat.status, 202);
        assert.deepEqual(repeat.body, accepted.body);
        assert.equal(repeat.headers.get("idempotent-replayed"), "true");
      });

      it("accepts a platform's webhook signed with its source's secret, and refuses a bad or stale signature", async () => {
        const hook = await source(scan, "API_WEBHOOK");
        const { user } = await newUser();
        const body = JSON.stringify({ campaignId: qrCampaign.id, userId: user.id, triggerSourceId: hook.id });
        const post = (timestamp: number, signature: string) =>
          api.request("POST", "/campaigns/claims", {
            projectKey: a.projectKey,
            rawBody: body,
            headers: {
              "content-type": "application/json",
              "x-trigger-timestamp": String(timestamp),
              "x-trigger-signature": signature,
            },
          });
        const now = inSeconds(0);
        const accepted = await post(now, signTriggerWebhook(hook.secret, now, body));
        assert.equal(accepted.status, 202, accepted.text);
        assert.equal((await rowOf(accepted.body.id)).triggerSourceId, hook.id);
        assert.equal((await post(now, signTriggerWebhook(qrSource.secret, now, body))).status, 401);
        const stale = inSeconds(-600);
        assert.equal((await post(stale, signTriggerWebhook(hook.secret, stale, body))).status, 401);
        // A QR source's secret does not make webhooks, nor the reverse.
        const asQr = await claim(
          {
            campaignId: qrCampaign.id,
            userId: user.id,
            qr: signQrPayload(hook.secret, {
              triggerSourceId: hook.id,
              campaignId: qrCampaign.id,
              exp: inSeconds(60),
              nonce: "n",
            }),
          },
          { projectKey: a.projectKey },
        );
        assert.equal(asQr.status, 401);
      });
    });

    it("Idempotency-Key: a repeat replays the first answer, another body is a 422, one in flight a 409", async () => {
      const { user, token } = await newUser();
      const key = randomUUID();
      const body = { campaignId: open.id, location: { lat: 1, lng: 2 } };
      const first = await claim(body, { token, headers: { "idempotency-key": key } });
      assert.equal(first.status, 202, first.text);
      // The same body, its keys in another order.
      const repeat = await claim(
        { location: { lng: 2, lat: 1 }, campaignId: open.id },
        { token, headers: { "idempotency-key": key } },
      );
      assert.equal(repeat.status, 202);
      assert.deepEqual(repeat.body, first.body);
      assert.equal(repeat.headers.get("idempotent-replayed"), "true");
      assert.equal((await api.services.db.select().from(claims).where(eq(claims.userId, user.id))).length, 1);

      const otherBody = await claim({ campaignId: open.id }, { token, headers: { "idempotency-key": key } });
      assert.equal(otherBody.status, 422, otherBody.text);
      assert.ok(isProblem(otherBody));
      // Another caller's key of the same name is theirs.
      const other = await newUser();
      const theirs = await claim(body, { token: other.token, headers: { "idempotency-key": key } });
      assert.equal(theirs.status, 202);
      assert.notEqual(theirs.body.id, first.body.id);

      const inFlight = randomUUID();
      await api.services.db.insert(idempotencyKeys).values({
        owner: `${a.id}:user:${user.id}`,
        key: inFlight,
        method: "POST",
        path: "/campaigns/claims",
        requestHash: fingerprint({ method: "POST", path: "/campaigns/claims", query: "", body }),
      });
      const waiting = await claim(body, { token, headers: { "idempotency-key": inFlight } });
      assert.equal(waiting.status, 409, waiting.text);
      // A refusal is not kept: the key is free again for a retry.
      const refusedKey = randomUUID();
      const refused = await claim({ campaignId: randomUUID() }, { token, headers: { "idempotency-key": refusedKey } });
      assert.equal(refused.status, 404);
      assert.equal(
        (await api.services.db.select().from(idempotencyKeys).where(eq(idempotencyKeys.key, refusedKey))).length,
        0,
      );
      const badKey = await claim(body, { token, headers: { "idempotency-key": "a b" } });
      assert.deepEqual(fieldsOf(badKey), ["headers.idempotency-key"]);
    });

    it("Idempotency-Key: repeats sent at once record one claim, and a repeat is replayed even where a new claim is refused", async () => {
      const campaign = await published({ maxClaimsPerUser: 1 });
      const { user, token } = await newUser();
      const key = randomUUID();
      const answers = await Promise.all(
        Array.from({ length: 8 }, () =>
          claim({ campaignId: campaign.id }, { token, headers: { "idempotency-key": key } }),
        ),
      );
      // Each is answered as the first was (a repeat still being recorded waits for it, or gets a 409).
      const accepted = answers.filter((answer) => answer.status === 202);
      assert.ok(accepted.length >= 1, answers.map((answer) => answer.text).join("\n"));
      assert.ok(answers.every((answer) => answer.status === 202 || answer.status === 409));
      assert.equal(new Set(accepted.map((answer) => answer.body.id)).size, 1);
      assert.equal((await api.services.db.select().from(claims).where(eq(claims.userId, user.id))).length, 1);
      // The per-user limit refuses a new claim; the repeat is the first claim's answer, not that refusal.
      assertRefusedBy(await claim({ campaignId: campaign.id }, { token }), 409, "user-limit-reached");
      const repeat = await claim({ campaignId: campaign.id }, { token, headers: { "idempotency-key": key } });
      assert.equal(repeat.status, 202, repeat.text);
      assert.deepEqual(repeat.body, accepted[0]!.body);
      assert.equal(repeat.headers.get("idempotent-replayed"), "true");
      // And a campaign closed since does not change that answer either.
      await api.services.db.update(campaigns).set({ status: "CLOSED" }).where(eq(campaigns.id, campaign.id));
      const afterClose = await claim({ campaignId: campaign.id }, { token, headers: { "idempotency-key": key } });
      assert.deepEqual([afterClose.status, afterClose.body], [202, accepted[0]!.body]);
    });

    it("lists claims with filters; a USER sees their own, a BUSINESS those it brought; progress follows the chain", async () => {
      const mine = await newUser();
      const theirs = await newUser();
      const campaign = await published();
      const own = await claim({ campaignId: campaign.id }, { token: mine.token });
      const brought = await claim({ campaignId: open.id, userId: theirs.user.id }, { token: aCallers.business.token });
      const other = await claim({ campaignId: campaign.id, userId: theirs.user.id });
      assert.deepEqual([own.status, brought.status, other.status], [202, 202, 202]);

      const asUser = await api.request("GET", "/campaigns/claims", { token: mine.token });
      assert.equal(asUser.status, 200);
      assert.deepEqual(
        asUser.body.data.map((row: any) => row.id),
        [own.body.id],
      );
      const spying = await api.request("GET", `/campaigns/claims?userId=${theirs.user.id}`, { token: mine.token });
      assert.equal(spying.body.data.length, 0);
      assert.equal((await api.request("GET", `/campaigns/claims/${other.body.id}`, { token: mine.token })).status, 404);
      const asBusiness = await api.request("GET", "/campaigns/claims", { token: aCallers.business.token });
      assert.ok(asBusiness.body.data.every((row: any) => row.businessId === aCallers.business.id));
      assert.ok(asBusiness.body.data.some((row: any) => row.id === brought.body.id));
      assert.equal(
        (await api.request("GET", `/campaigns/claims/${other.body.id}`, { token: aCallers.business.token })).status,
        404,
      );

      const byCampaign = await api.request(
        "GET",
        `/campaigns/claims?campaignId=${campaign.id}&sort=createdAt&order=asc`,
        {
          token: a.adminToken,
        },
      );
      assert.deepEqual(
        byCampaign.body.data.map((row: any) => row.id),
        [own.body.id, other.body.id],
      );
      assert.equal(byCampaign.body.pagination.total, 2);
      const byUser = await api.request("GET", `/campaigns/claims?userId=${theirs.user.id}`, {
        apiKey: aCallers.system.apiKey,
      });
      assert.deepEqual(byUser.body.data.map((row: any) => row.id).sort(), [brought.body.id, other.body.id].sort());
      const future = new Date(Date.now() + hour).toISOString();
      assert.equal(
        (
          await api.request("GET", `/campaigns/claims?campaignId=${campaign.id}&from=${encodeURIComponent(future)}`, {
            token: a.adminToken,
          })
        ).body.data.length,
        0,
      );
      assert.equal(
        (
          await api.request("GET", `/campaigns/claims?campaignId=${campaign.id}&to=${encodeURIComponent(future)}`, {
            token: a.adminToken,
          })
        ).body.data.length,
        2,
      );

      // In a transaction: SUBMITTED with its hash; then paid: CONFIRMED.
      const jobId = (await rowOf(own.body.id)).jobId!;
      await api.services.db.update(relayJobs).set({ status: "SUBMITTED" }).where(eq(relayJobs.id, jobId));
      const submitted = await api.request("GET", `/campaigns/claims?campaignId=${campaign.id}&status=SUBMITTED`, {
        token: a.adminToken,
      });
      assert.deepEqual(
        submitted.body.data.map((row: any) => row.id),
        [own.body.id],
      );
      const pending = await api.request("GET", `/campaigns/claims?campaignId=${campaign.id}&status=PENDING`, {
        token: a.adminToken,
      });
      assert.deepEqual(
        pending.body.data.map((row: any) => row.id),
        [other.body.id],
      );
      await api.services.db.update(relayJobs).set({ status: "PENDING" }).where(eq(relayJobs.id, jobId));
      await runJobs(api, chain, claimKind);
      const confirmed = await api.request("GET", `/campaigns/claims?campaignId=${campaign.id}&status=CONFIRMED`, {
        token: a.adminToken,
      });
      assert.equal(confirmed.body.data.length, 2);
      assert.ok(confirmed.body.data.every((row: any) => /^0x[0-9a-f]{64}$/.test(row.transactionHash)));

      const badQuery = await api.request("GET", "/campaigns/claims?status=PAID", { token: a.adminToken });
      assert.deepEqual(fieldsOf(badQuery), ["query.status"]);
      assert.equal((await api.request("GET", "/campaigns/claims")).status, 401);
      assert.equal((await api.request("GET", "/campaigns/claims", { projectKey: a.projectKey })).status, 403);
      assert.equal((await api.request("GET", "/campaigns/claims/not-an-id", { token: a.adminToken })).status, 400);
      assert.equal(
        (await api.request("GET", `/campaigns/claims/${randomUUID()}`, { token: a.adminToken })).status,
        404,
      );
    });

    it("isolates tenants: A's callers of every level get 404 or 403 for B's claims and campaigns, and never B's data", async () => {
      // (B's ids are in the paths asked for, so problems echo them in `instance`; B's data must not appear.)
      const hidden = [bUserWallet, "B-campaign-secret"];
      for (const [level, credential] of Object.entries(aCallers.levels)) {
        const read = await api.request("GET", `/campaigns/claims/${bClaim.id}`, credential);
        assertRefused(read, hidden, `${level} GET B's claim`);
        const list = await api.request("GET", `/campaigns/claims?campaignId=${bCampaign.id}`, credential);
        assert.equal(list.status, 200, `${level} list`);
        assert.equal(list.body.data.length, 0, `${level} list`);
        for (const value of hidden) assert.ok(!list.text.includes(value));
        const claimed = await claim({ campaignId: bCampaign.id, userId: aCallers.user.id }, credential);
        assertRefused(claimed, hidden, `${level} claims B's campaign`);
      }
      // A's admin naming B's user or B's wallet in A's campaign: 404.
      const bUsers = await api.request("GET", `/campaigns/claims/${bClaim.id}`, { token: b.adminToken });
      assert.equal(bUsers.status, 200);
      assertRefused(await claim({ campaignId: open.id, userId: bUsers.body.userId }), hidden, "B's user");
      assertRefused(await claim({ campaignId: open.id, recipient: bUserWallet }), hidden, "B's wallet");
      const bBusiness = await claim({
        campaignId: open.id,
        userId: aCallers.user.id,
        businessId: bCallers.business.id,
      });
      assertRefused(bBusiness, hidden, "B's business");
    });

    it("documents the Idempotency-Key header and the claim routes in the OpenAPI document", async () => {
      const document = (await api.request("GET", "/openapi.json")).body;
      const post = document.paths["/campaigns/claims"].post;
      const header = post.parameters.find((parameter: any) => parameter.in === "header");
      assert.equal(header.name, "idempotency-key");
      assert.ok(post.responses["202"] && post.responses["409"] && post.responses["422"]);
      assert.ok(document.paths["/campaigns/claims/{id}"].get);
    });
  });
}
