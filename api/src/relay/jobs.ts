// Jobs: what the API asks the relayer to do on chain. A job is written in the same database
// transaction as the record it serves (a claim, a redemption...), so an accepted request always has
// its job; the relayer (./worker.ts) carries jobs to the chain in transactions, batching jobs of one
// kind and batch key, and hands the outcome back to the job's kind.
import type { Address, Hex, TransactionReceipt } from "viem";
import type { ChainClients } from "../chain/chains.ts";
import type { Database } from "../db/client.ts";
import { relayJobs } from "../db/relaySchema.ts";
import type { tenants } from "../db/schema.ts";

export type Job<Payload = Record<string, unknown>> = Omit<typeof relayJobs.$inferSelect, "payload"> & {
  payload: Payload;
};

export type JobContext = {
  db: Database;
  chain: ChainClients;
  tenant: typeof tenants.$inferSelect;
};

/**
 * One kind of job: how its jobs become a call, and how a confirmed or failed call settles them.
 * `settle` and `fail` run inside the database transaction that marks the jobs CONFIRMED or FAILED
 * (`context.db` is that transaction), never twice for one job. A job may be carried twice (a dropped or
 * reorged transaction): the contract refuses the repeat, and `fail` should recognise it (e.g. the
 * claim id or reference is already used on chain) and set the job CONFIRMED itself, as
 * kinds/issue.ts does.
 */
export type JobKind<Payload = Record<string, unknown>> = {
  name: string;
  /** How many jobs of one batch key one transaction may carry (1: never batched). */
  maxBatch: number;
  /** The call carrying these jobs (all of one tenant, chain and batch key). */
  encode: (jobs: readonly Job<Payload>[], context: JobContext) => Promise<{ to: Address; data: Hex }>;
  /** The transaction carrying these jobs is confirmed: settle each job's record from the receipt. */
  settle: (jobs: readonly Job<Payload>[], receipt: TransactionReceipt, context: JobContext) => Promise<void>;
  /** These jobs failed for good (their call reverts on its own, or it reverted on chain). */
  fail: (jobs: readonly Job<Payload>[], reason: string, context: JobContext) => Promise<void>;
};

export type EnqueueParameters<Payload> = {
  tenantId: string;
  chainId: number;
  kind: string;
  payload: Payload;
  /** Jobs with the same key may share a transaction, e.g. `claims:<registry>`. */
  batchKey?: string;
  /** When the relayer may take it (default now); a far date holds it until someone releases it. */
  availableAt?: Date;
};

/** Records a job; pass the caller's database transaction so that the job and its record commit together. */
export async function enqueue<Payload extends Record<string, unknown>>(
  db: Pick<Database, "insert">,
  job: EnqueueParameters<Payload>,
): Promise<string> {
  const [row] = await db
    .insert(relayJobs)
    .values({
      tenantId: job.tenantId,
      chainId: job.chainId,
      kind: job.kind,
      payload: job.payload,
      batchKey: job.batchKey ?? null,
      ...(job.availableAt && { availableAt: job.availableAt }),
    })
    .returning({ id: relayJobs.id });
  return row!.id;
}
