// Chains that fail on demand, for the routes that read the chain: a chain whose RPC URL is a closed
// port refuses every call, as a chain that is down would.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { createWalletClient, http, type Account, type Chain, type Transport, type WalletClient } from "viem";
import { generatePrivateKey, mnemonicToAccount } from "viem/accounts";
import { readDeployment, rpcUrlVariableFor, writeDeployment } from "../../deploy/deployment-file.ts";
import { connectChains, type ChainClients, type Chains } from "../src/chain/chains.ts";
import type { TestChain } from "./harness.ts";

const CLOSED_PORT_URL = "http://127.0.0.1:1";

/** Clients for `chainId` (deployed like `like`) whose every call fails to connect. */
function unreachableClients(base: TestChain, chainId: number, like: number): ChainClients {
  const dir = mkdtempSync(join(tmpdir(), "pers-api-down-"));
  writeDeployment(
    { ...readDeployment(like, base.deploymentsDir), chainId, rpcUrlVariable: rpcUrlVariableFor(chainId) },
    dir,
  );
  const chains = connectChains({
    deploymentsDir: dir,
    environment: { [rpcUrlVariableFor(chainId)]: CLOSED_PORT_URL },
    privateKey: generatePrivateKey(),
    logger: pino({ level: "silent" }),
  });
  return chains.get(chainId)!;
}

export type FaultyChain = TestChain & {
  /** Every later call to `chainId` fails until `restore`. */
  breakChain: (chainId: number) => void;
  restore: (chainId: number) => void;
  /** One more chain the API believes it writes to, which never answers. */
  addUnreachableChain: (chainId: number) => void;
};

export function faultyChain(base: TestChain): FaultyChain {
  const [like] = base.chains.ids();
  if (like === undefined) throw new Error("faultyChain: the base chain has no deployment");
  const broken = new Map<number, ChainClients>();
  const extra: number[] = [];
  const chains: Chains = {
    ids: () => [...base.chains.ids(), ...extra],
    get: (chainId) => broken.get(chainId) ?? base.chains.get(chainId),
  };
  return {
    ...base,
    chains,
    breakChain: (chainId) => broken.set(chainId, unreachableClients(base, chainId, like)),
    restore: (chainId) => broken.delete(chainId),
    addUnreachableChain: (chainId) => {
      broken.set(chainId, unreachableClients(base, chainId, like));
      extra.push(chainId);
    },
  };
}

/** Hardhat's funded test account `index` (the well-known test mnemonic), as a wallet on the test chain. */
export function hardhatWallet(base: TestChain, index: number): WalletClient<Transport, Chain, Account> {
  const [chainId] = base.chains.ids();
  const { walletClient } = base.chains.get(chainId!)!;
  return createWalletClient({
    chain: walletClient.chain,
    transport: http(base.rpcUrl),
    account: mnemonicToAccount("test test test test test test test test test test test junk", { addressIndex: index }),
  });
}
