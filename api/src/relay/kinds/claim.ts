// The `claim` job kind: accepted claims of one registry travel together in CampaignRegistry.claimBatch,
// up to CLAIM_BATCH_MAX per transaction (fewer when that fills blocks better). Each claim carries its
// own claim id, which the registry pays at most once: a batch sent again after a crash skips the ids
// already paid (CampaignClaimIdUsed), and those claims count as confirmed, never paid twice.
import { and, eq, notInArray, sql } from "drizzle-orm";
import {
  encodeFunctionData,
  keccak256,
  parseEventLogs,
  slice,
  toBytes,
  zeroAddress,
  type Address,
  type Hash,
  type Hex,
  type TransactionReceipt,
} from "viem";
import { campaignRegistryAbi } from "../../../../abi/campaignRegistry.ts";
import { ClaimSource } from "../../../../abi/enums.ts";
import type { Level } from "../../auth/principal.ts";
import { claims, platformEvents } from "../../db/relaySchema.ts";
import { campaignEngagements, campaigns } from "../../db/schema.ts";
import { recordEvent, recordEvents } from "../../events/outbox.ts";
import { groupBy } from "../context.ts";
import type { Job, JobContext, JobKind } from "../jobs.ts";
import { anyOf } from "../../db/anyOf.ts";

export const CLAIM_KIND = "claim";
/**
 * Claims per claimBatch at most: with one points payout a claim costs about 56k gas for a new holder
 * (22k for an existing one), so even a batch of new holders stays within 2^24 gas. The relayer makes
 * batches smaller to fill blocks (submitter.ts, batchGasTarget).
 */
export const CLAIM_BATCH_MAX = 250;

export type ClaimJobPayload = {
  /** The claims row. */
  claimId: string;
  /** Decimal strings: uint256 on chain. */
  onchainClaimId: string;
  onchainCampaignId: string;
  recipient: Address;
  source: Level;
  /** The business bringing the claim, or the zero address. */
  business: Address;
};

export const claimBatchKey = (registry: string) => `claims:${registry.toLowerCase()}`;

/** The registry's custom errors by selector, to name the reason of a ClaimSkipped. */
const ERROR_NAMES = new Map<string, string>(
  campaignRegistryAbi
    .filter((item) => item.type === "error")
    .map((item) => {
      const signature = `${item.name}(${item.inputs.map((input) => input.type).join(",")})`;
      return [slice(keccak256(toBytes(signature)), 0, 4), item.name];
    }),
);
const CLAIM_ID_USED = [...ERROR_NAMES].find(([, name]) => name === "CampaignClaimIdUsed")![0];

const registryOf = (context: JobContext) => context.tenant.contracts.campaignRegistry as Address;

type Outcome = { status: "CONFIRMED"; transactionHash: Hash | null } | { status: "FAILED"; error: string };

/**
 * Records each job's outcome on its claim (once: a settle repeated after a crash changes nothing) and
 * its event. One UPDATE per distinct outcome and one INSERT for all the events, whatever the batch's
 * size: settling runs inside the confirmer's transaction, which must stay short.
 */
