// `npm run bench:claims`: claims over HTTP at rising rates, paid on a local chain that mines a block
// every second, by the API's own relayer (the API in its own process, embedded PGlite by default).
// Writes bench/results/claims.{md,json}.
//
// Each rate is sent open-loop (on schedule, never waiting for answers) for BENCH_PHASE_SECONDS, from
// a thread of its own (bench/claimSender.ts: this one serves the chain); a claim's accept latency
// runs from its scheduled send time to its 202, its confirmation latency to the moment the API
// recorded it CONFIRMED (the claim's updatedAt, read at the end from pages of
// GET /campaigns/claims?status=CONFIRMED; the unsettled claims are counted only between phases,
// so that watching does not load the API it measures). The chain is read block by block
// for the gas of the relayer's claimBatch transactions against the block gas limit. The highest
// rate's accept latency is also given by the time since the last block: the relayer's work comes
// right after each block. A last phase (saturation) lowers the block gas limit so that the chain,
// not the API, is the limit: claims wait, and the relayer must keep blocks full.
//
//   npm run bench:claims   (BENCH_RATES=50,100,200 BENCH_PHASE_SECONDS=15 BENCH_USERS=1000
//                           BENCH_BLOCK_GAS_LIMIT=30000000 BENCH_SATURATION_SECONDS=15 (0: none)
//                           BENCH_SATURATION_RATE=100 BENCH_SATURATION_GAS_LIMIT=2000000
//                           BENCH_AUTH=key|token BENCH_IDEMPOTENCY=true BENCH_DRAIN_SECONDS=120
//                           BENCH_DATABASE_URL=postgres://… (a server: each run makes and drops its own database)
//                           BENCH_RELAYER=inside|separate (separate: a second API process relays; PostgreSQL only)
//                           BENCH_API_NODE_OPTIONS="--cpu-prof --cpu-prof-dir=/tmp/prof"
//                           BENCH_LOG_DIR=/tmp/logs (keeps each API process's output; BENCH_LOG_LEVEL=info))
// Hardhat runs this script (it serves the chain), so options come from the environment.
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Worker } from "node:worker_threads";
import { network } from "hardhat";
import { parseEventLogs, parseUnits, toFunctionSelector, type Address, type Hash } from "viem";
import { campaignRegistryAbi } from "../abi/campaignRegistry.ts";
import { rpcUrlVariableFor, writeDeployment } from "../deploy/deployment-file.ts";
import { deployProtocol } from "../deploy/protocol.ts";
import { createScratchDatabase } from "../test/helpers/scratchDatabase.ts";
import { benchApiEnvironment, call, serve, stop } from "./apiProcess.ts";
import type { ClaimAnswer, ClaimSenderData, FromSender, PhaseSent, ToSender } from "./claimSender.ts";

const env = (name: string, fallback: string) => process.env[name] || fallback;
const options = {
  rates: env("BENCH_RATES", "50,100,200").split(",").map(Number),
  phaseSeconds: Number(env("BENCH_PHASE_SECONDS", "15")),
  users: Number(env("BENCH_USERS", "1000")),
  blockGasLimit: BigInt(env("BENCH_BLOCK_GAS_LIMIT", "30000000")),
  saturationSeconds: Number(env("BENCH_SATURATION_SECONDS", "15")),
  saturationRate: Number(env("BENCH_SATURATION_RATE", "100")),
  saturationGasLimit: BigInt(env("BENCH_SATURATION_GAS_LIMIT", "2000000")),
  blockIntervalMs: Number(env("BENCH_BLOCK_INTERVAL_MS", "1000")),
  auth: env("BENCH_AUTH", "key") as "key" | "token",
  idempotency: env("BENCH_IDEMPOTENCY", "true") === "true",
  drainSeconds: Number(env("BENCH_DRAIN_SECONDS", "120")),
  pollMs: Number(env("BENCH_POLL_MS", "1000")),
  database: process.env.BENCH_DATABASE_URL ? "PostgreSQL" : "PGlite (embedded)",
  /** "inside": the API relays in its own process; "separate": a second API process relays (PostgreSQL only). */
  relayer: env("BENCH_RELAYER", "inside") as "inside" | "separate",
};
if (options.relayer !== "inside" && options.relayer !== "separate") {
  throw new Error(`BENCH_RELAYER is inside or separate, not ${options.relayer}`);
}
if (options.relayer === "separate" && !process.env.BENCH_DATABASE_URL) {
  throw new Error("BENCH_RELAYER=separate needs BENCH_DATABASE_URL: PGlite takes one process only");
}
if (options.rates.some((rate) => !(rate > 0)) || !(options.phaseSeconds > 0) || !(options.users > 0)) {
  throw new Error("BENCH_RATES, BENCH_PHASE_SECONDS and BENCH_USERS must be positive numbers");
}
const log = (line: string) => console.log(`bench:claims: ${line}`);
/** Milliseconds since the epoch, sub-millisecond, on the clock the API's timestamps use. */
const now = () => performance.timeOrigin + performance.now();

