// The chains the API writes to: one per deployment file (deploy/deployment-file.ts), each with its
// RPC URL from RPC_URL_<chainId> and the platform's signer.
import { hardhat } from "viem/chains";
import { existsSync, readdirSync } from "node:fs";
import type { Logger } from "pino";
import {
  createPublicClient,
  createWalletClient,
  defineChain,
  http,
  type Account,
  type Chain,
  type PublicClient,
  type Transport,
  type WalletClient,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { DEPLOYMENTS_DIR, readDeployment, type Deployment } from "../../../deploy/deployment-file.ts";
import { ConfigError } from "../config.ts";

/** Hardhat's account 0: a well-known local test key, public, never for real funds. */
const HARDHAT_ACCOUNT_0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const LOCAL_CHAIN_ID = hardhat.id;

export type ChainClients = {
  chainId: number;
  deployment: Deployment;
  publicClient: PublicClient;
  walletClient: WalletClient<Transport, Chain, Account>;
};

export type Chains = {
  ids: () => number[];
  /** The chain's clients, or undefined when the API has no deployment or RPC URL for it. */
  get: (chainId: number) => ChainClients | undefined;
};

export function connectChains(options: {
  chainIds?: number[];
  privateKey?: `0x${string}`;
  environment?: NodeJS.ProcessEnv;
  deploymentsDir?: string;
  logger: Logger;
}): Chains {
  const { environment = process.env, deploymentsDir = DEPLOYMENTS_DIR, logger } = options;
  const available = existsSync(deploymentsDir)
    ? readdirSync(deploymentsDir)
        .filter((file) => /^\d+\.json$/.test(file))
        .map((file) => Number(file.slice(0, -".json".length)))
    : [];
  const wanted = options.chainIds ?? available;
  const chains = new Map<number, ChainClients>();
  for (const chainId of wanted) {
    if (!available.includes(chainId)) {
      throw new ConfigError(`PERS_CHAINS: no deployment file for chain ${chainId} in ${deploymentsDir}`);
    }
    const deployment = readDeployment(chainId, deploymentsDir);
    const rpcUrl = environment[deployment.rpcUrlVariable];
    if (!rpcUrl) {
      logger.warn({ chainId }, `chain ${chainId} skipped: set ${deployment.rpcUrlVariable} to its RPC URL`);
      continue;
    }
    let privateKey = options.privateKey;
    if (!privateKey) {
      if (chainId !== LOCAL_CHAIN_ID)
        throw new ConfigError(`PLATFORM_PRIVATE_KEY: set it to write to chain ${chainId}`);
      logger.warn("PLATFORM_PRIVATE_KEY unset: using Hardhat's well-known account 0 on the local chain");
      privateKey = HARDHAT_ACCOUNT_0;
    }
    const chain = defineChain({
      id: chainId,
      name: `chain ${chainId}`,
      nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
      rpcUrls: { default: { http: [rpcUrl] } },
    });
    const transport = http(rpcUrl);
    chains.set(chainId, {
      chainId,
      deployment,
      publicClient: createPublicClient({ chain, transport, pollingInterval: 200 }) as PublicClient,
      walletClient: createWalletClient({ chain, transport, account: privateKeyToAccount(privateKey) }),
    });
  }
  return { ids: () => [...chains.keys()], get: (chainId) => chains.get(chainId) };
}
