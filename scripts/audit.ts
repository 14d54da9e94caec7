// `npm run audit -- --chain <id> [--tenant <id or address>] [--block <n>] [--indexer <url>]`
// Compares the indexer with the chain; exits 1 and lists the differences when they disagree.
import { hardhat } from "viem/chains";
import { parseArgs } from "node:util";
import { readDeployment } from "../deploy/deployment-file.ts";
import { audit, formatAudit } from "../indexer/audit.ts";

const { values } = parseArgs({
  options: {
    chain: { type: "string" },
    tenant: { type: "string" },
    block: { type: "string" },
    indexer: { type: "string", default: process.env.INDEXER_URL ?? "http://127.0.0.1:42069" },
  },
});

function fail(message: string): never {
  console.error(`audit: ${message}`);
  process.exit(2);
}

const chainId = Number(values.chain);
if (!values.chain || !Number.isSafeInteger(chainId) || chainId <= 0) fail("give --chain <chain id>");
if (values.block !== undefined && !/^\d+$/.test(values.block))
  fail(`--block must be a block number, not ${values.block}`);
let deployment;
try {
  deployment = readDeployment(chainId);
} catch (error) {
  fail((error as Error).message);
}
const rpcUrl = process.env[deployment.rpcUrlVariable] ?? (chainId === hardhat.id ? "http://127.0.0.1:8545" : undefined);
if (!rpcUrl) fail(`set ${deployment.rpcUrlVariable} to chain ${chainId}'s RPC URL`);

try {
  const result = await audit({
    chainId,
    rpcUrl,
    indexerUrl: values.indexer!,
    tenant: values.tenant,
    minBlock: values.block === undefined ? undefined : BigInt(values.block),
    log: (line) => console.error(`audit: ${line}`),
  });
  console.log(formatAudit(result));
  process.exit(result.ok ? 0 : 1);
} catch (error) {
  fail((error as Error).message);
}
