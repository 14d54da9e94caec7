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

/**
 * Blocks deeper than this are taken as final: the class ids found in them are kept, and only the
 * blocks after are searched on each request (a reorg that deep would leave a stale id, whose class
 * then reads as undefined: no URI, supply 0).
 */
const FINAL_DEPTH = 64n;
/** The most blocks one eth_getLogs asks for: RPC providers refuse wider ranges. */
const MAX_LOG_RANGE = 5_000n;

/** The class ids found per set of tokens, through a final block; `catchingUp` while a search runs. */
type KnownClassIds = { through: bigint; ids: Map<Address, Set<bigint>>; catchingUp?: Promise<void> };
const knownClassIds = new Map<string, KnownClassIds>();

/** TokenClassDefined of these tokens in [from, to], a range at most MAX_LOG_RANGE wide at a time. */
async function collectClassIds(
  { chain }: TenantChain,
  tokens: MultiTokenRef[],
  from: bigint,
  to: bigint,
  into: Map<Address, Set<bigint>>,
) {
  for (let start = from; start <= to; start += MAX_LOG_RANGE) {
    const end = start + MAX_LOG_RANGE - 1n < to ? start + MAX_LOG_RANGE - 1n : to;
    const logs = await chain.publicClient.getContractEvents({
      address: tokens.map((token) => token.address),
      abi: rewardTokenAbi,
      eventName: "TokenClassDefined",
      fromBlock: start,
      toBlock: end,
      strict: true,
    });
    for (const log of logs) into.get(getAddress(log.address))?.add(log.args.id);
  }
}

/**
 * Brings `known` up to the final block, one range at a time and keeping each: requests that come
 * meanwhile wait for this search rather than start their own, and a search that fails part-way
 * resumes where it stopped.
 */
function catchUp(tenantChain: TenantChain, tokens: MultiTokenRef[], known: KnownClassIds, final: bigint) {
  known.catchingUp ??= (async () => {
    try {
      while (known.through < final) {
        const to = known.through + MAX_LOG_RANGE < final ? known.through + MAX_LOG_RANGE : final;
        await collectClassIds(tenantChain, tokens, known.through + 1n, to, known.ids);
        known.through = to;
      }
    } finally {
      known.catchingUp = undefined;
    }
  })();
  return known.catchingUp;
}

/**
 * Every class id ever defined on each token, ascending. The search runs once from the tenant's
 * creation, then each request searches only the blocks not yet final when the last one looked:
 * a public read must not scan the tenant's whole history every time.
 */
async function classIdsOf(tenantChain: TenantChain, tokens: MultiTokenRef[]): Promise<Map<Address, bigint[]>> {
  const key = `${tenantChain.chain.chainId}:${tokens.map((token) => token.address).join(",")}`;
  const latest = await tenantChain.chain.publicClient.getBlockNumber();
  const creation = await creationBlockOf(tenantChain);
  let known = knownClassIds.get(key);
  if (!known) {
    known = { through: creation - 1n, ids: new Map(tokens.map((token) => [token.address, new Set<bigint>()])) };
    knownClassIds.set(key, known);
  }
  if (latest - FINAL_DEPTH > known.through) await catchUp(tenantChain, tokens, known, latest - FINAL_DEPTH);
  const ids = new Map([...known.ids].map(([address, set]) => [address, new Set(set)]));
  await collectClassIds(tenantChain, tokens, known.through + 1n, latest, ids);
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
