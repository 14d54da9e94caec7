// Issuing a tenant's tokens outside a programme: PointsToken.issue(to, amount, reason, reference), or
// the reward or status token's issue(to, id, amount, reason, reference) for a class, one per
// transaction, by the platform signer (it holds ISSUER_ROLE on every tenant token it created).
// A reference is used once on chain, so a job carried twice (a dropped transaction, a crash) issues
// once: a repeat reverts with TokenReferenceUsed, which this kind takes as done. An admin's MINT
// (transaction_requests) rides this kind and is settled with its job.
import { and, eq, inArray } from "drizzle-orm";
import { encodeFunctionData, getAddress, type Address, type Hash, type Hex } from "viem";
import { pointsTokenAbi } from "../../../../abi/pointsToken.ts";
import { rewardTokenAbi } from "../../../../abi/rewardToken.ts";
import { IssueReason } from "../../../../abi/enums.ts";
import type { Database } from "../../db/client.ts";
import { transactionRequests } from "../../db/redemptionsSchema.ts";
import { relayJobs } from "../../db/relaySchema.ts";
import { recordEvent } from "../../events/outbox.ts";
import { enqueue, type Job, type JobContext, type JobKind } from "../jobs.ts";

export type IssuePayload = {
  /** One of the tenant's tokens; its first points token when absent. */
  token?: Address;
  /** The class of a reward or status token, as a decimal string; absent for points. */
  tokenId?: string;
  to: Address;
  /** In the token's smallest unit, as a decimal string. */
  amount: string;
  reason: keyof typeof IssueReason;
  /** 32 bytes naming the payment or grant; the token refuses a second issue with it. */
  reference: Hex;
};

export type IssueHooks = {
  /** The points were issued (by this job's transaction or, for a repeat, by an earlier one). */
  onIssued?: (job: Job<IssuePayload>, issued: { transactionHash: Hash | null }, context: JobContext) => Promise<void>;
  onFailed?: (job: Job<IssuePayload>, reason: string, context: JobContext) => Promise<void>;
};

export const ISSUE_KIND = "points.issue";

export function createIssueKind(hooks: IssueHooks = {}, name = ISSUE_KIND): JobKind<IssuePayload> {
  return {
    name,
    maxBatch: 1,
    encode: async ([job], { tenant }) => ({
      to: tokenOf(job!, tenant),
      data: encodeIssue(job!.payload),
    }),
    settle: async (jobs, receipt, context) => {
      for (const job of jobs) await hooks.onIssued?.(job, { transactionHash: receipt.transactionHash }, context);
    },
    fail: async (jobs, reason, context) => {
      for (const job of jobs) {
        const earlier = await earlierIssue(job, context);
        if (earlier === undefined) {
          await hooks.onFailed?.(job, reason, context);
          continue;
        }
        // Already issued: the job is done, not failed.
        await context.db
          .update(relayJobs)
          .set({ status: "CONFIRMED", error: null, updatedAt: new Date() })
          .where(eq(relayJobs.id, job.id));
        await hooks.onIssued?.(job, { transactionHash: earlier }, context);
      }
    },
  };
}

const tokenOf = (job: Job<IssuePayload>, tenant: JobContext["tenant"]) =>
  getAddress(job.payload.token ?? tenant.contracts.pointsToken);

/**
 * The token's issue call. The reward and status tokens share their issue function (and its
 * `Issued` event) from one base contract, so the reward token's ABI encodes both.
 */
export function encodeIssue(payload: IssuePayload): Hex {
  const [to, amount, reason] = [getAddress(payload.to), BigInt(payload.amount), IssueReason[payload.reason]];
  return payload.tokenId === undefined
    ? encodeFunctionData({ abi: pointsTokenAbi, functionName: "issue", args: [to, amount, reason, payload.reference] })
    : encodeFunctionData({
        abi: rewardTokenAbi,
        functionName: "issue",
        args: [to, BigInt(payload.tokenId), amount, reason, payload.reference],
      });
}

/** The transaction that issued this job's reference (null if its event is not found), or undefined if none did. */
async function earlierIssue(job: Job<IssuePayload>, { chain, tenant }: JobContext): Promise<Hash | null | undefined> {
  const token = tokenOf(job, tenant);
  const used = await chain.publicClient.readContract({
    address: token,
    abi: pointsTokenAbi,
    functionName: "isReferenceUsed",
    args: [job.payload.reference],
  });
  if (!used) return undefined;
  const [event] = await chain.publicClient.getContractEvents({
    address: token,
    abi: job.payload.tokenId === undefined ? pointsTokenAbi : rewardTokenAbi,
    eventName: "Issued",
    args: { ref: job.payload.reference },
    fromBlock: 0n,
  });
  return event?.transactionHash ?? null;
}

type GrantSettlement = { status: "COMPLETED"; transactionHash: Hash | null } | { status: "FAILED"; error: string };

/** Settles the MINT request the job carries, if any, and records `transaction.confirmed` once. */
async function settleGrant(job: Job<IssuePayload>, settlement: GrantSettlement, { db, tenant }: JobContext) {
  await db.transaction(async (tx) => {
    const [row] = await tx
      .update(transactionRequests)
      .set({
        status: settlement.status,
        ...(settlement.status === "COMPLETED"
          ? { transactionHash: settlement.transactionHash, error: null }
          : { error: settlement.error }),
        updatedAt: new Date(),
      })
      .where(
        and(
          eq(transactionRequests.jobId, job.id),
          eq(transactionRequests.tenantId, tenant.id),
          inArray(transactionRequests.status, ["PENDING", "PROCESSING"]),
        ),
      )
      .returning();
    if (!row || settlement.status !== "COMPLETED") return;
    await recordEvent(tx as unknown as Database, {
      tenantId: tenant.id,
      type: "transaction.confirmed",
      data: {
        transactionId: row.id,
        type: row.type,
        token: row.token,
        tokenId: row.tokenId,
        from: row.from,
        to: row.to,
        amount: row.amount,
        transactionHash: settlement.transactionHash,
      },
    });
  });
}

export const issueKind = createIssueKind({
  onIssued: (job, { transactionHash }, context) => settleGrant(job, { status: "COMPLETED", transactionHash }, context),
  onFailed: (job, reason, context) => settleGrant(job, { status: "FAILED", error: reason }, context),
});

/** Queues an issue; pass the caller's database transaction so that it commits with the caller's record. */
export function enqueueIssue(
  db: Pick<Database, "insert">,
  issue: { tenantId: string; chainId: number } & IssuePayload,
): Promise<string> {
  const { tenantId, chainId, ...payload } = issue;
  return enqueue(db, { tenantId, chainId, kind: ISSUE_KIND, payload });
}
