// The `forward` job kind: holders' signed ERC-2771 requests (redemptions, transfers, burns) carried
// through the chain's OpenZeppelin ERC2771Forwarder. Several requests share one `executeBatch` with
// a refund receiver, which makes the batch non-atomic: a request whose call reverts is reported
// `success = false` (its nonce spent) and one the forwarder refuses (nonce, deadline, signature) is
// skipped, without taking the others down. `ExecutedForwardRequest(signer, nonce, success)` says
// which happened to each, and settles its record.
import { and, eq, inArray } from "drizzle-orm";
import {
  decodeFunctionData,
  encodeFunctionData,
  isAddressEqual,
  parseEventLogs,
  verifyTypedData,
  type Address,
  type Hex,
  zeroAddress,
  type TransactionReceipt,
} from "viem";
import { erc2771ForwarderAbi } from "../../../../abi/erc2771Forwarder.ts";
import { pointsTokenAbi } from "../../../../abi/pointsToken.ts";
import { redemptionRegistryAbi } from "../../../../abi/redemptionRegistry.ts";
import { rewardTokenAbi } from "../../../../abi/rewardToken.ts";
import type { Database } from "../../db/client.ts";
import { redemptions, transactionRequests } from "../../db/redemptionsSchema.ts";
import { recordEvent } from "../../events/outbox.ts";
import {
  canonicalSignature,
  earlierNonceQueued,
  FORWARD_REQUEST_TTL_SECONDS,
  forwarderNonce,
  forwardTypedData,
  releaseNonce,
} from "../forwardRequests.ts";
import { enqueue, type Job, type JobContext, type JobKind } from "../jobs.ts";
import { anyOf } from "../../db/anyOf.ts";

export type ForwardPayload = {
  /** The API record the request serves. */
  record: { kind: "redemption" | "transaction"; id: string };
  forwarder: Address;
  request: {
    from: Address;
    to: Address;
    value: string;
    gas: string;
    nonce: string;
    deadline: number;
    data: Hex;
    signature: Hex;
  };
};

export const FORWARD_KIND = "forward";

/**
 * Requests per transaction. A redemption's forwarded call is given at most MAX_FORWARD_GAS; twenty of
 * them stay far below the 2^24 gas a transaction may use.
 */
export const FORWARD_MAX_BATCH = 20;
export const MAX_FORWARD_GAS = 600_000n;

/** Queues a signed request (in the caller's transaction, with its record). */
export function enqueueForward(
  db: Pick<Database, "insert">,
  job: { tenantId: string; chainId: number; payload: ForwardPayload },
): Promise<string> {
  return enqueue(db, {
    tenantId: job.tenantId,
    chainId: job.chainId,
    kind: FORWARD_KIND,
    payload: job.payload,
    batchKey: `forward:${job.payload.forwarder.toLowerCase()}`,
  });
}

const tableOf = (kind: ForwardPayload["record"]["kind"]) => (kind === "redemption" ? redemptions : transactionRequests);
const signerKey = (signer: string, nonce: bigint | string) => `${signer.toLowerCase()}:${nonce}`;

/** Same signer in nonce order, as the forwarder needs them. */
const inNonceOrder = (jobs: readonly Job<ForwardPayload>[]) =>
  [...jobs].sort((a, b) => {
    const [x, y] = [a.payload.request, b.payload.request];
    if (x.from.toLowerCase() !== y.from.toLowerCase()) return x.from.toLowerCase() < y.from.toLowerCase() ? -1 : 1;
    return Number(BigInt(x.nonce) - BigInt(y.nonce));
  });

/**
 * What the forwarder did with a request: executed it (`success`: its call did not revert), with the
 * registry's redemption id for a redemption; or `displaced`: the forwarder reported its signer and
 * nonce executed, but the request's effect is not in the transaction, so another request of the
 * signer for that nonce ran (a forwarded call may call the forwarder again: re-entered, it runs the
 * other request first, and ours is then skipped).
 */
type Outcome = { success: boolean; redemptionId?: bigint; displaced?: boolean };

const effectAbi = [...redemptionRegistryAbi, ...pointsTokenAbi, ...rewardTokenAbi] as const;

/**
 * The log a request's call leaves when it runs, as a test of a parsed log: `Redeemed` for a
 * redemption, the token's `Transfer` or `TransferSingle` for a transfer or burn. Undefined for a
 * call the API does not make (nothing to check).
 */
