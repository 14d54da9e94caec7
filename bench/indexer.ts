// `npm run bench:indexer -- --events N` (default 20,000), or `--sizes 20000,100000,200000`, and
// optionally `--cache-mb default,256` (Ponder's in-memory cache limit, PONDER_CACHE_BYTES): makes
// claims on a local chain (each mints points: one Transfer, plus the registry's Claimed), buries them
// under Ponder's 30-block finality so that they are backfilled, then times a fresh backfill of the
// full indexer and, in the same run, of a bare Ponder indexer with one upsert per Transfer over the
// same events. With several sizes the chain grows from one to the next and each size gets fresh
// backfills, so that peak memory can be compared across sizes, once per cache limit. `--postgres URL`
// repeats every backfill on a fresh database on that PostgreSQL server, to tell PGlite's memory from
// the rest. Inside each indexer, bench/memory-sampler.ts records peak heap, live heap and WebAssembly
// memory; `--heap-snapshot-mb N` also saves a heap snapshot when heapUsed first passes N MB, and
// `--heap-mb N` caps both indexers' V8 old space (--max-old-space-size, as a deployment would). Writes
// bench/results/indexer.{md,json} (the top-level figures are the largest size's, first cache limit's).
// BENCH_INDEXER_NODE_OPTIONS adds Node options to both indexers, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
import { hardhat } from "viem/chains";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { network } from "hardhat";
import { numberToHex, padHex, type Address, type Hash } from "viem";
import { rpcUrlVariableFor, writeDeployment } from "../deploy/deployment-file.ts";
import { cacheRequestCounts, rpcRequestCounts } from "../indexer/status.ts";
import { startIndexer } from "../scripts/indexer-process.ts";
import { addTenant, claimRequest, createPointsCampaign, protocolFixture } from "../test/helpers/fixtures.ts";
import { freePort } from "../test/helpers/ports.ts";
import { createScratchDatabase } from "../test/helpers/scratchDatabase.ts";

const { values } = parseArgs({
  options: {
    events: { type: "string", default: "20000" },
    sizes: { type: "string" },
    "cache-mb": { type: "string", default: "default" },
    postgres: { type: "string" },
    "heap-snapshot-mb": { type: "string" },
    "heap-mb": { type: "string" },
  },
  strict: false,
});
const sizes = String(values.sizes ?? values.events)
  .split(",")
  .map(Number)
  .sort((a, b) => a - b);
if (!sizes.every((size) => Number.isSafeInteger(size) && size >= 1))
  throw new Error(`--events and --sizes take positive integers, not ${values.sizes ?? values.events}`);
/** Ponder's cache limit in MB; "default" leaves Ponder's (a fifth of the heap limit). */
const cacheLimits = String(values["cache-mb"]).split(",");
if (!cacheLimits.every((limit) => limit === "default" || Number(limit) > 0))
  throw new Error(`--cache-mb takes "default" or sizes in MB, not ${values["cache-mb"]}`);
/** A PostgreSQL server (`--postgres URL`): each backfill is then also run on a fresh database there. */
const postgresServer = values.postgres === undefined ? undefined : String(values.postgres);
const databaseKinds = postgresServer ? (["pglite", "postgres"] as const) : (["pglite"] as const);
type DatabaseKind = (typeof databaseKinds)[number];
const BATCH = 250; // new holders per claimBatch, under the 2^24 gas cap (291 fit)
const BATCH_GAS = 16_000_000n; // under the 2^24 cap, above 250 claims' ~14.4M
const log = (line: string) => console.log(`bench:indexer: ${line}`);
const count = (n: number) => n.toLocaleString("en-US");

const server = await network.createServer("default", "127.0.0.1", await freePort());
const { port } = await server.listen();
const rpcUrl = `http://127.0.0.1:${port}`;
const connection = await network.create({ network: "localhost", override: { url: rpcUrl } });
const protocol = await protocolFixture(connection.viem);
const tenant = await addTenant(protocol, "bench");
const campaignId = await createPointsCampaign(
  { ...protocol, tenant },
  { amount: 1n, perUserLimit: 1, budget: BigInt(sizes.at(-1)!) },
);
const startBlock = Number(await protocol.publicClient.getBlockNumber());

