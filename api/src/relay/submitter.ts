// Carrying pending jobs to the chain: claim them (FOR UPDATE SKIP LOCKED, then a lease so that the
// network calls happen outside any database transaction), hold back tenants over their gas limit,
// batch them by tenant, kind and batch key, simulate each batch (bisecting a reverting one down to
// the jobs that revert alone), then take a nonce, check the tenant's limit, sign, record and broadcast.
import { and, asc, eq, inArray, isNull, lte, sql } from "drizzle-orm";
import type { Address, Hex } from "viem";
import type { Database, Transaction } from "../db/client.ts";
import { relayJobs, relayTransactions } from "../db/relaySchema.ts";
import { isRevert, revertReason, shortError } from "./chainErrors.ts";
import { groupBy, jobContext, type AnyJob, type ChainLane, type RelayerContext } from "./context.ts";
import type { JobContext, JobKind } from "./jobs.ts";
import { takeNonce } from "./lanes.ts";
import { overGasLimit, tenantGasLastHour } from "./limits.ts";
import {
  broadcast,
  firstFees,
  marketFees,
  signFields,
  TRANSACTION_GAS_CAP,
  withMargin,
  type Fees,
} from "./transactions.ts";
import { anyOf } from "../db/anyOf.ts";

export type Batch = { jobs: AnyJob[]; to: Address; data: Hex; gasLimit: bigint };

export type SubmitReturnType = {
  claimed: number;
  /** A tenant had as many ready jobs as its part of the round: there may be more at once. */
  more: boolean;
  submitted: number;
  /** A node said "nonce too low": the lane must resynchronise. */
  laneStale: boolean;
  /** Jobs were held back because the lane's unmined transactions already fill the next blocks. */
  throttled: boolean;
  /** Nothing was sent because the chain's base fee is above the ceiling (settings.maxFeePerGas). */
  waitingForFees: boolean;
};

/**
 * Blocks' worth of gas the lane's sent transactions may hold before more are sent. Beyond it the
 * chain is the limit: jobs wait in the queue, where they still make full batches, rather than in
 * the node's pool as whatever batches each round happened to find.
 */
const IN_FLIGHT_BLOCKS = 2n;