// ---------------------------------------------------------------------------------------------
// The chain, the protocol and the API.

log("starting a local chain and deploying the protocol");
const chain = await network.createServer("default", "127.0.0.1", 0);
const { port: chainPort } = await chain.listen();
const rpcUrl = `http://127.0.0.1:${chainPort}`;
const connection = await network.create({ network: "localhost", override: { url: rpcUrl } });
const { viem } = connection;
const publicClient = await viem.getPublicClient();
const deployed = await deployProtocol(viem);
const rpc = (method: string, params: unknown[]) => connection.provider.request({ method, params });
await rpc("evm_setBlockGasLimit", [`0x${options.blockGasLimit.toString(16)}`]);
await rpc("evm_mine", []);
await rpc("evm_setAutomine", [false]);
await rpc("evm_setIntervalMining", [options.blockIntervalMs]);
const workDir = mkdtempSync(join(tmpdir(), "pers-bench-claims-"));
writeDeployment({ ...deployed, network: "localhost", rpcUrlVariable: rpcUrlVariableFor(deployed.chainId) }, workDir);

const scratchDatabase = process.env.BENCH_DATABASE_URL
  ? await createScratchDatabase(process.env.BENCH_DATABASE_URL, "pers_bench_claims")
  : undefined;
const platformKey = randomBytes(32).toString("hex");
const relayerWhere = options.relayer === "inside" ? "relayer on" : "relayer in a second API process";
log(`starting the API (${options.database}, ${relayerWhere})`);
const apiEnvironment = {
  ...benchApiEnvironment({
    workDir,
    chainId: deployed.chainId,
    rpcUrl,
    platformKey,
    ...(scratchDatabase && { databaseUrl: scratchDatabase.url }),
    logLevel: env("BENCH_LOG_LEVEL", "warn"),
  }),
};
/** An API process that does not start ends the run (the chain's server would keep this process alive). */
const startFailed = async (error: unknown): Promise<never> => {
  console.error(`bench:claims: ${error instanceof Error ? error.message : error}`);
  await scratchDatabase?.drop();
  await chain.close();
  process.exit(1);
};
const api = await serve(
  "api/src/main.ts",
  {
    ...apiEnvironment,
    RELAYER_ENABLED: String(options.relayer === "inside"),
    NODE_OPTIONS: process.env.BENCH_API_NODE_OPTIONS ?? "",
  },
  /api: listening on (http:\/\/\S+)/,
).catch(startFailed);
const apiUrl = api.match[1]!;
// As replicas would run it: the relayer shares the queue in the database from a process of its own
// (it also serves HTTP, which nobody calls), so that its work does not hold up the API's answers.
const relayer =
  options.relayer === "separate"
    ? await serve("api/src/main.ts", { ...apiEnvironment, RELAYER_ENABLED: "true" }, /api: listening on/).catch(
        async (error) => {
          await stop(api.child);
          return startFailed(error);
        },
      )
    : undefined;

// ---------------------------------------------------------------------------------------------
// Measurements.

