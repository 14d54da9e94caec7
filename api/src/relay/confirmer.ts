// Following sent transactions to finality. For each open transaction of a lane: a receipt deep
// enough confirms it (its kind settles the jobs) or reports its revert; a receipt that vanished
// (reorg) reopens it; a nonce the chain used for another transaction drops it and sends its jobs
// back to the queue; a transaction not mined in time is replaced at the same nonce with higher fees.
import { and, asc, eq, inArray, sql } from "drizzle-orm";
import { TransactionNotFoundError, TransactionReceiptNotFoundError, type Hash, type TransactionReceipt } from "viem";
import type { Database } from "../db/client.ts";
import { relayJobs, relayTransactions } from "../db/relaySchema.ts";
import { groupBy, jobContext, type AnyJob, type ChainLane, type RelayerContext } from "./context.ts";
import { refusalIn } from "./chainErrors.ts";
import { OPEN_STATUSES, type Transaction } from "./lanes.ts";
import {
  broadcast,
  currentFees,
  fieldsOf,
  replacementFees,
  signFields,
  type RelayTransaction,
} from "./transactions.ts";
import { anyOf } from "../db/anyOf.ts";

export type ConfirmReturnType = {
  open: number;
  confirmed: number;
  dropped: number;
  replaced: number;
  laneStale: boolean;
};

/** Jobs whose batch reverted on chain are simulated again (and bisected) this many times before they fail. */
const MAX_ATTEMPTS = 3;

export async function confirmSent(context: RelayerContext, lane: ChainLane): Promise<ConfirmReturnType> {
  const { db, settings } = context;
  const { chain, signer } = lane;
  const result: ConfirmReturnType = { open: 0, confirmed: 0, dropped: 0, replaced: 0, laneStale: false };
  const open = await db
    .select()
    .from(relayTransactions)
    .where(
      and(
        eq(relayTransactions.chainId, chain.chainId),
        eq(relayTransactions.signer, signer.address),
        inArray(relayTransactions.status, [...OPEN_STATUSES]),
      ),
    )
    .orderBy(asc(relayTransactions.nonce))
    .limit(1000);
  result.open = open.length;
  if (open.length === 0) return result;
  // The nonce counts are read before the receipts: a transaction mined by then has a receipt now,
  // so a used nonce without one of our receipts was used by another transaction.
  const head = await chain.publicClient.getBlockNumber();
  const deep = head - BigInt(settings.confirmations) + 1n;
  const usedDeep =
    deep >= 0n ? await chain.publicClient.getTransactionCount({ address: signer.address, blockNumber: deep }) : 0;
  const usedLatest = await chain.publicClient.getTransactionCount({ address: signer.address, blockTag: "latest" });
  // The nonce a node that queues nothing takes next: each refused one sent again this round moves it on.
  let nextAccepted = usedLatest;
  for (const row of open) {
    const receipt = await findReceipt(lane, row);
    if (receipt) {
      if (receipt.blockNumber <= deep) {
        await finalize(context, lane, row, receipt);
        result.confirmed += 1;
      } else if (row.status !== "MINED" || row.minedHash !== receipt.transactionHash) {
        await update(db, row, {
          status: "MINED",
          minedHash: receipt.transactionHash,
          blockNumber: Number(receipt.blockNumber),
        });
      }
      continue;
    }
    if (row.status === "MINED") {
      // Its block is no longer in the chain.
      context.logger.warn(
        { chainId: chain.chainId, nonce: row.nonce, hash: row.minedHash },
        "relayer: receipt gone (reorg)",
      );
      const reopened = await update(db, row, { status: "SUBMITTED", minedHash: null, blockNumber: null });
      if (!reopened) continue;
      row.status = "SUBMITTED";
    }
    if (usedDeep > row.nonce) {
      if (await drop(context, row)) result.dropped += 1;
      continue;
    }
    // Used by a recent block, not ours: wait until it is deep enough to be sure.
    if (usedLatest > row.nonce) continue;
    if (row.nonce === nextAccepted && row.error && refusalIn(row.error) === "nonce-too-high") {
      // Refused because a lower nonce had not reached the node yet (another process's, broadcast after
      // ours): the gap is closed, so it goes out as it was now rather than replaced once overdue.
      if ((await resend(context, lane, row, false)) === "rebroadcast") nextAccepted += 1;
      continue;
    }
    if (Date.now() - row.lastSentAt.getTime() < settings.replaceAfterMs) continue;
    const outcome = await resend(context, lane, row, row.nonce === usedLatest);
    if (outcome === "replaced") result.replaced += 1;
    if (outcome === "nonce-too-low") result.laneStale = true;
  }
  return result;
}

