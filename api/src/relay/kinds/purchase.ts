// The `purchase` job: issue a paid purchase's points with PointsToken.issue(to, amount, PURCHASE,
// reference). The reference is unique per provider and payment and the token refuses to use one
// twice, so a payment is issued at most once whatever the relayer repeats; a job whose call fails
// because its reference is already used was issued by an earlier transaction and completes.
import { and, eq, ne } from "drizzle-orm";
import { encodeFunctionData, getAddress, keccak256, parseEventLogs, stringToHex, type Address, type Hex } from "viem";
import { IssueReason } from "../../../../abi/enums.ts";
import { pointsTokenAbi } from "../../../../abi/pointsToken.ts";
import { purchases } from "../../db/purchasesSchema.ts";
import { recordEvent } from "../../events/outbox.ts";
import type { Job, JobContext, JobKind } from "../jobs.ts";

export const PURCHASE_JOB = "purchase";

export type PurchasePayload = {
  purchaseId: string;
  token: Address;
  to: Address;
  /** Points in the token's smallest unit, a decimal string. */
  amount: string;
  reference: Hex;
};

/** The issue's reference: keccak256 of `<providerId>:<paymentId>`. */
export const purchaseReference = (providerId: string, paymentId: string): Hex =>
  keccak256(stringToHex(`${providerId}:${paymentId}`));

/** Marks the purchase completed by `transactionHash` and records `purchase.completed`, once. */
async function complete(job: Job<PurchasePayload>, transactionHash: Hex | null, { db, tenant }: JobContext) {
  await db.transaction(async (tx) => {
    const [row] = await tx
      .update(purchases)
      .set({ status: "COMPLETED", transactionHash, error: null, updatedAt: new Date() })
      .where(
        and(
          eq(purchases.id, job.payload.purchaseId),
          eq(purchases.tenantId, tenant.id),
          ne(purchases.status, "COMPLETED"),
        ),
      )
      .returning();
    if (!row) return;
    await recordEvent(tx, {
      tenantId: tenant.id,
      type: "purchase.completed",
      data: {
        purchaseId: row.id,
        providerId: row.providerId,
        paymentId: row.paymentId,
        userId: row.userId,
        recipient: row.recipient,
        currency: row.currency,
        amountMinor: row.amountMinor,
        points: row.points,
        chainId: row.chainId,
        tokenAddress: row.tokenAddress,
        transactionHash,
      },
    });
  });
}

/**
 * Whether the token has issued under the job's reference: undefined if not, else the transaction
 * that did (null when the chain's logs cannot say, e.g. an RPC that limits log queries).
 */
async function issuedBy(job: Job<PurchasePayload>, { chain }: JobContext): Promise<Hex | null | undefined> {
  const { token, reference } = job.payload;
  const used = await chain.publicClient.readContract({
    address: token,
    abi: pointsTokenAbi,
    functionName: "isReferenceUsed",
    args: [reference],
  });
  if (!used) return undefined;
  try {
    const [log] = await chain.publicClient.getContractEvents({
      address: token,
      abi: pointsTokenAbi,
      eventName: "Issued",
      args: { ref: reference },
      fromBlock: 0n,
      strict: true,
    });
    return log?.transactionHash ?? null;
  } catch {
    return null;
  }
}

export const purchaseKind: JobKind<PurchasePayload> = {
  name: PURCHASE_JOB,
  maxBatch: 1,

  encode: async (jobs) => {
    if (jobs.length !== 1) throw new Error(`purchase jobs are sent one per transaction, got ${jobs.length}`);
    const { token, to, amount, reference } = jobs[0]!.payload;
    return {
      to: getAddress(token),
      data: encodeFunctionData({
        abi: pointsTokenAbi,
        functionName: "issue",
        args: [getAddress(to), BigInt(amount), IssueReason.PURCHASE, reference],
      }),
    };
  },

  settle: async (jobs, receipt, context) => {
    const issued = parseEventLogs({ abi: pointsTokenAbi, eventName: "Issued", logs: receipt.logs });
    for (const job of jobs) {
      const mine = issued.some(
        (log) =>
          log.args.ref === job.payload.reference && log.address.toLowerCase() === job.payload.token.toLowerCase(),
      );
      const hash = mine ? receipt.transactionHash : await issuedBy(job, context);
      if (hash !== undefined) await complete(job, hash, context);
      else await markFailed(job, "the transaction confirmed without issuing the purchase", context);
    }
  },

  fail: async (jobs, reason, context) => {
    for (const job of jobs) {
      // Refused because an earlier transaction already issued it: the purchase is paid.
      const hash = await issuedBy(job, context);
      if (hash !== undefined) await complete(job, hash, context);
      else await markFailed(job, reason, context);
    }
  },
};

async function markFailed(job: Job<PurchasePayload>, reason: string, { db, tenant }: JobContext) {
  await db
    .update(purchases)
    .set({ status: "FAILED", error: reason.slice(0, 1000), updatedAt: new Date() })
    .where(
      and(
        eq(purchases.id, job.payload.purchaseId),
        eq(purchases.tenantId, tenant.id),
        ne(purchases.status, "COMPLETED"),
      ),
    );
}