type Claim = Omit<ClaimAnswer, "claimId"> & {
  onchainClaimId?: bigint;
  includedBlock?: bigint;
  includedAt?: number;
  confirmedAt?: number;
  failed?: string;
};
type Block = {
  number: bigint;
  observedAt: number;
  gasLimit: bigint;
  gasUsed: bigint;
  claimGas: bigint;
  claimTransactions: number;
  claims: number;
  /** Claims accepted before the previous block and in no earlier block: work the relayer had. */
  waiting: number;
};

const claims: Claim[] = [];
const byOnchainId = new Map<bigint, Claim>();
const byId = new Map<string, Claim>();
const blocks: Block[] = [];
const CLAIM_BATCH = toFunctionSelector("claimBatch((uint256,uint256,address,uint8,address)[])");

function percentile(values: number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
/** CPU seconds a process has used so far (Linux /proc; null elsewhere). */
function cpuSecondsOf(pid: number | undefined): number | null {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    // utime and stime, in clock ticks of 1/100 s on Linux.
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}
/** Where the accept-latency table by time since the last block starts each bin. */
const SINCE_BLOCK_BINS_MS = [0, 250, 500, 750];
const round = (value: number | null, digits = 1) => (value === null ? null : Number(value.toFixed(digits)));

let registry: Address;
let watching = true;
let nextBlock: bigint | undefined;

/** Follows the chain block by block: gas of the relayer's claimBatch transactions, and which claims each paid. */
async function watchBlocks() {
  while (watching) {
    await sleep(50);
    const head = await publicClient.getBlockNumber();
    nextBlock ??= head + 1n;
    for (; nextBlock <= head; nextBlock++) {
      const observedAt = now();
      const block = await publicClient.getBlock({ blockNumber: nextBlock, includeTransactions: true });
      let claimGas = 0n;
      let claimTransactions = 0;
      let paid = 0;
      for (const transaction of block.transactions) {
        if (transaction.to?.toLowerCase() !== registry.toLowerCase()) continue;
        if (!transaction.input.startsWith(CLAIM_BATCH)) continue;
        const receipt = await publicClient.getTransactionReceipt({ hash: transaction.hash as Hash });
        claimGas += receipt.gasUsed;
        claimTransactions += 1;
        for (const event of parseEventLogs({ abi: campaignRegistryAbi, eventName: "Claimed", logs: receipt.logs })) {
          const claim = byOnchainId.get(event.args.claimId);
          if (!claim || claim.includedBlock !== undefined) continue;
          claim.includedBlock = block.number;
          claim.includedAt = observedAt;
          paid += 1;
        }
      }
      const previous = blocks.at(-1);
      const waiting = previous
        ? claims.filter(
            (claim) =>
              claim.status === 202 &&
              claim.answeredAt <= previous.observedAt &&
              (claim.includedBlock === undefined || claim.includedBlock >= block.number),
          ).length
        : 0;
      blocks.push({
        number: block.number,
        observedAt,
        gasLimit: block.gasLimit,
        gasUsed: block.gasUsed,
        claimGas,
        claimTransactions,
        claims: paid,
        waiting,
      });
    }
  }
}

/**
 * How many of the campaign's claims are still PENDING or SUBMITTED: one count per status, whatever
 * the backlog. Asked only between phases (in drain), so that watching does not load the API while
 * it is measured: the list's count reads every matching claim.
 */
async function countOpen(campaignId: string, headers: Record<string, string>) {
  let open = 0;
  for (const status of ["PENDING", "SUBMITTED"]) {
    const query = new URLSearchParams({ campaignId, status, limit: "1" });
    const body = await call(`${apiUrl}/campaigns/claims?${query}`, { method: "GET", headers });
    open += body.pagination.total as number;
  }
  return open;
}

/**
 * Each settled claim's outcome and when the relayer recorded it (its updatedAt), read once at the
 * end in pages of CONFIRMED and FAILED claims.
 */
async function readSettlements(campaignId: string, headers: Record<string, string>) {
  for (const status of ["CONFIRMED", "FAILED"]) {
    for (let page = 1; ; page++) {
      const query = new URLSearchParams({ campaignId, status, order: "asc", limit: "100", page: String(page) });
      const body = await call(`${apiUrl}/campaigns/claims?${query}`, { method: "GET", headers });
      for (const row of body.data as { id: string; updatedAt: string; error: string | null }[]) {
        const claim = byId.get(row.id);
        if (!claim) continue;
        if (status === "CONFIRMED") claim.confirmedAt = Date.parse(row.updatedAt);
        else claim.failed = row.error ?? "failed";
      }
      if (body.data.length < 100) break;
    }
  }
}

/** Runs a watcher until `watching` ends; a failed round is logged and the next one tries again. */
async function keepWatching(name: string, watcher: () => Promise<void>) {
  while (watching) {
    try {
      await watcher();
    } catch (error) {
      log(`${name}: ${error instanceof Error ? error.message : error}`);
      await sleep(500);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The run.

let exitCode = 0;
let sender: Worker | undefined;
try {
  log("creating a tenant, a SYSTEM API key and a published campaign");
  const login = { email: "bench@example.test", name: "Bench", password: randomBytes(12).toString("hex") };
  const { tenant } = await call(`${apiUrl}/tenants`, {
    method: "POST",
    headers: { "x-api-key": platformKey },
    body: { name: "Bench", externalId: "bench", points: { name: "Bench Points", symbol: "BNCH" }, admin: login },
  });
  registry = tenant.contracts.campaignRegistry;
  const session = await call(`${apiUrl}/auth/token`, {
    method: "POST",
    headers: { "x-project-key": tenant.projectKey },
    body: { type: "password", email: login.email, password: login.password },
  });
  const admin = { authorization: `Bearer ${session.accessToken}` };
  const systemKey = await call(`${apiUrl}/api-keys`, {
    method: "POST",
    headers: admin,
    body: { name: "bench", level: "SYSTEM" },
  });
  const claimer = options.auth === "key" ? { "x-api-key": systemKey.key as string } : admin;

  const total =
    options.rates.reduce((sum, rate) => sum + Math.round(rate * options.phaseSeconds), 0) +
    Math.round(options.saturationRate * options.saturationSeconds);
  const campaign = await call(`${apiUrl}/campaigns`, {
    method: "POST",
    headers: admin,
    body: {
      title: "Benchmark",
      budget: total * 10,
      maxClaimsPerUser: Math.ceil(total / options.users) * 10,
    },
  });
  await call(`${apiUrl}/campaigns/${campaign.id}/tokens`, {
    method: "POST",
    headers: admin,
    body: { tokenAddress: tenant.contracts.pointsToken, amount: parseUnits("10", 18).toString() },
  });
  await call(`${apiUrl}/campaigns/${campaign.id}`, { method: "PATCH", headers: admin, body: { status: "ACTIVE" } });
  for (let published = false; !published;) {
    await sleep(250);
    published = Boolean(
      (await call(`${apiUrl}/campaigns/${campaign.id}`, { method: "GET", headers: admin })).onchainCampaignId,
    );
  }

  log(`creating ${options.users} custodial users`);
  const userIds: string[] = [];
  for (let start = 0; start < options.users; start += 10) {
    const made = await Promise.all(
      Array.from({ length: Math.min(10, options.users - start) }, (_, offset) =>
        call(`${apiUrl}/users`, {
          method: "POST",
          headers: admin,
          body: { email: `user${start + offset}@bench.test` },
        }),
      ),
    );
    userIds.push(...made.map((user) => user.id as string));
  }

  const blockWatcher = keepWatching("blocks", watchBlocks);
  const cpuAtStart = {
    api: cpuSecondsOf(api.child.pid),
    relayer: relayer ? cpuSecondsOf(relayer.child.pid) : null,
    bench: process.cpuUsage(),
    at: now(),
  };
  const senderData: ClaimSenderData = {
    apiUrl,
    campaignId: campaign.id,
    userIds,
    headers: claimer,
    idempotency: options.idempotency,
  };
  sender = new Worker(new URL("./claimSender.ts", import.meta.url), { workerData: senderData });
  /** The sender's answer to the request in progress (one at a time). */
  let pending: { resolve: (message: FromSender) => void; reject: (error: unknown) => void } | undefined;
  sender.on("message", (message: FromSender) => {
    if ("answer" in message) record(message.answer);
    else if ("log" in message) log(message.log);
    else pending?.resolve(message);
  });
  // A sender that died fails the request in progress and every one after it (none would be answered).
  let senderFailed: unknown;
  sender.on("error", (error) => {
    senderFailed = error;
    pending?.reject(error);
  });
  const ask = (message: ToSender) =>
    new Promise<FromSender>((resolve, reject) => {
      if (senderFailed) return reject(senderFailed);
      pending = { resolve, reject };
      sender!.postMessage(message);
    });
  const record = ({ claimId, ...answer }: ClaimAnswer) => {
    const claim: Claim = answer;
    claims.push(claim);
    if (answer.status !== 202) return;
    claim.onchainClaimId = BigInt(claimId!);
    byId.set(claim.id!, claim);
    byOnchainId.set(claim.onchainClaimId, claim);
  };

  type Phase = PhaseSent & { rate: number; blockGasLimit: bigint; saturation: boolean };
  const phases: Phase[] = [];
  /** Has the sender send `rate` claims a second for `seconds`, on schedule whatever the answers. */
  const runPhase = async (rate: number, seconds: number, saturation: boolean) => {
    const { gasLimit } = await publicClient.getBlock({ blockTag: "latest" });
    log(`${rate} claims/s for ${seconds} s (${Math.round(rate * seconds)} claims), block gas limit ${gasLimit}`);
    const { phaseSent } = (await ask({ phase: { index: phases.length, rate, seconds } })) as { phaseSent: PhaseSent };
    phases.push({ ...phaseSent, rate, blockGasLimit: gasLimit, saturation });
  };
  /** Waits for every answer, then for every accepted claim to settle (at most BENCH_DRAIN_SECONDS). */
  const drain = async () => {
    await ask({ settle: true });
    const answeredAt = now();
    log(`all ${claims.length} claims answered; waiting up to ${options.drainSeconds} s for their confirmations`);
    const drainUntil = answeredAt + options.drainSeconds * 1000;
    while (now() < drainUntil) {
      // A count that failed is logged and asked again, as the watchers do.
      const open = await countOpen(campaign.id, admin).catch((error: unknown) => {
        log(`counting unsettled claims: ${error instanceof Error ? error.message : error}`);
        return undefined;
      });
      if (open === 0) return;
      await sleep(options.pollMs);
    }
  };

  for (const rate of options.rates) await runPhase(rate, options.phaseSeconds, false);
  await drain();
  if (options.saturationSeconds > 0) {
    // The API cannot accept claims faster than a full-size block pays them on this machine: a
    // smaller block makes the chain the limit, so that claims wait and the relayer must fill blocks.
    log(`saturation: block gas limit ${options.saturationGasLimit}`);
    await rpc("evm_setBlockGasLimit", [`0x${options.saturationGasLimit.toString(16)}`]);
    await sleep(options.blockIntervalMs * 2);
    await runPhase(options.saturationRate, options.saturationSeconds, true);
    await drain();
  }
  // One more block, so that the last confirmations are seen.
  await sleep(Math.max(options.pollMs, options.blockIntervalMs) + 500);
  watching = false;
  await blockWatcher;
  const apiCpuSeconds = (cpuSecondsOf(api.child.pid) ?? NaN) - (cpuAtStart.api ?? NaN);
  const relayerCpuSeconds = relayer ? (cpuSecondsOf(relayer.child.pid) ?? NaN) - (cpuAtStart.relayer ?? NaN) : null;
  const benchCpu = process.cpuUsage(cpuAtStart.bench);
  const wallSeconds = (now() - cpuAtStart.at) / 1000;
  // After the CPU figures: reading every claim back is the benchmark's work, not the API's.
  await readSettlements(campaign.id, admin);

  // -------------------------------------------------------------------------------------------
  // Figures.

  const accepted = claims.filter((claim) => claim.status === 202);
  const paid = accepted.filter((claim) => claim.includedBlock !== undefined);
  const claimGas = blocks.reduce((sum, block) => sum + block.claimGas, 0n);
  const gasPerClaim = paid.length > 0 ? Number(claimGas) / paid.length : 56_000;
  const utilization = (selected: Block[]) =>
    selected.length === 0
      ? null
      : Number(selected.reduce((sum, block) => sum + block.claimGas, 0n)) /
        Number(selected.reduce((sum, block) => sum + block.gasLimit, 0n));
  // Blocks the relayer could have filled: more claims waited for them than one block holds.
  const saturated = blocks.filter((block) => block.waiting * gasPerClaim >= Number(block.gasLimit));
  const backlogged = blocks.filter((block) => block.waiting > 0);

  const rows = phases.map((phase, index) => {
    const mine = claims.filter((claim) => claim.phase === index);
    const ok = mine.filter((claim) => claim.status === 202);
    const acceptMs = ok.map((claim) => claim.answeredAt - claim.dueAt);
    const confirmMs = ok.filter((claim) => claim.confirmedAt).map((claim) => claim.confirmedAt! - claim.dueAt);
    const includeMs = ok.filter((claim) => claim.includedAt).map((claim) => claim.includedAt! - claim.dueAt);
    const seconds = (phase.endedAt - phase.startedAt) / 1000;
    const confirmedInPhase = accepted.filter(
      (claim) => claim.confirmedAt && claim.confirmedAt >= phase.startedAt && claim.confirmedAt < phase.endedAt,
    ).length;
    const phaseBlocks = blocks.filter(
      (block) => block.observedAt >= phase.startedAt && block.observedAt < phase.endedAt,
    );
    return {
      rate: phase.rate,
      phase: phase.saturation ? "saturation" : "rate",
      blockGasLimit: Number(phase.blockGasLimit),
      seconds,
      sent: mine.length,
      accepted: ok.length,
      refused: mine.filter((claim) => claim.status !== 202 && claim.status !== 0).length,
      errors: mine.filter((claim) => claim.status === 0).length,
      acceptedPerSec: round(ok.filter((claim) => claim.answeredAt < phase.endedAt).length / seconds),
      confirmedPerSec: round(confirmedInPhase / seconds),
      acceptP50Ms: round(percentile(acceptMs, 50)),
      acceptP99Ms: round(percentile(acceptMs, 99)),
      acceptMaxMs: round(percentile(acceptMs, 100)),
      includeP50Ms: round(percentile(includeMs, 50), 0),
      confirmP50Ms: round(percentile(confirmMs, 50), 0),
      confirmP99Ms: round(percentile(confirmMs, 99), 0),
      confirmed: confirmMs.length,
      failed: ok.filter((claim) => claim.failed).length,
      blocks: phaseBlocks.length,
      gasUtilization: round(utilization(phaseBlocks), 3),
      claimsPerBlockMax: Math.max(0, ...phaseBlocks.map((block) => block.claims)),
      schedulerMaxLagMs: round(phase.maxLagMs),
      senderLoopDelayP99Ms: round(phase.loopDelayP99Ms),
      senderLoopDelayMaxMs: round(phase.loopDelayMaxMs),
    };
  });
  // The headline figures are those of the highest rate (the last rate phase, before saturation).
  const top = rows.filter((row) => row.phase === "rate").at(-1)!;
  // Where in the block interval the slow answers fall: each claim of that phase by the time since the
  // block observed last before its send (blocks are polled every 50 ms, so within about 50 ms).
  const topIndex = rows.indexOf(top);
  const blockTimes = blocks.map((block) => block.observedAt).sort((a, b) => a - b);
  const topClaims = claims.flatMap((claim) => {
    if (claim.phase !== topIndex || claim.status !== 202) return [];
    const previous = blockTimes.findLast((observedAt) => observedAt <= claim.dueAt);
    return previous === undefined
      ? []
      : [{ sinceBlockMs: claim.dueAt - previous, acceptMs: claim.answeredAt - claim.dueAt }];
  });
  const sinceBlock = SINCE_BLOCK_BINS_MS.map((fromMs, index) => {
    const toMs = SINCE_BLOCK_BINS_MS[index + 1] ?? null;
    const acceptMs = topClaims
      .filter(({ sinceBlockMs }) => sinceBlockMs >= fromMs && (toMs === null || sinceBlockMs < toMs))
      .map(({ acceptMs }) => acceptMs);
    return {
      fromMs,
      toMs,
      claims: acceptMs.length,
      acceptP50Ms: round(percentile(acceptMs, 50)),
      acceptP99Ms: round(percentile(acceptMs, 99)),
    };
  });
  const result = {
    acceptedPerSec: top.acceptedPerSec,
    confirmedPerSec: top.confirmedPerSec,
    acceptP50Ms: top.acceptP50Ms,
    acceptP99Ms: top.acceptP99Ms,
    confirmP50Ms: top.confirmP50Ms,
    acceptBySinceBlock: sinceBlock,
    gasUtilization: round(utilization(saturated), 3),
    gasUtilizationAnyBacklog: round(utilization(backlogged), 3),
    saturatedBlocks: saturated.length,
    backloggedBlocks: backlogged.length,
    gasPerClaim: Math.round(gasPerClaim),
    blockGasLimit: Number(options.blockGasLimit),
    saturationBlockGasLimit: options.saturationSeconds > 0 ? Number(options.saturationGasLimit) : null,
    accepted: accepted.length,
    confirmed: accepted.filter((claim) => claim.confirmedAt).length,
    failed: accepted.filter((claim) => claim.failed).length,
    paidOnChain: paid.length,
    unsettled: accepted.filter((claim) => !claim.confirmedAt && !claim.failed).length,
    // CPU of the run (load and drain): the API's process, and this one (load, chain, watchers).
    apiCpuMsPerClaim: round((apiCpuSeconds * 1000) / Math.max(1, accepted.length), 2),
    apiCpuShare: round(apiCpuSeconds / wallSeconds, 2),
    /** The relaying process's, when it is not the API's (BENCH_RELAYER=separate). */
    relayerCpuMsPerClaim:
      relayerCpuSeconds === null ? null : round((relayerCpuSeconds * 1000) / Math.max(1, accepted.length), 2),
    relayer: options.relayer,
    benchCpuShare: round((benchCpu.user + benchCpu.system) / 1e6 / wallSeconds, 2),
    loadAverage: Number(readFileSync("/proc/loadavg", "utf8").split(" ")[0]),
    rates: rows,
    users: options.users,
    auth: options.auth === "key" ? "SYSTEM API key" : "ADMIN access token",
    idempotencyKey: options.idempotency,
    database: options.database,
    blockIntervalMs: options.blockIntervalMs,
    node: process.version,
  };

  const cell = (value: unknown) => (value === null || value === undefined ? "–" : String(value));
  const markdown = [
    "# Claims benchmark",
    "",
    `Claims (\`POST /campaigns/claims\`, ${result.auth}${options.idempotency ? ", Idempotency-Key" : ""}) sent open-loop`,
    `at rising rates for ${options.phaseSeconds} s each to the API in its own process (${options.database}, ${relayerWhere}),`,
    `for ${options.users} custodial users of one published campaign; a local Hardhat chain mines a block every`,
    `${options.blockIntervalMs / 1000} s with a block gas limit of ${result.blockGasLimit.toLocaleString("en-US")}` +
      (result.saturationBlockGasLimit
        ? `, then ${result.saturationBlockGasLimit.toLocaleString("en-US")} for a last phase (saturation) in which the chain, not the API, is the limit.`
        : "."),
    "Latencies run from each claim's scheduled send time: accept to its 202, include to the block that paid",
    "it, confirm to the moment the API recorded it CONFIRMED.",
    "",
    "| phase | claims/s | block gas limit | sent | accepted/s | refused | errors | accept p50 (ms) | accept p99 (ms) | accept max (ms) | include p50 (ms) | confirm p50 (ms) | confirm p99 (ms) | confirmed/s | claim gas / block gas limit |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...rows.map(
      (row) =>
        "| " +
        [
          row.phase,
          row.rate,
          row.blockGasLimit.toLocaleString("en-US"),
          row.sent,
          row.acceptedPerSec,
          row.refused,
          row.errors,
          row.acceptP50Ms,
          row.acceptP99Ms,
          row.acceptMaxMs,
          row.includeP50Ms,
          row.confirmP50Ms,
          row.confirmP99Ms,
          row.confirmedPerSec,
          row.gasUtilization,
        ]
          .map(cell)
          .join(" | ") +
        " |",
    ),
    "",
    `At ${top.rate} claims/s: **acceptP99Ms ${cell(result.acceptP99Ms)}** (target ≤ 50), acceptP50Ms ${cell(result.acceptP50Ms)},`,
    `confirmP50Ms ${cell(result.confirmP50Ms)}, accepted ${cell(result.acceptedPerSec)}/s, confirmed ${cell(result.confirmedPerSec)}/s.`,
    `The sender's thread was late by at most ${cell(top.schedulerMaxLagMs)} ms on its schedule; its event-loop delay, by which`,
    `an answer's timing may be off: p99 ${cell(top.senderLoopDelayP99Ms)} ms, max ${cell(top.senderLoopDelayMaxMs)} ms.`,
    "",
    `Accept latency at ${top.rate} claims/s by the time since the last block when the claim was sent (the`,
    "relayer confirms, records and sends right after each block):",
    "",
    "| since the block (ms) | claims | accept p50 (ms) | accept p99 (ms) |",
    "| --- | ---: | ---: | ---: |",
    ...sinceBlock.map(
      (bin) =>
        `| ${bin.fromMs}${bin.toMs === null ? " and later" : `–${bin.toMs}`} | ${bin.claims} | ${cell(bin.acceptP50Ms)} | ${cell(bin.acceptP99Ms)} |`,
    ),
    "",
    `**gasUtilization ${cell(result.gasUtilization)}** (target ≥ 0.8): claim gas ÷ block gas limit over the`,
    `${result.saturatedBlocks} blocks for which more claims were waiting (accepted before the previous block, not yet`,
    `paid) than the block holds at ${result.gasPerClaim.toLocaleString("en-US")} gas per claim.`,
    `Over every block with any claim waiting (${result.backloggedBlocks}): ${cell(result.gasUtilizationAnyBacklog)}.`,
    "",
    `${result.accepted} claims accepted, ${result.paidOnChain} paid on chain, ${result.confirmed} confirmed, ${result.failed} failed,`,
    `${result.unsettled} unsettled at the end. The API used ${cell(result.apiCpuMsPerClaim)} ms of CPU per accepted claim`,
    `(${cell(result.apiCpuShare)} of a core over the run; this process, with the chain: ${cell(result.benchCpuShare)})` +
      (result.relayerCpuMsPerClaim === null
        ? ", relaying included;"
        : `; the relaying process ${cell(result.relayerCpuMsPerClaim)} ms per claim more;`),
    `load average at the end ${result.loadAverage} on ${availableParallelism()} cores.`,
    "",
  ].join("\n");
  mkdirSync("bench/results", { recursive: true });
  writeFileSync("bench/results/claims.json", JSON.stringify(result, null, 2) + "\n");
  writeFileSync(
    "bench/results/claims-blocks.json",
    JSON.stringify(
      blocks.map((block) => ({
        ...block,
        number: Number(block.number),
        gasLimit: Number(block.gasLimit),
        gasUsed: Number(block.gasUsed),
        claimGas: Number(block.claimGas),
        observedAt: Math.round(block.observedAt),
      })),
      null,
      1,
    ) + "\n",
  );
  writeFileSync("bench/results/claims.md", markdown);
  console.log(markdown);
  log("wrote bench/results/claims.json, claims.md and claims-blocks.json");
} catch (error) {
  console.error(error);
  exitCode = 1;
} finally {
  watching = false;
  await sender?.terminate();
  await Promise.all([stop(api.child), relayer && stop(relayer.child)]);
  await scratchDatabase?.drop();
  await chain.close();
}
process.exit(exitCode);
