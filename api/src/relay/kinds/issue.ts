// Issuing a tenant's points outside a programme: PointsToken.issue(to, amount, reason, reference),
// one per transaction, by the platform signer (it holds ISSUER_ROLE on every tenant it created).
// A reference is used once on chain, so a job carried twice (a dropped transaction, a crash) issues
// once: a repeat reverts with TokenReferenceUsed, which this kind takes as done.
import { encodeFunctionData, getAddress, type Address, type Hash, type Hex } from "viem";
import { eq } from "drizzle-orm";
import { pointsTokenAbi } from "../../../../abi/pointsToken.ts";
import { IssueReason } from "../../../../abi/enums.ts";
import type { Database } from "../../db/client.ts";
import { relayJobs } from "../../db/relaySchema.ts";
import { enqueue, type Job, type JobContext, type JobKind } from "../jobs.ts";

export type IssuePayload = {
  /** One of the tenant's points tokens; its first one when absent. */
  token?: Address;
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
      data: encodeFunctionData({
        abi: pointsTokenAbi,
        functionName: "issue",
        args: [
          getAddress(job!.payload.to),
          BigInt(job!.payload.amount),
          IssueReason[job!.payload.reason],
          job!.payload.reference,
        ],
      }),
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
    abi: pointsTokenAbi,
    eventName: "Issued",
    args: { ref: job.payload.reference },
    fromBlock: 0n,
  });
  return event?.transactionHash ?? null;
}

export const issueKind = createIssueKind();

/** Queues an issue; pass the caller's database transaction so that it commits with the caller's record. */
export function enqueueIssue(
  db: Pick<Database, "insert">,
  issue: { tenantId: string; chainId: number } & IssuePayload,
): Promise<string> {
  const { tenantId, chainId, ...payload } = issue;
  return enqueue(db, { tenantId, chainId, kind: ISSUE_KIND, payload });
}
