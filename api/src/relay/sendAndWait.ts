// A transaction the API sends and waits for itself (a tenant's creation: POST /tenants answers with
// the new contracts' addresses), taken from the relayer's nonce lane like every relayed one. The
// platform's key is the relayer's signer, so a transaction sent beside the lane races the relayer
// for nonces: one of them is refused, or a nonce is left unused. Here the nonce is taken under the
// lane's lock and the transaction recorded before it is broadcast, as the submitter does; recorded
// with no jobs, it is followed by any relayer running on the database (replaced when stuck, within
// the fee ceiling; dropped if its nonce went to another transaction), while the caller waits for
// its receipt.
//
// Not a job kind: a job belongs to a tenant (relay_jobs.tenant_id), which does not exist before
// this transaction, and the request would wait for whichever process runs the relayer (none where
// RELAYER_ENABLED is off). Taking the nonce here keeps the lane whole with neither.
import { setTimeout as sleep } from "node:timers/promises";
import { and, eq, inArray } from "drizzle-orm";
import type { Logger } from "pino";
import type { Address, Hex, TransactionReceipt } from "viem";
import type { Database } from "../db/client.ts";
import { relayTransactions } from "../db/relaySchema.ts";
import { isRevert, revertReason } from "./chainErrors.ts";
import { findReceipt } from "./confirmer.ts";
import type { ChainLane } from "./context.ts";
import { OPEN_STATUSES, syncLane, takeNonce } from "./lanes.ts";
import {
  broadcast,
  firstFees,
  marketFees,
  signFields,
  withMargin,
  type Fees,
  type RelayTransaction,
} from "./transactions.ts";

export type SendAndWaitParameters = {
  db: Database;
  lane: ChainLane;
  call: { to: Address; data: Hex };
  /** The fee ceiling (RELAYER_MAX_FEE_PER_GAS_WEI): while the base fee is above it, nothing is sent. */
  maxFeePerGas: bigint;
  /** Blocks the receipt must have, its own included. */
  confirmations: number;
  timeoutMs: number;
  logger: Logger;
};

export type SendAndWaitFailure =
  /** The call reverts (in simulation, or on chain and again in simulation); `message` is its reason. */
  | "reverts"
  /** It reverted on chain, and no longer reverts in simulation. */
  | "reverted"
  /** Not confirmed in time (or not sent, the base fee staying above the ceiling); it may still be mined. */
  | "timeout"
  /** Its nonce went to other transactions, again and again. */
  | "dropped";

export class SendAndWaitError extends Error {
  readonly failure: SendAndWaitFailure;
  constructor(failure: SendAndWaitFailure, message: string) {
    super(message);
    this.name = "SendAndWaitError";
    this.failure = failure;
  }
}

/** A nonce lost to another transaction is taken again, this many times in all. */
const ATTEMPTS = 3;

/** Sends the call through the lane and returns its receipt once it has `confirmations` blocks. */
export async function sendAndWait(parameters: SendAndWaitParameters): Promise<TransactionReceipt> {
  const { db, lane, call, maxFeePerGas, logger } = parameters;
  const { chain, signer } = lane;
  const deadline = Date.now() + parameters.timeoutMs;
  for (let attempt = 1; ; attempt += 1) {
    const gasLimit = withMargin(await simulate(parameters));
    const fees = await feesWithin(parameters, deadline);
    // Brings a lane that someone's transactions outside it left behind (or a new one) to the chain's count.
    const { fillers } = await syncLane(db, chain, signer, maxFeePerGas);
    for (const filler of fillers) await broadcast(chain, filler.serialized);
    const { row, serialized } = await db.transaction(async (tx) => {
      const nonce = await takeNonce(tx, chain.chainId, signer.address);
      const fields = { nonce, ...call, gasLimit, ...fees };
      const { serialized, hash } = await signFields(signer, chain.chainId, fields);
      const [row] = await tx
        .insert(relayTransactions)
        .values({
          chainId: chain.chainId,
          signer: signer.address,
          nonce,
          to: call.to,
          data: call.data,
          gasLimit: gasLimit.toString(),
          maxFeePerGas: fees.maxFeePerGas.toString(),
          maxPriorityFeePerGas: fees.maxPriorityFeePerGas.toString(),
          hashes: [hash],
        })
        .returning();
      return { row: row!, serialized };
    });
    const sent = await broadcast(chain, serialized);
    if (!sent.sent) {
      logger.warn(
        { chainId: chain.chainId, nonce: row.nonce, refusal: sent.refusal, error: sent.error },
        "the node refused a transaction sent through the lane",
      );
      const lost = sent.refusal === "nonce-too-low";
      await db
        .update(relayTransactions)
        .set({ error: sent.error, ...(lost && { status: "DROPPED" as const }), updatedAt: new Date() })
        .where(and(eq(relayTransactions.id, row.id), inArray(relayTransactions.status, [...OPEN_STATUSES])));
      // Refused otherwise, it stays recorded: a relayer's confirmer sends it again.
      if (lost) {
        if (attempt < ATTEMPTS) continue;
        throw new SendAndWaitError("dropped", "its nonce was used by another transaction");
      }
    }
    const receipt = await confirmed(parameters, row.id, deadline);
    if (receipt === "dropped") {
      if (attempt < ATTEMPTS) continue;
      throw new SendAndWaitError("dropped", "its nonce was used by another transaction");
    }
    if (receipt.status === "success") return receipt;
    // Reverted on chain: the state moved since the simulation, which now says why.
    await simulate(parameters);
    throw new SendAndWaitError("reverted", `reverted on chain in ${receipt.transactionHash}`);
  }
}

