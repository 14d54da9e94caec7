// Contracts: the tenant's deployed suite (every points token included) with the implementation
// each proxy runs now, read from its ERC-1967 slot, and the chain's forwarder and factory.
import { getAddress, hexToBigInt, keccak256, stringToHex, toHex, type Address } from "viem";
import { ContractKind } from "../../../../abi/enums.ts";
import { tenantFactoryAbi } from "../../../../abi/tenantFactory.ts";
import { access } from "../../auth/principal.ts";
import type { ChainClients } from "../../chain/chains.ts";
import { readChain, tenantChainOf } from "../../chain/reads.ts";
import { defineRoute, type Api } from "../../http/route.ts";
import { pointsTokensOf } from "../tokens/onchain.ts";
import { contractKinds, tenantContracts } from "./schema.ts";

/** bytes32(uint256(keccak256("eip1967.proxy.implementation")) - 1) */
const IMPLEMENTATION_SLOT = toHex(hexToBigInt(keccak256(stringToHex("eip1967.proxy.implementation"))) - 1n, {
  size: 32,
});

async function implementationOf(chain: ChainClients, proxy: Address): Promise<Address> {
  const word = await chain.publicClient.getStorageAt({ address: proxy, slot: IMPLEMENTATION_SLOT });
  return getAddress(`0x${(word ?? "0x").slice(2).padStart(64, "0").slice(-40)}`);
}

type Kind = keyof typeof ContractKind;

export function registerContracts(api: Api) {
  defineRoute(api, {
    method: "get",
    path: "/contracts",
    summary: "The tenant's deployed contracts, the implementation each runs, and the chain's forwarder and factory",
    tags: ["contracts"],
    access: access.public,
    errors: [503],
    responses: { 200: { description: "The tenant's contracts", schema: tenantContracts } },
    handler: async (ctx) => {
      const tenantChain = await tenantChainOf(ctx);
      const { tenant, chain } = tenantChain;
      const factory = getAddress(tenant.contracts.tenantFactory);
      ctx.body = await readChain(ctx, chain.chainId, async () => {
        const points = await pointsTokensOf(tenantChain);
        const suite: { kind: Kind; address: Address; index: number }[] = [
          ...points.map(({ address, index }) => ({ kind: "POINTS_TOKEN" as const, address, index })),
          { kind: "REWARD_TOKEN", address: getAddress(tenant.contracts.rewardToken), index: 0 },
          { kind: "STATUS_TOKEN", address: getAddress(tenant.contracts.statusToken), index: 0 },
          { kind: "CAMPAIGN_REGISTRY", address: getAddress(tenant.contracts.campaignRegistry), index: 0 },
          { kind: "REDEMPTION_REGISTRY", address: getAddress(tenant.contracts.redemptionRegistry), index: 0 },
        ];
        const [implementations, current] = await Promise.all([
          Promise.all(suite.map(({ address }) => implementationOf(chain, address))),
          chain.publicClient.multicall({
            contracts: contractKinds.map((kind) => ({
              address: factory,
              abi: tenantFactoryAbi,
              functionName: "currentImplementation" as const,
              args: [ContractKind[kind]] as const,
            })),
            allowFailure: false,
            deployless: true,
          }),
        ]);
        const factoryImplementation = new Map(contractKinds.map((kind, at) => [kind, getAddress(current[at]!)]));
        return {
          chainId: chain.chainId,
          onchainId: tenant.onchainId,
          forwarder: getAddress(tenant.contracts.forwarder),
          factory,
          contracts: suite.map((contract, at) => ({
            ...contract,
            implementation: implementations[at]!,
            factoryImplementation: factoryImplementation.get(contract.kind)!,
          })),
        };
      });
    },
  });
}
