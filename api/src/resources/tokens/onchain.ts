// A tenant's tokens as the chain has them: every points token (ERC-20) from the TenantFactory, and
// the reward and status tokens (ERC-1155) with their classes, found through TokenClassDefined
// (the contracts have no view that lists class ids). Reads to one chain go in one multicall.
import { getAddress, type Address, type ContractFunctionParameters } from "viem";
import { pointsTokenAbi } from "../../../../abi/pointsToken.ts";
import { rewardTokenAbi } from "../../../../abi/rewardToken.ts";
import { statusTokenAbi } from "../../../../abi/statusToken.ts";
import { tenantFactoryAbi } from "../../../../abi/tenantFactory.ts";
import type { ChainClients } from "../../chain/chains.ts";
import type { TenantChain } from "../../chain/reads.ts";

export type PointsTokenState = {
  type: "POINTS";
  address: Address;
  chainId: number;
  index: number;
  name: string;
  symbol: string;
  decimals: number;
  totalSupply: string;
  paused: boolean;
};

export type TokenClassState = { id: string; uri: string; maxSupply: string; supply: string };

export type MultiTokenState = {
  type: "REWARD" | "STATUS";
  address: Address;
  chainId: number;
  paused: boolean;
  classes: TokenClassState[];
};

export type TokenState = PointsTokenState | MultiTokenState;

export type MultiTokenRef = { type: "REWARD" | "STATUS"; address: Address };

const abiOf = { REWARD: rewardTokenAbi, STATUS: statusTokenAbi } as const;

/** Views in one round trip; deployless, so no Multicall3 has to exist on the chain. */
async function multicall(chain: ChainClients, contracts: ContractFunctionParameters[]): Promise<unknown[]> {
  if (contracts.length === 0) return [];
  return chain.publicClient.multicall({ contracts, allowFailure: false, deployless: true });
}

/** The tenant's points tokens in the factory's order (index 0 is the one made with the tenant). */
export async function pointsTokensOf({ tenant, chain }: TenantChain): Promise<PointsTokenRef[]> {
  const addresses = await chain.publicClient.readContract({
    address: getAddress(tenant.contracts.tenantFactory),
    abi: tenantFactoryAbi,
    functionName: "getPointsTokens",
    args: [tenant.onchainId as `0x${string}`],
  });
  return addresses.map((address, index) => ({ address: getAddress(address), index }));
}

export const multiTokensOf = ({ tenant }: TenantChain): MultiTokenRef[] => [
  { type: "REWARD", address: getAddress(tenant.contracts.rewardToken) },
  { type: "STATUS", address: getAddress(tenant.contracts.statusToken) },
];

const POINTS_VIEWS = ["name", "symbol", "decimals", "totalSupply", "paused"] as const;

export type PointsTokenRef = { address: Address; index: number };

export async function readPointsTokens(chain: ChainClients, tokens: PointsTokenRef[]): Promise<PointsTokenState[]> {
  const results = await multicall(
    chain,
    tokens.flatMap(({ address }) =>
      POINTS_VIEWS.map(
        (functionName) => ({ address, abi: pointsTokenAbi, functionName }) as ContractFunctionParameters,
      ),
    ),
  );
  return tokens.map(({ address, index }, at) => {
    const [name, symbol, decimals, totalSupply, paused] = results.slice(
      at * POINTS_VIEWS.length,
      (at + 1) * POINTS_VIEWS.length,
    ) as [string, string, number, bigint, boolean];
    return {
      type: "POINTS",
      address,
      chainId: chain.chainId,
      index,
      name,
      symbol,
      decimals,
      totalSupply: totalSupply.toString(),
      paused,
    };
  });
}

/** The tenant's creation block, where the search for its events starts; it never changes. */
const creationBlocks = new Map<string, bigint>();

async function creationBlockOf({ tenant, chain }: TenantChain): Promise<bigint> {
  const key = `${chain.chainId}:${tenant.creationTransaction}`;
  let block = creationBlocks.get(key);
  if (block === undefined) {
    const receipt = await chain.publicClient.getTransactionReceipt({
      hash: tenant.creationTransaction as `0x${string}`,
    });
    block = receipt.blockNumber;
    creationBlocks.set(key, block);
  }
  return block;
}

/** Every class id ever defined on each token, ascending. */
async function classIdsOf(tenantChain: TenantChain, tokens: MultiTokenRef[]): Promise<Map<Address, bigint[]>> {
  const logs = await tenantChain.chain.publicClient.getContractEvents({
    address: tokens.map((token) => token.address),
    abi: rewardTokenAbi,
    eventName: "TokenClassDefined",
    fromBlock: await creationBlockOf(tenantChain),
    strict: true,
  });
  const ids = new Map<Address, Set<bigint>>(tokens.map((token) => [token.address, new Set()]));
  for (const log of logs) ids.get(getAddress(log.address))?.add(log.args.id);
  return new Map(
    [...ids].map(([address, set]) => [address, [...set].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0))] as const),
  );
}

const classViews = (token: MultiTokenRef, id: bigint): ContractFunctionParameters[] => [
  { address: token.address, abi: abiOf[token.type], functionName: "uri", args: [id] },
  { address: token.address, abi: abiOf[token.type], functionName: "maxSupply", args: [id] },
  { address: token.address, abi: abiOf[token.type], functionName: "totalSupply", args: [id] },
];

const classState = (id: bigint, [uri, maxSupply, supply]: unknown[]): TokenClassState => ({
  id: id.toString(),
  uri: uri as string,
  maxSupply: (maxSupply as bigint).toString(),
  supply: (supply as bigint).toString(),
});

export async function readMultiTokens(tenantChain: TenantChain, tokens: MultiTokenRef[]): Promise<MultiTokenState[]> {
  const { chain } = tenantChain;
  const ids = await classIdsOf(tenantChain, tokens);
  const calls = tokens.flatMap((token) => [
    { address: token.address, abi: abiOf[token.type], functionName: "paused" } as ContractFunctionParameters,
    ...ids.get(token.address)!.flatMap((id) => classViews(token, id)),
  ]);
  const results = await multicall(chain, calls);
  let at = 0;
  return tokens.map((token) => {
    const paused = results[at++] as boolean;
    const classes = ids.get(token.address)!.map((id) => {
      const state = classState(id, results.slice(at, at + 3));
      at += 3;
      return state;
    });
    return { type: token.type, address: token.address, chainId: chain.chainId, paused, classes };
  });
}

/** One class of a reward or status token, or undefined when it has not been defined. */
export async function readTokenClass(
  chain: ChainClients,
  token: MultiTokenRef,
  id: bigint,
): Promise<TokenClassState | undefined> {
  const [defined, ...views] = await multicall(chain, [
    { address: token.address, abi: abiOf[token.type], functionName: "isClassDefined", args: [id] },
    ...classViews(token, id),
  ]);
  return defined ? classState(id, views) : undefined;
}