async function record(context: JobContext, outcomes: Map<Job<ClaimJobPayload>, Outcome>) {
  const changed = new Map<string, { row: typeof claims.$inferSelect; outcome: Outcome }>();
  const alike = groupBy([...outcomes], ([, outcome]) =>
    outcome.status === "CONFIRMED" ? `CONFIRMED\u0000${outcome.transactionHash}` : `FAILED\u0000${outcome.error}`,
  );
  for (const group of alike) {
    const outcome = group[0]![1];
    const rows = await context.db
      .update(claims)
      .set({
        status: outcome.status,
        transactionHash: outcome.status === "CONFIRMED" ? outcome.transactionHash : null,
        error: outcome.status === "FAILED" ? outcome.error : null,
        updatedAt: new Date(),
      })
      .where(
        and(
          eq(claims.tenantId, context.tenant.id),
          anyOf(
            claims.id,
            group.map(([job]) => job.payload.claimId),
          ),
          notInArray(claims.status, ["CONFIRMED", "FAILED"]),
        ),
      )
      .returning();
    for (const row of rows) changed.set(row.id, { row, outcome });
  }
  // Events in the order of the jobs.
  const events = [...outcomes.keys()].flatMap((job) => {
    const found = changed.get(job.payload.claimId);
    if (!found) return [];
    const { row, outcome } = found;
    const data = {
      id: row.id,
      claimId: String(row.onchainClaimId),
      campaignId: row.campaignId,
      userId: row.userId,
      recipient: row.recipient,
      source: row.source,
      businessId: row.businessId,
      ...(outcome.status === "CONFIRMED" ? { transactionHash: outcome.transactionHash } : { error: outcome.error }),
    };
    const type = outcome.status === "CONFIRMED" ? ("claim.confirmed" as const) : ("claim.failed" as const);
    return [{ tenantId: context.tenant.id, type, data }];
  });
  await recordEvents(context.db, events);
  await uncountFailed(
    context,
    [...changed.values()].filter(({ outcome }) => outcome.status === "FAILED").map(({ row }) => row),
  );
}

/** Failed claims leave their campaign's budget and their business's cap (see claims/eligibility.ts). */
async function uncountFailed(context: JobContext, failed: (typeof claims.$inferSelect)[]) {
  // In id order, as every transaction that takes these rows' locks should.
  const byCampaign = groupBy(failed, (row) => row.campaignId).sort((a, b) =>
    a[0]!.campaignId.localeCompare(b[0]!.campaignId),
  );
  for (const group of byCampaign) {
    await context.db
      .update(campaigns)
      .set({ liveClaims: sql`greatest(${campaigns.liveClaims} - ${group.length}, 0)` })
      .where(and(eq(campaigns.tenantId, context.tenant.id), eq(campaigns.id, group[0]!.campaignId)));
    const byBusiness = groupBy(
      group.filter((row) => row.businessId !== null),
      (row) => row.businessId!,
    ).sort((a, b) => a[0]!.businessId!.localeCompare(b[0]!.businessId!));
    for (const business of byBusiness) {
      await context.db
        .update(campaignEngagements)
        .set({ liveClaims: sql`greatest(${campaignEngagements.liveClaims} - ${business.length}, 0)` })
        .where(
          and(
            eq(campaignEngagements.tenantId, context.tenant.id),
            eq(campaignEngagements.campaignId, group[0]!.campaignId),
            eq(campaignEngagements.businessId, business[0]!.businessId!),
          ),
        );
    }
  }
}

/**
 * The outcome of a job whose claim id the registry already holds: confirmed only if the earlier
 * payment was this very claim (same campaign and recipient, as after a crash and a repeat). The id
 * may have been used by someone else (a tenant's own voucher or direct claim): then this claim was
 * not paid, and saying so matters more than the id.
 */
async function earlierPayment(context: JobContext, job: Job<ClaimJobPayload>): Promise<Outcome> {
  const claimId = BigInt(job.payload.onchainClaimId);
  let logs;
  try {
    logs = await context.chain.publicClient.getContractEvents({
      address: registryOf(context),
      abi: campaignRegistryAbi,
      eventName: "Claimed",
      args: { claimId },
      fromBlock: 0n,
    });
  } catch {
    return { status: "FAILED", error: `claim id ${claimId} is used; its payment could not be read from the chain` };
  }
  const mine = logs.find(
    (log) =>
      log.args.campaignId === BigInt(job.payload.onchainCampaignId) &&
      log.args.recipient?.toLowerCase() === job.payload.recipient.toLowerCase(),
  );
  if (mine) return { status: "CONFIRMED", transactionHash: mine.transactionHash };
  return { status: "FAILED", error: `CampaignClaimIdUsed: claim id ${claimId} paid another claim` };
}

