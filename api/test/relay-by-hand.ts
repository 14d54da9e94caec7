// Drives job kinds by hand, as the relayer does, against the test chain: take the available pending
// jobs of a kind, batch them by tenant, chain and batch key, encode, send with the chain's wallet,
// wait for the receipt, then settle (or fail) them and mark them. For tests of the kinds and of the
// flows that need their jobs done, without the worker.
import { and, asc, eq, inArray, lte } from "drizzle-orm";
import { BaseError, type Hash, type TransactionReceipt } from "viem";
import type { Database } from "../src/db/client.ts";
import { relayJobs } from "../src/db/relaySchema.ts";
import { tenants } from "../src/db/schema.ts";
import type { Job, JobContext, JobKind } from "../src/relay/jobs.ts";
import type { TestApi, TestChain } from "./harness.ts";

type AnyKind = JobKind<any>;

export async function availableJobs(db: Database, kind: AnyKind, ids?: string[]): Promise<Job<any>[]> {
  return db
    .select()
    .from(relayJobs)
    .where(
      and(
        eq(relayJobs.kind, kind.name),
        eq(relayJobs.status, "PENDING"),
        lte(relayJobs.availableAt, new Date()),
        ids ? inArray(relayJobs.id, ids) : undefined,
      ),
    )
    .orderBy(asc(relayJobs.createdAt), asc(relayJobs.id)) as Promise<Job<any>[]>;
}

export async function contextOf(api: TestApi, chain: TestChain, job: Job<any>): Promise<JobContext> {
  const [tenant] = await api.services.db.select().from(tenants).where(eq(tenants.id, job.tenantId));
  return { db: api.services.db, chain: chain.chains.get(job.chainId)!, tenant: tenant! };
}

/** Encodes and sends one batch; the receipt, or the error that kept it from the chain. */
export async function send(api: TestApi, chain: TestChain, kind: AnyKind, jobs: Job<any>[]) {
  const context = await contextOf(api, chain, jobs[0]!);
  try {
    const call = await kind.encode(jobs, context);
    const hash = await context.chain.walletClient.sendTransaction(call);
    const receipt = await context.chain.publicClient.waitForTransactionReceipt({ hash });
    return { receipt, context } as const;
  } catch (error) {
    const reason =
      error instanceof BaseError ? error.shortMessage : error instanceof Error ? error.message : String(error);
    return { error: reason, context } as const;
  }
}

/** Settles (or fails) a sent batch and marks its jobs, in one database transaction, as the worker would. */
export async function finish(
  api: TestApi,
  kind: AnyKind,
  jobs: Job<any>[],
  outcome: { receipt?: TransactionReceipt; error?: string; context: JobContext },
) {
  await api.services.db.transaction(async (transaction) => {
    const db = transaction as unknown as Database;
    const context = { ...outcome.context, db };
    const ids = jobs.map((job) => job.id);
    if (outcome.receipt && outcome.receipt.status === "success") {
      await kind.settle(jobs, outcome.receipt, context);
      await db.update(relayJobs).set({ status: "CONFIRMED" }).where(inArray(relayJobs.id, ids));
    } else {
      const reason = outcome.error ?? "the transaction reverted";
      await kind.fail(jobs, reason, context);
      await db.update(relayJobs).set({ status: "FAILED", error: reason }).where(inArray(relayJobs.id, ids));
    }
  });
}

/** Runs every available job of the kind (and those their settling releases) until none is left. */
export async function runJobs(api: TestApi, chain: TestChain, kind: AnyKind, ids?: string[]) {
  const transactions: { hash: Hash | undefined; jobs: string[]; error?: string }[] = [];
  for (let round = 0; round < 100; round++) {
    const jobs = await availableJobs(api.services.db, kind, ids);
    if (!jobs.length) return transactions;
    const batches = new Map<string, Job<any>[]>();
    for (const job of jobs) {
      const key = `${job.tenantId}|${job.chainId}|${job.batchKey ?? job.id}`;
      const batch = batches.get(key) ?? [];
      if (batch.length < kind.maxBatch) batches.set(key, [...batch, job]);
    }
    for (const batch of batches.values()) {
      await api.services.db
        .update(relayJobs)
        .set({ status: "SUBMITTED" })
        .where(
          inArray(
            relayJobs.id,
            batch.map((job) => job.id),
          ),
        );
      const outcome = await send(api, chain, kind, batch);
      await finish(api, kind, batch, outcome);
      transactions.push({
        hash: "receipt" in outcome ? outcome.receipt?.transactionHash : undefined,
        jobs: batch.map((job) => job.id),
        ...("error" in outcome && { error: outcome.error }),
      });
    }
  }
  throw new Error("runJobs: jobs kept coming for 100 rounds");
}
