// Accepting a holder's request to act on chain through the forwarder, for redemptions and
// transactions alike. A custodial holder's request is signed here with their sealed key and queued
// at once (PENDING); a self-custody holder gets the typed data to sign (AWAITING_SIGNATURE), and
// the request is queued when their signature arrives (`submitSignature`).
import { and, eq } from "drizzle-orm";
import type { Context } from "koa";
import type { Address, Hex } from "viem";
import { readChain } from "../chain/reads.ts";
import type { ChainClients } from "../chain/chains.ts";
import { openCustodialWallet } from "../crypto/wallets.ts";
import type { Database } from "../db/client.ts";
import { redemptions, transactionRequests } from "../db/redemptionsSchema.ts";
import type { users } from "../db/schema.ts";
import { conflict, unprocessable } from "../errors.ts";
import { custodialContext } from "../resources/users/accounts.ts";
import {
  assertWalletWithinLimit,
  canonicalSignature,
  FORWARD_REQUEST_TTL_SECONDS,
  forwarderNonce,
  forwarderOf,
  nextNonce,
  reserveNextNonce,
  reserveNonce,
  signForCustodian,
  verifyForwardSignature,
  type ForwardRequest,
} from "./forwardRequests.ts";
import { enqueueForward, type ForwardPayload } from "./kinds/forward.ts";

type RecordKind = ForwardPayload["record"]["kind"];
type Table = typeof redemptions | typeof transactionRequests;
type Rows = { redemption: typeof redemptions.$inferSelect; transaction: typeof transactionRequests.$inferSelect };

export type ForwardColumns = {
  status: "AWAITING_SIGNATURE" | "PENDING";
  chainId: number;
  forwarder: string;
  nonce: number;
  gas: string;
  deadline: number;
  data: string;
  signature: string | null;
};

const tableOf = (kind: RecordKind): Table => (kind === "redemption" ? redemptions : transactionRequests);

/** The request a record carries, as the forwarder will see it. */
export function requestOf(row: {
  forwarder: string | null;
  nonce: number | null;
  gas: string | null;
  deadline: number | null;
  data: string | null;
  holderAddress: string;
  to: string;
}): ForwardRequest {
  return {
    from: row.holderAddress as Address,
    to: row.to as Address,
    value: 0n,
    gas: BigInt(row.gas!),
    nonce: BigInt(row.nonce!),
    deadline: row.deadline!,
    data: row.data as Hex,
  };
}

const payloadOf = (kind: RecordKind, id: string, forwarder: Address, request: ForwardRequest, signature: Hex) =>
  ({
    record: { kind, id },
    forwarder,
    request: {
      from: request.from,
      to: request.to,
      value: request.value.toString(),
      gas: request.gas.toString(),
      nonce: request.nonce.toString(),
      deadline: request.deadline,
      data: request.data,
      signature,
    },
  }) satisfies ForwardPayload;

/**
 * Makes the holder's request for `call` and records it with `insert` (inside one transaction with
 * its nonce and, for a custodial holder, its job).
 */