export async function submitPending(context: RelayerContext, lane: ChainLane): Promise<SubmitReturnType> {
  const { db, settings, kinds, logger } = context;
  const { chain } = lane;
  const result: SubmitReturnType = {
    claimed: 0,
    more: false,
    submitted: 0,
    laneStale: false,
    throttled: false,
    waitingForFees: false,
  };
  // While fees are above the ceiling, jobs are left in the queue rather than claimed and released each round.
  let fees: Fees | undefined;
  if (lane.waitingForFees !== undefined) {
    fees = await pricedWithin(context, lane);
    if (!fees) {
      result.waitingForFees = true;
      return result;
    }
  }
  const { jobs: claimed, more } = await claimJobs(context, lane);
  result.claimed = claimed.length;
  result.more = more;
  if (claimed.length === 0) return result;
  const handled = new Set<string>();
  try {
    fees ??= await pricedWithin(context, lane);
    if (!fees) {
      result.waitingForFees = true;
      return result;
    }
    const blockGas = await blockGasLimit(lane);
    const gasTarget = batchGasTarget(blockGas);
    let room = IN_FLIGHT_BLOCKS * blockGas - (await inFlightGas(context, lane));
    tenants: for (const tenantJobs of groupBy(claimed, (job) => job.tenantId)) {
      const tenantId = tenantJobs[0]!.tenantId;
      const holdBack = async () => {
        const waiting = tenantJobs.filter((job) => !handled.has(job.id));
        await holdTenant(context, chain.chainId, tenantId, waiting);
        for (const job of waiting) handled.add(job.id);
      };
      if (await overGasLimit(context, tenantId)) {
        await holdBack();
        continue;
      }
      const jobContextOf = await jobContext(db, chain, tenantId);
      for (const group of groupBy(tenantJobs, (job) => `${job.kind}\u0000${job.batchKey ?? job.id}`)) {
        const kind = kinds.get(group[0]!.kind)!;
        const maxSize = group[0]!.batchKey === null ? 1 : Math.max(1, kind.maxBatch);
        for (let start = 0; start < group.length;) {
          if (room <= 0n) {
            result.throttled = true;
            break tenants;
          }
          const chunk = group.slice(start, start + chunkSize(lane, kind.name, maxSize, gasTarget));
          start += chunk.length;
          const outcome = await simulate(
            kind,
            chunk,
            lane,
            jobContextOf,
            gasTarget,
            gasLimitGuess(lane, kind.name, chunk),
          );
          for (const { job, reason } of outcome.reverted) {
            await failJobs(context, kind, [job], reason, jobContextOf);
            handled.add(job.id);
          }
          rememberGasPerJob(lane, kind.name, outcome);
          for (const batch of outcome.batches) {
            const sent = await submitBatch(context, lane, batch, fees);
            if (sent === "over-limit") {
              await holdBack();
              continue tenants;
            }
            for (const job of batch.jobs) handled.add(job.id);
            if (sent !== "skipped") room -= batch.gasLimit;
            if (sent === "nonce-too-low") result.laneStale = true;
            if (sent !== "skipped") result.submitted += batch.jobs.length;
          }
          // Jobs whose simulation could not reach the node are released below and retried.
        }
      }
    }
  } finally {
    // Served: the tenants whose jobs this round carried, failed or held back. One the round did not
    // reach (the chain's room ran out first) keeps its turn.
    const served = lane.served!;
    for (const job of claimed) if (handled.has(job.id)) served.lastRound.set(job.tenantId, served.rounds);
    const released = claimed.filter((job) => !handled.has(job.id));
    if (released.length > 0) {
      const heldBack = result.throttled || result.waitingForFees;
      await db
        .update(relayJobs)
        .set({
          // Held back: in line again as they were. Otherwise (the node unreachable): after a pause.
          availableAt: heldBack ? sql`${relayJobs.createdAt}` : new Date(Date.now() + settings.pollIntervalMs),
          ...(result.waitingForFees && { error: feeWaitReason(context, lane.waitingForFees!) }),
          updatedAt: new Date(),
        })
        .where(and(anyOf(relayJobs.id, ids(released)), eq(relayJobs.status, "PENDING")))
        .catch((error) => logger.error({ err: error }, "relayer: releasing claimed jobs failed"));
    }
  }
  return result;
}

/** Puts off a tenant's jobs for settings.tenantWaitMs: the tenant has used its gas for the hour. */
async function holdTenant(context: RelayerContext, chainId: number, tenantId: string, jobs: AnyJob[]) {
  const { db, settings, logger } = context;
  await db
    .update(relayJobs)
    .set({ availableAt: new Date(Date.now() + settings.tenantWaitMs), updatedAt: new Date() })
    .where(and(anyOf(relayJobs.id, ids(jobs)), eq(relayJobs.status, "PENDING")));
  logger.warn({ tenantId, chainId }, "relayer: tenant over its gas limit per hour; jobs wait");
}

/**
 * Whether the tenant may send the batch now: its gas of the last hour (the batches sent before it,
 * this round's and other processes', counted at their gas limit while in flight) and the batch's
 * gas limit fit its limit. A batch larger than the whole limit goes when the tenant has used
 * nothing in the last hour, so that it waits an hour at most instead of for ever.
 */
async function withinGasLimit(tx: Transaction, limit: number, batch: Batch): Promise<boolean> {
  if (limit <= 0) return true;
  const used = await tenantGasLastHour({ db: tx as unknown as Database }, batch.jobs[0]!.tenantId);
  return used === 0n || used + batch.gasLimit <= BigInt(limit);
}

/**
 * The fees for new transactions now, within the ceiling; undefined (and the lane marked waiting) while
 * the chain's base fee is above it. Logs when the lane starts and stops waiting, not every round.
 */
