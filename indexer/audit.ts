// The auditor's check: the indexer's numbers against the chain's, at the block the indexer has
// reached. Each tenant's tokens must be the ones TenantFactory names, each indexed balance must
// equal balanceOf on chain, each token's holders must be its owners with a balance on chain, its
// balances must add up to its totalSupply, and that supply must equal the mints with a cause minus
// the burns.
import { createPublicClient, http, zeroAddress, type Address, type Hex, type PublicClient } from "viem";
import { pointsTokenAbi } from "../abi/pointsToken.ts";
import { rewardTokenAbi } from "../abi/rewardToken.ts";
import { tenantFactoryAbi } from "../abi/tenantFactory.ts";
import { readDeployment } from "../deploy/deployment-file.ts";
import { indexedBlock, waitForIndexedBlock } from "./status.ts";

export type AuditParameters = {
  chainId: number;
  rpcUrl: string;
  indexerUrl: string;
  /** A tenant id or any of its contracts' addresses; every tenant of the chain if not given. */
  tenant?: string;
  /** Wait until the indexer has reached at least this block. */
  minBlock?: bigint;
  /** Progress lines. */
  log?: (line: string) => void;
  /** TenantFactory, whose getters name each tenant's tokens; the chain's deployment file's if not given. */
  factory?: Address;
  /** Balances per page of the indexer's, and calls per multicall (one eth_call each). */
  batchSize?: number;
};

export type TokenRow = {
  tenantId: Hex;
  token: Address;
  tokenId: bigint;
  kind: string;
  symbol: string | null;
  holders: number;
  indexedSupply: bigint;
  sumOfBalances: bigint;
  chainSupply: bigint;
  attributedMinted: bigint;
  burned: bigint;
  ok: boolean;
};

/** A number the indexer and the chain disagree on. "holders": the indexed holders against the
 * number of the indexed owners whose balance on chain is not zero. */
export type ValueDifference = {
  what:
    | "balance"
    | "holders"
    | "sum of balances vs totalSupply"
    | "indexed supply vs totalSupply"
    | "attributable mints − burns vs totalSupply";
  tenantId: Hex;
  token: Address;
  tokenId: bigint;
  owner?: Address;
  indexed: bigint;
  chain: bigint;
};

/** A token of the tenant that only one side has: the indexer, or TenantFactory's getters. */
export type TokenDifference = { what: "token"; tenantId: Hex; token: Address; indexed: boolean; chain: boolean };

export type Difference = ValueDifference | TokenDifference;

export type AuditReturnType = { block: bigint; tokens: TokenRow[]; differences: Difference[]; ok: boolean };

type Standard = "ERC20" | "ERC1155";
type StatisticsRow = {
  token: Address;
  tokenId: string;
  holders: number;
  minted: string;
  burned: string;
  supply: string;
  attributedMinted: string;
};
type AuditResponse = {
  tenantId: Hex;
  tokens: { address: Address; standard: Standard; kind: string; symbol: string | null }[];
  statistics: StatisticsRow[];
};
type BalancesPage = {
  balances: { token: Address; tokenId: string; owner: Address; amount: string }[];
  next: string | null;
};

async function getJson<body>(url: string): Promise<body> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`audit: ${url} answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as body;
}

async function tenantsOf(indexerUrl: string, chainId: number): Promise<Hex[]> {
  const ids: Hex[] = [];
  let after: string | null = null;
  do {
    const query = `query($chainId: Int!, $after: String) { tenants(where: { chainId: $chainId }, limit: 1000, after: $after) { items { id } pageInfo { hasNextPage endCursor } } }`;
    const response = await fetch(`${indexerUrl}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query, variables: { chainId, after } }),
    });
    const body = (await response.json()) as {
      data?: { tenants: { items: { id: Hex }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } };
      errors?: unknown;
    };
    if (!body.data) throw new Error(`audit: the indexer's GraphQL failed: ${JSON.stringify(body.errors)}`);
    ids.push(...body.data.tenants.items.map((item) => item.id));
    after = body.data.tenants.pageInfo.hasNextPage ? body.data.tenants.pageInfo.endCursor : null;
  } while (after);
  return ids;
}

export async function audit({
  chainId,
  rpcUrl,
  indexerUrl,
  tenant,
  minBlock,
  log = () => {},
  factory = readDeployment(chainId).contracts.tenantFactory,
  batchSize = 500,
}: AuditParameters): Promise<AuditReturnType> {
  const client = createPublicClient({ transport: http(rpcUrl) }) as PublicClient;
  if ((await client.getChainId()) !== chainId) throw new Error(`audit: ${rpcUrl} is not chain ${chainId}`);
  const reader: ChainReader = { client, factory, callsPerRequest: batchSize };

  // The indexer's state belongs to one block: read everything between two identical status reads.
  for (let attempt = 1; ; attempt++) {
    const block = await waitForIndexedBlock(indexerUrl, chainId, minBlock, {
      onWait: (at) => log(`waiting for the indexer (at ${at ?? "nothing"}, want ${minBlock ?? "any block"})`),
    });
    const result = await auditAt(reader, indexerUrl, chainId, block, tenant, batchSize, log);
    if ((await indexedBlock(indexerUrl, chainId)) === block) return result;
    if (attempt === 5)
      throw new Error("audit: the indexer kept moving while it was read; try again on a quieter chain");
    log(`indexer moved past block ${block} during the audit; again`);
  }
}

