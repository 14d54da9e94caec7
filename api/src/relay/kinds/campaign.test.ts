// The `campaign` job kind against a real chain, driven by hand (encode, send, receipt, settle) as
// the relayer drives it: publishing, updates, pause and resume, engagements and closing, in order.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { and, asc, eq, sql } from "drizzle-orm";
import { parseEventLogs, type Address } from "viem";
import { campaignRegistryAbi } from "../../../../abi/campaignRegistry.ts";
import { CampaignStatus } from "../../../../abi/enums.ts";
import { campaignCallers, type CampaignCallers } from "../../../test/campaign-fixtures.ts";
import {
  createTestTenant,
  startTestApiOn,
  startTestChain,
  testDatabases,
  type TestApi,
  type TestChain,
  type TestTenant,
} from "../../../test/harness.ts";
import { availableJobs, runJobs } from "../../../test/relay-by-hand.ts";
import { relayJobs } from "../../db/relaySchema.ts";
import { businesses } from "../../db/schema.ts";
import { CAMPAIGN_KIND, campaignBatchKey, campaignKind, HELD_UNTIL } from "./campaign.ts";

const UINT64_MAX = 2n ** 64n - 1n;
const hour = 3_600_000;

let chain: TestChain;
before(async () => (chain = await startTestChain()));
after(async () => chain.close());