async function pricedWithin(context: RelayerContext, lane: ChainLane): Promise<Fees | undefined> {
  const { logger, settings } = context;
  const { fees: market, baseFeePerGas } = await marketFees(lane.chain);
  const fees = firstFees(market, baseFeePerGas, settings.maxFeePerGas);
  const details = {
    chainId: lane.chain.chainId,
    baseFeePerGas: String(baseFeePerGas),
    maxFeePerGas: String(settings.maxFeePerGas),
  };
  if (!fees) {
    if (lane.waitingForFees === undefined) logger.warn(details, `relayer: ${feeWaitReason(context, baseFeePerGas)}`);
    lane.waitingForFees = baseFeePerGas;
  } else if (lane.waitingForFees !== undefined) {
    logger.info(details, "relayer: the base fee is within RELAYER_MAX_FEE_PER_GAS_WEI again; sending");
    lane.waitingForFees = undefined;
  }
  return fees;
}

const feeWaitReason = (context: RelayerContext, baseFeePerGas: bigint) =>
  `waiting: the chain's base fee (${baseFeePerGas} wei) is above RELAYER_MAX_FEE_PER_GAS_WEI (${context.settings.maxFeePerGas} wei)`;

/** The gas limits of the lane's transactions sent and not yet mined. */
async function inFlightGas(context: RelayerContext, lane: ChainLane): Promise<bigint> {
  const [row] = await context.db
    .select({ gas: sql<string>`coalesce(sum(${relayTransactions.gasLimit}::numeric), 0)::text` })
    .from(relayTransactions)
    .where(
      and(
        eq(relayTransactions.chainId, lane.chain.chainId),
        eq(relayTransactions.signer, lane.signer.address),
        eq(relayTransactions.status, "SUBMITTED"),
      ),
    );
  return BigInt(row?.gas ?? "0");
}

const ids = (jobs: readonly AnyJob[]) => jobs.map((job) => job.id);

/**
 * How many jobs of a kind to simulate together: as many as the gas per job of its latest estimated
 * batch fits in the target (2% to spare), at most `maxSize`. A chunk so sized usually fits at its
 * first estimate, where a full chunk over the target took three (itself, then the batch that fits
 * and the few left over, sent as a transaction of their own), each executing the whole batch on
 * the node.
 */
export function chunkSize(lane: ChainLane, kind: string, maxSize: number, gasTarget: bigint): number {
  const estimated = lane.estimated?.get(kind);
  if (!estimated) return maxSize;
  const target = gasTarget < TRANSACTION_GAS_CAP ? gasTarget : TRANSACTION_GAS_CAP;
  // At least as many as that batch (it fit), so that its gas per job may serve as a guess.
  const fitting = Math.max(estimated.jobs, Number((target * 98n) / 100n / estimated.gasPerJob));
  return Math.max(1, Math.min(maxSize, fitting));
}

/** Chunks whose gas limit is guessed from one estimate, before the next chunk is estimated again. */
const GUESSES_PER_ESTIMATE = 4;

/**
 * A chunk's gas limit from the kind's latest estimated batch, when the chunk has at least as many
 * jobs (the transaction's own gas, spread over more jobs there, is then counted at least in full,
 * and so is the estimate's margin) and that estimate has not served GUESSES_PER_ESTIMATE chunks
 * yet (jobs change in cost: a new holder's claim costs twice a known one's).
 */
export function gasLimitGuess(lane: ChainLane, kind: string, chunk: readonly AnyJob[]): bigint | undefined {
  const estimated = lane.estimated?.get(kind);
  if (!estimated || estimated.guessesLeft <= 0 || chunk.length < estimated.jobs) return undefined;
  estimated.guessesLeft -= 1;
  return estimated.gasPerJob * BigInt(chunk.length);
}

