// `npm start`: a local chain on 127.0.0.1:8545 (chain id 31337), the protocol deployed on it
// (deployments/31337.json), the API on embedded PGlite (127.0.0.1:3000), a demo tenant created
// through it with a campaign and a redemption offer, and the indexer on embedded PGlite serving
// GraphQL on 127.0.0.1:42069. Runs until Ctrl-C.
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { readConfig } from "../api/src/config.ts";
import { startApi } from "../api/src/server.ts";
import { network } from "hardhat";
import { rpcUrlVariableFor, writeDeployment } from "../deploy/deployment-file.ts";
import { createDemoTenant, describeDemo } from "../deploy/demo-tenant.ts";
import { deployProtocol } from "../deploy/protocol.ts";
import { waitForIndexedTransaction } from "../indexer/status.ts";
import { createDemoTenantThroughApi } from "./demo-api.ts";
import { startIndexer } from "./indexer-process.ts";

const host = "127.0.0.1";
const port = Number(process.env.CHAIN_PORT ?? 8545);
const indexerPort = Number(process.env.INDEXER_PORT ?? 42069);
const indexerUrl = `http://${host}:${indexerPort}`;
const apiPort = Number(process.env.API_PORT ?? 3000);
// The chain starts empty every time, so the indexer's and the API's embedded databases must too:
// folders of their own, emptied at every start (START_DATA_DIR moves them; never API_DATA_DIR or
// PONDER_PGLITE_DIR, which may hold other data), and never a DATABASE_URL, which is not emptied.
const startDataDir = process.env.START_DATA_DIR;
const pgliteDir = startDataDir ? join(startDataDir, "ponder") : join(".ponder", "start");
const apiDataDir = startDataDir ? join(startDataDir, "api") : join(".data", "start");

const log = (line: string) => console.log(`start: ${line}`);

const server = await network.createServer("default", host, port);
try {
  await server.listen();
} catch (error) {
  const reason = (error as NodeJS.ErrnoException).code === "EADDRINUSE" ? `port ${port} is in use` : String(error);
  console.error(
    `start: cannot serve the local chain on ${host}:${port}: ${reason}. Set CHAIN_PORT to use another port.`,
  );
  process.exit(1);
}
const rpcUrl = `http://${host}:${port}`;
log(`local chain listening on ${rpcUrl}`);

// Deploy over HTTP, as any other client of the chain would.
const { viem } = await network.create({ network: "localhost", override: { url: rpcUrl } });
const deployed = await deployProtocol(viem, { log });
const deployment = { ...deployed, network: "localhost", rpcUrlVariable: rpcUrlVariableFor(deployed.chainId) };
log(`deployment written to ${writeDeployment(deployment)}`);
log(`starting the API (embedded PGlite in ${apiDataDir})`);
rmSync(apiDataDir, { recursive: true, force: true });
process.env[deployment.rpcUrlVariable] = rpcUrl;
// Fresh secrets at every start: the databases they protect are fresh too. Never for production.
const platformKey = `pers_platform_${randomBytes(24).toString("base64url")}`;
const api = await startApi({
  config: readConfig({
    ...process.env,
    API_PORT: String(apiPort),
    API_DATA_DIR: apiDataDir,
    DATABASE_URL: "",
    INDEXER_URL: indexerUrl,
    MASTER_KEY: process.env.MASTER_KEY ?? randomBytes(32).toString("hex"),
    PLATFORM_API_KEY: platformKey,
    LOG_LEVEL: process.env.API_LOG_LEVEL ?? "warn",
    // Everything runs on this machine: webhook receivers and identity providers too.
    OUTBOUND_ALLOW_PRIVATE_NETWORKS: process.env.OUTBOUND_ALLOW_PRIVATE_NETWORKS ?? "true",
  }),
}).catch((error: Error) => {
  console.error(`start: the API did not start: ${error.message}. Set API_PORT to move it.`);
  process.exit(1);
});

log("creating the demo tenant through the API");
const demoLogin = { email: "admin@demo.test", password: randomBytes(12).toString("base64url") };
const [, tenantAdmin] = await viem.getWalletClients();
const demoApi = await createDemoTenantThroughApi(
  api.url,
  platformKey,
  deployment,
  tenantAdmin!.account.address,
  demoLogin,
);
const demo = await createDemoTenant(viem, deployment, demoApi.onchain);
console.log(`\n${describeDemo(deployment, demo)}\n`);
log(`starting the indexer (embedded PGlite in ${pgliteDir})`);
rmSync(pgliteDir, { recursive: true, force: true });
const indexer = await startIndexer({
  port: indexerPort,
  pgliteDir,
  env: { [deployment.rpcUrlVariable]: rpcUrl, DATABASE_URL: "" },
  onOutput: (text) => process.env.INDEXER_LOGS && process.stdout.write(text),
}).catch((error: Error) => {
  console.error(`start: ${error.message}. Set INDEXER_LOGS=1 to see its output, INDEXER_PORT to move it.`);
  process.exit(1);
});
await waitForIndexedTransaction(indexer.url, demo.claimTransaction);
log(
  `indexer: GraphQL ${indexer.url}/graphql, SQL ${indexer.url}/sql, REST ${indexer.url}/accounts/<address>/portfolio`,
);
log(`API: ${api.url} (OpenAPI ${api.url}/openapi.json)`);
for (const [label, value] of [
  ["platform key (X-API-Key)", platformKey],
  ["demo project key (X-Project-Key)", demoApi.projectKey],
  ["demo admin login", `${demoLogin.email} / ${demoLogin.password}`],
  ["demo API key (X-API-Key)", demoApi.apiKey],
]) {
  log(`  ${label!.padEnd(34)}${value}`);
}
log(`ready: RPC ${rpcUrl} (${deployment.rpcUrlVariable}). Ctrl-C stops.`);

const stop = async () => {
  log("stopping");
  await indexer.stop();
  await api.close();
  await server.close();
  process.exit(0);
};
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
await server.afterClosed();
