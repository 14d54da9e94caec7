// Chains, addresses and start blocks come from the deployment files (deployments/<chainId>.json);
// tenant contracts are found through TenantFactory events on every chain in the set.
import { readdirSync } from "node:fs";
import { createConfig, factory } from "ponder";
import { getAbiItem } from "viem";
import { DEPLOYMENTS_DIR, readDeployment, type Deployment } from "../deploy/deployment-file.ts";
import { indexedAbis } from "./contracts.ts";

/** Every chain with a deployment file; PERS_CHAINS=31337,8453 narrows the set. */
function deployments(): Deployment[] {
  const wanted = process.env.PERS_CHAINS?.split(",").map(Number);
  const chainIds = readdirSync(DEPLOYMENTS_DIR)
    .filter((file) => /^\d+\.json$/.test(file))
    .map((file) => Number(file.slice(0, -".json".length)))
    .filter((chainId) => !wanted || wanted.includes(chainId));
  if (chainIds.length === 0) throw new Error(`indexer: no deployment files in ${DEPLOYMENTS_DIR}; deploy first`);
  return chainIds.map((chainId) => readDeployment(chainId));
}

const sets = deployments();
const chainName = (deployment: Deployment) => `chain${deployment.chainId}`;

const chains = Object.fromEntries(
  sets.map((deployment) => {
    const rpc = process.env[deployment.rpcUrlVariable];
    if (!rpc) throw new Error(`indexer: set ${deployment.rpcUrlVariable} to chain ${deployment.chainId}'s RPC URL`);
    return [chainName(deployment), { id: deployment.chainId, rpc, pollingInterval: 500 }];
  }),
);

const tenantCreated = getAbiItem({ abi: indexedAbis.TenantFactory, name: "TenantCreated" });

/** A tenant contract on every chain: the address named by `parameter` of `event` from the factory. */
function perChain(event: typeof tenantCreated | ReturnType<typeof pointsTokenAdded>, parameter: string) {
  return Object.fromEntries(
    sets.map((deployment) => [
      chainName(deployment),
      {
        address: factory({ address: deployment.contracts.tenantFactory, event, parameter } as never),
        startBlock: deployment.contracts.tenantFactoryBlock,
      },
    ]),
  );
}
const pointsTokenAdded = () => getAbiItem({ abi: indexedAbis.TenantFactory, name: "PointsTokenAdded" });

export default createConfig({
  database: process.env.DATABASE_URL
    ? { kind: "postgres", connectionString: process.env.DATABASE_URL }
    : { kind: "pglite", directory: process.env.PONDER_PGLITE_DIR ?? ".ponder/pglite" },
  chains,
  contracts: {
    TenantFactory: {
      abi: indexedAbis.TenantFactory,
      chain: Object.fromEntries(
        sets.map((deployment) => [
          chainName(deployment),
          { address: deployment.contracts.tenantFactory, startBlock: deployment.contracts.tenantFactoryBlock },
        ]),
      ),
    },
    PointsToken: { abi: indexedAbis.PointsToken, chain: perChain(pointsTokenAdded(), "pointsToken") },
    RewardToken: { abi: indexedAbis.RewardToken, chain: perChain(tenantCreated, "rewardToken") },
    StatusToken: { abi: indexedAbis.StatusToken, chain: perChain(tenantCreated, "statusToken") },
    CampaignRegistry: { abi: indexedAbis.CampaignRegistry, chain: perChain(tenantCreated, "campaignRegistry") },
    RedemptionRegistry: { abi: indexedAbis.RedemptionRegistry, chain: perChain(tenantCreated, "redemptionRegistry") },
  },
});
