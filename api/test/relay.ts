// Fixtures for relayer tests: a relayer on a test API's services, job and transaction rows, the
// test chain's node methods, and waiting for a condition.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { and, eq, inArray, sql } from "drizzle-orm";
import { pino, type Logger } from "pino";
import { createWalletClient, http, keccak256, stringToHex, type Address, type Hash, type Hex } from "viem";
import { hardhat } from "viem/chains";
import { pointsTokenAbi } from "../../abi/pointsToken.ts";
import type { Database } from "../src/db/client.ts";
import { relayJobs, relayTransactions } from "../src/db/relaySchema.ts";
import type { JobKind } from "../src/relay/jobs.ts";
import { issueKind } from "../src/relay/kinds/issue.ts";
import { startRelayer, type Relayer, type StartRelayerParameters } from "../src/relay/worker.ts";
import type { TestApi, TestChain, TestTenant } from "./harness.ts";
import { rpcUrlVariableFor } from "../../deploy/deployment-file.ts";

/** The local chain the tests run (Hardhat's). */
export const CHAIN_ID = hardhat.id;

export function testRelayer(
  api: TestApi,
  options: Partial<Omit<StartRelayerParameters, "services" | "kinds">> & {
    kinds?: readonly JobKind<any>[];
    db?: Database;
    logger?: Logger;
  } = {},
): Relayer {
  const {
    kinds = [issueKind],
    db = api.services.db,
    logger = pino({ level: process.env.RELAYER_TEST_LOG ?? "silent" }),
    ...settings
  } = options;
  return startRelayer({
    services: { ...api.services, db, logger },
    kinds,
    pollIntervalMs: 25,
    replaceAfterMs: 60_000,
    confirmations: 1,
    ...settings,
  });
}

/** A logger that keeps the lines it writes, to check what the relayer said (and how often). */
export function recordingLogger() {
  const lines: { level: number; msg: string }[] = [];
  const logger = pino({ level: "debug" }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { logger, lines, said: (pattern: RegExp) => lines.filter((line) => pattern.test(line.msg)).length };
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export const jobRow = async (db: Database, id: string) =>
  (await db.select().from(relayJobs).where(eq(relayJobs.id, id)))[0]!;

export const jobRows = (db: Database, ids: string[]) => db.select().from(relayJobs).where(inArray(relayJobs.id, ids));

export const transactionRow = async (db: Database, id: string) =>
  (await db.select().from(relayTransactions).where(eq(relayTransactions.id, id)))[0]!;

/** A job whose status is one of `statuses`, once it is. */
export const waitForJob = (db: Database, id: string, statuses: string[], timeoutMs?: number) =>
  waitFor(
    `job ${id} to be ${statuses.join(" or ")}`,
    async () => {
      const job = await jobRow(db, id);
      return statuses.includes(job.status) ? job : undefined;
    },
    timeoutMs,
  );

export const newReference = (): Hex => keccak256(stringToHex(`grant-${randomBytes(16).toString("hex")}`));

export const newRecipient = (): Address => `0x${randomBytes(20).toString("hex")}` as Address;

/** The test node's own methods (evm_mine, evm_setAutomine, hardhat_dropTransaction…). */
export function node(chain: TestChain) {
  const { publicClient } = chain.chains.get(CHAIN_ID)!;
  const call = (method: string, params: unknown[] = []) =>
    publicClient.request({ method: method as any, params: params as any }) as Promise<any>;
  return {
    call,
    mine: (blocks = 1) => call("hardhat_mine", [`0x${blocks.toString(16)}`]),
    setAutomine: (on: boolean) => call("evm_setAutomine", [on]),
    snapshot: () => call("evm_snapshot") as Promise<Hex>,
    revert: (id: Hex) => call("evm_revert", [id]),
    drop: (hash: Hash) => call("hardhat_dropTransaction", [hash]),
    setNextBaseFee: (wei: bigint) => call("hardhat_setNextBlockBaseFeePerGas", [`0x${wei.toString(16)}`]),
  };
}

/** The platform account as a plain wallet, for sending "foreign" transactions outside the relayer. */
export function platformWallet(chain: TestChain) {
  const { walletClient } = chain.chains.get(CHAIN_ID)!;
  return createWalletClient({
    chain: walletClient.chain,
    transport: http(chain.rpcUrl),
    account: walletClient.account,
  });
}

export const pointsBalance = (chain: TestChain, tenant: TestTenant, holder: Address) =>
  chain.chains.get(CHAIN_ID)!.publicClient.readContract({
    address: tenant.tenant.contracts.pointsToken,
    abi: pointsTokenAbi,
    functionName: "balanceOf",
    args: [holder],
  });

/** The Issued events of a tenant's points for `reference`: exactly one when it was issued once. */
export const issuedEvents = (chain: TestChain, tenant: TestTenant, reference: Hex) =>
  chain.chains.get(CHAIN_ID)!.publicClient.getContractEvents({
    address: tenant.tenant.contracts.pointsToken,
    abi: pointsTokenAbi,
    eventName: "Issued",
    args: { ref: reference },
    fromBlock: 0n,
  });

export type RelayerProcess = {
  /** SIGTERM: stops after the round in progress; resolves with how many transactions it signed. */
  stop: () => Promise<number>;
  /** SIGKILL, at once. */
  kill: () => Promise<void>;
};

/** A relayer in its own process (api/test/relayer-process.ts) on a PostgreSQL database. */
export async function spawnRelayer(
  chain: TestChain,
  databaseUrl: string,
  settings: Record<string, string> = {},
): Promise<RelayerProcess> {
  const child = spawn(process.execPath, [join(import.meta.dirname, "relayer-process.ts")], {
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      PERS_DEPLOYMENTS_DIR: chain.deploymentsDir,
      [rpcUrlVariableFor(CHAIN_ID)]: chain.rpcUrl,
      RELAYER_POLL_INTERVAL_MS: "25",
      ...settings,
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let output = "";
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes("relayer: started")) resolve();
    });
    child.once("exit", (code) => reject(new Error(`relayer process exited (${code}) before it started`)));
  });
  return {
    stop: async () => {
      child.kill("SIGTERM");
      await exited;
      const signed = /relayer: signed (\d+)/.exec(output);
      if (!signed) throw new Error(`relayer process did not report: ${output}`);
      return Number(signed[1]);
    },
    kill: async () => {
      child.kill("SIGKILL");
      await exited;
    },
  };
}

/** A job the relayer held back for its tenant's gas limit: pending for the tenant's wait (a minute), well past a lease. */
export const heldBack = (job: { status: string; availableAt: Date }) =>
  job.status === "PENDING" && job.availableAt.getTime() > Date.now() + 30_000;

/** The gas limits of the transactions sent for a tenant on the test chain. */
export async function gasLimitsSent(db: Database, tenantId: string): Promise<bigint[]> {
  const sent = await db
    .select({ gasLimit: sql<string>`${relayTransactions.gasLimit}::text` })
    .from(relayTransactions)
    .where(and(eq(relayTransactions.tenantId, tenantId), eq(relayTransactions.chainId, CHAIN_ID)));
  return sent.map((row) => BigInt(row.gasLimit));
}
