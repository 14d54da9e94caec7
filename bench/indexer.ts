// `npm run bench:indexer -- --events N` (default 20,000): makes N claims on a local chain (each
// mints points: one Transfer, plus the registry's Claimed), buries them under Ponder's 30-block
// finality so that they are backfilled, then times a fresh backfill of the full indexer and, in the
// same run, of a bare Ponder indexer with one upsert per Transfer over the same events. Writes
// bench/results/indexer.{md,json}.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { network } from "hardhat";
import { numberToHex, padHex, type Address, type Hash } from "viem";
import { rpcUrlVariableFor, writeDeployment } from "../deploy/deployment-file.ts";
import { startIndexer } from "../scripts/indexer-process.ts";
import { addTenant, claimRequest, createPointsCampaign, protocolFixture } from "../test/helpers/fixtures.ts";
import { freePort } from "../test/helpers/ports.ts";

const { values } = parseArgs({ options: { events: { type: "string", default: "20000" } }, strict: false });
const events = Number(values.events);
if (!Number.isSafeInteger(events) || events < 1)
  throw new Error(`--events must be a positive integer, not ${values.events}`);
const BATCH = 250; // new holders per claimBatch, under the 2^24 gas cap (291 fit)
const log = (line: string) => console.log(`bench:indexer: ${line}`);

const server = await network.createServer("default", "127.0.0.1", await freePort());
const { port } = await server.listen();
const rpcUrl = `http://127.0.0.1:${port}`;
const connection = await network.create({ network: "localhost", override: { url: rpcUrl } });
const protocol = await protocolFixture(connection.viem);
const tenant = await addTenant(protocol, "bench");
const campaignId = await createPointsCampaign(
  { ...protocol, tenant },
  { amount: 1n, perUserLimit: 1, budget: BigInt(events) },
);
const startBlock = Number(await protocol.publicClient.getBlockNumber());

log(`making ${events.toLocaleString("en-US")} claims in batches of ${BATCH}`);
const madeAt = performance.now();
let last: Hash | undefined;
for (let first = 0; first < events; first += BATCH) {
  const size = Math.min(BATCH, events - first);
  // Distinct new holders, cheap to make: the claim's index as an address.
  const requests = Array.from({ length: size }, (_, i) =>
    claimRequest(
      campaignId,
      BigInt(first + i + 1),
      padHex(numberToHex(first + i + 1_000_000), { size: 20 }) as Address,
    ),
  );
  last = await tenant.campaigns.write.claimBatch([requests]);
  if ((first / BATCH) % 40 === 39) log(`${(first + size).toLocaleString("en-US")} claims`);
}
await protocol.publicClient.waitForTransactionReceipt({ hash: last! });
await connection.provider.request({ method: "hardhat_mine", params: ["0x40"] }); // past Ponder's 30-block finality
log(`claims made in ${((performance.now() - madeAt) / 1000).toFixed(1)} s`);

const deployments = mkdtempSync(join(tmpdir(), "pers-bench-indexer-"));
writeDeployment(
  { ...protocol.deployment, network: "localhost", rpcUrlVariable: rpcUrlVariableFor(31337) },
  deployments,
);

/** Seconds from start to ready (backfill complete) and the process's peak resident memory. */
async function timeBackfill(name: string, projectRoot: string | undefined, env: Record<string, string>) {
  const began = performance.now();
  let output = "";
  const indexer = await startIndexer({
    onOutput: (text) => (output = (output + text).slice(-4000)),
    port: await freePort(),
    projectRoot,
    schema: "bench",
    pgliteDir: join(deployments, `pglite-${name}`),
    env: { RPC_URL_31337: rpcUrl, PERS_DEPLOYMENTS_DIR: deployments, DATABASE_URL: undefined, ...env },
    readyTimeoutMs: 3_600_000,
  }).catch((error: Error) => {
    throw new Error(`${name} indexer: ${error.message}\n${output}`);
  });
  const seconds = (performance.now() - began) / 1000;
  const peakKb = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${indexer.child.pid}/status`, "utf8"))?.[1] ?? 0);
  await indexer.stop();
  log(`${name}: ${seconds.toFixed(1)} s to backfill, peak RSS ${(peakKb / 1024).toFixed(0)} MB`);
  return { seconds, peakRssMb: Math.round(peakKb / 1024) };
}

const full = await timeBackfill("full", undefined, {});
const bare = await timeBackfill("bare", join(import.meta.dirname, "bare-indexer"), {
  BARE_TOKEN: tenant.points.address,
  BARE_START_BLOCK: String(startBlock),
});
await server.close();

const result = {
  events,
  fullEventsPerSec: Math.round(events / full.seconds),
  bareEventsPerSec: Math.round(events / bare.seconds),
  ratio: Number((bare.seconds / full.seconds).toFixed(3)),
  peakRssMb: full.peakRssMb,
  bareIndexerPeakRssMb: bare.peakRssMb,
  fullSeconds: Number(full.seconds.toFixed(2)),
  bareSeconds: Number(bare.seconds.toFixed(2)),
};
const markdown = [
  "# Indexer benchmark",
  "",
  `Measured ${new Date().toISOString()}: ${events.toLocaleString("en-US")} claims (each one points Transfer, plus a Claimed the full indexer also handles), backfilled from a fresh embedded PGlite database; time is from process start to Ponder's /ready.`,
  "",
  "| indexer | seconds | Transfer events/s | peak RSS (MB) |",
  "|---|---:|---:|---:|",
  `| full (every table, causes, statistics) | ${result.fullSeconds} | ${result.fullEventsPerSec} | ${result.peakRssMb} |`,
  `| bare (one upsert per Transfer) | ${result.bareSeconds} | ${result.bareEventsPerSec} | ${result.bareIndexerPeakRssMb} |`,
  "",
  `ratio (full / bare events per second): ${result.ratio} (target ≥ 0.5)`,
  "",
].join("\n");
mkdirSync("bench/results", { recursive: true });
writeFileSync("bench/results/indexer.json", JSON.stringify(result, null, 2) + "\n");
writeFileSync("bench/results/indexer.md", markdown);
log(`wrote bench/results/indexer.json and indexer.md: ratio ${result.ratio}`);
process.exit(0);