/** Keeps the gas per job of the largest batch just estimated (not guessed), to size and guess the next chunks. */
export function rememberGasPerJob(lane: ChainLane, kind: string, outcome: SimulateReturnType) {
  if (outcome.guessed) return;
  const largest = outcome.batches.reduce<Batch | undefined>(
    (most, batch) => (most && most.jobs.length >= batch.jobs.length ? most : batch),
    undefined,
  );
  // One job's gas is mostly the transaction's own overhead: no guide to a batch's.
  if (!largest || largest.jobs.length < 2) return;
  (lane.estimated ??= new Map()).set(kind, {
    gasPerJob: largest.gasLimit / BigInt(largest.jobs.length),
    jobs: largest.jobs.length,
    guessesLeft: GUESSES_PER_ESTIMATE,
  });
}

/**
 * Claims pending jobs of known kinds, shared out between the tenants that have jobs ready: each
 * takes at most an equal part of the round (its oldest jobs), and the tenant served longest ago goes
 * first, so that one tenant's backlog does not keep another's claims waiting behind it. Locked rows
 * are another process's, and skipped. Three statements however many tenants (and the lease).
 */
async function claimJobs(context: RelayerContext, lane: ChainLane): Promise<{ jobs: AnyJob[]; more: boolean }> {
  const { db, settings, kinds } = context;
  const now = new Date();
  const chainId = lane.chain.chainId;
  const known = sql`${sql.param([...kinds.keys()])}::text[]`;
  const ready = sql`status = 'PENDING' and chain_id = ${chainId} and available_at <= ${now} and kind = any(${known})`;
  return db.transaction(async (tx) => {
    // The tenants with jobs ready, by skipping through relay_jobs_ready from one tenant to the next
    // (a tenant's entries not ready yet, held back or leased, are walked past), not by sorting the queue.
    const { rows: tenantRows } = await tx.execute<{ tenant_id: string }>(sql`
      with recursive tenant(tenant_id) as (
        (select tenant_id from ${relayJobs} where ${ready} order by tenant_id limit 1)
        union all
        select (select tenant_id from ${relayJobs} where ${ready} and tenant_id > tenant.tenant_id
                order by tenant_id limit 1)
        from tenant where tenant.tenant_id is not null
      )
      select tenant_id from tenant where tenant_id is not null`);
    if (tenantRows.length === 0) return { jobs: [], more: false };
    const served = (lane.served ??= { rounds: 0, lastRound: new Map() });
    const turn = (tenantId: string) => served.lastRound.get(tenantId) ?? -1;
    // At most one job each for claimLimit tenants, when more have jobs ready.
    const tenantIds = tenantRows
      .map((row) => row.tenant_id)
      .sort((x, y) => turn(x) - turn(y))
      .slice(0, settings.claimLimit);
    const share = Math.max(1, Math.ceil(settings.claimLimit / tenantIds.length));
    const { rows: claimedRows } = await tx.execute<{ id: string; tenant_id: string }>(sql`
      select job.id, job.tenant_id from unnest(${sql.param(tenantIds)}::uuid[]) as tenant(id)
      cross join lateral (
        select id, tenant_id from ${relayJobs} where tenant_id = tenant.id and ${ready}
        order by available_at, created_at limit ${share}
        for update skip locked
      ) job`);
    if (claimedRows.length === 0) return { jobs: [], more: false };
    served.rounds += 1;
    const perTenant = new Map<string, number>();
    for (const row of claimedRows) perTenant.set(row.tenant_id, (perTenant.get(row.tenant_id) ?? 0) + 1);
    const rows = await tx
      .update(relayJobs)
      .set({ availableAt: new Date(now.getTime() + settings.leaseMs) })
      .where(
        anyOf(
          relayJobs.id,
          claimedRows.map((row) => row.id),
        ),
      )
      .returning();
    const position = new Map(tenantIds.map((tenantId, index) => [tenantId, index]));
    // Tenant by tenant in their turn; each tenant's jobs oldest first.
    rows.sort(
      (x, y) => position.get(x.tenantId)! - position.get(y.tenantId)! || x.createdAt.getTime() - y.createdAt.getTime(),
    );
    return { jobs: rows as AnyJob[], more: [...perTenant.values()].some((count) => count >= share) };
  });
}