/** What reads the chain: the client, TenantFactory, and how many calls one eth_call may carry. */
type ChainReader = { client: PublicClient; factory: Address; callsPerRequest: number };

async function auditAt(
  reader: ChainReader,
  indexerUrl: string,
  chainId: number,
  block: bigint,
  tenant: string | undefined,
  batchSize: number,
  log: (line: string) => void,
): Promise<AuditReturnType> {
  const tenants = tenant ? [tenant] : await tenantsOf(indexerUrl, chainId);
  const tokens: TokenRow[] = [];
  const differences: Difference[] = [];

  for (const key of tenants) {
    const summary = await getJson<AuditResponse>(`${indexerUrl}/audit/${chainId}/${key}`);
    const { tenantId } = summary;

    // The tenant's tokens, as TenantFactory names them, against the indexer's.
    const chainTokens = await tokensOf(reader, block, tenantId);
    const indexedTokens = new Map(summary.tokens.map((t) => [lower(t.address), t]));
    for (const token of chainTokens.keys()) {
      if (!indexedTokens.has(token)) differences.push({ what: "token", tenantId, token, indexed: false, chain: true });
    }
    for (const token of indexedTokens.keys()) {
      if (!chainTokens.has(token)) differences.push({ what: "token", tenantId, token, indexed: true, chain: false });
    }
    const standardOf = (token: Address) => chainTokens.get(lower(token)) ?? indexedTokens.get(lower(token))?.standard;

    // Every indexed balance against the chain's, page by page; per token and id, their sum and the
    // number of owners whose balance on chain is not zero.
    const sums = new Map<string, bigint>();
    const holders = new Map<string, number>();
    let next: string | null = "";
    let checked = 0;
    while (next !== null) {
      const page: BalancesPage = await getJson(
        `${indexerUrl}/audit/${chainId}/${key}/balances?limit=${batchSize}${next ? `&after=${next}` : ""}`,
      );
      const balances = await readBalances(reader, block, page.balances, standardOf);
      page.balances.forEach((row, i) => {
        const amount = BigInt(row.amount);
        const chain = balances[i]!;
        const id = pairKey(row);
        sums.set(id, (sums.get(id) ?? 0n) + amount);
        if (chain !== 0n) holders.set(id, (holders.get(id) ?? 0) + 1);
        if (amount !== chain) {
          differences.push({
            what: "balance",
            tenantId,
            token: row.token,
            tokenId: BigInt(row.tokenId),
            owner: row.owner,
            indexed: amount,
            chain,
          });
        }
      });
      checked += page.balances.length;
      next = page.next;
    }
    log(`tenant ${tenantId}: ${checked} balances checked at block ${block}`);

    // A token and id with balances but no statistics has, as indexed, no holders and no supply.
    const statistics = [...summary.statistics];
    const listed = new Set(statistics.map(pairKey));
    for (const id of sums.keys()) {
      if (listed.has(id)) continue;
      const [token, tokenId] = id.split(":") as [Address, string];
      statistics.push({ token, tokenId, holders: 0, minted: "0", burned: "0", supply: "0", attributedMinted: "0" });
    }

    const supplies = await readSupplies(reader, block, statistics, standardOf);
    statistics.forEach((row, i) => {
      const tokenId = BigInt(row.tokenId);
      const sumOfBalances = sums.get(pairKey(row)) ?? 0n;
      const chainSupply = supplies[i]!;
      const attributedMinted = BigInt(row.attributedMinted);
      const burned = BigInt(row.burned);
      const checks: [ValueDifference["what"], bigint, bigint][] = [
        ["holders", BigInt(row.holders), BigInt(holders.get(pairKey(row)) ?? 0)],
        ["sum of balances vs totalSupply", sumOfBalances, chainSupply],
        ["indexed supply vs totalSupply", BigInt(row.supply), chainSupply],
        ["attributable mints − burns vs totalSupply", attributedMinted - burned, chainSupply],
      ];
      for (const [what, indexed, chain] of checks) {
        if (indexed !== chain) differences.push({ what, tenantId, token: row.token, tokenId, indexed, chain });
      }
      const info = indexedTokens.get(lower(row.token));
      tokens.push({
        tenantId,
        token: row.token,
        tokenId,
        kind: info?.kind ?? "?",
        symbol: info?.symbol ?? null,
        holders: row.holders,
        indexedSupply: BigInt(row.supply),
        sumOfBalances,
        chainSupply,
        attributedMinted,
        burned,
        ok: checks.every(([, indexed, chain]) => indexed === chain),
      });
    });
  }
  return { block, tokens, differences, ok: differences.length === 0 };
}

