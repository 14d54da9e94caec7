// Database errors the API turns into problems rather than 500s.
import { BaseError } from "viem";

/** An error and those it wraps (`cause`, as drizzle wraps the driver's), a few deep at most. */
function* causesOf(error: unknown) {
  let cause = error;
  for (let depth = 0; depth < 8 && cause && typeof cause === "object"; depth++) {
    yield cause;
    cause = (cause as { cause?: unknown }).cause;
  }
}

/** Whether an error (or one it wraps, as drizzle does) is a unique violation, SQLSTATE 23505, on either driver. */
export function isUniqueViolation(error: unknown): boolean {
  for (const cause of causesOf(error)) {
    if ((cause as { code?: unknown }).code === "23505") return true;
  }
  return false;
}

/**
 * Whether an error (or one it wraps) is about a row others still refer to: a foreign key violation
 * (SQLSTATE 23503) or, for ON DELETE RESTRICT, a restrict violation (23001).
 */
export function isForeignKeyViolation(error: unknown): boolean {
  for (const cause of causesOf(error)) {
    const code = (cause as { code?: unknown }).code;
    if (code === "23503" || code === "23001") return true;
  }
  return false;
}

/** SQLSTATE classes of a database that cannot answer now, whatever the request: 08 connection
 * exception, 40 transaction rollback (a serialization failure, a deadlock), 53 insufficient
 * resources (too many connections, out of memory or disk), 57 operator intervention (a statement
 * cancelled or timed out, a shutdown); and 55P03, a lock timeout. */
const UNAVAILABLE_CLASSES = new Set(["08", "40", "53", "57"]);
/** Node's codes for a connection that could not be made or broke. */
const CONNECTION_FAILURES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "EHOSTUNREACH", "ENOTFOUND"]);
/** node-postgres's own, which carry no code: a connection ended under a query, no free connection in time. */
const POOL_FAILURES = /^(Connection terminated|timeout exceeded when trying to connect)/;

/**
 * Whether an error (or one it wraps) says the database could not answer now: worth a retry later.
 * A chain client's error (viem's) is not the database's, whatever connection failure it wraps.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (const cause of causesOf(error)) {
    if (cause instanceof BaseError) return false;
    const { code, message } = cause as { code?: unknown; message?: unknown };
    if (typeof code === "string") {
      if (CONNECTION_FAILURES.has(code) || code === "55P03") return true;
      if (/^[0-9A-Z]{5}$/.test(code) && UNAVAILABLE_CLASSES.has(code.slice(0, 2))) return true;
    } else if (typeof message === "string" && POOL_FAILURES.test(message)) return true;
  }
  return false;
}