/** The receipt of whichever of the transaction's hashes (a replacement's, or the first) was mined. */
export async function findReceipt(lane: ChainLane, row: RelayTransaction): Promise<TransactionReceipt | undefined> {
  for (const hash of [...row.hashes].reverse()) {
    try {
      return await lane.chain.publicClient.getTransactionReceipt({ hash: hash as Hash });
    } catch (error) {
      if (error instanceof TransactionReceiptNotFoundError) continue;
      throw error;
    }
  }
  return undefined;
}

/** Updates an open transaction if nobody changed it since it was read; returns whether it did. */
async function update(
  db: Database | Transaction,
  row: RelayTransaction,
  values: Partial<typeof relayTransactions.$inferInsert>,
): Promise<boolean> {
  const changed = await db
    .update(relayTransactions)
    .set({ ...values, updatedAt: new Date() })
    .where(
      and(
        eq(relayTransactions.id, row.id),
        eq(relayTransactions.status, row.status),
        sql`cardinality(${relayTransactions.hashes}) = ${row.hashes.length}`,
      ),
    )
    .returning({ id: relayTransactions.id });
  return changed.length === 1;
}

/** The receipt is deep enough: the transaction is final, and so are its jobs (settled by their kind). */
async function finalize(
  context: RelayerContext,
  lane: ChainLane,
  row: RelayTransaction,
  receipt: TransactionReceipt,
): Promise<void> {
  const { db, kinds, logger } = context;
  const reverted = receipt.status !== "success";
  await db.transaction(async (tx) => {
    const won = await update(tx, row, {
      status: reverted ? "REVERTED" : "CONFIRMED",
      minedHash: receipt.transactionHash,
      blockNumber: Number(receipt.blockNumber),
      gasUsed: receipt.gasUsed.toString(),
      error: reverted ? "reverted on chain" : null,
    });
    // Another process finalised it first.
    if (!won) return;
    const jobs = (await tx
      .select()
      .from(relayJobs)
      .where(and(eq(relayJobs.transactionId, row.id), eq(relayJobs.status, "SUBMITTED")))
      .for("update")) as AnyJob[];
    for (const group of groupBy(jobs, (job) => `${job.tenantId}\u0000${job.kind}`)) {
      const kind = kinds.get(group[0]!.kind);
      const groupIds = group.map((job) => job.id);
      if (!reverted) {
        await tx
          .update(relayJobs)
          .set({ status: "CONFIRMED", error: null, updatedAt: new Date() })
          .where(anyOf(relayJobs.id, groupIds));
        const context = await jobContext(tx as unknown as Database, lane.chain, group[0]!.tenantId);
        await kind?.settle(group, receipt, context);
        continue;
      }
      // A batch that reverted on chain may hold one job that reverts alone (the state moved since
      // the simulation): its jobs are simulated again, and bisected, until they have tried enough.
      const again = group.length > 1 && group.every((job) => job.attempts < MAX_ATTEMPTS);
      if (again) {
        await tx
          .update(relayJobs)
          .set({ status: "PENDING", transactionId: null, availableAt: new Date(), updatedAt: new Date() })
          .where(anyOf(relayJobs.id, groupIds));
      } else {
        const reason = `reverted on chain in ${receipt.transactionHash}`;
        await tx
          .update(relayJobs)
          .set({ status: "FAILED", error: reason, updatedAt: new Date() })
          .where(anyOf(relayJobs.id, groupIds));
        const context = await jobContext(tx as unknown as Database, lane.chain, group[0]!.tenantId);
        await kind?.fail(group, reason, context);
      }
    }
  });
  if (reverted)
    logger.warn({ chainId: lane.chain.chainId, hash: receipt.transactionHash }, "relayer: transaction reverted");
}

