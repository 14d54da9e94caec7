// The indexer's tables the API serves again: a tenant's movements of value (transaction) and an
// owner's balances of the tenant's tokens (balance joined with token). Addresses and ids are
// lower-case hex in the indexer; amounts and block numbers are decimal strings.
import type { Context } from "koa";
import { readIndexer } from "./client.ts";

export type IndexedTransaction = {
  id: string;
  token: string;
  tokenId: string;
  type: "MINT" | "TRANSFER" | "BURN";
  from: string;
  to: string;
  amount: string;
  cause: "CLAIM" | "REDEMPTION" | "PURCHASE" | "GRANT" | "NONE";
  causeReference: string | null;
  campaignId: string | null;
  offerId: string | null;
  transactionHash: string;
  blockNumber: string;
  logIndex: number;
  timestamp: string;
};

export type TransactionFilter = {
  chainId: number;
  /** The tenant's on-chain id (the factory's). */
  tenantId: string;
  token?: string;
  type?: IndexedTransaction["type"];
  participant?: string;
  direction?: "sent" | "received";
  /** Unix seconds, inclusive. */
  from?: number;
  to?: number;
};

const TRANSACTION_FIELDS =
  "id token tokenId type from to amount cause causeReference campaignId offerId transactionHash blockNumber logIndex timestamp";

function transactionWhere(filter: TransactionFilter): Record<string, unknown> {
  const where: Record<string, unknown> = { chainId: filter.chainId, tenantId: filter.tenantId.toLowerCase() };
  if (filter.token) where.token = filter.token.toLowerCase();
  if (filter.type) where.type = filter.type;
  if (filter.from !== undefined) where.timestamp_gte = String(filter.from);
  if (filter.to !== undefined) where.timestamp_lte = String(filter.to);
  const participant = filter.participant?.toLowerCase();
  if (participant) {
    if (filter.direction === "sent") where.from = participant;
    else if (filter.direction === "received") where.to = participant;
    else where.OR = [{ from: participant }, { to: participant }];
  }
  return where;
}

/** A page of the tenant's indexed movements, newest first, and how many match. */
export async function indexedTransactions(
  ctx: Context,
  filter: TransactionFilter,
  page: { page: number; limit: number; order: "asc" | "desc" },
): Promise<{ items: IndexedTransaction[]; total: number }> {
  const data = await readIndexer<{ transactions: { items: IndexedTransaction[]; totalCount: number } }>(
    ctx,
    `query Transactions($where: transactionFilter, $limit: Int, $offset: Int, $direction: String) {
      transactions(where: $where, orderBy: "timestamp", orderDirection: $direction, limit: $limit, offset: $offset) {
        items { ${TRANSACTION_FIELDS} }
        totalCount
      }
    }`,
    {
      where: transactionWhere(filter),
      limit: page.limit,
      offset: (page.page - 1) * page.limit,
      direction: page.order,
    },
  );
  return { items: data.transactions.items, total: data.transactions.totalCount };
}

export type IndexedBalance = {
  token: string;
  tokenId: string;
  amount: string;
  kind: "POINTS" | "REWARD" | "STATUS";
  name: string | null;
  symbol: string | null;
  decimals: number | null;
};

type Page<T> = { items: T[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };

/** 100,000 balances at most in one answer. */
const MAX_BALANCE_PAGES = 100;

type TokenRow = Pick<IndexedBalance, "kind" | "name" | "symbol" | "decimals"> & { address: string };

/** The owner's non-zero balances of the tenant's tokens (every token the indexer attributes to it). */
export async function indexedBalances(
  ctx: Context,
  filter: { chainId: number; tenantId: string; owner: string; token?: string },
): Promise<IndexedBalance[]> {
  const tokenWhere: Record<string, unknown> = { chainId: filter.chainId, tenantId: filter.tenantId.toLowerCase() };
  if (filter.token) tokenWhere.address = filter.token.toLowerCase();
  const { tokens } = await readIndexer<{ tokens: { items: TokenRow[] } }>(
    ctx,
    `query Tokens($where: tokenFilter) {
      tokens(where: $where, limit: 1000) { items { address kind name symbol decimals } }
    }`,
    { where: tokenWhere },
  );
  if (tokens.items.length === 0) return [];
  const byAddress = new Map(tokens.items.map((token) => [token.address, token]));
  const balances: { token: string; tokenId: string; amount: string }[] = [];
  const where = {
    chainId: filter.chainId,
    owner: filter.owner.toLowerCase(),
    token_in: [...byAddress.keys()],
    amount_gt: "0",
  };
  // Ponder answers at most 1,000 items a query: the rest follow its cursor (an owner may hold
  // thousands of reward classes), up to a bound on what one answer carries.
  for (let after: string | null = null, pages = 0; pages < MAX_BALANCE_PAGES; pages++) {
    const page: { balances: Page<(typeof balances)[number]> } = await readIndexer(
      ctx,
      `query Balances($where: balanceFilter, $after: String) {
        balances(where: $where, orderBy: "token", orderDirection: "asc", limit: 1000, after: $after) {
          items { token tokenId amount }
          pageInfo { hasNextPage endCursor }
        }
      }`,
      { where, after },
    );
    balances.push(...page.balances.items);
    if (!page.balances.pageInfo.hasNextPage) break;
    after = page.balances.pageInfo.endCursor;
    if (pages + 1 === MAX_BALANCE_PAGES)
      ctx.log.warn({ owner: filter.owner }, "balances cut at the most one answer carries");
  }
  return balances
    .map((row) => {
      const token = byAddress.get(row.token)!;
      return {
        token: row.token,
        tokenId: row.tokenId,
        amount: row.amount,
        kind: token.kind,
        name: token.name,
        symbol: token.symbol,
        decimals: token.decimals,
      };
    })
    .sort((a, b) => a.token.localeCompare(b.token) || Number(BigInt(a.tokenId) - BigInt(b.tokenId)));
}