function expectedEffect(request: ForwardPayload["request"]): ((log: EffectLog) => boolean) | undefined {
  let call;
  try {
    call = decodeFunctionData({ abi: effectAbi, data: request.data });
  } catch {
    return undefined;
  }
  const from = request.from;
  const at = (log: EffectLog) => isAddressEqual(log.address, request.to);
  const moved = (to: Address, value: bigint, id?: bigint) => (log: EffectLog) =>
    at(log) &&
    (id === undefined
      ? log.eventName === "Transfer" &&
        isAddressEqual(log.args.from, from) &&
        isAddressEqual(log.args.to, to) &&
        log.args.value === value
      : log.eventName === "TransferSingle" &&
        isAddressEqual(log.args.from, from) &&
        isAddressEqual(log.args.to, to) &&
        log.args.id === id &&
        log.args.value === value);
  switch (call.functionName) {
    case "redeem": {
      const [offerId, quantity, business] = call.args;
      return (log) =>
        at(log) &&
        log.eventName === "Redeemed" &&
        log.args.offerId === offerId &&
        isAddressEqual(log.args.holder, from) &&
        BigInt(log.args.quantity) === BigInt(quantity) &&
        isAddressEqual(log.args.business, business);
    }
    case "transfer":
      return moved(call.args[0], call.args[1]);
    case "safeTransferFrom":
      return call.args.length === 5 ? moved(call.args[1], call.args[3], call.args[2]) : undefined;
    case "burn":
      return call.args.length === 1
        ? moved(zeroAddress, call.args[0] as bigint)
        : moved(zeroAddress, call.args[2] as bigint, call.args[1] as bigint);
    default:
      return undefined;
  }
}

const failureOf = (outcome: Outcome) =>
  outcome.displaced
    ? "Another request of its signer ran for its nonce (its call re-entered the forwarder): this one did not run."
    : "The forwarded call reverted on chain.";

type EffectLog = ReturnType<typeof parseEventLogs<typeof effectAbi>>[number];

/**
 * Per signer and nonce: whether the forwarder executed the request, and what the registry redeemed
 * in it. The forwarder's event names only the signer and the nonce, so an executed request also
 * needs its effect in the transaction, each effect log counting for one request only: another
 * request of the signer run for that nonce (re-entering the forwarder) is not taken for this one.
 */
function outcomesOf(
  receipt: TransactionReceipt,
  forwarder: Address,
  requests: readonly ForwardPayload["request"][],
): Map<string, Outcome> {
  const executed = new Map<string, { success: boolean; logIndex: number }>();
  for (const log of parseEventLogs({
    abi: erc2771ForwarderAbi,
    eventName: "ExecutedForwardRequest",
    logs: receipt.logs,
  })) {
    if (isAddressEqual(log.address, forwarder))
      executed.set(signerKey(log.args.signer, log.args.nonce), { success: log.args.success, logIndex: log.logIndex });
  }
  const effects: (EffectLog | undefined)[] = parseEventLogs({ abi: effectAbi, logs: receipt.logs });
  const outcomes = new Map<string, Outcome>();
  for (const request of requests) {
    const key = signerKey(request.from, request.nonce);
    const reported = executed.get(key);
    if (reported === undefined) continue;
    const { success } = reported;
    if (!success) {
      outcomes.set(key, { success });
      continue;
    }
    const expected = expectedEffect(request);
    if (!expected) {
      outcomes.set(key, { success });
      continue;
    }
    // A request's own logs come before the forwarder reports it.
    const index = effects.findIndex((log) => log !== undefined && log.logIndex < reported.logIndex && expected(log));
    if (index < 0) {
      outcomes.set(key, { success: false, displaced: true });
      continue;
    }
    const effect = effects[index]!;
    effects[index] = undefined;
    outcomes.set(key, {
      success,
      ...(effect.eventName === "Redeemed" && { redemptionId: effect.args.redemptionId }),
    });
  }
  return outcomes;
}

/** Blocks one eth_getLogs spans (what RPC providers allow) while a request's execution elsewhere is looked for. */
const LOG_RANGE_BLOCKS = 1_000n;

