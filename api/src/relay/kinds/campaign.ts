// The `campaign` job kind: writes a campaign's accounting half to the tenant's CampaignRegistry
// (create, update, pause, resume, close, and each engaged business's cap).
//
// Order. The jobs of one campaign must reach the chain one at a time and in the order they were
// asked for (an update before its campaign exists reverts; a resume overtaking its pause leaves the
// campaign paused). Each job carries a `sequence` (per campaign, counted under a lock of the campaign
// row) and is enqueued *held*: available only at a far date, so the relayer does not take it.
// `advanceCampaignJobs` releases the first unfinished job of the campaign, and only it; it runs after
// every enqueue and when a job settles or fails (which marks its payload `settled`), both under the
// same row lock, so exactly one job of a campaign is ever available or in flight. It is idempotent:
// a settle repeated after a crash releases nothing twice.
//
// What a job writes is read when it is encoded, not when it was asked for: an update sends the
// campaign as it is then, so a run of quick edits converges on the last one.
import { and, asc, eq, inArray, isNull, sql } from "drizzle-orm";
import { encodeFunctionData, parseEventLogs, type Address, type Hex, type TransactionReceipt } from "viem";
import { campaignRegistryAbi } from "../../../../abi/campaignRegistry.ts";
import type { Database } from "../../db/client.ts";
import { relayJobs } from "../../db/relaySchema.ts";
import { campaignEngagements, campaignTokens, campaigns } from "../../db/schema.ts";
import { enqueue, type Job, type JobContext, type JobKind } from "../jobs.ts";

export const CAMPAIGN_KIND = "campaign";

export type CampaignAction =
  | { action: "create" }
  | { action: "update" }
  | { action: "pause" }
  | { action: "resume" }
  | { action: "close" }
  /** The business's engagement as it is when encoded; a removed one is written inactive. */
  | { action: "engagement"; businessId: string; business: Address };

export type CampaignJobPayload = CampaignAction & {
  campaignId: string;
  sequence: number;
  /** Set when the job settled or failed: the next job of the campaign may go. */
  settled?: true;
};

/** A held job's availableAt: later than any relayer will look. */
export const HELD_UNTIL = new Date("9999-12-31T00:00:00Z");
const UINT40_MAX = 2 ** 40 - 1;
const UINT64_MAX = 2n ** 64n - 1n;

export const campaignBatchKey = (campaignId: string) => `campaign:${campaignId}`;

type Db = Pick<Database, "select" | "insert" | "update">;

const lockCampaign = (db: Db, campaignId: string) =>
  db.select({ id: campaigns.id }).from(campaigns).where(eq(campaigns.id, campaignId)).for("update");

/** Releases the campaign's first unfinished job if it is held. Call under the campaign's row lock. */
export async function advanceCampaignJobs(db: Db, campaignId: string): Promise<void> {
  const [first] = await db
    .select({ id: relayJobs.id, status: relayJobs.status, availableAt: relayJobs.availableAt })
    .from(relayJobs)
    .where(
      and(
        eq(relayJobs.batchKey, campaignBatchKey(campaignId)),
        inArray(relayJobs.status, ["PENDING", "SUBMITTED"]),
        isNull(sql`${relayJobs.payload}->>'settled'`),
      ),
    )
    .orderBy(asc(sql`(${relayJobs.payload}->>'sequence')::int`))
    .limit(1);
  if (first && first.status === "PENDING" && first.availableAt.getTime() >= HELD_UNTIL.getTime()) {
    await db
      .update(relayJobs)
      .set({ availableAt: new Date(), updatedAt: new Date() })
      .where(eq(relayJobs.id, first.id));
  }
}

/**
 * Asks for a campaign write; pass the transaction that changes the campaign, so both commit together.
 * The job runs after every earlier job of the campaign has settled or failed.
 */
export async function enqueueCampaignJob(
  db: Db,
  job: { tenantId: string; chainId: number; campaignId: string } & CampaignAction,
): Promise<string> {
  const { tenantId, chainId, campaignId, ...action } = job;
  await lockCampaign(db, campaignId);
  const batchKey = campaignBatchKey(campaignId);
  const [last] = await db
    .select({ sequence: sql<number>`coalesce(max((${relayJobs.payload}->>'sequence')::int), 0)`.mapWith(Number) })
    .from(relayJobs)
    .where(eq(relayJobs.batchKey, batchKey));
  const payload: CampaignJobPayload = { ...action, campaignId, sequence: (last?.sequence ?? 0) + 1 };
  const id = await enqueue(db, { tenantId, chainId, kind: CAMPAIGN_KIND, batchKey, payload, availableAt: HELD_UNTIL });
  await advanceCampaignJobs(db, campaignId);
  return id;
}

/** Whether the campaign is on chain, or on its way there (a create job not failed). */
export async function publication(db: Db, campaignId: string): Promise<"published" | "pending" | "none"> {
  const [row] = await db
    .select({ onchainCampaignId: campaigns.onchainCampaignId })
    .from(campaigns)
    .where(eq(campaigns.id, campaignId));
  if (row?.onchainCampaignId) return "published";
  const [create] = await db
    .select({ id: relayJobs.id })
    .from(relayJobs)
    .where(
      and(
        eq(relayJobs.batchKey, campaignBatchKey(campaignId)),
        eq(relayJobs.kind, CAMPAIGN_KIND),
        sql`${relayJobs.payload}->>'action' = 'create'`,
        inArray(relayJobs.status, ["PENDING", "SUBMITTED", "CONFIRMED"]),
      ),
    )
    .limit(1);
  return create ? "pending" : "none";
}

