// The auditor's check: the indexer's numbers against the chain's, at the block the indexer has
// reached. Each indexed balance must equal balanceOf on chain, each token's balances must add up to
// its totalSupply, and that supply must equal the mints with a cause minus the burns.
import { createPublicClient, http, type Address, type Hex, type PublicClient } from "viem";
import { pointsTokenAbi } from "../abi/pointsToken.ts";
import { rewardTokenAbi } from "../abi/rewardToken.ts";
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
  /** Balances per multicall. */
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

export type Difference = {
  what: string;
  tenantId: Hex;
  token: Address;
  tokenId: bigint;
  owner?: Address;
  indexed: bigint;
  chain: bigint;
};

export type AuditReturnType = { block: bigint; tokens: TokenRow[]; differences: Difference[]; ok: boolean };

type AuditResponse = {
  tenantId: Hex;
  tokens: { address: Address; standard: "ERC20" | "ERC1155"; kind: string; symbol: string | null }[];
  statistics: {
    token: Address;
    tokenId: string;
    holders: number;
    minted: string;
    burned: string;
    supply: string;
    attributedMinted: string;
  }[];
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
  batchSize = 500,
}: AuditParameters): Promise<AuditReturnType> {
  const client = createPublicClient({ transport: http(rpcUrl) }) as PublicClient;
  if ((await client.getChainId()) !== chainId) throw new Error(`audit: ${rpcUrl} is not chain ${chainId}`);

  // The indexer's state belongs to one block: read everything between two identical status reads.
  for (let attempt = 1; ; attempt++) {
    const block = await waitForIndexedBlock(indexerUrl, chainId, minBlock, {
      onWait: (at) => log(`waiting for the indexer (at ${at ?? "nothing"}, want ${minBlock ?? "any block"})`),
    });
    const result = await auditAt(client, indexerUrl, chainId, block, tenant, batchSize, log);
    if ((await indexedBlock(indexerUrl, chainId)) === block) return result;
    if (attempt === 5)
      throw new Error("audit: the indexer kept moving while it was read; try again on a quieter chain");
    log(`indexer moved past block ${block} during the audit; again`);
  }
}

async function auditAt(
  client: PublicClient,
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
    const standardOf = new Map(summary.tokens.map((t) => [t.address, t]));
    const sums = new Map<string, bigint>();

    let next: string | null = "";
    let checked = 0;
    while (next !== null) {
      const page: BalancesPage = await getJson(
        `${indexerUrl}/audit/${chainId}/${key}/balances?limit=${batchSize}${next ? `&after=${next}` : ""}`,
      );
      const onChain = await readBalances(client, block, page.balances, standardOf);
      page.balances.forEach((row, i) => {
        const indexed = BigInt(row.amount);
        const id = `${row.token}:${row.tokenId}`;
        sums.set(id, (sums.get(id) ?? 0n) + indexed);
        if (indexed !== onChain[i]) {
          differences.push({
            what: "balance",
            tenantId: summary.tenantId,
            token: row.token,
            tokenId: BigInt(row.tokenId),
            owner: row.owner,
            indexed,
            chain: onChain[i]!,
          });
        }
      });
      checked += page.balances.length;
      next = page.next;
    }
    log(`tenant ${summary.tenantId}: ${checked} balances checked at block ${block}`);

    const supplies = await readSupplies(client, block, summary.statistics, standardOf);
    summary.statistics.forEach((row, i) => {
      const tokenId = BigInt(row.tokenId);
      const sumOfBalances = sums.get(`${row.token}:${row.tokenId}`) ?? 0n;
      const chainSupply = supplies[i]!;
      const attributedMinted = BigInt(row.attributedMinted);
      const burned = BigInt(row.burned);
      const checks: [string, bigint][] = [
        ["sum of balances vs totalSupply", sumOfBalances],
        ["indexed supply vs totalSupply", BigInt(row.supply)],
        ["attributable mints − burns vs totalSupply", attributedMinted - burned],
      ];
      for (const [what, indexed] of checks) {
        if (indexed !== chainSupply)
          differences.push({
            what,
            tenantId: summary.tenantId,
            token: row.token,
            tokenId,
            indexed,
            chain: chainSupply,
          });
      }
      const info = standardOf.get(row.token);
      tokens.push({
        tenantId: summary.tenantId,
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
        ok: checks.every(([, indexed]) => indexed === chainSupply),
      });
    });
  }
  return { block, tokens, differences, ok: differences.length === 0 };
}

type Standard = Map<Address, { standard: "ERC20" | "ERC1155" }>;

/** balanceOf for each row, in one multicall (deployless: no Multicall3 needed on the chain). */
function readBalances(client: PublicClient, blockNumber: bigint, rows: BalancesPage["balances"], standards: Standard) {
  return multicall(
    client,
    blockNumber,
    rows.map((row) =>
      standards.get(row.token)?.standard === "ERC20"
        ? { address: row.token, abi: pointsTokenAbi, functionName: "balanceOf", args: [row.owner] }
        : {
            address: row.token,
            abi: rewardTokenAbi,
            functionName: "balanceOf",
            args: [row.owner, BigInt(row.tokenId)],
          },
    ),
  );
}

function readSupplies(
  client: PublicClient,
  blockNumber: bigint,
  rows: AuditResponse["statistics"],
  standards: Standard,
) {
  return multicall(
    client,
    blockNumber,
    rows.map((row) =>
      standards.get(row.token)?.standard === "ERC20"
        ? { address: row.token, abi: pointsTokenAbi, functionName: "totalSupply", args: [] }
        : { address: row.token, abi: rewardTokenAbi, functionName: "totalSupply", args: [BigInt(row.tokenId)] },
    ),
  );
}

async function multicall(client: PublicClient, blockNumber: bigint, contracts: readonly unknown[]): Promise<bigint[]> {
  if (contracts.length === 0) return [];
  const results = await client.multicall({
    contracts: contracts as never,
    blockNumber,
    deployless: true,
    allowFailure: false,
  });
  return results as bigint[];
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
        `  ${d.what}: tenant ${d.tenantId} token ${d.token} id ${d.tokenId}${d.owner ? ` owner ${d.owner}` : ""}: indexed ${d.indexed}, chain ${d.chain}`,
      );
    }
  } else {
    out.push("", "every indexed balance and supply equals the chain's");
  }
  return out.join("\n");
}
