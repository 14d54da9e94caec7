// Nonce lanes: the next nonce of one signer on one chain, in the database so that every process
// sharing the queue draws from one sequence. Taking a nonce locks the lane's row (SELECT … FOR
// UPDATE) until the transaction that uses it is recorded, so two processes never take the same one.
import { and, eq, inArray } from "drizzle-orm";
import type { Address, Hex } from "viem";
import type { ChainClients } from "../chain/chains.ts";
import type { Database, Transaction } from "../db/client.ts";
import { relayTransactions, signerLanes } from "../db/relaySchema.ts";
import type { Signer } from "./signers.ts";
import { cappedFees, currentFees, signFields, type RelayTransaction } from "./transactions.ts";

export type { Transaction };

export const OPEN_STATUSES = ["SUBMITTED", "MINED"] as const;

/** Locks the lane (created when missing) and returns its next nonce, advancing it by one. */
export async function takeNonce(tx: Transaction, chainId: number, signer: Address): Promise<number> {
  const lane = await lockLane(tx, chainId, signer);
  await tx
    .update(signerLanes)
    .set({ nextNonce: lane.nextNonce + 1, updatedAt: new Date() })
    .where(and(eq(signerLanes.chainId, chainId), eq(signerLanes.signer, signer)));
  return lane.nextNonce;
}

/** Locks the lane's row; a new lane starts at 0 until syncLane moves it to the chain's count. */
async function lockLane(tx: Transaction, chainId: number, signer: Address) {
  await tx.insert(signerLanes).values({ chainId, signer, nextNonce: 0 }).onConflictDoNothing();
  const [lane] = await tx
    .select()
    .from(signerLanes)
    .where(and(eq(signerLanes.chainId, chainId), eq(signerLanes.signer, signer)))
    .for("update");
  return lane!;
}

export type SyncLaneReturnType = {
  nextNonce: number;
  /** Self-transfers written to fill nonces that no transaction holds (to broadcast once committed). */
  fillers: { row: RelayTransaction; serialized: Hex }[];
};

/**
 * Brings the lane in line with the chain: the next nonce is past both the chain's pending count
 * and every open transaction; a nonce below it that nothing holds (a gap, which would stall every
 * later transaction) gets an empty self-transfer (its fees within `maxFeePerGas`).
 */
export async function syncLane(
  db: Database,
  chain: ChainClients,
  signer: Signer,
  maxFeePerGas: bigint,
): Promise<SyncLaneReturnType> {
  const fees = cappedFees(await currentFees(chain), maxFeePerGas);
  return db.transaction(async (tx) => {
    await lockLane(tx, chain.chainId, signer.address);
    // Under the lock no nonce is taken; the open transactions are read before the chain's count, so
    // that one confirmed in between is counted by the chain rather than taken for a gap.
    const open = await tx
      .select({ nonce: relayTransactions.nonce })
      .from(relayTransactions)
      .where(
        and(
          eq(relayTransactions.chainId, chain.chainId),
          eq(relayTransactions.signer, signer.address),
          inArray(relayTransactions.status, [...OPEN_STATUSES]),
        ),
      );
    const pending = await chain.publicClient.getTransactionCount({ address: signer.address, blockTag: "pending" });
    const held = new Set(open.map(({ nonce }) => nonce));
    const nextNonce = Math.max(pending, ...open.map(({ nonce }) => nonce + 1));
    const fillers: SyncLaneReturnType["fillers"] = [];
    for (let nonce = pending; nonce < nextNonce; nonce += 1) {
      if (held.has(nonce)) continue;
      const fields = { nonce, to: signer.address, data: "0x" as Hex, gasLimit: 21_000n, ...fees };
      const { serialized, hash } = await signFields(signer, chain.chainId, fields);
      const [row] = await tx
        .insert(relayTransactions)
        .values({
          chainId: chain.chainId,
          signer: signer.address,
          nonce,
          to: fields.to,
          data: fields.data,
          gasLimit: fields.gasLimit.toString(),
          maxFeePerGas: fees.maxFeePerGas.toString(),
          maxPriorityFeePerGas: fees.maxPriorityFeePerGas.toString(),
          hashes: [hash],
        })
        .returning();
      fillers.push({ row: row!, serialized });
    }
    await tx
      .update(signerLanes)
      .set({ nextNonce, updatedAt: new Date() })
      .where(and(eq(signerLanes.chainId, chain.chainId), eq(signerLanes.signer, signer.address)));
    return { nextNonce, fillers };
  });
}
