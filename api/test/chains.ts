// Chains that fail on demand, for the routes that read the chain: a chain whose RPC URL is a closed
// port refuses every call, as a chain that is down would.
import { mkdtempSync } from "node:fs";
import { createServer, type AddressInfo, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { createWalletClient, http, type Account, type Chain, type Transport, type WalletClient } from "viem";
import { generatePrivateKey, mnemonicToAccount } from "viem/accounts";
import { readDeployment, rpcUrlVariableFor, writeDeployment } from "../../deploy/deployment-file.ts";
import { connectChains, type ChainClients, type Chains } from "../src/chain/chains.ts";
import type { TestChain } from "./harness.ts";

const CLOSED_PORT_URL = "http://127.0.0.1:1";

/** Clients for `chainId` (deployed like `like`) whose every call fails to connect (or goes to `rpcUrl`). */
function unreachableClients(base: TestChain, chainId: number, like: number, rpcUrl = CLOSED_PORT_URL): ChainClients {
  const dir = mkdtempSync(join(tmpdir(), "pers-api-down-"));
  writeDeployment(
    { ...readDeployment(like, base.deploymentsDir), chainId, rpcUrlVariable: rpcUrlVariableFor(chainId) },
    dir,
  );
  const chains = connectChains({
    deploymentsDir: dir,
    environment: { [rpcUrlVariableFor(chainId)]: rpcUrl },
    privateKey: generatePrivateKey(),
    logger: pino({ level: "silent" }),
  });
  return chains.get(chainId)!;
}

export type FaultyChain = TestChain & {
  /** Every later call to `chainId` fails until `restore`. */
  breakChain: (chainId: number) => void;
  restore: (chainId: number) => void;
  /** One more chain the API believes it writes to, which refuses connections (or is served at `rpcUrl`). */
  addUnreachableChain: (chainId: number, rpcUrl?: string) => void;
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
    addUnreachableChain: (chainId, rpcUrl) => {
      broken.set(chainId, unreachableClients(base, chainId, like, rpcUrl));
      extra.push(chainId);
    },
  };
}

/** An RPC endpoint that accepts connections and never answers: a chain that hangs. */
export async function silentRpc(): Promise<{ url: string; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
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
