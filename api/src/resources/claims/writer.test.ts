import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { and, eq, inArray } from "drizzle-orm";
import { insertBusiness } from "../../../test/campaign-fixtures.ts";
import { publishedCampaign, type PublishedCampaign } from "../../../test/claim-fixtures.ts";
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
import { countPgliteStatements } from "../../../test/pgliteStatements.ts";
import { claims, idempotencyKeys, relayJobs } from "../../db/relaySchema.ts";
import { campaignEngagements, campaignTriggers, campaigns, triggerProofUses, triggerSources } from "../../db/schema.ts";
import { Problem } from "../../errors.ts";
import { IdempotencyKeyTaken } from "../../http/idempotency.ts";
import type { ProofUse } from "./triggerProof.ts";
import { createClaimWriter, type ClaimRequest } from "./writer.ts";

let chain: TestChain;
before(async () => (chain = await startTestChain()));
after(async () => chain.close());

type Outcome = { id: string; onchainClaimId: number } | { rule: string };

for (const database of testDatabases()) {
  describe(`the claim writer on ${database.name}`, () => {
    let api: TestApi;
    let a: TestTenant;

    before(async () => {
      api = await startTestApiOn(database, { chain });
      a = await createTestTenant(api);
    });
    after(() => api.close());

    const newUser = async () => (await insertUser(api, a.id)).user;
    const published = (body: Record<string, unknown> = {}, options = {}) =>
      publishedCampaign(api, chain, a, body, options);
    const request = (campaign: PublishedCampaign, user: { id: string; walletAddress: string }): ClaimRequest => ({
      tenantId: a.id,
      campaignId: campaign.id,
      user,
      source: "ADMIN",
    });

    /** Records these requests as exactly one batch (the writer flushes when all of them wait). */
    async function batch(requests: ClaimRequest[]): Promise<Outcome[]> {
      const writer = createClaimWriter({ db: api.services.db, windowMs: 60_000, maxBatch: requests.length });
      const settled = await Promise.allSettled(requests.map((claim) => writer.record(claim)));
      return settled.map((outcome) => {
        if (outcome.status === "fulfilled") return outcome.value;
        if (outcome.reason instanceof IdempotencyKeyTaken) return { rule: "key-taken" };
        assert.ok(outcome.reason instanceof Problem, String(outcome.reason));
        return { rule: (outcome.reason.extensions as { rule: string }).rule };
      });
    }
    const ruleOf = (outcome: Outcome) => ("rule" in outcome ? outcome.rule : "accepted");
    const liveClaimsOf = async (campaignId: string) =>
      (await api.services.db.select().from(campaigns).where(eq(campaigns.id, campaignId)))[0]!.liveClaims;
    const claimsOf = (campaignId: string) =>
      api.services.db.select().from(claims).where(eq(claims.campaignId, campaignId));

    it("answers each request of a batch mixing claims that pass and fail different rules", async () => {
      const campaign = await published({ maxClaimsPerUser: 1, budget: 4 });
      const paused = await published();
      const business = await insertBusiness(api, a.id);
      const [engagement] = await api.services.db
        .insert(campaignEngagements)
        .values({ tenantId: a.id, campaignId: campaign.id, businessId: business.id, active: false })
        .returning();
      await api.services.db.update(campaigns).set({ status: "PAUSED" }).where(eq(campaigns.id, paused.id));
      const [already, first, second, third, late] = await Promise.all([1, 2, 3, 4, 5].map(newUser));
      assert.equal(ruleOf((await batch([request(campaign, already!)]))[0]!), "accepted");

      const outcomes = await batch([
        request(campaign, already!),
        request(campaign, first!),
        request(paused, first!),
        { ...request(campaign, second!), business: { ...business, engagementId: engagement!.id } },
        request(campaign, second!),
        request(campaign, third!),
        request(campaign, late!),
        { ...request(campaign, first!), campaignId: randomUUID() },
      ]);
      assert.deepEqual(outcomes.map(ruleOf), [
        "user-limit-reached",
        "accepted",
        "campaign-not-active",
        "business-not-engaged",
        "accepted",
        "accepted",
        "budget-exhausted",
        undefined, // not found: a Problem without a rule
      ]);
      // Exactly the accepted claims are recorded, each with its job, and counted against the budget.
      const rows = await claimsOf(campaign.id);
      assert.deepEqual(rows.map((row) => row.userId).sort(), [already, first, second, third].map((u) => u!.id).sort());
      assert.equal(await liveClaimsOf(campaign.id), 4);
      assert.equal(await liveClaimsOf(paused.id), 0);
      const jobs = await api.services.db
        .select()
        .from(relayJobs)
        .where(
          inArray(
            relayJobs.id,
            rows.map((row) => row.jobId!),
          ),
        );
      assert.equal(jobs.length, 4);
      for (const row of rows) {
        const job = jobs.find((candidate) => candidate.id === row.jobId)!;
        assert.equal(job.payload.claimId, row.id);
        assert.equal(job.payload.onchainClaimId, String(row.onchainClaimId));
        assert.equal(job.payload.recipient, row.recipient);
      }
    });

    it("accepts one of two claims of one user in one batch against a per-user limit of 1", async () => {
      const campaign = await published({ maxClaimsPerUser: 1 });
      const user = await newUser();
      const outcomes = await batch([request(campaign, user), request(campaign, user)]);
      assert.deepEqual(outcomes.map(ruleOf), ["accepted", "user-limit-reached"]);
      const rows = await claimsOf(campaign.id);
      assert.equal(rows.length, 1);
      assert.equal(rows[0]!.id, (outcomes[0] as { id: string }).id);
      assert.equal(await liveClaimsOf(campaign.id), 1);
    });

    it("records a batch spanning two campaigns, each claim's job paying its own campaign", async () => {
      const small = await published({ budget: 2 });
      const open = await published();
      const users = await Promise.all([1, 2, 3].map(newUser));
      const outcomes = await batch(users.flatMap((user) => [request(small, user), request(open, user)]));
      assert.deepEqual(outcomes.map(ruleOf), [
        "accepted",
        "accepted",
        "accepted",
        "accepted",
        "budget-exhausted",
        "accepted",
      ]);
      assert.equal(await liveClaimsOf(small.id), 2);
      assert.equal(await liveClaimsOf(open.id), 3);
      for (const campaign of [small, open]) {
        const rows = await api.services.db
          .select({ claimId: claims.id, payload: relayJobs.payload })
          .from(claims)
          .innerJoin(relayJobs, eq(relayJobs.id, claims.jobId))
          .where(eq(claims.campaignId, campaign.id));
        assert.equal(rows.length, campaign === small ? 2 : 3);
        for (const row of rows) {
          assert.equal(row.payload.onchainCampaignId, campaign.onchainCampaignId);
          assert.equal(row.payload.claimId, row.claimId);
        }
      }
    });

    const triggerOf = async (body: Record<string, unknown>) => {
      const created = await api.request("POST", "/campaign-triggers", {
        token: a.adminToken,
        body: { name: `trigger ${randomUUID().slice(0, 6)}`, ...body },
      });
      assert.equal(created.status, 201, created.text);
      return (
        await api.services.db.select().from(campaignTriggers).where(eq(campaignTriggers.id, created.body.id))
      )[0]!;
    };

    it("counts a trigger's limits across the batch: per user over its campaigns, and the cool-down", async () => {
      const perUser = await triggerOf({ maxPerUser: 2 });
      const cooled = await triggerOf({ cooldownSeconds: 600 });
      const [first, second] = [await published({ triggerId: perUser.id }), await published({ triggerId: perUser.id })];
      const third = await published({ triggerId: cooled.id });
      const [user, other] = await Promise.all([newUser(), newUser()]);
      const through = (campaign: PublishedCampaign, claimant: typeof user, trigger: typeof perUser) => ({
        ...request(campaign, claimant),
        trigger,
      });
      const outcomes = await batch([
        through(first, user, perUser),
        through(third, user, cooled),
        through(second, user, perUser),
        through(first, other, perUser),
        through(first, user, perUser),
        through(third, user, cooled),
      ]);
      assert.deepEqual(outcomes.map(ruleOf), [
        "accepted",
        "accepted",
        "accepted",
        "accepted",
        "trigger-user-limit-reached",
        "cooldown",
      ]);
    });

    it("spends a trigger source's proof on the first of its claims in a batch that is accepted, not the first sent", async () => {
      const trigger = await triggerOf({});
      const campaign = await published({ triggerId: trigger.id, maxClaimsPerUser: 1 });
      const [source] = await api.services.db
        .insert(triggerSources)
        .values({ tenantId: a.id, type: "QR_CODE", name: "till", triggerId: trigger.id, secretCiphertext: "unused" })
        .returning();
      const proofUse = () => ({
        triggerSourceId: source!.id,
        proofHash: randomUUID(),
        expiresAt: new Date(Date.now() + 60_000),
      });
      const withProof = (claimant: { id: string; walletAddress: string }, proof: ProofUse): ClaimRequest => ({
        ...request(campaign, claimant),
        trigger,
        proof,
      });
      const usesOf = (proof: ProofUse) =>
        api.services.db.select().from(triggerProofUses).where(eq(triggerProofUses.proofHash, proof.proofHash));
      const [capped, other, third] = [await newUser(), await newUser(), await newUser()];
      assert.deepEqual((await batch([withProof(capped, proofUse())])).map(ruleOf), ["accepted"]);

      // The user at the limit sends it first: refused by the rule, which leaves it to the next.
      const shared = proofUse();
      const outcomes = await batch([withProof(capped, shared), withProof(other, shared), withProof(third, shared)]);
      assert.deepEqual(outcomes.map(ruleOf), ["user-limit-reached", "accepted", "trigger-proof-used"]);
      assert.equal((await usesOf(shared)).length, 1);
      assert.deepEqual((await claimsOf(campaign.id)).map((row) => row.userId).sort(), [capped.id, other.id].sort());
      // Refused by a rule in every claim of its batch: free again.
      const unspent = proofUse();
      assert.deepEqual((await batch([withProof(capped, unspent), withProof(other, unspent)])).map(ruleOf), [
        "user-limit-reached",
        "user-limit-reached",
      ]);
      assert.equal((await usesOf(unspent)).length, 0);
      assert.deepEqual((await batch([withProof(third, unspent)])).map(ruleOf), ["accepted"]);
    });

    it("two writers (as two API processes) recording overlapping batches at once keep every limit", async () => {
      const campaign = await published({ maxClaimsPerUser: 2, budget: 10 });
      const users = await Promise.all(Array.from({ length: 8 }, newUser));
      const twice = users.flatMap((user) => [request(campaign, user), request(campaign, user)]);
      // The same users in opposite orders: locks taken in arrival order could deadlock.
      const [forward, backward] = await Promise.all([batch(twice), batch([...twice].reverse())]);
      const accepted = [...forward, ...backward].filter((outcome) => ruleOf(outcome) === "accepted");
      assert.equal(accepted.length, 10);
      const rows = await claimsOf(campaign.id);
      assert.equal(rows.length, 10);
      for (const user of users) assert.ok(rows.filter((row) => row.userId === user.id).length <= 2);
      assert.equal(await liveClaimsOf(campaign.id), 10);
    });

    it("two writers recording claims of one trigger through two campaigns at once keep its per-user limit", async () => {
      // Different campaigns: only the users' locks stand between the two transactions' counts.
      const once = await triggerOf({ maxPerUser: 1 });
      const [first, second] = [await published({ triggerId: once.id }), await published({ triggerId: once.id })];
      const users = await Promise.all(Array.from({ length: 8 }, newUser));
      const through = (campaign: PublishedCampaign) =>
        users.map((user) => ({ ...request(campaign, user), trigger: once }));
      const outcomes = (await Promise.all([batch(through(first)), batch(through(second))])).flat();
      assert.equal(outcomes.filter((outcome) => ruleOf(outcome) === "accepted").length, users.length);
      const rows = await api.services.db
        .select()
        .from(claims)
        .where(inArray(claims.campaignId, [first.id, second.id]));
      assert.deepEqual(rows.map((row) => row.userId).sort(), users.map((user) => user.id).sort());
    });

    it("refuses with campaign-changed a claim checked against a campaign whose targeting has changed since", async () => {
      const campaign = await published();
      const [row] = await api.services.db.select().from(campaigns).where(eq(campaigns.id, campaign.id));
      const [user, other] = [await newUser(), await newUser()];
      const checkedWhenTargeted = { ...row!, visibility: "TARGETED" as const, targetUserIds: [user.id] };
      const outcomes = await batch([
        { ...request(campaign, user), checkedAgainst: checkedWhenTargeted },
        { ...request(campaign, other), checkedAgainst: row! },
      ]);
      assert.deepEqual(outcomes.map(ruleOf), ["campaign-changed", "accepted"]);
    });

    it("takes the requests' Idempotency-Keys in the batch: a key once, freed again when its request is refused", async () => {
      const campaign = await published({ maxClaimsPerUser: 1 });
      const [user, other, third] = [await newUser(), await newUser(), await newUser()];
      const keyed = (claimant: { id: string; walletAddress: string }, key: string): ClaimRequest => ({
        ...request(campaign, claimant),
        idempotencyKey: {
          owner: `${a.id}:test`,
          key,
          method: "POST",
          path: "/campaigns/claims",
          requestHash: key,
          taken: false,
          kept: false,
        },
      });
      const keyRows = (key: string) =>
        api.services.db.select().from(idempotencyKeys).where(eq(idempotencyKeys.key, key));
      const [shared, refusedKey] = [randomUUID(), randomUUID()];
      // The same key twice, and a second claim of `user` that the per-user limit refuses.
      const outcomes = await batch([keyed(user, shared), keyed(other, shared), keyed(user, refusedKey)]);
      assert.deepEqual(outcomes.map(ruleOf), ["accepted", "key-taken", "user-limit-reached"]);
      const [kept] = await keyRows(shared);
      const first = outcomes[0] as { id: string; onchainClaimId: number };
      assert.equal(kept!.status, 202);
      assert.deepEqual(kept!.body, { id: first.id, claimId: String(first.onchainClaimId), status: "PENDING" });
      assert.equal((await keyRows(refusedKey)).length, 0, "the refused request's key is free");
      // A later batch finds the key taken, and records nothing for it.
      assert.deepEqual((await batch([keyed(third, shared)])).map(ruleOf), ["key-taken"]);
      assert.deepEqual(
        (await claimsOf(campaign.id)).map((row) => row.userId),
        [user.id],
      );
      // A key kept longer than answers are replayed is taken afresh.
      await api.services.db
        .update(idempotencyKeys)
        .set({ createdAt: new Date(Date.now() - 25 * 3_600_000) })
        .where(eq(idempotencyKeys.key, shared));
      assert.deepEqual((await batch([keyed(third, shared)])).map(ruleOf), ["accepted"]);
    });

    it("fails every request of a batch whose transaction fails, and records none of them", async () => {
      const campaign = await published();
      const [user, other] = await Promise.all([newUser(), newUser()]);
      // A user that does not exist: the claims insert breaks its foreign key, and the transaction rolls back.
      const ghost = { id: randomUUID(), walletAddress: user.walletAddress };
      const settled = await Promise.allSettled(
        ((writer) => [user, ghost, other].map((claimant) => writer.record(request(campaign, claimant))))(
          createClaimWriter({ db: api.services.db, windowMs: 60_000, maxBatch: 3 }),
        ),
      );
      assert.deepEqual(
        settled.map((outcome) => outcome.status),
        ["rejected", "rejected", "rejected"],
      );
      for (const outcome of settled) {
        assert.ok(!((outcome as PromiseRejectedResult).reason instanceof Problem), "a database error, not a refusal");
      }
      assert.equal((await claimsOf(campaign.id)).length, 0);
      assert.equal(await liveClaimsOf(campaign.id), 0);
      // The writer goes on: the next batch is recorded.
      assert.deepEqual((await batch([request(campaign, user)])).map(ruleOf), ["accepted"]);
    });

    if (database.name === "PGlite") {
      it("records a batch in the same number of statements whatever its size", async () => {
        const campaign = await published({ maxClaimsPerUser: 5, budget: 100 });
        const users = await Promise.all(Array.from({ length: 20 }, newUser));
        const counter = countPgliteStatements(api.services.db);
        try {
          const countOf = async (requests: ClaimRequest[]) => {
            counter.statements = 0;
            const outcomes = await batch(requests);
            assert.ok(outcomes.every((outcome) => ruleOf(outcome) === "accepted"));
            return counter.statements;
          };
          const ofTwo = await countOf(users.slice(0, 2).map((user) => request(campaign, user)));
          const ofTwenty = await countOf(users.map((user) => request(campaign, user)));
          // At least BEGIN, the campaigns, the earlier claims, the write and COMMIT.
          assert.ok(ofTwo >= 5, `${ofTwo} statements: the counter missed some`);
          assert.equal(ofTwenty, ofTwo);
        } finally {
          counter.stop();
        }
        const recorded = await api.services.db
          .select()
          .from(claims)
          .where(and(eq(claims.campaignId, campaign.id)));
        assert.equal(recorded.length, 22);
      });
    }
  });
}