/** The call's gas; throws "reverts" with the reason when it reverts. */
async function simulate({ lane, call }: SendAndWaitParameters): Promise<bigint> {
  try {
    return await lane.chain.publicClient.estimateGas({ account: lane.signer.address, ...call });
  } catch (error) {
    if (isRevert(error)) throw new SendAndWaitError("reverts", revertReason(error));
    throw error;
  }
}

/** The market's fees within the ceiling, waiting while the base fee is above it. */
async function feesWithin(parameters: SendAndWaitParameters, deadline: number): Promise<Fees> {
  const { lane, maxFeePerGas, logger } = parameters;
  for (let warned = false; ; warned = true) {
    const { fees: market, baseFeePerGas } = await marketFees(lane.chain);
    const fees = firstFees(market, baseFeePerGas, maxFeePerGas);
    if (fees) return fees;
    const reason = `the chain's base fee (${baseFeePerGas} wei) is above RELAYER_MAX_FEE_PER_GAS_WEI (${maxFeePerGas} wei)`;
    if (Date.now() >= deadline) throw new SendAndWaitError("timeout", `not sent: ${reason}`);
    if (!warned) logger.warn({ chainId: lane.chain.chainId }, `waiting to send: ${reason}`);
    await sleep(lane.chain.publicClient.pollingInterval);
  }
}

/**
 * The transaction's receipt once deep enough (marking it final, as the confirmer would where no
 * relayer runs), or "dropped" when a relayer found its nonce used by another transaction.
 */
async function confirmed(
  parameters: SendAndWaitParameters,
  id: string,
  deadline: number,
): Promise<TransactionReceipt | "dropped"> {
  const { db, lane, confirmations } = parameters;
  const { publicClient } = lane.chain;
  for (;;) {
    const [row] = await db.select().from(relayTransactions).where(eq(relayTransactions.id, id));
    if (row!.status === "DROPPED") return "dropped";
    const receipt = await findReceipt(parameters.lane, row!);
    if (receipt && (await publicClient.getBlockNumber()) - receipt.blockNumber + 1n >= BigInt(confirmations)) {
      const reverted = receipt.status !== "success";
      await db
        .update(relayTransactions)
        .set({
          status: reverted ? "REVERTED" : "CONFIRMED",
          minedHash: receipt.transactionHash,
          blockNumber: Number(receipt.blockNumber),
          gasUsed: receipt.gasUsed.toString(),
          error: reverted ? "reverted on chain" : null,
          updatedAt: new Date(),
        })
        .where(and(eq(relayTransactions.id, id), inArray(relayTransactions.status, [...OPEN_STATUSES])));
      return receipt;
    }
    if (Date.now() >= deadline) {
      throw new SendAndWaitError(
        "timeout",
        `transaction ${row!.hashes.at(-1)} (nonce ${row!.nonce}) not confirmed in ${parameters.timeoutMs} ms; it may still be mined`,
      );
    }
    await sleep(publicClient.pollingInterval);
  }
}
