// The `claim` job kind against a real chain, driven by hand as the relayer drives it: claims accepted
// over HTTP go out in one claimBatch, settle from its events, and are never paid twice.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { and, eq, inArray, sql } from "drizzle-orm";
import { zeroAddress, type Address } from "viem";
import { campaignRegistryAbi } from "../../../../abi/campaignRegistry.ts";
import { ClaimSource } from "../../../../abi/enums.ts";
import { pointsTokenAbi } from "../../../../abi/pointsToken.ts";
import { campaignCallers, type CampaignCallers } from "../../../test/campaign-fixtures.ts";
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
import { availableJobs, contextOf, finish, runJobs, send } from "../../../test/relay-by-hand.ts";
import { claims, platformEvents } from "../../db/relaySchema.ts";
import { campaignEngagements, campaigns } from "../../db/schema.ts";
import { enqueue } from "../jobs.ts";
import { CLAIM_KIND, claimBatchKey, claimKind, type ClaimJobPayload } from "./claim.ts";

let chain: TestChain;
before(async () => (chain = await startTestChain()));
after(async () => chain.close());

for (const database of testDatabases()) {
  describe(`claim jobs on ${database.name}`, () => {
    let api: TestApi;
    let a: TestTenant;
    let callers: CampaignCallers;
    let users: { id: string; walletAddress: string }[];

    const balanceOf = (wallet: string) =>
      chain.chains.get(a.tenant.chainId)!.publicClient.readContract({
        address: a.tenant.contracts.pointsToken as Address,
        abi: pointsTokenAbi,
        functionName: "balanceOf",
        args: [wallet as Address],
      });
    const claimFor = async (campaignId: string, userId: string, extra: Record<string, unknown> = {}) => {
      const response = await api.request("POST", "/campaigns/claims", {
        token: a.adminToken,
        body: { campaignId, userId, ...extra },
      });
      assert.equal(response.status, 202, response.text);
      return response.body as { id: string; claimId: string };
    };
    const claimRow = async (id: string) => (await api.services.db.select().from(claims).where(eq(claims.id, id)))[0]!;
    const eventsOf = (type: string) =>
      api.services.db
        .select()
        .from(platformEvents)
        .where(and(eq(platformEvents.tenantId, a.id), eq(platformEvents.type, type)));
    /** A claim the API would refuse, recorded straight into the queue (as if the rules had changed since). */
    const forcedClaim = async (campaign: PublishedCampaign, user: { id: string; walletAddress: string }) => {
      const [row] = await api.services.db
        .insert(claims)
        .values({
          tenantId: a.id,
          campaignId: campaign.id,
          userId: user.id,
          recipient: user.walletAddress,
          source: "ADMIN",
        })
        .returning();
      const payload: ClaimJobPayload = {
        claimId: row!.id,
        onchainClaimId: String(row!.onchainClaimId),
        onchainCampaignId: campaign.onchainCampaignId,
        recipient: user.walletAddress as Address,
        source: "ADMIN",
        business: "0x0000000000000000000000000000000000000000",
      };
      const jobId = await enqueue(api.services.db, {
        tenantId: a.id,
        chainId: a.tenant.chainId,
        kind: CLAIM_KIND,
        batchKey: claimBatchKey(a.tenant.contracts.campaignRegistry),
        payload,
      });
      await api.services.db.update(claims).set({ jobId }).where(eq(claims.id, row!.id));
      // Accepted claims count against the budget (claims/eligibility.ts); this one was accepted too.
      await api.services.db
        .update(campaigns)
        .set({ liveClaims: sql`${campaigns.liveClaims} + 1` })
        .where(eq(campaigns.id, campaign.id));
      return { ...row!, jobId };
    };

    before(async () => {
      api = await startTestApiOn(database, { chain });
      a = await createTestTenant(api);
      callers = await campaignCallers(api, a);
      users = [];
      for (let i = 0; i < 6; i++) users.push((await insertUser(api, a.id)).user);
    });
    after(() => api.close());

    it("pays accepted claims in one claimBatch, fails the skipped ones with their reason, and reports the spent budget", async () => {
      const campaign = await publishedCampaign(
        api,
        chain,
        a,
        { budget: 3, maxClaimsPerUser: 1 },
        { amount: "10", engage: [{ businessId: callers.business.id }] },
      );
      const first = await claimFor(campaign.id, users[0]!.id);
      const second = await claimFor(campaign.id, users[1]!.id);
      const brought = await api.request("POST", "/campaigns/claims", {
        token: callers.business.token,
        body: { campaignId: campaign.id, userId: users[2]!.id },
      });
      assert.equal(brought.status, 202, brought.text);
      const beyond = await forcedClaim(campaign, users[3]!);

      const sent = await runJobs(api, chain, claimKind);
      assert.equal(sent.length, 1, "one transaction carries the batch");
      assert.equal(sent[0]!.jobs.length, 4);
      const hash = sent[0]!.hash!;
      for (const [id, user] of [
        [first.id, users[0]!],
        [second.id, users[1]!],
        [brought.body.id, users[2]!],
      ] as const) {
        const row = await claimRow(id);
        assert.equal(row.status, "CONFIRMED");
        assert.equal(row.transactionHash, hash);
        assert.equal(await balanceOf(user.walletAddress), 10n);
      }
      const refused = await claimRow(beyond.id);
      assert.equal(refused.status, "FAILED");
      assert.equal(refused.error, "CampaignBudgetExhausted");
      assert.equal(await balanceOf(users[3]!.walletAddress), 0n);

      const shown = await api.request("GET", `/campaigns/claims/${brought.body.id}`, { token: a.adminToken });
      assert.equal(shown.body.status, "CONFIRMED");
      assert.equal(shown.body.transactionHash, hash);
      assert.equal(shown.body.source, "BUSINESS");

      const confirmed = await eventsOf("claim.confirmed");
      assert.deepEqual(confirmed.map((event) => event.data.id).sort(), [first.id, second.id, brought.body.id].sort());
      const failed = await eventsOf("claim.failed");
      assert.deepEqual(
        failed.map((event) => [event.data.id, event.data.error]),
        [[beyond.id, "CampaignBudgetExhausted"]],
      );
      const exhausted = await eventsOf("campaign.budget_exhausted");
      assert.deepEqual(
        exhausted.map((event) => [event.data.campaignId, event.data.budget]),
        [[campaign.id, "3"]],
      );
    });

    it("a claim that fails gives its place in the budget and in its business's cap back", async () => {
      const campaign = await publishedCampaign(
        api,
        chain,
        a,
        { budget: 2 },
        { amount: "1", engage: [{ businessId: callers.business.id, maxClaims: 1 }] },
      );
      const byBusiness = (userId: string) =>
        api.request("POST", "/campaigns/claims", {
          token: callers.business.token,
          body: { campaignId: campaign.id, userId },
        });
      const counts = async () => {
        const [row] = await api.services.db.select().from(campaigns).where(eq(campaigns.id, campaign.id));
        const [engagement] = await api.services.db
          .select()
          .from(campaignEngagements)
          .where(eq(campaignEngagements.campaignId, campaign.id));
        return { campaign: row!.liveClaims, business: engagement!.liveClaims };
      };
      const brought = await byBusiness(users[0]!.id);
      assert.equal(brought.status, 202, brought.text);
      const refusedByCap = await byBusiness(users[1]!.id);
      assert.equal(refusedByCap.status, 409);
      assert.equal(refusedByCap.body.rule, "business-cap-reached");
      await claimFor(campaign.id, users[1]!.id);
      const refusedByBudget = await api.request("POST", "/campaigns/claims", {
        token: a.adminToken,
        body: { campaignId: campaign.id, userId: users[2]!.id },
      });
      assert.equal(refusedByBudget.status, 409);
      assert.equal(refusedByBudget.body.rule, "budget-exhausted");
      assert.deepEqual(await counts(), { campaign: 2, business: 1 }, "refused claims count nothing");

      const [job] = await availableJobs(api.services.db, claimKind, [(await claimRow(brought.body.id)).jobId!]);
      await claimKind.fail([job!], "dropped", await contextOf(api, chain, job!));
      // Settling again (a crash and a repeat) takes nothing more off.
      await claimKind.fail([job!], "dropped", await contextOf(api, chain, job!));
      assert.equal((await claimRow(brought.body.id)).status, "FAILED");
      assert.deepEqual(await counts(), { campaign: 1, business: 0 });
      const again = await byBusiness(users[2]!.id);
      assert.equal(again.status, 202, again.text);
      assert.deepEqual(await counts(), { campaign: 2, business: 1 });
      // Pay the rest, leaving the queue empty for the tests that follow.
      await runJobs(api, chain, claimKind);
    });

    it("a batch sent again after a crash confirms its claims once and never pays twice", async () => {
      const campaign = await publishedCampaign(api, chain, a, {}, { amount: "7" });
      const accepted = await claimFor(campaign.id, users[4]!.id);
      const jobs = await availableJobs(api.services.db, claimKind);
      assert.equal(jobs.length, 1);
      const paid = await send(api, chain, claimKind, jobs);
      assert.ok(paid.receipt, paid.error);
      // The relayer died before settling: after its restart the same job goes out again.
      const repeated = await send(api, chain, claimKind, jobs);
      assert.ok(repeated.receipt, repeated.error);
      assert.notEqual(repeated.receipt!.transactionHash, paid.receipt!.transactionHash);
      await finish(api, claimKind, jobs, repeated);
      const row = await claimRow(accepted.id);
      assert.equal(row.status, "CONFIRMED");
      assert.equal(row.transactionHash, paid.receipt!.transactionHash, "the transaction that paid it");
      assert.equal(await balanceOf(users[4]!.walletAddress), 7n);
      // Settling the first receipt too (a settle repeated) changes nothing and reports nothing twice.
      await finish(api, claimKind, jobs, paid);
      const events = (await eventsOf("claim.confirmed")).filter((event) => event.data.id === accepted.id);
      assert.equal(events.length, 1);
    });

    it("a claim whose id another claim already used on chain (a tenant's own direct claim) fails, unpaid", async () => {
      const campaign = await publishedCampaign(api, chain, a, {}, { amount: "7" });
      const accepted = await claimFor(campaign.id, users[1]!.id);
      // The same id, used first by a direct claim for someone else on the tenant's registry.
      const { publicClient, walletClient } = chain.chains.get(a.tenant.chainId)!;
      await publicClient.waitForTransactionReceipt({
        hash: await walletClient.writeContract({
          address: a.tenant.contracts.campaignRegistry as Address,
          abi: campaignRegistryAbi,
          functionName: "claim",
          args: [
            {
              campaignId: BigInt(campaign.onchainCampaignId),
              claimId: BigInt(accepted.claimId),
              recipient: users[2]!.walletAddress as Address,
              source: ClaimSource.SYSTEM,
              business: zeroAddress,
            },
          ],
        }),
      });
      const before = await balanceOf(users[1]!.walletAddress);
      await runJobs(api, chain, claimKind);
      const row = await claimRow(accepted.id);
      assert.equal(row.status, "FAILED");
      assert.match(row.error ?? "", /paid another claim/);
      assert.equal(await balanceOf(users[1]!.walletAddress), before, "nothing was paid for it");
      assert.ok(BigInt(accepted.claimId) >= 2n ** 52n, "the API's claim ids live far above small manual ones");
    });

    it("fail(): a claim id the registry already paid counts as confirmed; one it never saw fails with the reason", async () => {
      const campaign = await publishedCampaign(api, chain, a, {}, { amount: "4" });
      const paidClaim = await claimFor(campaign.id, users[5]!.id);
      const jobs = await availableJobs(api.services.db, claimKind);
      const paid = await send(api, chain, claimKind, jobs);
      assert.ok(paid.receipt);
      const unsent = await forcedClaim(campaign, users[0]!);
      const [unsentJob] = await availableJobs(api.services.db, claimKind, [unsent.jobId!]);
      const context = await contextOf(api, chain, jobs[0]!);
      await claimKind.fail([...jobs, unsentJob!], "replacement limit reached", context);
      const confirmed = await claimRow(paidClaim.id);
      assert.equal(confirmed.status, "CONFIRMED");
      assert.equal(confirmed.transactionHash, paid.receipt!.transactionHash);
      const failed = await claimRow(unsent.id);
      assert.equal(failed.status, "FAILED");
      assert.equal(failed.error, "replacement limit reached");
      const events = await api.services.db
        .select()
        .from(platformEvents)
        .where(inArray(platformEvents.type, ["claim.confirmed", "claim.failed"]));
      assert.ok(events.some((event) => event.type === "claim.failed" && event.data.id === unsent.id));
      assert.ok(events.some((event) => event.type === "claim.confirmed" && event.data.id === paidClaim.id));
    });
  });
}
