// Bounds on Ponder's SQL over HTTP, whose validator lets through any read-only SELECT, cross joins
// included: a per-client rate limit on /sql/*, and a few queries at a time, the next one
// turned away at once rather than queued. Embedded PGlite runs each query on the indexer's own
// thread with no statement timeout; PostgreSQL's read-only pool is shared with GraphQL.
import { setImmediate as nextTurn } from "node:timers/promises";
import { getConnInfo } from "@hono/node-server/conninfo";
import { createMiddleware } from "hono/factory";
import { RateLimiterMemory, RateLimiterRes } from "rate-limiter-flexible";

export type SqlLimitsParameters = {
  /** /sql/db queries running at once. */
  concurrency: number;
  /** /sql/* requests per minute from one client address. */
  perMinute: number;
};

/** A request turned away; the app's error handler answers it as a problem with Retry-After. */
export class SqlLimitReached extends Error {
  readonly status: 429 | 503;
  readonly title: string;
  readonly detail: string;
  readonly retryAfterSeconds: number;

  constructor(problem: { status: 429 | 503; title: string; detail: string }, retryAfterSeconds: number) {
    super(problem.detail);
    this.status = problem.status;
    this.title = problem.title;
    this.detail = problem.detail;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

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

export function createSqlLimits({ concurrency, perMinute }: SqlLimitsParameters) {
  const byAddress = new RateLimiterMemory({ points: perMinute, duration: 60, keyPrefix: "sql" });
  let running = 0;

  /** Per client: the connection's address, never a header the client can write (X-Forwarded-For). */
  const perClient = createMiddleware(async (c, next) => {
    try {
      await byAddress.consume(getConnInfo(c).remote.address ?? "unknown");
    } catch (result) {
      if (!(result instanceof RateLimiterRes)) throw result;
      throw new SqlLimitReached(
        {
          status: 429,
          title: "Too many requests",
          detail: `at most ${perMinute} SQL requests a minute from one address`,
        },
        Math.max(1, Math.ceil(result.msBeforeNext / 1000)),
      );
    }
    return next();
  });

  /** A slot per query from its start to its end, errors included. A client that goes away frees
   * none early: its query runs on (PGlite cannot stop it; on PostgreSQL it ends at the 30 s
   * statement timeout, and Ponder tries a failed query nine more times, 125 ms apart and doubling).
   * /sql/live holds a slot for its first run only (its answer is a stream that Ponder keeps open and
   * limits itself): its re-runs after each indexed block are not counted. */
  const queries = createMiddleware(async (c, next) => {
    if (running >= concurrency)
      throw new SqlLimitReached(
        {
          status: 503,
          title: "Busy",
          detail: `the indexer is running its limit of SQL queries (${concurrency} at a time)`,
        },
        1,
      );
    running++;
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
    }
  });

  return { perClient, queries };
}