async function budgetsSpent(context: JobContext, receipt: TransactionReceipt) {
  const spent = parseEventLogs({
    abi: campaignRegistryAbi,
    eventName: "CampaignBudgetSpent",
    logs: receipt.logs.filter((log) => log.address.toLowerCase() === registryOf(context).toLowerCase()),
  });
  for (const log of spent) {
    const [campaign] = await context.db
      .select({ id: campaigns.id })
      .from(campaigns)
      .where(
        and(eq(campaigns.tenantId, context.tenant.id), eq(campaigns.onchainCampaignId, log.args.campaignId.toString())),
      );
    if (!campaign) continue;
    const [already] = await context.db
      .select({ id: platformEvents.id })
      .from(platformEvents)
      .where(
        and(
          eq(platformEvents.tenantId, context.tenant.id),
          eq(platformEvents.type, "campaign.budget_exhausted"),
          sql`${platformEvents.data}->>'campaignId' = ${campaign.id}`,
        ),
      );
    if (already) continue;
    await recordEvent(context.db, {
      tenantId: context.tenant.id,
      type: "campaign.budget_exhausted",
      data: {
        campaignId: campaign.id,
        onchainCampaignId: log.args.campaignId.toString(),
        budget: log.args.budget.toString(),
        transactionHash: receipt.transactionHash,
      },
    });
  }
}

export const claimKind: JobKind<ClaimJobPayload> = {
  name: CLAIM_KIND,
  maxBatch: CLAIM_BATCH_MAX,
  async encode(jobs, context): Promise<{ to: Address; data: Hex }> {
    const requests = jobs.map(({ payload }) => ({
      campaignId: BigInt(payload.onchainCampaignId),
      claimId: BigInt(payload.onchainClaimId),
      recipient: payload.recipient,
      source: ClaimSource[payload.source],
      business: payload.business ?? zeroAddress,
    }));
    return {
      to: registryOf(context),
      data: encodeFunctionData({ abi: campaignRegistryAbi, functionName: "claimBatch", args: [requests] }),
    };
  },

  async settle(jobs, receipt, context) {
    if (receipt.status !== "success") return claimKind.fail(jobs, "the transaction reverted", context);
    const logs = receipt.logs.filter((log) => log.address.toLowerCase() === registryOf(context).toLowerCase());
    const claimed = new Set(
      parseEventLogs({ abi: campaignRegistryAbi, eventName: "Claimed", logs }).map((log) => log.args.claimId),
    );
    const skipped = new Map(
      parseEventLogs({ abi: campaignRegistryAbi, eventName: "ClaimSkipped", logs }).map((log) => [
        log.args.claimId,
        log.args.reason,
      ]),
    );
    const outcomes = new Map<Job<ClaimJobPayload>, Outcome>();
    for (const job of jobs) {
      const claimId = BigInt(job.payload.onchainClaimId);
      const reason = skipped.get(claimId);
      if (claimed.has(claimId)) {
        outcomes.set(job, { status: "CONFIRMED", transactionHash: receipt.transactionHash });
      } else if (reason === CLAIM_ID_USED) {
        // Used by an earlier transaction: this claim repeated after a crash (confirmed), or another one.
        outcomes.set(job, await earlierPayment(context, job));
      } else if (reason !== undefined) {
        outcomes.set(job, { status: "FAILED", error: ERROR_NAMES.get(reason) ?? `skipped (${reason})` });
      } else {
        outcomes.set(job, { status: "FAILED", error: "the transaction has no outcome for this claim" });
      }
    }
    await record(context, outcomes);
    await budgetsSpent(context, receipt);
  },

  async fail(jobs, reason, context) {
    // A claim id the registry already holds may have paid this claim before, whatever failed now.
    const outcomes = new Map<Job<ClaimJobPayload>, Outcome>();
    for (const job of jobs) {
      const claimId = BigInt(job.payload.onchainClaimId);
      const used = await context.chain.publicClient
        .readContract({
          address: registryOf(context),
          abi: campaignRegistryAbi,
          functionName: "isClaimIdUsed",
          args: [claimId],
        })
        .catch(() => false);
      outcomes.set(job, used ? await earlierPayment(context, job) : { status: "FAILED", error: reason });
    }
    await record(context, outcomes);
  },
};