/**
 * Whether the transaction that used the request's nonce carried this very request: the forwarder's
 * event names only the signer and the nonce, and a signer may sign another request for the same
 * nonce (a self-custody wallet signs what it likes) and send that one. Read from the call to the
 * forwarder by doing what the forwarder did: it goes through the requests in order and executes each
 * of the signer's that is valid for the signer's nonce at that moment (its signature verifies for
 * that nonce, its deadline is not before the block's time, its target trusts the forwarder), which
 * moves the nonce on, so a later request signed for a nonce already used is skipped. The walk starts
 * at the first nonce the signer used in the transaction. A call made through another contract cannot
 * be read so, and is not taken for this request's.
 */
async function carriedThisRequest(
  context: JobContext,
  forwarder: Address,
  request: ForwardPayload["request"],
  receipt: TransactionReceipt,
): Promise<boolean> {
  const { chainId, publicClient } = context.chain;
  const transaction = await publicClient.getTransaction({ hash: receipt.transactionHash });
  if (!transaction.to || !isAddressEqual(transaction.to, forwarder)) return false;
  let call;
  try {
    call = decodeFunctionData({ abi: erc2771ForwarderAbi, data: transaction.input });
  } catch {
    return false;
  }
  const sent =
    call.functionName === "execute" ? [call.args[0]] : call.functionName === "executeBatch" ? call.args[0] : [];
  const used = parseEventLogs({ abi: erc2771ForwarderAbi, eventName: "ExecutedForwardRequest", logs: receipt.logs })
    .filter((log) => isAddressEqual(log.address, forwarder) && isAddressEqual(log.args.signer, request.from))
    .map((log) => log.args.nonce);
  if (used.length === 0) return false;
  const { timestamp } = await publicClient.getBlock({ blockNumber: receipt.blockNumber });
  // The forwarder's own test of trust: a static call of `isTrustedForwarder` that returns a nonzero word.
  const trusts = async (target: Address) => {
    const { data } = await publicClient
      .call({
        to: target,
        data: encodeFunctionData({ abi: redemptionRegistryAbi, functionName: "isTrustedForwarder", args: [forwarder] }),
        blockNumber: receipt.blockNumber,
      })
      .catch(() => ({ data: undefined }));
    return data !== undefined && data.length >= 66 && BigInt(data.slice(0, 66)) !== 0n;
  };
  const ours = BigInt(request.nonce);
  let nonce = used.reduce((least, next) => (next < least ? next : least));
  for (const other of sent) {
    if (!isAddressEqual(other.from, request.from) || BigInt(other.deadline) < timestamp) continue;
    // The forwarder (OpenZeppelin's ECDSA) refuses a signature of v 0 or 1, or of a high s, which
    // viem accepts: such a request was skipped.
    if (canonicalSignature(other.signature) !== other.signature.toLowerCase()) continue;
    const typedData = forwardTypedData(chainId, forwarder, { ...other, nonce });
    const signedForNonce = await verifyTypedData({
      address: other.from,
      signature: other.signature,
      ...typedData,
    }).catch(() => false);
    if (!signedForNonce || !(await trusts(other.to))) continue;
    if (nonce === ours) {
      return (
        isAddressEqual(other.to, request.to) &&
        other.value === BigInt(request.value) &&
        other.gas === BigInt(request.gas) &&
        other.deadline === request.deadline &&
        other.data.toLowerCase() === request.data.toLowerCase()
      );
    }
    nonce += 1n;
  }
  return false;
}

/**
 * A request whose nonce the forwarder had used before our transaction came: anyone may send a signed
 * request to the forwarder themself (its signer, or someone who saw it in our transaction while it
 * waited). Its outcome and transaction there, found by the forwarder's event (searched back to the
 * request's making), if that transaction carried this request rather than another of its signer
 * with the same nonce.
 */
