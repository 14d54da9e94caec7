// `npm start`: a local chain on 127.0.0.1:8545 (chain id 31337), the protocol deployed on it
// (deployments/31337.json), and a demo tenant with a campaign and a redemption offer. Runs until
// Ctrl-C. Later steps add the indexer and the API to this same command.
import { network } from "hardhat";
import { rpcUrlVariableFor, writeDeployment } from "../deploy/deployment-file.ts";
import { createDemoTenant, describeDemo } from "../deploy/demo-tenant.ts";
import { deployProtocol } from "../deploy/protocol.ts";

const host = "127.0.0.1";
const port = Number(process.env.CHAIN_PORT ?? 8545);

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
log("creating the demo tenant");
console.log(`\n${describeDemo(deployment, await createDemoTenant(viem, deployment))}\n`);
log(`ready: RPC ${rpcUrl} (${deployment.rpcUrlVariable}). Ctrl-C stops.`);

const stop = async () => {
  log("stopping");
  await server.close();
  process.exit(0);
};
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
await server.afterClosed();
