// Ponder's SQL over HTTP fails in two ways: what it refuses itself it answers in plain text, and
// a query that fails in the database it throws (patches/ponder+0.16.10.patch: it answered a 500
// with the database's message, whatever the cause). Both become problems here.
import { createMiddleware } from "hono/factory";
import { isDatabaseUnavailable as isServerUnavailable } from "../../../api/src/db/errors.ts";
import { internalError, invalidQuery, problemResponse, type Problem } from "./problems.ts";

/** SQLSTATE classes of the errors a query causes by itself: 21 cardinality violation (a subquery
 * of more rows than one), 22 data exception (division by zero, a bad cast, a value out of range) and
 * 42 syntax error or access rule violation (an unknown column or function, mismatched types). */
const QUERY_FAULTS = new Set(["21", "22", "42"]);

/** Whether a query failed in the database because of the query, not of the database. */
export function isQueryFault(error: Error): boolean {
  // On PostgreSQL Ponder rethrows the database's "... does not exist" as its NonRetryableUserError,
  // without the SQLSTATE.
  if (error.name === "NonRetryableUserError") return true;
  const { code } = error as { code?: unknown };
  return typeof code === "string" && QUERY_FAULTS.has(code.slice(0, 2));
}

/** Whether the database could not answer now, whatever the query: down, overloaded, a statement
 * or lock timeout, a shutdown (the SQLSTATEs and connection failures the API tells the same way), or
 * Ponder's own word for a lost connection or its shutdown. */
export function isDatabaseUnavailable(error: Error): boolean {
  return error.name === "DbConnectionError" || error.name === "ShutdownError" || isServerUnavailable(error);
}

/** A dApp's query that ran past the statement timeout or the temporary files allowed: it would again. */
const isTooHeavy = (error: Error) => {
  const { code } = error as { code?: unknown };
  return (code === "57014" && /statement timeout/.test(error.message)) || code === "53400";
};

/** The answer to an error a route threw: the query's fault is a 400 with the database's word (on
 * SQL over HTTP: a query too heavy to finish too), a database that cannot answer now a 503 to retry, anything else a 500 that says
 * nothing (the caller logs it). */
export function problemOfError(error: Error, path: string): { problem: Problem; headers?: Record<string, string> } {
  if (path.startsWith("/sql/") && (isQueryFault(error) || isTooHeavy(error)))
    return { problem: invalidQuery(error.message) };
  if (isDatabaseUnavailable(error))
    return {
      problem: {
        type: "unavailable",
        status: 503,
        title: "Unavailable",
        detail: "the indexer's database could not answer in time; try again shortly",
      },
      headers: { "retry-after": "1" },
    };
  return { problem: internalError };
}

/** Ponder's plain-text answers: with the patch, a 400 when its validator refuses the query (its
 * message says why: "Function call not supported", a syntax error...), and on /sql/live a 503
 * before the backfill ends or past its 1,000 live queries. The same answers, as problems. */
export const ponderAnswersAsProblems = createMiddleware(async (c, next) => {
  await next();
  const { status, headers } = c.res;
  if (status < 400 || headers.get("content-type") === "application/problem+json") return;
  const problem = ponderProblem(status, await c.res.text());
  // Unset first: Hono copies the headers of the answer it replaces (text/event-stream's among them).
  c.res = undefined;
  c.res = problemResponse(problem);
});

function ponderProblem(status: number, text: string): Problem {
  if (status === 400) return invalidQuery(text);
  if (status === 503) return { type: "unavailable", status: 503, title: "Unavailable", detail: text };
  console.error(`Ponder answered SQL over HTTP with ${status}: ${text}`);
  return internalError;
}