for (const database of testDatabases()) {
  describe(`campaign jobs on ${database.name}`, () => {
    let api: TestApi;
    let a: TestTenant;
    let callers: CampaignCallers;
    let businessWallet: Address;

    const jobsOf = (campaignId: string) =>
      api.services.db
        .select()
        .from(relayJobs)
        .where(and(eq(relayJobs.kind, CAMPAIGN_KIND), eq(relayJobs.batchKey, campaignBatchKey(campaignId))))
        .orderBy(asc(sql`(${relayJobs.payload}->>'sequence')::int`));
    const registry = () => a.tenant.contracts.campaignRegistry as Address;
    const onChain = (id: string) =>
      chain.chains.get(a.tenant.chainId)!.publicClient.readContract({
        address: registry(),
        abi: campaignRegistryAbi,
        functionName: "getCampaign",
        args: [BigInt(id)],
      });
    const engagementOnChain = (id: string, business: Address) =>
      chain.chains.get(a.tenant.chainId)!.publicClient.readContract({
        address: registry(),
        abi: campaignRegistryAbi,
        functionName: "getEngagement",
        args: [BigInt(id), business],
      });
    const patch = async (path: string, body: Record<string, unknown>, method = "PATCH") => {
      const response = await api.request(method, path, { token: a.adminToken, body });
      assert.ok(response.status < 300, response.text);
      return response.body;
    };
    const onchainIdOf = async (id: string) =>
      (await api.request("GET", `/campaigns/${id}`, { token: a.adminToken })).body.onchainCampaignId as string | null;

    before(async () => {
      api = await startTestApiOn(database, { chain });
      a = await createTestTenant(api);
      callers = await campaignCallers(api, a);
      const [business] = await api.services.db
        .select({ walletAddress: businesses.walletAddress })
        .from(businesses)
        .where(eq(businesses.id, callers.business.id));
      businessWallet = business!.walletAddress as Address;
    });
    after(() => api.close());

    it("publishes a campaign when it first becomes ACTIVE: its config, payouts and engagements, one job at a time", async () => {
      const startsAt = new Date(Date.now() - hour);
      const endsAt = new Date(Date.now() + 48 * hour);
      const { id } = await patch(
        "/campaigns",
        {
          title: "On chain",
          budget: 10,
          maxClaimsPerUser: 2,
          startsAt: startsAt.toISOString(),
          endsAt: endsAt.toISOString(),
        },
        "POST",
      );
      await patch(`/campaigns/${id}/tokens`, { tokenAddress: a.tenant.contracts.pointsToken, amount: "25" }, "POST");
      await patch(`/campaigns/${id}/engagements`, { businessId: callers.business.id, maxClaims: 5 }, "POST");
      assert.equal((await jobsOf(id)).length, 0, "a DRAFT is not published");

      await patch(`/campaigns/${id}`, { status: "ACTIVE" });
      const jobs = await jobsOf(id);
      assert.deepEqual(
        jobs.map((job) => [job.payload.action, job.payload.sequence]),
        [
          ["create", 1],
          ["engagement", 2],
        ],
      );
      // Only the first is available to the relayer; the next waits until it settles.
      assert.ok(jobs[0]!.availableAt.getTime() <= Date.now());
      assert.equal(jobs[1]!.availableAt.getTime(), HELD_UNTIL.getTime());
      assert.deepEqual(
        (await availableJobs(api.services.db, campaignKind)).map((job) => job.id),
        [jobs[0]!.id],
      );

      const sent = await runJobs(api, chain, campaignKind);
      assert.equal(sent.length, 2);
      assert.ok(
        sent.every((transaction) => transaction.hash && !transaction.error),
        JSON.stringify(sent),
      );
      const onchainId = await onchainIdOf(id);
      assert.ok(onchainId && /^\d+$/.test(onchainId), `onchainCampaignId ${onchainId}`);
      const stored = await onChain(onchainId!);
      assert.equal(stored.status, CampaignStatus.ACTIVE);
      assert.equal(stored.start, Math.floor(startsAt.getTime() / 1000));
      assert.equal(stored.end, Math.floor(endsAt.getTime() / 1000));
      assert.equal(stored.budget, 10n);
      assert.equal(stored.perUserLimit, 2);
      const payouts = await chain.chains.get(a.tenant.chainId)!.publicClient.readContract({
        address: registry(),
        abi: campaignRegistryAbi,
        functionName: "getPayouts",
        args: [BigInt(onchainId!)],
      });
      assert.deepEqual(
        payouts.map((payout) => [payout.token.toLowerCase(), payout.id, payout.amount]),
        [[a.tenant.contracts.pointsToken.toLowerCase(), 0n, 25n]],
      );
      const engagement = await engagementOnChain(onchainId!, businessWallet);
      assert.equal(engagement.active, true);
      assert.equal(engagement.cap, 5n);
      assert.ok((await jobsOf(id)).every((job) => job.status === "CONFIRMED"));
    });

    it("sends updates, pauses, resumes, engagement changes and the close in the order they were made", async () => {
      const { id } = await patch("/campaigns", { title: "Changing", status: "ACTIVE" }, "POST");
      await patch(`/campaigns/${id}/tokens`, { tokenAddress: a.tenant.contracts.pointsToken, amount: "5" }, "POST");
      await runJobs(api, chain, campaignKind);
      const onchainId = (await onchainIdOf(id))!;
      assert.ok(onchainId);
      const unlimited = await onChain(onchainId);
      assert.equal(unlimited.budget, UINT64_MAX, "no budget is the widest budget");
      assert.equal(unlimited.perUserLimit, 0, "no cap per user is 0 on chain");

      await patch(`/campaigns/${id}`, { budget: 7, status: "PAUSED" });
      await patch(`/campaigns/${id}`, { status: "ACTIVE" });
      await patch(`/campaigns/${id}`, { title: "Renamed only" });
      const engaged = await patch(`/campaigns/${id}/engagements`, { businessId: callers.business.id }, "POST");
      await patch(`/campaigns/${id}/engagements/${engaged.id}`, { maxClaims: 3 });
      const queued = (await jobsOf(id)).filter((job) => job.status === "PENDING");
      assert.deepEqual(
        queued.map((job) => job.payload.action),
        ["update", "pause", "resume", "engagement", "engagement"],
        "a title is not on chain: no job for it",
      );
      assert.equal(queued.filter((job) => job.availableAt.getTime() < HELD_UNTIL.getTime()).length, 1);

      const sent = await runJobs(api, chain, campaignKind);
      assert.equal(sent.length, 5);
      const receipts = await Promise.all(
        sent.map((transaction) =>
          chain.chains.get(a.tenant.chainId)!.publicClient.getTransactionReceipt({ hash: transaction.hash! }),
        ),
      );
      const events = receipts.flatMap((receipt) =>
        parseEventLogs({ abi: campaignRegistryAbi, logs: receipt.logs }).map((log) => log.eventName),
      );
      assert.deepEqual(events, [
        "CampaignUpdated",
        "CampaignPaused",
        "CampaignResumed",
        "EngagementSet",
        "EngagementSet",
      ]);
      const stored = await onChain(onchainId);
      assert.equal(stored.status, CampaignStatus.ACTIVE);
      assert.equal(stored.budget, 7n);
      assert.equal((await engagementOnChain(onchainId, businessWallet)).cap, 3n);

      // The last payout of a campaign on chain stays (the registry needs one); removing the business stops it.
      const [payout] = (await api.request("GET", `/campaigns/${id}/tokens`, { token: a.adminToken })).body.data;
      const removal = await api.request("DELETE", `/campaigns/${id}/tokens/${payout.id}`, { token: a.adminToken });
      assert.equal(removal.status, 409, removal.text);
      await patch(`/campaigns/${id}/engagements/${engaged.id}`, {}, "DELETE");
      await patch(`/campaigns/${id}`, {}, "DELETE");
      await runJobs(api, chain, campaignKind);
      assert.equal((await engagementOnChain(onchainId, businessWallet)).active, false);
      assert.equal((await onChain(onchainId)).status, CampaignStatus.CLOSED);
    });

    it("publishes a campaign made ACTIVE before its payouts when the first payout arrives, and a PAUSED one paused", async () => {
      const { id } = await patch("/campaigns", { title: "Payouts later", status: "ACTIVE" }, "POST");
      await patch(`/campaigns/${id}`, { status: "PAUSED" });
      assert.equal((await jobsOf(id)).length, 0, "nothing to publish without a payout");
      await patch(`/campaigns/${id}/tokens`, { tokenAddress: a.tenant.contracts.pointsToken, amount: "1" }, "POST");
      assert.deepEqual(
        (await jobsOf(id)).map((job) => job.payload.action),
        ["create", "pause"],
      );
      await runJobs(api, chain, campaignKind);
      const onchainId = (await onchainIdOf(id))!;
      assert.equal((await onChain(onchainId)).status, CampaignStatus.PAUSED);
      // A DRAFT closed without ever being ACTIVE never reaches the chain.
      const { id: draft } = await patch("/campaigns", { title: "Never" }, "POST");
      await patch(`/campaigns/${draft}/tokens`, { tokenAddress: a.tenant.contracts.pointsToken, amount: "1" }, "POST");
      await patch(`/campaigns/${draft}`, { status: "CLOSED" });
      assert.equal((await jobsOf(draft)).length, 0);
    });

    it("a job that fails lets the next go, and a campaign whose creation failed is published again on its next change", async () => {
      const { id } = await patch("/campaigns", { title: "Fails first", status: "ACTIVE" }, "POST");
      await patch(`/campaigns/${id}/tokens`, { tokenAddress: a.tenant.contracts.pointsToken, amount: "3" }, "POST");
      const [create] = await jobsOf(id);
      // Break the create (it names a campaign that does not exist): encode throws and the job fails.
      await api.services.db
        .update(relayJobs)
        .set({ payload: { ...create!.payload, campaignId: "00000000-0000-4000-8000-000000000000" } })
        .where(eq(relayJobs.id, create!.id));
      const failed = await runJobs(api, chain, campaignKind, [create!.id]);
      assert.ok(failed[0]?.error?.includes("no longer exists"), JSON.stringify(failed));
      assert.equal(await onchainIdOf(id), null);

      await patch(`/campaigns/${id}`, { status: "PAUSED" });
      await patch(`/campaigns/${id}`, { status: "ACTIVE" });
      const queued = (await jobsOf(id)).filter((job) => job.status === "PENDING");
      assert.deepEqual(
        queued.map((job) => job.payload.action),
        ["create", "pause", "resume"],
      );
      await runJobs(api, chain, campaignKind);
      const onchainId = await onchainIdOf(id);
      assert.ok(onchainId);
      assert.equal((await onChain(onchainId)).status, CampaignStatus.ACTIVE);
    });
  });
}