export async function acceptForward<K extends RecordKind>(parameters: {
  ctx: Context;
  kind: K;
  tenantId: string;
  chain: ChainClients;
  holder: Pick<typeof users.$inferSelect, "id" | "walletAddress" | "keyCiphertext">;
  call: { to: Address; data: Hex; gas: bigint };
  insert: (db: Database, forward: ForwardColumns) => Promise<Rows[K]>;
}): Promise<Rows[K]> {
  const { ctx, kind, tenantId, chain, holder, call } = parameters;
  const from = holder.walletAddress as Address;
  const forwarder = forwarderOf(chain);
  const chainNonce = await readChain(ctx, chain.chainId, () => forwarderNonce(chain, from));
  const deadline = Math.floor(Date.now() / 1000) + FORWARD_REQUEST_TTL_SECONDS;
  const base = { from, to: call.to, value: 0n, gas: call.gas, deadline, data: call.data };
  const columns = (nonce: bigint, status: ForwardColumns["status"], signature: Hex | null): ForwardColumns => ({
    status,
    chainId: chain.chainId,
    forwarder,
    nonce: Number(nonce),
    gas: call.gas.toString(),
    deadline,
    data: call.data,
    signature,
  });

  if (!holder.keyCiphertext) {
    const nonce = await nextNonce(ctx.services.db, chain.chainId, forwarder, from, chainNonce);
    return parameters.insert(ctx.services.db, columns(nonce, "AWAITING_SIGNATURE", null));
  }
  const account = openCustodialWallet(
    ctx.services.config.MASTER_KEY,
    holder.keyCiphertext,
    custodialContext("user", holder.id),
  );
  return ctx.services.db.transaction(async (transaction) => {
    const tx = transaction as unknown as Database;
    await assertWalletWithinLimit(
      tx,
      chain.chainId,
      forwarder,
      from,
      ctx.services.config.RELAYER_WALLET_REQUESTS_PER_HOUR,
    );
    const nonce = await reserveNextNonce(tx, chain.chainId, forwarder, from, chainNonce);
    const request: ForwardRequest = { ...base, nonce };
    const signature = await signForCustodian(account, chain.chainId, forwarder, request);
    const row = await parameters.insert(tx, columns(nonce, "PENDING", signature));
    const jobId = await enqueueForward(tx, {
      tenantId,
      chainId: chain.chainId,
      payload: payloadOf(kind, row.id, forwarder, request, signature),
    });
    const table = tableOf(kind);
    const [updated] = await tx.update(table).set({ jobId }).where(eq(table.id, row.id)).returning();
    return updated as Rows[K];
  });
}

/**
 * A self-custody holder's signature over the request of a record AWAITING_SIGNATURE: checked against
 * their wallet, then the request is queued. A signature that is not theirs over exactly this request
 * is a 422; a record already signed, or whose nonce another request took meanwhile, a 409.
 */
export async function submitSignature<K extends RecordKind>(parameters: {
  ctx: Context;
  kind: K;
  chain: ChainClients;
  row: Rows[K];
  request: ForwardRequest;
  signature: Hex;
}): Promise<Rows[K]> {
  const { ctx, kind, chain, row, request } = parameters;
  if (row.status !== "AWAITING_SIGNATURE") throw conflict(`This ${kind} is ${row.status}, not awaiting a signature.`);
  // Relayed as the forwarder accepts it: in another form it would be refused on chain, gas spent.
  const signature = canonicalSignature(parameters.signature);
  if (!signature || !(await verifyForwardSignature(chain, request, signature))) {
    throw unprocessable("The signature is not the holder's over this request (check the typed data and the wallet).");
  }
  if (request.deadline <= Math.floor(Date.now() / 1000)) {
    throw unprocessable("The request's deadline has passed; make a new one.");
  }
  const table = tableOf(kind);
  const forwarder = row.forwarder as Address;
  const outcome = await ctx.services.db.transaction(async (transaction) => {
    const tx = transaction as unknown as Database;
    const perHour = ctx.services.config.RELAYER_WALLET_REQUESTS_PER_HOUR;
    await assertWalletWithinLimit(tx, chain.chainId, forwarder, request.from, perHour);
    if (!(await reserveNonce(tx, chain.chainId, forwarder, request.from, request.nonce))) return "nonce-taken" as const;
    const [signed] = await tx
      .update(table)
      .set({ status: "PENDING", signature, updatedAt: new Date() })
      .where(and(eq(table.id, row.id), eq(table.status, "AWAITING_SIGNATURE")))
      .returning();
    // Another signature of this record won the race: undo the reservation with the transaction.
    if (!signed) throw conflict(`This ${kind} has been signed already.`);
    const jobId = await enqueueForward(tx, {
      tenantId: row.tenantId,
      chainId: chain.chainId,
      payload: payloadOf(kind, row.id, forwarder, request, signature),
    });
    const [queued] = await tx.update(table).set({ jobId }).where(eq(table.id, row.id)).returning();
    return queued as Rows[K];
  });
  if (outcome === "nonce-taken") {
    await ctx.services.db
      .update(table)
      .set({ status: "FAILED", error: "Another request of this wallet took its nonce.", updatedAt: new Date() })
      .where(and(eq(table.id, row.id), eq(table.status, "AWAITING_SIGNATURE")));
    throw conflict(`Another request of this wallet was queued with the same nonce; make a new ${kind}.`);
  }
  return outcome;
}