/** The nonce went to another transaction: this one can never be mined; its jobs go back to the queue. */
async function drop(context: RelayerContext, row: RelayTransaction): Promise<boolean> {
  const dropped = await context.db.transaction(async (tx) => {
    if (!(await update(tx, row, { status: "DROPPED", error: "its nonce was used by another transaction" }))) {
      return false;
    }
    await tx
      .update(relayJobs)
      .set({ status: "PENDING", transactionId: null, availableAt: new Date(), updatedAt: new Date() })
      .where(and(eq(relayJobs.transactionId, row.id), eq(relayJobs.status, "SUBMITTED")));
    return true;
  });
  if (dropped) {
    context.logger.warn(
      { chainId: row.chainId, nonce: row.nonce, hashes: row.hashes },
      "relayer: transaction dropped; jobs requeued",
    );
  }
  return dropped;
}

/**
 * A transaction not mined in time. The next one to be mined (`stuck`) is replaced with fees at
 * least 10% higher, but never above the ceiling (settings.maxFeePerGas): past it, the lane waits on
 * the transaction it sent, which may still be mined. One waiting behind it is only sent again,
 * unchanged, if the node forgot it.
 */
async function resend(
  context: RelayerContext,
  lane: ChainLane,
  row: RelayTransaction,
  stuck: boolean,
): Promise<"replaced" | "rebroadcast" | "waiting" | "nonce-too-low" | "refused"> {
  const { chain, signer } = lane;
  const last = row.hashes.at(-1) as Hash;
  let fields = fieldsOf(row);
  if (stuck) {
    const fees = replacementFees(fields, await currentFees(chain), context.settings.maxFeePerGas);
    if (!fees) {
      await holdReplacement(context, row);
      return "waiting";
    }
    fields = { ...fields, ...fees };
  } else if (await known(lane, last)) {
    return "waiting";
  }
  const { serialized, hash } = await signFields(signer, chain.chainId, fields);
  const recorded = await update(context.db, row, {
    hashes: hash === last ? row.hashes : [...row.hashes, hash],
    maxFeePerGas: fields.maxFeePerGas.toString(),
    maxPriorityFeePerGas: fields.maxPriorityFeePerGas.toString(),
    lastSentAt: new Date(),
    error: null,
  });
  if (!recorded) return "waiting";
  const sent = await broadcast(chain, serialized);
  if (!sent.sent) {
    context.logger.warn(
      { chainId: chain.chainId, nonce: row.nonce, refusal: sent.refusal, error: sent.error },
      "relayer: resend refused",
    );
    await context.db.update(relayTransactions).set({ error: sent.error }).where(eq(relayTransactions.id, row.id));
    return sent.refusal === "nonce-too-low" ? "nonce-too-low" : "refused";
  }
  context.logger.info({ chainId: chain.chainId, nonce: row.nonce, hash, replaced: hash !== last }, "relayer: resent");
  return hash === last ? "rebroadcast" : "replaced";
}

/**
 * Records on the transaction why it is not replaced, and warns, once: the reason stays the same
 * while its fees and the ceiling do, and a later round finds it already written.
 */
async function holdReplacement(context: RelayerContext, row: RelayTransaction): Promise<void> {
  const { maxFeePerGas } = context.settings;
  const reason = `not replaced: its maxFeePerGas (${row.maxFeePerGas} wei) raised by 10% would pass RELAYER_MAX_FEE_PER_GAS_WEI (${maxFeePerGas} wei)`;
  if (row.error === reason) return;
  if (!(await update(context.db, row, { error: reason }))) return;
  context.logger.warn(
    { chainId: row.chainId, nonce: row.nonce, maxFeePerGas: row.maxFeePerGas, ceiling: String(maxFeePerGas) },
    `relayer: stuck transaction ${reason}; waiting for it`,
  );
}

async function known(lane: ChainLane, hash: Hash): Promise<boolean> {
  try {
    await lane.chain.publicClient.getTransaction({ hash });
    return true;
  } catch (error) {
    if (error instanceof TransactionNotFoundError) return false;
    throw error;
  }
}
