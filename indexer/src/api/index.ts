// Reads for dApps: Ponder's GraphQL at /graphql, SQL over HTTP at /sql, and REST routes where
// GraphQL is awkward: an account's portfolio across tenants and chains, and a tenant's audit data.
import { db } from "ponder:api";
import schema, { balance, tenant, tenantContract, token, tokenStatistics, transaction } from "ponder:schema";
import { Hono } from "hono";
import { createMiddleware } from "hono/factory";
import { and, asc, client, eq, gt, graphql, ne, or, sql, sum } from "ponder";
import superjson from "superjson";
import { isAddress as isAnyAddress, isHex, maxUint256, type Address, type Hex } from "viem";
import { invalidQuery, ProblemError, problemResponse, type Problem } from "./problems.ts";
import { ponderAnswersAsProblems, problemOfError } from "./sqlErrors.ts";
import { createSqlLimits, sqlLimitsFromEnvironment } from "./sqlLimits.ts";

const app = new Hono();

// Ponder answers an error it did not expect with a 500 that names its files and the request; the
// routes of this file answer it with one that says nothing, and the indexer logs it. A SQL query
// that fails in the database because of the query is the client's: a 400 with the database's word;
// a database that cannot answer now, a 503 to retry.
app.onError((error, c) => {
  if (error instanceof ProblemError) return problemResponse(error.problem, error.headers);
  const { problem, headers } = problemOfError(error, c.req.path);
  if (problem.status !== 400) console.error(`${c.req.method} ${c.req.path} failed:`, error);
  return problemResponse(problem, headers);
});

/** Ponder's SQL client throws (a 500 naming its files) on a `sql` parameter that is not what
 * @ponder/client sends, the query in superjson: it is parsed here the same way first, `meta`
 * included. (Ponder counted a refused /sql/live request as a live query for good: see the patch.) */
const sqlParameter = createMiddleware(async (c, next) => {
  if (c.req.path !== "/sql/db" && c.req.path !== "/sql/live") return next();
  const query = c.req.query("sql");
  let parsed: { sql?: unknown } | null | undefined;
  try {
    parsed = query === undefined ? undefined : superjson.parse(query);
  } catch {
    parsed = undefined;
  }
  if (typeof parsed?.sql !== "string")
    return problemResponse(invalidQuery("sql must be a query as @ponder/client sends it"));
  return next();
});

app.use("/graphql", graphql({ db, schema }));
const sqlLimits = createSqlLimits(sqlLimitsFromEnvironment(process.env));
app.use(
  "/sql/*",
  sqlLimits.perClient,
  sqlParameter,
  sqlLimits.queries,
  ponderAnswersAsProblems,
  client({ db, schema }),
);

/** Any address, checksummed or in one case: the tables hold them in lower case. */
const isAddress = (value: string): value is Address => isAnyAddress(value, { strict: false });

/** PostgreSQL's integer, the type of every chainId column: a larger id makes the query fail. */
const MAX_CHAIN_ID = 2_147_483_647;
const PAGE = { default: 1000, max: 5000 };

/** Every non-zero balance of an address, on every chain and tenant, with its token. */
app.get("/accounts/:address/portfolio", async (c) => {
  const address = c.req.param("address");
  if (!isAddress(address))
    return problemResponse({
      type: "bad-request",
      status: 400,
      title: "Invalid address",
      detail: `${address} is not an address`,
    });
  const rows = await db
    .select({
      chainId: balance.chainId,
      token: balance.token,
      tokenId: balance.tokenId,
      amount: balance.amount,
      tenantId: token.tenantId,
      kind: token.kind,
      name: token.name,
      symbol: token.symbol,
      decimals: token.decimals,
    })
    .from(balance)
    .innerJoin(token, and(eq(token.chainId, balance.chainId), eq(token.address, balance.token)))
    .where(and(eq(balance.owner, address.toLowerCase() as Address), ne(balance.amount, 0n)))
    .orderBy(asc(balance.chainId), asc(balance.token), asc(balance.tokenId));
  return c.json({ address: address.toLowerCase(), balances: rows.map(stringify) });
});

/** The tenant named by its id or by any of its contracts' addresses. */
async function findTenant(chainId: number, key: string): Promise<Hex | undefined> {
  if (isHex(key) && key.length === 66) {
    const [row] = await db
      .select({ id: tenant.id })
      .from(tenant)
      .where(and(eq(tenant.chainId, chainId), eq(tenant.id, key.toLowerCase() as Hex)));
    return row?.id;
  }
  if (!isAddress(key)) return undefined;
  const [row] = await db
    .select({ tenantId: tenantContract.tenantId })
    .from(tenantContract)
    .where(and(eq(tenantContract.chainId, chainId), eq(tenantContract.address, key.toLowerCase() as Address)));
  return row?.tenantId;
}

function parseTenantRoute(chainIdParam: string, tenantParam: string): { chainId: number } | Problem {
  const chainId = /^\d{1,10}$/.test(chainIdParam) ? Number(chainIdParam) : NaN;
  if (!(chainId >= 1 && chainId <= MAX_CHAIN_ID)) {
    return {
      type: "bad-request",
      status: 400,
      title: "Invalid chain id",
      detail: `${chainIdParam} is not a chain id (a whole number from 1 to ${MAX_CHAIN_ID})`,
    };
  }
  if (!isHex(tenantParam))
    return {
      type: "bad-request",
      status: 400,
      title: "Invalid tenant",
      detail: "give a tenant id or a contract address",
    };
  return { chainId };
}

