// Bounds on Ponder's SQL over HTTP, whose validator lets through any read-only SELECT, cross joins
// included: a per-client rate limit on /sql/*, and a few queries at a time, at most half of them
// (rounded up) from one client, the next one turned away at once rather than queued. Embedded
// PGlite runs each query on the indexer's own thread with no statement timeout; PostgreSQL's
// read-only pool is shared with GraphQL.
import { setImmediate as nextTurn } from "node:timers/promises";
import { getConnInfo } from "@hono/node-server/conninfo";
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import {
  convertIPv4BinaryToString,
  convertIPv4MappedIPv6ToIPv4,
  convertIPv6BinaryToString,
  convertIPv6ToBinary,
  distinctRemoteAddr,
  isIPv4MappedIPv6,
} from "hono/utils/ipaddr";
import { RateLimiterMemory, RateLimiterRes } from "rate-limiter-flexible";
import { ProblemError, tooManyRequests } from "./problems.ts";

export type SqlLimitsParameters = {
  /** /sql/db queries running at once; from one client, half of them rounded up. */
  concurrency: number;
  /** /sql/* requests per minute from one client (see clientOf). */
  perMinute: number;
};

/** INDEXER_SQL_CONCURRENCY (1 on embedded PGlite, 4 on PostgreSQL) and INDEXER_SQL_PER_MINUTE (120). */
export function sqlLimitsFromEnvironment(env: NodeJS.ProcessEnv): SqlLimitsParameters {
  // ponder.config.ts: a DATABASE_URL means PostgreSQL, none embedded PGlite.
  const onPostgres = Boolean(env.DATABASE_URL);
  return {
    concurrency: positiveInteger(env, "INDEXER_SQL_CONCURRENCY", onPostgres ? 4 : 1),
    perMinute: positiveInteger(env, "INDEXER_SQL_PER_MINUTE", 120),
  };
}

function positiveInteger(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const text = env[name];
  if (text === undefined || text === "") return fallback;
  if (!/^\d{1,9}$/.test(text) || Number(text) === 0) throw new Error(`indexer: ${name} must be a whole number from 1`);
  return Number(text);
}

/** Who a request counts against: its connection's address, never a header the client can write
 * (X-Forwarded-For). An IPv6 client by its /64 network (a host is given a whole /64 and may use any
 * address in it), an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) as its IPv4 address. */
export function clientOf(address: string | undefined): string {
  if (address === undefined || distinctRemoteAddr(address) !== "IPv6") return address ?? "unknown";
  const ipv6 = convertIPv6ToBinary(address);
  if (isIPv4MappedIPv6(ipv6)) return convertIPv4BinaryToString(convertIPv4MappedIPv6ToIPv4(ipv6));
  return `${convertIPv6BinaryToString((ipv6 >> 64n) << 64n)}/64`;
}

const clientOfRequest = (c: Context) => clientOf(getConnInfo(c).remote.address);

export function createSqlLimits({ concurrency, perMinute }: SqlLimitsParameters) {
  const byClient = new RateLimiterMemory({ points: perMinute, duration: 60, keyPrefix: "sql" });
  const perClientConcurrency = Math.ceil(concurrency / 2);
  let running = 0;
  const runningByClient = new Map<string, number>();

  const perClient = createMiddleware(async (c, next) => {
    try {
      await byClient.consume(clientOfRequest(c));
    } catch (result) {
      if (!(result instanceof RateLimiterRes)) throw result;
      throw new ProblemError(tooManyRequests(`at most ${perMinute} SQL requests a minute from one client`), {
        "retry-after": String(Math.max(1, Math.ceil(result.msBeforeNext / 1000))),
      });
    }
    return next();
  });

  /** A slot per query from its start to its end, errors included, and at most half the slots
   * (rounded up) for one client, so that it cannot take them all. A client that goes away frees
   * none early: its query runs on (PGlite cannot stop it; on PostgreSQL it ends at the 30 s
   * statement timeout, and Ponder tries a failed query nine more times, 125 ms apart and doubling).
   * /sql/live holds a slot for its first run only (its answer is a stream that Ponder keeps open and
   * limits itself): its re-runs after each indexed block are not counted. */
  const queries = createMiddleware(async (c, next) => {
    const client = clientOfRequest(c);
    const held = runningByClient.get(client) ?? 0;
    if (held >= perClientConcurrency)
      throw new ProblemError(tooManyRequests(`at most ${perClientConcurrency} SQL queries at a time from one client`), {
        "retry-after": "1",
      });
    if (running >= concurrency)
      throw new ProblemError(
        {
          type: "unavailable",
          status: 503,
          title: "Busy",
          detail: `the indexer is running its limit of SQL queries (${concurrency} at a time)`,
        },
        { "retry-after": "1" },
      );
    running++;
    runningByClient.set(client, held + 1);
    try {
      // Embedded PGlite holds the thread while the query runs, and requests that arrive meanwhile
      // wait unread. Two turns of the event loop before it starts (one to read the connections
      // already accepted, one for those accepted in the same turn) let the queries that arrived
      // with this one find the slot taken and be turned away, rather than run one after another.
      await nextTurn();
      await nextTurn();
      await next();
    } finally {
      running--;
      const left = runningByClient.get(client)! - 1;
      if (left === 0) runningByClient.delete(client);
      else runningByClient.set(client, left);
    }
  });

  return { perClient, queries };
}