const deployments = mkdtempSync(join(tmpdir(), "pers-bench-indexer-"));
writeDeployment(
  { ...protocol.deployment, network: "localhost", rpcUrlVariable: rpcUrlVariableFor(hardhat.id) },
  deployments,
);

/** Claims `from`..`to` (exclusive), each for a new holder: the claim's index as an address. */
async function makeClaims(from: number, to: number) {
  log(`making claims ${count(from + 1)} to ${count(to)} in batches of ${BATCH}`);
  const madeAt = performance.now();
  let last: Hash | undefined;
  for (let first = from; first < to; first += BATCH) {
    const size = Math.min(BATCH, to - first);
    const requests = Array.from({ length: size }, (_, i) =>
      claimRequest(
        campaignId,
        BigInt(first + i + 1),
        padHex(numberToHex(first + i + 1_000_000), { size: 20 }) as Address,
      ),
    );
    // An explicit gas limit spares a gas estimate, which would execute every batch twice.
    last = await tenant.campaigns.write.claimBatch([requests], { gas: BATCH_GAS });
    if (((first - from) / BATCH) % 40 === 39) log(`${count(first + size)} claims`);
  }
  await protocol.publicClient.waitForTransactionReceipt({ hash: last! });
  await connection.provider.request({ method: "hardhat_mine", params: ["0x40"] }); // past Ponder's 30-block finality
  log(`claims made in ${((performance.now() - madeAt) / 1000).toFixed(1)} s`);
}

/** A fresh, empty database for one backfill: a PGlite folder, or a new database on the server. */
async function freshDatabase(kind: DatabaseKind, name: string) {
  if (kind === "pglite") {
    const pgliteDir = join(deployments, `pglite-${name}`);
    return {
      pgliteDir,
      env: { DATABASE_URL: undefined },
      drop: async () => rmSync(pgliteDir, { recursive: true, force: true }),
    };
  }
  const database = await createScratchDatabase(postgresServer!, `pers_bench_${name}`);
  return { pgliteDir: undefined, env: { DATABASE_URL: database.url }, drop: database.drop };
}

const sampler = join(import.meta.dirname, "memory-sampler.ts");
type MemoryPeaks = {
  rssMb: number;
  heapUsedMb: number;
  liveHeapMb: number;
  externalMb: number;
  arrayBuffersMb: number;
  wasmMb: number;
  wasmResidentMb: number;
};