export type SimulateReturnType = {
  batches: Batch[];
  /** Jobs whose call reverts on its own, with the reason. */
  reverted: { job: AnyJob; reason: string }[];
  /** The chunk went as one batch at the guessed gas limit, checked by one run, not estimated. */
  guessed?: boolean;
};

/**
 * Encodes and estimates a chunk of jobs. A reverting chunk is halved until the jobs that revert
 * alone are found. A chunk whose gas limit is over `gasTarget` (at most the per-transaction cap) is
 * packed into batches of about the target's gas, mostly one estimate each. Jobs whose estimate
 * could not reach the node are in neither list (the caller releases them).
 */
export async function simulate(
  kind: JobKind<any>,
  jobs: AnyJob[],
  lane: ChainLane,
  context: JobContext,
  gasTarget: bigint = TRANSACTION_GAS_CAP,
  gasLimitGuess?: bigint,
): Promise<SimulateReturnType> {
  const target = gasTarget < TRANSACTION_GAS_CAP ? gasTarget : TRANSACTION_GAS_CAP;
  const outcome: SimulateReturnType = { batches: [], reverted: [] };
  // A guess from the batches before is checked by running the chunk once at that gas limit: an
  // estimate runs it again and again (a binary search over the gas limit). Any failure (a revert,
  // too little gas, the node) goes the usual way below.
  if (gasLimitGuess !== undefined && gasLimitGuess <= target) {
    try {
      const call = await kind.encode(jobs, context);
      await lane.chain.publicClient.call({ account: lane.signer.address, ...call, gas: gasLimitGuess });
      outcome.batches.push({ jobs, ...call, gasLimit: gasLimitGuess });
      outcome.guessed = true;
      return outcome;
    } catch {
      // Estimated below.
    }
  }
  const visit = async (part: AnyJob[]): Promise<void> => {
    const halves = () => [part.slice(0, Math.ceil(part.length / 2)), part.slice(Math.ceil(part.length / 2))];
    let call: { to: Address; data: Hex };
    try {
      call = await kind.encode(part, context);
    } catch (error) {
      if (part.length === 1) outcome.reverted.push({ job: part[0]!, reason: `cannot encode: ${shortError(error)}` });
      else for (const half of halves()) await visit(half);
      return;
    }
    let gas: bigint;
    try {
      gas = await lane.chain.publicClient.estimateGas({ account: lane.signer.address, to: call.to, data: call.data });
    } catch (error) {
      // The node could not be reached: these jobs stay pending.
      if (!isRevert(error)) return;
      if (part.length === 1) outcome.reverted.push({ job: part[0]!, reason: revertReason(error) });
      else for (const half of halves()) await visit(half);
      return;
    }
    const gasLimit = withMargin(gas);
    if (gasLimit > target) {
      if (part.length > 1) await pack(part, gasLimit);
      else if (gas <= TRANSACTION_GAS_CAP) {
        outcome.batches.push({
          jobs: part,
          ...call,
          gasLimit: gasLimit < TRANSACTION_GAS_CAP ? gasLimit : TRANSACTION_GAS_CAP,
        });
      } else outcome.reverted.push({ job: part[0]!, reason: `needs ${gas} gas, above the ${TRANSACTION_GAS_CAP} cap` });
      return;
    }
    outcome.batches.push({ jobs: part, ...call, gasLimit });
  };
  /** The chunk's call and gas limit, or undefined when it does not encode or estimate. */
  const attempt = async (part: AnyJob[]) => {
    try {
      const call = await kind.encode(part, context);
      const gas = await lane.chain.publicClient.estimateGas({ account: lane.signer.address, ...call });
      return { call, gasLimit: withMargin(gas) };
    } catch {
      return undefined;
    }
  };
  /**
   * Fills batches one after another from a chunk over the target: each takes as many jobs as the
   * gas per job of the latest estimate fits in the target (2% to spare), fewer while its own
   * estimate is still over, more (once) when it is well under. Jobs do not cost the same (a new
   * holder's claim creates storage), so the estimate of each batch sizes the next. A piece that
   * fails to estimate goes the usual way.
   */
  const pack = async (part: AnyJob[], gasLimit: bigint) => {
    let rest = part;
    let perJob = gasLimit / BigInt(part.length);
    const fitting = () => Math.max(1, Math.min(rest.length, Number((target * 98n) / 100n / perJob)));
    let take = fitting();
    let grown = false;
    while (rest.length > 0) {
      const piece = rest.slice(0, take);
      const tried = await attempt(piece);
      if (tried) perJob = tried.gasLimit / BigInt(take);
      if (tried && tried.gasLimit > target && take > 1) {
        take = Math.min(take - 1, fitting());
        continue;
      }
      // Well under the target (its jobs cost less than the guess): once, try as many as fit.
      if (tried && !grown && tried.gasLimit * 10n < target * 9n && fitting() > take) {
        take = fitting();
        grown = true;
        continue;
      }
      if (tried && tried.gasLimit <= target)
        outcome.batches.push({ jobs: piece, ...tried.call, gasLimit: tried.gasLimit });
      else await visit(piece);
      rest = rest.slice(take);
      take = fitting();
      grown = false;
    }
  };
  await visit(jobs);
  // Once the reverting jobs are out, the rest usually fits in one transaction again.
  if (outcome.reverted.length > 0 && outcome.batches.length > 1) {
    const rest = outcome.batches.flatMap((batch) => batch.jobs);
    try {
      const call = await kind.encode(rest, context);
      const gas = await lane.chain.publicClient.estimateGas({ account: lane.signer.address, ...call });
      if (withMargin(gas) <= target) outcome.batches = [{ jobs: rest, ...call, gasLimit: withMargin(gas) }];
    } catch {
      // Keep the separate batches.
    }
  }
  return outcome;
}

