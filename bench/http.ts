// `npm run bench:http`: requests per second of an authenticated `GET /campaigns` (ES256 JWT
// verification and the campaign list, on embedded PGlite by default) against a bare Koa
// hello-world, both in their own process, loaded by autocannon (a third process) with the same
// connections and duration; then the same read with the list cache off, every request reading
// the database; and the bare Koa server answering the API's own answer, byte for byte, which tells
// what the answer's size costs from what the API does. Writes bench/results/http.{md,json}.
//
//   npm run bench:http   (BENCH_SECONDS=10 BENCH_CONNECTIONS=50 BENCH_CAMPAIGNS=50 BENCH_PATH=/campaigns)
// Hardhat runs this script (it serves the chain), so options come from the environment.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type autocannon from "autocannon";
import { network } from "hardhat";
import { rpcUrlVariableFor, writeDeployment } from "../deploy/deployment-file.ts";
import { deployProtocol } from "../deploy/protocol.ts";
import { createScratchDatabase } from "../test/helpers/scratchDatabase.ts";
import { benchApiEnvironment, call, serve, stop } from "./apiProcess.ts";

const values = {
  seconds: process.env.BENCH_SECONDS ?? "10",
  connections: process.env.BENCH_CONNECTIONS ?? "50",
  campaigns: process.env.BENCH_CAMPAIGNS ?? "50",
  path: process.env.BENCH_PATH ?? "/campaigns",
};
const seconds = Number(values.seconds);
const connections = Number(values.connections);
const log = (line: string) => console.log(`bench:http: ${line}`);
const execFileAsync = promisify(execFile);

// autocannon runs in a process of its own: in this one (which also serves the chain) it could not
// send more than about 12,000 requests a second here, which capped the bare server's figure.
const autocannonCli = createRequire(import.meta.url).resolve("autocannon");

/** Loads `url` with autocannon, in its own process; fails on any answer other than 2xx. */
async function load(url: string, headers: Record<string, string>) {
  const headerArguments = Object.entries(headers).flatMap(([name, value]) => ["-H", `${name}=${value}`]);
  const { stdout } = await execFileAsync(
    process.execPath,
    [autocannonCli, "-c", String(connections), "-d", String(seconds), "-j", ...headerArguments, url],
    { maxBuffer: 16 * 1024 * 1024 },
  );
  const result = JSON.parse(stdout.trim().split("\n").at(-1)!) as autocannon.Result;
  if (result.non2xx > 0 || result.errors > 0) {
    throw new Error(`${url}: ${result.non2xx} non-2xx answers and ${result.errors} errors under load`);
  }
  return { rps: result.requests.average, p99Ms: result.latency.p99, requests: result.requests.total };
}

log("starting a local chain and deploying the protocol");
const chain = await network.createServer("default", "127.0.0.1", 0);
const { port: chainPort } = await chain.listen();
const rpcUrl = `http://127.0.0.1:${chainPort}`;
const { viem } = await network.create({ network: "localhost", override: { url: rpcUrl } });
const deployed = await deployProtocol(viem);
const workDir = mkdtempSync(join(tmpdir(), "pers-bench-http-"));
writeDeployment({ ...deployed, network: "localhost", rpcUrlVariable: rpcUrlVariableFor(deployed.chainId) }, workDir);

const platformKey = randomBytes(32).toString("hex");
// On a PostgreSQL server (BENCH_DATABASE_URL), each run makes and drops its own database.
const scratchDatabase = process.env.BENCH_DATABASE_URL
  ? await createScratchDatabase(process.env.BENCH_DATABASE_URL, "pers_bench_http")
  : undefined;
const databaseName = process.env.BENCH_DATABASE_URL ? "PostgreSQL" : "PGlite (embedded)";
const apiEnvironment = {
  ...benchApiEnvironment({
    workDir,
    chainId: deployed.chainId,
    rpcUrl,
    platformKey,
    ...(scratchDatabase && { databaseUrl: scratchDatabase.url }),
    logLevel: process.env.BENCH_LOG_LEVEL ?? "info",
  }),
  // e.g. BENCH_API_NODE_OPTIONS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the API under load
  NODE_OPTIONS: process.env.BENCH_API_NODE_OPTIONS ?? "",
};
/** The API in its own process; `environment` adds to (or overrides) the benchmark's settings. */
async function startApiProcess(environment: Record<string, string> = {}) {
  const started = await serve(
    "api/src/main.ts",
    { ...apiEnvironment, ...environment },
    /api: listening on (http:\/\/\S+)/,
  );
  return { child: started.child, url: started.match[1]! };
}

log(`starting the API (${databaseName}) and the bare Koa server`);
let api = await startApiProcess();
const bare = await serve("bench/bare-koa.ts", {}, /listening (\d+)/);
const bareUrl = `http://127.0.0.1:${bare.match[1]}`;
let sameBody: Awaited<ReturnType<typeof serve>> | undefined;