/** The registry's CampaignConfig for a campaign row: no window end, budget or cap is the widest. */
export function campaignConfig(row: typeof campaigns.$inferSelect) {
  return {
    start: row.startsAt ? Math.floor(row.startsAt.getTime() / 1000) : 0,
    end: row.endsAt ? Math.floor(row.endsAt.getTime() / 1000) : UINT40_MAX,
    perUserLimit: row.maxClaimsPerUser ?? 0,
    budget: row.budget === null ? UINT64_MAX : BigInt(row.budget),
  };
}

export async function payoutsOf(db: Db, tenantId: string, campaignId: string) {
  const rows = await db
    .select()
    .from(campaignTokens)
    .where(and(eq(campaignTokens.tenantId, tenantId), eq(campaignTokens.campaignId, campaignId)))
    .orderBy(asc(campaignTokens.createdAt), asc(campaignTokens.id));
  return rows.map((row) => ({
    token: row.tokenAddress as Address,
    id: BigInt(row.tokenId),
    amount: BigInt(row.amount),
  }));
}

const registryOf = (context: JobContext) => context.tenant.contracts.campaignRegistry as Address;

async function campaignOf(context: JobContext, campaignId: string) {
  const [row] = await context.db
    .select()
    .from(campaigns)
    .where(and(eq(campaigns.id, campaignId), eq(campaigns.tenantId, context.tenant.id)));
  if (!row) throw new Error(`campaign ${campaignId} no longer exists`);
  return row;
}

async function encodeOne(job: Job<CampaignJobPayload>, context: JobContext): Promise<Hex> {
  const { payload } = job;
  const row = await campaignOf(context, payload.campaignId);
  if (payload.action === "create") {
    const payouts = await payoutsOf(context.db, context.tenant.id, row.id);
    return encodeFunctionData({
      abi: campaignRegistryAbi,
      functionName: "createCampaign",
      args: [campaignConfig(row), payouts],
    });
  }
  if (!row.onchainCampaignId) throw new Error(`campaign ${row.id} is not on chain: its creation failed`);
  const onchainId = BigInt(row.onchainCampaignId);
  switch (payload.action) {
    case "update":
      return encodeFunctionData({
        abi: campaignRegistryAbi,
        functionName: "updateCampaign",
        args: [onchainId, campaignConfig(row), await payoutsOf(context.db, context.tenant.id, row.id)],
      });
    case "pause":
      return encodeFunctionData({ abi: campaignRegistryAbi, functionName: "pauseCampaign", args: [onchainId] });
    case "resume":
      return encodeFunctionData({ abi: campaignRegistryAbi, functionName: "resumeCampaign", args: [onchainId] });
    case "close":
      return encodeFunctionData({ abi: campaignRegistryAbi, functionName: "closeCampaign", args: [onchainId] });
    case "engagement": {
      const [engagement] = await context.db
        .select()
        .from(campaignEngagements)
        .where(
          and(
            eq(campaignEngagements.tenantId, context.tenant.id),
            eq(campaignEngagements.campaignId, row.id),
            eq(campaignEngagements.businessId, payload.businessId),
          ),
        );
      const active = Boolean(engagement?.active);
      const cap = active ? (engagement!.maxClaims === null ? UINT64_MAX : BigInt(engagement!.maxClaims)) : 0n;
      return encodeFunctionData({
        abi: campaignRegistryAbi,
        functionName: "setEngagement",
        args: [onchainId, payload.business, active, cap],
      });
    }
  }
}

/** Marks the jobs settled and lets the next job of each campaign go. */
async function finish(db: Db, jobs: readonly Job<CampaignJobPayload>[]) {
  for (const job of jobs) {
    await lockCampaign(db, job.payload.campaignId);
    await db
      .update(relayJobs)
      .set({ payload: sql`${relayJobs.payload} || '{"settled":true}'::jsonb`, updatedAt: new Date() })
      .where(eq(relayJobs.id, job.id));
    await advanceCampaignJobs(db, job.payload.campaignId);
  }
}

export const campaignKind: JobKind<CampaignJobPayload> = {
  name: CAMPAIGN_KIND,
  maxBatch: 1,
  async encode(jobs, context) {
    if (jobs.length !== 1) throw new Error("campaign jobs travel one per transaction");
    return { to: registryOf(context), data: await encodeOne(jobs[0]!, context) };
  },
  async settle(jobs, receipt: TransactionReceipt, context) {
    if (receipt.status !== "success") return campaignKind.fail(jobs, "the transaction reverted", context);
    const registry = registryOf(context).toLowerCase();
    for (const job of jobs) {
      if (job.payload.action !== "create") continue;
      const [created] = parseEventLogs({
        abi: campaignRegistryAbi,
        eventName: "CampaignCreated",
        logs: receipt.logs.filter((log) => log.address.toLowerCase() === registry),
      });
      if (!created) throw new Error(`transaction ${receipt.transactionHash} created no campaign`);
      await context.db
        .update(campaigns)
        .set({ onchainCampaignId: created.args.campaignId.toString(), updatedAt: new Date() })
        .where(and(eq(campaigns.id, job.payload.campaignId), eq(campaigns.tenantId, context.tenant.id)));
    }
    await finish(context.db, jobs);
  },
  async fail(jobs, _reason, context) {
    // The relayer records the reason on the job; the campaign's later jobs still go (an update
    // after a failed create fails in its turn, since the campaign has no on-chain id).
    await finish(context.db, jobs);
  },
};