/**
 * The gas limit batches aim at, so that the relayer's transactions fill blocks. A block builder
 * takes a transaction while its gas limit fits the gas left, and a batch uses about its limit ÷ 1.2
 * (the margin above): n batches of limit L fit a block of B gas when (n − 1)·L/1.2 + L ≤ B, and
 * then use n/(n + 0.2) of it. Five or more per block: the gas left unused when the next batch does
 * not fit is smaller, and so is the harm of estimates above the gas used (about 4% for claims).
 * Each within the cap, and 3% less than that bound, so that a batch a little larger than the
 * others still fits (over 0.9 of the block).
 */
export function batchGasTarget(blockGasLimit: bigint): bigint {
  for (let n = 5n; ; n++) {
    const limit = (blockGasLimit * 6n * 97n) / ((6n + 5n * (n - 1n)) * 100n);
    if (limit <= TRANSACTION_GAS_CAP) return limit;
  }
}

/** The chain's block gas limit now (one cheap call a round: chains change it). */
async function blockGasLimit(lane: ChainLane): Promise<bigint> {
  return (await lane.chain.publicClient.getBlock({ blockTag: "latest" })).gasLimit;
}

/**
 * Records a batch's transaction and its jobs as SUBMITTED in one database transaction (holding the
 * lane's lock, so the nonce is this transaction's alone), then broadcasts it. Recording first means
 * a crash after it leaves a transaction the confirmer rebroadcasts, never a sent one nobody knows.
 * The tenant's gas limit is checked under that lock too: a tenant's jobs are all on its chain, and
 * the processes sharing the queue send there from the chain's one signer, so no other send of the
 * tenant can pass the check at the same time.
 */