async function executedElsewhere(
  context: JobContext,
  forwarder: Address,
  request: ForwardPayload["request"],
  beforeBlock: bigint,
): Promise<{ outcome: Outcome; transactionHash: Hex } | undefined> {
  const { publicClient } = context.chain;
  // Back from our receipt, a range at a time, to the blocks before the request existed (its typed
  // data was made FORWARD_REQUEST_TTL_SECONDS before its deadline): it cannot have run earlier.
  const madeAt = BigInt(request.deadline - FORWARD_REQUEST_TTL_SECONDS);
  let executed;
  for (let toBlock = beforeBlock; !executed && toBlock >= 0n; toBlock -= LOG_RANGE_BLOCKS) {
    const fromBlock = toBlock >= LOG_RANGE_BLOCKS ? toBlock - LOG_RANGE_BLOCKS + 1n : 0n;
    const logs = await publicClient.getContractEvents({
      address: forwarder,
      abi: erc2771ForwarderAbi,
      eventName: "ExecutedForwardRequest",
      args: { signer: request.from },
      fromBlock,
      toBlock,
    });
    executed = logs.find((log) => log.args.nonce === BigInt(request.nonce));
    if (fromBlock === 0n || (await publicClient.getBlock({ blockNumber: fromBlock })).timestamp < madeAt) break;
  }
  if (!executed) return undefined;
  const receipt = await publicClient.getTransactionReceipt({ hash: executed.transactionHash });
  if (!(await carriedThisRequest(context, forwarder, request, receipt))) return undefined;
  const outcome = outcomesOf(receipt, forwarder, [request]).get(signerKey(request.from, request.nonce));
  return outcome && { outcome, transactionHash: receipt.transactionHash };
}

type Settlement =
  | { status: "COMPLETED"; transactionHash: Hex; redemptionId?: bigint }
  | { status: "FAILED"; transactionHash: Hex | null; error: string };

/** Writes a record's end and its platform event together, and frees a nonce the forwarder did not use. */
async function finish(
  db: Database,
  job: Job<ForwardPayload>,
  context: JobContext,
  settlement: Settlement,
  releaseUnusedNonce: boolean,
) {
  const { record, forwarder, request } = job.payload;
  const table = tableOf(record.kind);
  await db.transaction(async (tx) => {
    const [row] = await tx
      .update(table)
      .set({
        status: settlement.status,
        transactionHash: settlement.transactionHash,
        error: settlement.status === "FAILED" ? settlement.error : null,
        ...(record.kind === "redemption" &&
          settlement.status === "COMPLETED" &&
          settlement.redemptionId !== undefined && { onchainRedemptionId: settlement.redemptionId.toString() }),
        updatedAt: new Date(),
      })
      .where(
        and(
          eq(table.id, record.id),
          eq(table.tenantId, job.tenantId),
          inArray(table.status, ["PENDING", "PROCESSING"]),
        ),
      )
      .returning();
    if (releaseUnusedNonce) {
      await releaseNonce(tx as unknown as Database, job.chainId, forwarder, request.from, BigInt(request.nonce));
    }
    if (!row) return; // settled already (a repeat of this call)
    if (record.kind === "redemption") {
      const redemption = row as typeof redemptions.$inferSelect;
      await recordEvent(tx as unknown as Database, {
        tenantId: context.tenant.id,
        type: settlement.status === "COMPLETED" ? "redemption.completed" : "redemption.failed",
        data: {
          redemptionId: redemption.id,
          userId: redemption.userId,
          holder: redemption.holder,
          offerId: redemption.offerId,
          quantity: redemption.quantity,
          onchainRedemptionId: redemption.onchainRedemptionId,
          transactionHash: settlement.transactionHash,
          ...(settlement.status === "FAILED" && { error: settlement.error }),
        },
      });
    } else if (settlement.status === "COMPLETED") {
      const transaction = row as typeof transactionRequests.$inferSelect;
      await recordEvent(tx as unknown as Database, {
        tenantId: context.tenant.id,
        type: "transaction.confirmed",
        data: {
          transactionId: transaction.id,
          type: transaction.type,
          token: transaction.token,
          tokenId: transaction.tokenId,
          from: transaction.from,
          to: transaction.to,
          amount: transaction.amount,
          transactionHash: settlement.transactionHash,
        },
      });
    }
  });
}

/** A queued request as the forwarder's execute and executeBatch take it (its nonce is the forwarder's). */
export const forwarderRequestOf = ({ request }: ForwardPayload) => ({
  from: request.from,
  to: request.to,
  value: BigInt(request.value),
  gas: BigInt(request.gas),
  deadline: request.deadline,
  data: request.data,
  signature: request.signature,
});

