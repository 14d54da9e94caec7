// The API's own transaction requests (transaction_requests): how one is shown, its status (a MINT's
// follows its `issue` job, a forwarded one is settled by the forward kind), and the unconfirmed ones
// that /transactions and /balances show beside the indexer's movements.
import { and, desc, eq, gte, inArray, isNotNull, isNull, lte, or, sql, type SQL } from "drizzle-orm";
import type { Address, Hex } from "viem";
import { relayJobs } from "../../db/relaySchema.ts";
import { transactionRequests } from "../../db/redemptionsSchema.ts";
import type { TenantScope } from "../../db/scope.ts";
import { date } from "../../http/fields.ts";
import { typedDataJson, type ForwardRequest } from "../../relay/forwardRequests.ts";

export type Row = typeof transactionRequests.$inferSelect;
type JobStatus = (typeof relayJobs.$inferSelect)["status"];
type Status = Row["status"];

const STATUS_FOR_JOB = {
  PENDING: "PENDING",
  SUBMITTED: "PROCESSING",
  CONFIRMED: "COMPLETED",
  FAILED: "FAILED",
} as const satisfies Record<JobStatus, Status>;

/** A request that is not forwarded (a MINT) goes as its job goes. */
export function statusOf(row: Row, job: JobStatus | null | undefined): Status {
  if (row.forwarder !== null || row.status !== "PENDING" || !job) return row.status;
  return STATUS_FOR_JOB[job];
}

/** statusOf in SQL, over the join of withJobs, so that lists filter on what they show. */
const shownStatus = sql`case when ${and(
  isNull(transactionRequests.forwarder),
  eq(transactionRequests.status, "PENDING"),
  isNotNull(relayJobs.status),
)} then (case ${relayJobs.status}::text ${sql.join(
  Object.entries(STATUS_FOR_JOB).map(([job, status]) => sql`when ${job} then ${status}`),
  sql` `,
)} end) else ${transactionRequests.status}::text end`;

export const forwardRequestOf = (row: Row): ForwardRequest => ({
  from: row.from as Address,
  to: row.token as Address,
  value: 0n,
  gas: BigInt(row.gas!),
  nonce: BigInt(row.nonce!),
  deadline: row.deadline!,
  data: row.data as Hex,
});

export function present(row: Row, job?: JobStatus | null) {
  const status = statusOf(row, job);
  return {
    id: row.id,
    type: row.type,
    status,
    token: row.token,
    tokenId: row.tokenId,
    from: row.from,
    to: row.to,
    amount: row.amount,
    userId: row.userId,
    reference: row.reference,
    typedData:
      status === "AWAITING_SIGNATURE"
        ? typedDataJson(row.chainId, row.forwarder as Address, forwardRequestOf(row))
        : null,
    transactionHash: row.transactionHash,
    error: row.error,
    createdAt: date(row.createdAt)!,
    updatedAt: date(row.updatedAt)!,
  };
}

/** Rows with their job's status. */
export async function withJobs(scope: TenantScope, where: (SQL | undefined)[], limit: number) {
  return scope.db
    .select({ row: transactionRequests, job: relayJobs.status })
    .from(transactionRequests)
    .leftJoin(relayJobs, eq(relayJobs.id, transactionRequests.jobId))
    .where(scope.where(transactionRequests, ...where))
    .orderBy(desc(transactionRequests.createdAt), desc(transactionRequests.id))
    .limit(limit);
}

export type PendingFilter = {
  participant?: Address;
  direction?: "sent" | "received";
  token?: Address;
  type?: Row["type"];
  /** One status; by default every one that is not final. */
  status?: Status;
  since?: Date;
  until?: Date;
};

const UNCONFIRMED: Status[] = ["AWAITING_SIGNATURE", "PENDING", "PROCESSING"];

/** The API's requests matching the filter that the chain has not confirmed (newest first, at most 100). */
export async function pendingRequests(scope: TenantScope, filter: PendingFilter) {
  const { participant, direction } = filter;
  const involving = participant
    ? direction === "sent"
      ? eq(transactionRequests.from, participant)
      : direction === "received"
        ? eq(transactionRequests.to, participant)
        : or(eq(transactionRequests.from, participant), eq(transactionRequests.to, participant))
    : undefined;
  const rows = await withJobs(
    scope,
    [
      involving,
      filter.token ? eq(transactionRequests.token, filter.token) : undefined,
      filter.type ? eq(transactionRequests.type, filter.type) : undefined,
      inArray(shownStatus, filter.status ? [filter.status] : UNCONFIRMED),
      filter.since ? gte(transactionRequests.createdAt, filter.since) : undefined,
      filter.until ? lte(transactionRequests.createdAt, filter.until) : undefined,
    ],
    100,
  );
  return rows.map(({ row, job }) => present(row, job));
}