async function submitBatch(
  context: RelayerContext,
  lane: ChainLane,
  batch: Batch,
  fees: Fees,
): Promise<"sent" | "skipped" | "over-limit" | "nonce-too-low" | "refused"> {
  const { db, logger, settings } = context;
  const { chain, signer } = lane;
  let notRecorded: "skipped" | "over-limit" = "skipped";
  const recorded = await db
    .transaction(async (tx) => {
      const nonce = await takeNonce(tx, chain.chainId, signer.address);
      if (!(await withinGasLimit(tx, settings.tenantGasPerHour, batch))) {
        notRecorded = "over-limit";
        tx.rollback();
      }
      const still = await tx
        .select({ id: relayJobs.id })
        .from(relayJobs)
        .where(
          and(anyOf(relayJobs.id, ids(batch.jobs)), eq(relayJobs.status, "PENDING"), isNull(relayJobs.transactionId)),
        )
        .for("update");
      if (still.length !== batch.jobs.length) {
        // Another process carried some of them after our lease ran out: roll back, nonce included.
        tx.rollback();
      }
      const fields = { nonce, to: batch.to, data: batch.data, gasLimit: batch.gasLimit, ...fees };
      const { serialized, hash } = await signFields(signer, chain.chainId, fields);
      const [row] = await tx
        .insert(relayTransactions)
        .values({
          chainId: chain.chainId,
          signer: signer.address,
          nonce,
          // Batches are made within one tenant's jobs (submitPending).
          tenantId: batch.jobs[0]!.tenantId,
          to: batch.to,
          data: batch.data,
          gasLimit: batch.gasLimit.toString(),
          maxFeePerGas: fees.maxFeePerGas.toString(),
          maxPriorityFeePerGas: fees.maxPriorityFeePerGas.toString(),
          hashes: [hash],
        })
        .returning();
      await tx
        .update(relayJobs)
        .set({
          status: "SUBMITTED",
          transactionId: row!.id,
          attempts: sql`${relayJobs.attempts} + 1`,
          error: null,
          updatedAt: new Date(),
        })
        .where(anyOf(relayJobs.id, ids(batch.jobs)));
      return { row: row!, serialized };
    })
    .catch((error) => {
      if (isRollback(error)) return undefined;
      throw error;
    });
  if (!recorded) return notRecorded;
  const sent = await broadcast(chain, recorded.serialized);
  if (sent.sent) return "sent";
  logger.warn(
    { chainId: chain.chainId, nonce: recorded.row.nonce, refusal: sent.refusal, error: sent.error },
    "relayer: the node refused a transaction; the confirmer will retry it",
  );
  await db
    .update(relayTransactions)
    .set({ error: sent.error, updatedAt: new Date() })
    .where(eq(relayTransactions.id, recorded.row.id));
  return sent.refusal === "nonce-too-low" ? "nonce-too-low" : "refused";
}

const isRollback = (error: unknown) =>
  error instanceof Error && (error.name === "TransactionRollbackError" || /rollback/i.test(error.message));

/**
 * Marks jobs FAILED and lets their kind settle its records, in one database transaction. Only jobs
 * still waiting for a transaction: one that another process carried meanwhile (its lease on them
 * ran out during a long simulation) is that transaction's to settle.
 */
export async function failJobs(
  context: RelayerContext,
  kind: JobKind<any>,
  jobs: AnyJob[],
  reason: string,
  jobContextOf: JobContext,
): Promise<void> {
  const failed = await context.db.transaction(async (tx) => {
    const open = await tx
      .update(relayJobs)
      .set({ status: "FAILED", error: reason, updatedAt: new Date() })
      .where(and(anyOf(relayJobs.id, ids(jobs)), eq(relayJobs.status, "PENDING"), isNull(relayJobs.transactionId)))
      .returning({ id: relayJobs.id });
    const failing = jobs.filter((job) => open.some((row) => row.id === job.id));
    if (failing.length > 0) await kind.fail(failing, reason, { ...jobContextOf, db: tx as unknown as Database });
    return failing;
  });
  if (failed.length > 0) context.logger.info({ jobs: ids(failed), kind: kind.name, reason }, "relayer: jobs failed");
}