/** Per token and id of a tenant: supply, minted, burned and holders, as indexed. */
app.get("/audit/:chainId/:tenant", async (c) => {
  const parsed = parseTenantRoute(c.req.param("chainId"), c.req.param("tenant"));
  if ("status" in parsed) return problemResponse(parsed);
  const tenantId = await findTenant(parsed.chainId, c.req.param("tenant"));
  if (!tenantId)
    return problemResponse({
      type: "not-found",
      status: 404,
      title: "Unknown tenant",
      detail: `no tenant ${c.req.param("tenant")} on chain ${parsed.chainId}`,
    });
  const tokens = await db
    .select()
    .from(token)
    .where(and(eq(token.chainId, parsed.chainId), eq(token.tenantId, tenantId)))
    .orderBy(asc(token.address));
  const statistics = await db
    .select()
    .from(tokenStatistics)
    .innerJoin(token, and(eq(token.chainId, tokenStatistics.chainId), eq(token.address, tokenStatistics.token)))
    .where(and(eq(tokenStatistics.chainId, parsed.chainId), eq(token.tenantId, tenantId)))
    .orderBy(asc(tokenStatistics.token), asc(tokenStatistics.tokenId));
  // Mints with a cause (a claim, a redemption, a purchase or a grant), summed from the movements
  // themselves rather than the running statistics, so that the two can be checked against each other.
  const attributed = await db
    .select({
      token: transaction.token,
      tokenId: transaction.tokenId,
      minted: sql<string>`coalesce(${sum(transaction.amount)}, 0)`,
    })
    .from(transaction)
    .where(
      and(
        eq(transaction.chainId, parsed.chainId),
        eq(transaction.tenantId, tenantId),
        eq(transaction.type, "MINT"),
        ne(transaction.cause, "NONE"),
      ),
    )
    .groupBy(transaction.token, transaction.tokenId);
  const attributedOf = new Map(attributed.map((row) => [`${row.token}:${row.tokenId}`, String(row.minted)]));
  return c.json({
    chainId: parsed.chainId,
    tenantId,
    tokens: tokens.map(stringify),
    statistics: statistics.map(({ token_statistics: row }) => ({
      ...stringify(row),
      attributedMinted: attributedOf.get(`${row.token}:${row.tokenId}`) ?? "0",
    })),
  });
});

/** A page of a tenant's non-zero balances, in key order after `after` (token:tokenId:owner). */
app.get("/audit/:chainId/:tenant/balances", async (c) => {
  const parsed = parseTenantRoute(c.req.param("chainId"), c.req.param("tenant"));
  if ("status" in parsed) return problemResponse(parsed);
  const tenantId = await findTenant(parsed.chainId, c.req.param("tenant"));
  if (!tenantId)
    return problemResponse({
      type: "not-found",
      status: 404,
      title: "Unknown tenant",
      detail: `no tenant ${c.req.param("tenant")} on chain ${parsed.chainId}`,
    });
  const limit = parseLimit(c.req.query("limit"));
  if (typeof limit !== "number") return problemResponse(limit);
  const after = c.req.query("after")?.split(":");
  let cursor;
  if (after) {
    const [afterToken, afterId, afterOwner] = after;
    if (
      after.length !== 3 ||
      !afterToken ||
      !isAddress(afterToken) ||
      !afterOwner ||
      !isAddress(afterOwner) ||
      !/^\d{1,78}$/.test(afterId ?? "") ||
      BigInt(afterId!) > maxUint256
    ) {
      return problemResponse({
        type: "bad-request",
        status: 400,
        title: "Invalid cursor",
        detail: "after must be token:tokenId:owner",
      });
    }
    const [t, id, owner] = [afterToken.toLowerCase() as Address, BigInt(afterId!), afterOwner.toLowerCase() as Address];
    cursor = or(
      gt(balance.token, t),
      and(eq(balance.token, t), gt(balance.tokenId, id)),
      and(eq(balance.token, t), eq(balance.tokenId, id), gt(balance.owner, owner)),
    );
  }
  const rows = await db
    .select({ token: balance.token, tokenId: balance.tokenId, owner: balance.owner, amount: balance.amount })
    .from(balance)
    .innerJoin(token, and(eq(token.chainId, balance.chainId), eq(token.address, balance.token)))
    .where(and(eq(balance.chainId, parsed.chainId), eq(token.tenantId, tenantId), ne(balance.amount, 0n), cursor))
    .orderBy(asc(balance.token), asc(balance.tokenId), asc(balance.owner))
    .limit(limit);
  const last = rows.at(-1);
  return c.json({
    balances: rows.map(stringify),
    next: rows.length === limit && last ? `${last.token}:${last.tokenId}:${last.owner}` : null,
  });
});

/** A page's size: `PAGE.default` if not given, else a whole number from 1 to `PAGE.max`. */
function parseLimit(param: string | undefined): number | Problem {
  if (param === undefined) return PAGE.default;
  const limit = /^\d+$/.test(param) ? Number(param) : NaN;
  if (limit >= 1 && limit <= PAGE.max) return limit;
  return {
    type: "bad-request",
    status: 400,
    title: "Invalid limit",
    detail: `limit must be a whole number from 1 to ${PAGE.max}`,
  };
}

/** JSON has no bigint: amounts and ids travel as decimal strings. */
function stringify<row extends Record<string, unknown>>(row: row) {
  return Object.fromEntries(
    Object.entries(row).map(([key, value]) => [key, typeof value === "bigint" ? String(value) : value]),
  );
}

/** Any other route: a 404 problem, not Hono's plain text. */
app.all("*", () =>
  problemResponse({ type: "not-found", status: 404, title: "Not found", detail: "the indexer has no such route" }),
);

export default app;
