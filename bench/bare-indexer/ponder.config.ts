// The benchmark's baseline: a bare Ponder indexer with one upsert per Transfer of one points token.
import { hardhat } from "viem/chains";
import { rpcUrlVariableFor } from "../../deploy/deployment-file.ts";
import { createConfig } from "ponder";
import { pointsTokenAbi } from "../../abi/pointsToken.ts";

const required = (name: string) => {
  const value = process.env[name];
  if (!value) throw new Error(`bare indexer: set ${name}`);
  return value;
};

export default createConfig({
  database: process.env.DATABASE_URL
    ? { kind: "postgres", connectionString: process.env.DATABASE_URL }
    : { kind: "pglite", directory: required("PONDER_PGLITE_DIR") },
  chains: { local: { id: hardhat.id, rpc: required(rpcUrlVariableFor(hardhat.id)) } },
  contracts: {
    Points: {
      abi: pointsTokenAbi,
      chain: "local",
      address: required("BARE_TOKEN") as `0x${string}`,
      startBlock: Number(required("BARE_START_BLOCK")),
    },
  },
});