try {
  const login = { email: "bench@example.test", name: "Bench", password: randomBytes(12).toString("hex") };
  const { tenant } = await call(`${api.url}/tenants`, {
    method: "POST",
    headers: { "x-api-key": platformKey },
    body: { name: "Bench", externalId: "bench", points: { name: "Bench Points", symbol: "BNCH" }, admin: login },
  });
  const session = await call(`${api.url}/auth/token`, {
    method: "POST",
    headers: { "x-project-key": tenant.projectKey },
    body: { type: "password", email: login.email, password: login.password },
  });
  const authorization = { authorization: `Bearer ${session.accessToken}` };
  for (let index = 0; index < Number(values.campaigns); index++) {
    await call(`${api.url}/campaigns`, {
      method: "POST",
      headers: authorization,
      body: { title: `Campaign ${index}`, description: "A campaign of the benchmark" },
    });
  }
  const answer = await fetch(`${api.url}${values.path}`, { headers: authorization });
  const answerText = await answer.text();
  if (!answer.ok) throw new Error(`GET ${values.path}: ${answer.status} ${answerText}`);
  const page = JSON.parse(answerText);
  const answerFile = join(workDir, "answer.json");
  writeFileSync(answerFile, answerText);
  sameBody = await serve("bench/bare-koa.ts", { BARE_BODY_FILE: answerFile }, /listening (\d+)/);
  log(`loading ${bareUrl}/ and ${api.url}${values.path} for ${seconds} s each with ${connections} connections`);
  const bareResult = await load(`${bareUrl}/`, {});
  const sameBodyResult = await load(`http://127.0.0.1:${sameBody.match[1]}/`, {});
  const apiResult = await load(`${api.url}${values.path}`, authorization);
  // The same read with the campaign-list cache off: what a request costs when it reads the database.
  log("restarting the API with CAMPAIGN_LIST_CACHE_MS=0 (every request reads the database)");
  await stop(api.child);
  api = await startApiProcess({ CAMPAIGN_LIST_CACHE_MS: "0" });
  const uncachedResult = await load(`${api.url}${values.path}`, authorization);
  const result = {
    bareKoaRps: Math.round(bareResult.rps),
    apiRps: Math.round(apiResult.rps),
    ratio: Number((apiResult.rps / bareResult.rps).toFixed(3)),
    p99Ms: apiResult.p99Ms,
    bareP99Ms: bareResult.p99Ms,
    answerBytes: Buffer.byteLength(answerText),
    bareSameBodyRps: Math.round(sameBodyResult.rps),
    bareSameBodyP99Ms: sameBodyResult.p99Ms,
    sameBodyRatio: Number((apiResult.rps / sameBodyResult.rps).toFixed(3)),
    uncachedApiRps: Math.round(uncachedResult.rps),
    uncachedRatio: Number((uncachedResult.rps / bareResult.rps).toFixed(3)),
    uncachedP99Ms: uncachedResult.p99Ms,
    path: values.path,
    campaigns: Number(values.campaigns),
    campaignsPerPage: Array.isArray(page.data) ? page.data.length : null,
    connections,
    seconds,
    database: databaseName,
    node: process.version,
  };
  const markdown = [
    "# HTTP benchmark",
    "",
    `Authenticated \`GET ${values.path}\` (ES256 JWT verified; a page of ${result.campaignsPerPage} of ${result.campaigns}`,
    `campaigns, on ${databaseName}) against a bare Koa hello-world, ${connections} connections for ${seconds} s each,`,
    "autocannon in a separate process. The API runs with its defaults: campaign list answers are kept for",
    "CAMPAIGN_LIST_CACHE_MS (1 s) per tenant, view and query. The last row turns that off, so that every",
    `request reads the database. The second row is bare Koa answering the API's own answer (${result.answerBytes}`,
    "bytes of JSON, where hello-world is 17): what the answer's bytes cost, apart from what the API does.",
    "",
    "| server | requests/s | p99 (ms) | ratio to bare Koa |",
    "| --- | ---: | ---: | ---: |",
    `| bare Koa | ${result.bareKoaRps} | ${result.bareP99Ms} | 1 |`,
    `| bare Koa, the API's answer | ${result.bareSameBodyRps} | ${result.bareSameBodyP99Ms} | ${(result.bareSameBodyRps / result.bareKoaRps).toFixed(3)} |`,
    `| API \`GET ${values.path}\` | ${result.apiRps} | ${result.p99Ms} | ${result.ratio} |`,
    `| API, every request reading the database | ${result.uncachedApiRps} | ${result.uncachedP99Ms} | ${result.uncachedRatio} |`,
    "",
    `ratio (API / bare): **${result.ratio}** (target ≥ 0.5); API / bare Koa answering the same bytes: ${result.sameBodyRatio}`,
    "",
  ].join("\n");
  mkdirSync("bench/results", { recursive: true });
  writeFileSync("bench/results/http.json", JSON.stringify(result, null, 2) + "\n");
  writeFileSync("bench/results/http.md", markdown);
  console.log(markdown);
  log("wrote bench/results/http.json and http.md");
} finally {
  await Promise.all([stop(api.child), stop(bare.child), ...(sameBody ? [stop(sameBody.child)] : [])]);
  await scratchDatabase?.drop();
  await chain.close();
}
