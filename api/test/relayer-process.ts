// A relayer in a process of its own, for the tests that run several or kill one (SIGKILL):
//   node api/test/relayer-process.ts   with DATABASE_URL, PERS_DEPLOYMENTS_DIR, RPC_URL_31337 and
//   RELAYER_* settings in the environment. Prints `relayer: started`, and on SIGTERM stops and
//   prints `relayer: signed N` (how many transactions this process signed).
import { randomBytes } from "node:crypto";
import { pino } from "pino";
import { connectChains } from "../src/chain/chains.ts";
import { readConfig } from "../src/config.ts";
import { openDatabase } from "../src/db/client.ts";
import { issueKind } from "../src/relay/kinds/issue.ts";
import { platformSigner } from "../src/relay/signers.ts";
import { startRelayer } from "../src/relay/worker.ts";

const config = readConfig({ MASTER_KEY: randomBytes(32).toString("hex"), LOG_LEVEL: "silent", ...process.env });
const logger = pino({ level: process.env.RELAYER_TEST_LOG ?? "silent" });
const database = await openDatabase({ kind: "postgres", url: config.DATABASE_URL! });
const chains = connectChains({
  logger,
  deploymentsDir: process.env.PERS_DEPLOYMENTS_DIR!,
  ...(config.PLATFORM_PRIVATE_KEY && { privateKey: config.PLATFORM_PRIVATE_KEY as `0x${string}` }),
});
let signed = 0;
const relayer = startRelayer({
  services: { db: database.db, chains, logger, config },
  kinds: [issueKind],
  claimLimit: Number(process.env.RELAYER_CLAIM_LIMIT ?? 256),
  leaseMs: Number(process.env.RELAYER_LEASE_MS ?? 60_000),
  signerFor: (chain) => {
    const signer = platformSigner(chain);
    return {
      address: signer.address,
      signTransaction: (transaction) => {
        signed += 1;
        return signer.signTransaction(transaction);
      },
    };
  },
});
console.log("relayer: started");
process.once("SIGTERM", async () => {
  await relayer.stop();
  await database.close();
  console.log(`relayer: signed ${signed}`);
  process.exit(0);
});
