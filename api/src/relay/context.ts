// What the relayer's parts share: the database, the chains' signers, the job kinds and the settings.
import { eq } from "drizzle-orm";
import type { Logger } from "pino";
import type { ChainClients } from "../chain/chains.ts";
import type { Database } from "../db/client.ts";
import { tenants } from "../db/schema.ts";
import type { Job, JobContext, JobKind } from "./jobs.ts";
import type { Signer } from "./signers.ts";

export type RelayerSettings = {
  pollIntervalMs: number;
  /** Blocks a receipt must have (its own included) before its jobs are confirmed. */
  confirmations: number;
  /** A transaction not mined after this long is replaced (same nonce, fees ≥ 10% higher). */
  replaceAfterMs: number;
  /** The most any transaction may offer per gas (maxFeePerGas, in wei): replacements stop there. */
  maxFeePerGas: bigint;
  /** Gas a tenant's relayed transactions may use per hour (0: no limit). */
  tenantGasPerHour: number;
  /** How long a tenant over its gas limit waits before its jobs are looked at again. */
  tenantWaitMs: number;
  /** How long claimed jobs stay hidden from other processes while this one carries them. */
  leaseMs: number;
  /** Jobs claimed per round. */
  claimLimit: number;
  lowBalanceWei: bigint;
  balanceCheckMs: number;
};

export type RelayerContext = {
  db: Database;
  logger: Logger;
  kinds: ReadonlyMap<string, JobKind<any>>;
  settings: RelayerSettings;
};

export type ChainLane = {
  chain: ChainClients;
  signer: Signer;
  /** The base fee seen above the ceiling, while the lane sends nothing new because of it. */
  waitingForFees?: bigint;
  /** Each kind's latest estimated batch: its gas limit per job sizes the next chunks and guesses their gas (submitter.ts). */
  estimated?: Map<string, { gasPerJob: bigint; jobs: number; guessesLeft: number }>;
  /** The round in which each tenant last had jobs claimed: the one served longest ago goes first. */
  served?: { rounds: number; lastRound: Map<string, number> };
};

export async function jobContext(db: Database, chain: ChainClients, tenantId: string): Promise<JobContext> {
  const [tenant] = await db.select().from(tenants).where(eq(tenants.id, tenantId));
  if (!tenant) throw new Error(`tenant ${tenantId} not found`);
  return { db, chain, tenant };
}

/** Jobs grouped by a key, in first-seen order. */
export function groupBy<T>(items: readonly T[], key: (item: T) => string): T[][] {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k);
    if (group) group.push(item);
    else groups.set(k, [item]);
  }
  return [...groups.values()];
}

export type AnyJob = Job<any>;