const lower = (address: Address) => address.toLowerCase() as Address;
const pairKey = (row: { token: Address; tokenId: string }) => `${lower(row.token)}:${row.tokenId}`;

/** A tenant's tokens as TenantFactory has them at `blockNumber`, with their standard: its points
 * tokens and its reward and status tokens. None for a tenant the factory does not know. */
async function tokensOf(reader: ChainReader, blockNumber: bigint, tenantId: Hex): Promise<Map<Address, Standard>> {
  const [suite, pointsTokens] = (await multicall(reader, blockNumber, [
    { address: reader.factory, abi: tenantFactoryAbi, functionName: "getTenant", args: [tenantId] },
    { address: reader.factory, abi: tenantFactoryAbi, functionName: "getPointsTokens", args: [tenantId] },
  ])) as [{ rewardToken: Address; statusToken: Address }, readonly Address[]];
  const tokens = new Map<Address, Standard>();
  for (const token of pointsTokens) tokens.set(lower(token), "ERC20");
  for (const token of [suite.rewardToken, suite.statusToken]) {
    if (token !== zeroAddress) tokens.set(lower(token), "ERC1155");
  }
  return tokens;
}

type StandardOf = (token: Address) => Standard | undefined;

/** balanceOf for each row, in multicalls (deployless: no Multicall3 needed on the chain). */
async function readBalances(
  reader: ChainReader,
  blockNumber: bigint,
  rows: BalancesPage["balances"],
  standardOf: StandardOf,
) {
  return (await multicall(
    reader,
    blockNumber,
    rows.map((row) =>
      standardOf(row.token) === "ERC20"
        ? { address: row.token, abi: pointsTokenAbi, functionName: "balanceOf", args: [row.owner] }
        : {
            address: row.token,
            abi: rewardTokenAbi,
            functionName: "balanceOf",
            args: [row.owner, BigInt(row.tokenId)],
          },
    ),
  )) as bigint[];
}

async function readSupplies(reader: ChainReader, blockNumber: bigint, rows: StatisticsRow[], standardOf: StandardOf) {
  return (await multicall(
    reader,
    blockNumber,
    rows.map((row) =>
      standardOf(row.token) === "ERC20"
        ? { address: row.token, abi: pointsTokenAbi, functionName: "totalSupply", args: [] }
        : { address: row.token, abi: rewardTokenAbi, functionName: "totalSupply", args: [BigInt(row.tokenId)] },
    ),
  )) as bigint[];
}

/** The calls' results, `callsPerRequest` calls to an eth_call. viem would otherwise cut the calls into
 * eth_calls of about 1 kB each (its batchSize, in bytes of calldata; 0 turns that off). */
async function multicall(reader: ChainReader, blockNumber: bigint, contracts: readonly unknown[]): Promise<unknown[]> {
  const results: unknown[] = [];
  for (let start = 0; start < contracts.length; start += reader.callsPerRequest) {
    const chunk = contracts.slice(start, start + reader.callsPerRequest);
    const chunkResults = (await reader.client.multicall({
      contracts: chunk as never,
      blockNumber,
      deployless: true,
      allowFailure: false,
      batchSize: 0,
    })) as unknown[];
    results.push(...chunkResults);
  }
  return results;
}

/** The audit as a table, then every difference. */
export function formatAudit(result: AuditReturnType): string {
  const header = [
    "tenant",
    "token",
    "id",
    "kind",
    "holders",
    "chain supply",
    "Σ balances",
    "attributable mints",
    "burned",
    "ok",
  ];
  const rows = result.tokens.map((row) => [
    row.tenantId.slice(0, 10),
    row.token,
    String(row.tokenId),
    row.symbol ? `${row.kind} ${row.symbol}` : row.kind,
    String(row.holders),
    String(row.chainSupply),
    String(row.sumOfBalances),
    String(row.attributedMinted),
    String(row.burned),
    row.ok ? "yes" : "NO",
  ]);
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i]!)).join("  ");
  const out = [`audit at block ${result.block}`, line(header), ...rows.map(line)];
  if (result.differences.length > 0) {
    out.push("", `${result.differences.length} difference(s):`);
    for (const d of result.differences) {
      out.push(
        d.what === "token"
          ? `  token: tenant ${d.tenantId} token ${d.token}: ${d.chain ? "on chain" : "not on chain"}, ${d.indexed ? "indexed" : "not indexed"}`
          : `  ${d.what}: tenant ${d.tenantId} token ${d.token} id ${d.tokenId}${d.owner ? ` owner ${d.owner}` : ""}: indexed ${d.indexed}, chain ${d.chain}`,
      );
    }
  } else {
    out.push("", "every token, balance, number of holders and supply equals the chain's");
  }
  return out.join("\n");
}