/** Seconds from start to ready (backfill complete), the process's peak resident memory and the sampled peaks. */
async function timeBackfill(
  events: number,
  name: string,
  projectRoot: string | undefined,
  kind: DatabaseKind,
  env: Record<string, string>,
) {
  const database = await freshDatabase(kind, name);
  const memoryFile = join(deployments, `memory-${name}.json`);
  const began = performance.now();
  let output = "";
  const indexer = await startIndexer({
    onOutput: (text) => (output = (output + text).slice(-4000)),
    port: await freePort(),
    projectRoot,
    schema: "bench",
    pgliteDir: database.pgliteDir,
    env: {
      [rpcUrlVariableFor(hardhat.id)]: rpcUrl,
      PERS_DEPLOYMENTS_DIR: deployments,
      // --heap-mb caps V8's old space (Node's --max-old-space-size): garbage is collected before it piles up.
      NODE_OPTIONS: [
        `--import ${sampler}`,
        values["heap-mb"] === undefined ? "" : `--max-old-space-size=${Number(values["heap-mb"])}`,
        process.env.BENCH_INDEXER_NODE_OPTIONS ?? "",
      ].join(" "),
      PERS_BENCH_MEMORY_FILE: memoryFile,
      PERS_BENCH_HEAP_SNAPSHOT_MB:
        values["heap-snapshot-mb"] === undefined ? undefined : String(values["heap-snapshot-mb"]),
      ...database.env,
      ...env,
    },
    readyTimeoutMs: 3_600_000,
  }).catch((error: Error) => {
    throw new Error(`${name} indexer: ${error.message}\n${output}`);
  });
  const seconds = (performance.now() - began) / 1000;
  const peakKb = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${indexer.child.pid}/status`, "utf8"))?.[1] ?? 0);
  const peaks = JSON.parse(readFileSync(memoryFile, "utf8")) as MemoryPeaks;
  const { misses, rpcRequests, steps } = await ponderCounts(indexer.url);
  await indexer.stop();
  await database.drop(); // the next size starts from an empty database
  if (existsSync(`${memoryFile}.heapsnapshot`)) {
    mkdirSync("bench/results", { recursive: true });
    const snapshot = `bench/results/indexer-${name}-${kind}-${events}.heapsnapshot`;
    renameSync(`${memoryFile}.heapsnapshot`, snapshot);
    log(`${name} on ${kind}: wrote ${snapshot}`);
  }
  const peakRssMb = Math.round(peakKb / 1024);
  log(
    `${name} on ${kind}: ${seconds.toFixed(1)} s to backfill, peak RSS ${peakRssMb} MB, heapUsed ${peaks.heapUsedMb} MB (live ${peaks.liveHeapMb} MB), ` +
      `external ${peaks.externalMb} MB (arrayBuffers ${peaks.arrayBuffersMb} MB), WebAssembly ${peaks.wasmMb} MB (resident ${peaks.wasmResidentMb} MB)`,
  );
  return { seconds, peakRssMb, peaks, misses, rpcRequests, steps };
}

/**
 * From Ponder's metrics: rows it had to read one query at a time (its cache no longer held every row
 * of the table and it had not predicted the row: the reason a backfill with a bounded cache slows
 * down), and the JSON-RPC requests it made (fetching, not indexing, can be what bounds a backfill:
 * Ponder holds itself to about 20 requests a second at first).
 */
async function ponderCounts(indexerUrl: string) {
  const metrics = await (await fetch(`${indexerUrl}/metrics`)).text();
  // Where the backfill's indexing went, in seconds: reading rows ahead of a batch (prefetch),
  // running the handlers (index), writing the batch (load).
  const steps: Record<string, number> = {};
  for (const [, step, ms] of metrics.matchAll(
    /^ponder_historical_transform_duration\{step="([^"]+)"\} ([\d.e+-]+)/gm,
  )) {
    steps[step!] = Number((Number(ms) / 1000).toFixed(1));
  }
  return { misses: cacheRequestCounts(metrics, "miss"), rpcRequests: rpcRequestCounts(metrics), steps };
}

const runs = [];
let made = 0;
for (const events of sizes) {
  await makeClaims(made, events);
  made = events;
  for (const database of databaseKinds)
    for (const cacheMb of cacheLimits) {
      const cache: Record<string, string> =
        cacheMb === "default" ? {} : { PONDER_CACHE_BYTES: String(Number(cacheMb) * 2 ** 20) };
      log(
        `${count(events)} claims on ${database}, cache limit ${cacheMb === "default" ? "Ponder's default" : `${cacheMb} MB`}`,
      );
      const full = await timeBackfill(events, "full", undefined, database, cache);
      const bare = await timeBackfill(events, "bare", join(import.meta.dirname, "bare-indexer"), database, {
        BARE_TOKEN: tenant.points.address,
        BARE_START_BLOCK: String(startBlock),
        ...cache,
      });
      runs.push({
        events,
        database,
        cacheMb,
        /** V8's old-space limit of both indexers (--heap-mb), or null for Node's default. */
        heapLimitMb: values["heap-mb"] === undefined ? null : Number(values["heap-mb"]),
        fullEventsPerSec: Math.round(events / full.seconds),
        bareEventsPerSec: Math.round(events / bare.seconds),
        ratio: Number((bare.seconds / full.seconds).toFixed(3)),
        peakRssMb: full.peakRssMb,
        bareIndexerPeakRssMb: bare.peakRssMb,
        // Peaks sampled every 100 ms inside each process (they need not coincide with the RSS peak).
        fullMemory: full.peaks,
        bareMemory: bare.peaks,
        fullSeconds: Number(full.seconds.toFixed(2)),
        bareSeconds: Number(bare.seconds.toFixed(2)),
        fullCacheMisses: full.misses,
        bareCacheMisses: bare.misses,
        fullRpcRequests: full.rpcRequests,
        bareRpcRequests: bare.rpcRequests,
        fullSteps: full.steps,
        bareSteps: bare.steps,
        // The machine's 1-minute load average after the pair: the cores may be shared.
        loadAverage: Number(loadavg()[0]!.toFixed(1)),
      });
    }
}
await server.close();
rmSync(deployments, { recursive: true, force: true });

const memory = (rssMb: number, peaks: MemoryPeaks) =>
  `${rssMb} / ${peaks.heapUsedMb} / ${peaks.liveHeapMb} / ${peaks.wasmResidentMb}`;
const misses = (perTable: Record<string, number>) =>
  Object.entries(perTable)
    .map(([table, n]) => `${table} ${count(n)}`)
    .join(", ") || "0";
const requests = (perMethod: Record<string, number>) =>
  `${perMethod.eth_getLogs ?? 0} / ${perMethod.eth_getBlockByNumber ?? 0}`;
const steps = (seconds: Record<string, number>) =>
  `${seconds.prefetch ?? 0} / ${seconds.index ?? 0} / ${seconds.load ?? 0}`;
const largest = runs.filter((run) => run.events === sizes.at(-1))[0]!;
const result = { ...largest, runs };
const markdown = [
  "# Indexer benchmark",
  "",
  `Measured ${new Date().toISOString()}: claims (each one points Transfer, plus a Claimed the full indexer also handles), backfilled from a fresh database (embedded PGlite, or a new database on a PostgreSQL server); time is from process start to Ponder's /ready, and includes Ponder's start-up. Peak RSS is the indexer process's (VmHWM); heap, live heap and wasm are peaks sampled inside it: V8's heapUsed (every 100 ms; it includes garbage not yet collected), heapUsed just after each full garbage collection (about the live heap), and the resident part of the WebAssembly memories (PGlite's Postgres, once a second). The JSON also has external memory (outside the heap, WebAssembly's included) and arrayBuffers.`,
  "",
  "| claims | database | cache limit (MB) | full s | full Transfer events/s | full peak RSS / heap / live heap / wasm (MB) | full cache misses | full eth_getLogs / getBlock | full prefetch / index / load s | bare s | bare events/s | bare peak RSS / heap / live heap / wasm (MB) | bare cache misses | bare eth_getLogs / getBlock | bare prefetch / index / load s | ratio | load |",
  "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ...runs.map(
    (run) =>
      `| ${count(run.events)} | ${run.database} | ${run.cacheMb} | ${run.fullSeconds} | ${run.fullEventsPerSec} | ${memory(run.peakRssMb, run.fullMemory)} | ${misses(run.fullCacheMisses)} | ${requests(run.fullRpcRequests)} | ${steps(run.fullSteps)} | ${run.bareSeconds} | ${run.bareEventsPerSec} | ${memory(run.bareIndexerPeakRssMb, run.bareMemory)} | ${misses(run.bareCacheMisses)} | ${requests(run.bareRpcRequests)} | ${steps(run.bareSteps)} | ${run.ratio} | ${run.loadAverage} |`,
  ),
  "",
  `full: every table, causes, statistics; bare: one upsert per Transfer. ratio: full / bare events per second (target ≥ 0.5). cache limit: PONDER_CACHE_BYTES (default: a fifth of the heap limit). heap limit: ${values["heap-mb"] === undefined ? "Node's default" : `${Number(values["heap-mb"])} MB (--max-old-space-size)`}. cache misses: rows read one query at a time, by table (Ponder's cache no longer held the whole table and had not predicted the row). eth_getLogs / getBlock: the JSON-RPC requests each indexer made for logs and for blocks. prefetch / index / load s: Ponder's own account of its backfill's indexing time: reading ahead the rows a batch will touch, running the handlers, writing the batch (the rest of the time is start-up and fetching the chain's data while indexing waits). load (last column): the 1-minute load average after the pair.`,
  "",
].join("\n");
mkdirSync("bench/results", { recursive: true });
writeFileSync("bench/results/indexer.json", JSON.stringify(result, null, 2) + "\n");
writeFileSync("bench/results/indexer.md", markdown);
log(`wrote bench/results/indexer.json and indexer.md: ratio ${result.ratio}, peak RSS ${result.peakRssMb} MB`);
process.exit(0);