export const forwardKind: JobKind<ForwardPayload> = {
  name: FORWARD_KIND,
  maxBatch: FORWARD_MAX_BATCH,

  async encode(jobs, { db, chain }) {
    const requests = inNonceOrder(jobs).map(({ payload }) => forwarderRequestOf(payload));
    const forwarder = jobs[0]!.payload.forwarder;
    // Their records are on their way: PENDING → PROCESSING.
    for (const kind of ["redemption", "transaction"] as const) {
      const ids = jobs.filter((job) => job.payload.record.kind === kind).map((job) => job.payload.record.id);
      if (ids.length === 0) continue;
      const table = tableOf(kind);
      await db
        .update(table)
        .set({ status: "PROCESSING", updatedAt: new Date() })
        .where(and(anyOf(table.id, ids), eq(table.status, "PENDING")));
    }
    // Requests carry no value, so there is nothing to refund; but a refund receiver is what makes the
    // batch skip a refused request instead of reverting.
    const refundReceiver = chain.walletClient.account.address;
    return {
      to: forwarder,
      data: encodeFunctionData({
        abi: erc2771ForwarderAbi,
        functionName: "executeBatch",
        args: [requests, refundReceiver],
      }),
    };
  },

  async settle(jobs, receipt, context) {
    const forwarder = jobs[0]!.payload.forwarder;
    const outcomes = outcomesOf(
      receipt,
      forwarder,
      jobs.map((job) => job.payload.request),
    );
    // Read only when a request was refused: settle runs inside the confirmer's transaction, which
    // should not wait on the chain in the common case.
    let latestTimestamp: number | undefined;
    const latestBlockTime = async () =>
      (latestTimestamp ??= Number((await context.chain.publicClient.getBlock()).timestamp));
    for (const job of jobs) {
      const { request } = job.payload;
      const outcome = outcomes.get(signerKey(request.from, request.nonce));
      if (outcome?.success) {
        await finish(
          context.db,
          job,
          context,
          {
            status: "COMPLETED",
            transactionHash: receipt.transactionHash,
            ...(outcome.redemptionId !== undefined && { redemptionId: outcome.redemptionId }),
          },
          false,
        );
      } else if (outcome) {
        await finish(
          context.db,
          job,
          context,
          {
            status: "FAILED",
            transactionHash: receipt.transactionHash,
            error: failureOf(outcome),
          },
          false,
        );
      } else {
        // Refused by the forwarder: its nonce is not the signer's next one, or its deadline passed.
        // When an earlier request of the same signer is still queued (it went in another
        // transaction), this one waits for it; otherwise it fails and its nonce is freed.
        const nonce = BigInt(request.nonce);
        const chainNonce = await forwarderNonce(context.chain, request.from);
        const elsewhere =
          nonce < chainNonce ? await executedElsewhere(context, forwarder, request, receipt.blockNumber) : undefined;
        if (elsewhere) {
          // Executed all the same, in another transaction: its outcome is the record's.
          const { outcome, transactionHash } = elsewhere;
          await finish(
            context.db,
            job,
            context,
            outcome.success
              ? {
                  status: "COMPLETED",
                  transactionHash,
                  ...(outcome.redemptionId !== undefined && { redemptionId: outcome.redemptionId }),
                }
              : { status: "FAILED", transactionHash, error: failureOf(outcome) },
            false,
          );
          continue;
        }
        const waiting =
          request.deadline > (await latestBlockTime()) &&
          nonce > chainNonce &&
          (await earlierNonceQueued(context.db, job.chainId, forwarder, request.from, chainNonce, nonce));
        if (waiting) {
          await context.db.transaction(async (tx) => {
            const jobId = await enqueueForward(tx as unknown as Database, {
              tenantId: job.tenantId,
              chainId: job.chainId,
              payload: job.payload,
            });
            const table = tableOf(job.payload.record.kind);
            await tx
              .update(table)
              .set({ jobId, status: "PENDING", updatedAt: new Date() })
              .where(eq(table.id, job.payload.record.id));
          });
          continue;
        }
        await finish(
          context.db,
          job,
          context,
          {
            status: "FAILED",
            transactionHash: receipt.transactionHash,
            error:
              request.deadline <= (await latestBlockTime())
                ? "The request's deadline passed before it was relayed."
                : "The forwarder refused the request (its nonce was used or skipped).",
          },
          true,
        );
      }
    }
  },

  async fail(jobs, reason, context) {
    // The whole transaction failed: no request of it was executed, so their nonces are free again.
    for (const job of jobs) {
      await finish(context.db, job, context, { status: "FAILED", transactionHash: null, error: reason }, true);
    }
  },
};
