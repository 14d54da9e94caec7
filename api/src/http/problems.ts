// The one place errors become responses: every error is application/problem+json (RFC 9457).
// Unknown errors become a 500 that leaks nothing and is logged with the request id; a write that lost
// a race to a database constraint, a 409; a database that cannot answer now, a 503 to retry.
import type { Middleware } from "koa";
import { isDatabaseUnavailable, isForeignKeyViolation, isUniqueViolation } from "../db/errors.ts";
import { conflict, internal, Problem, unavailable } from "../errors.ts";

export const problemJson: Middleware = async (ctx, next) => {
  try {
    await next();
  } catch (error) {
    const problem = error instanceof Problem ? error : fromDatabase(error);
    // Logged as errors still: a constraint the route never checks for is a bug to see, not only a race.
    if (!(error instanceof Problem)) ctx.log.error({ err: error }, `unhandled error, answered ${problem.status}`);
    ctx.status = problem.status;
    for (const [name, value] of Object.entries(problem.headers)) ctx.set(name, value);
    ctx.type = "application/problem+json";
    ctx.body = problem.body(ctx.path);
  }
};

const DATABASE_RETRY_SECONDS = 1;

/**
 * A write two requests raced for, which a route's own check could not see coming (the other request
 * committed between its read and its write): the database's constraint decided, and the request
 * lost. A conflict, not the server's failure. A database that is down, overloaded or timed out is
 * the server's, but passing: 503 with Retry-After. Anything else is a 500.
 */
function fromDatabase(error: unknown): Problem {
  if (isUniqueViolation(error))
    return conflict("Another request wrote the same record at the same time; read it again.");
  if (isForeignKeyViolation(error))
    return conflict("A record this one refers to, or that refers to it, changed meanwhile.");
  if (isDatabaseUnavailable(error))
    return unavailable("The database could not answer in time; try again shortly.", DATABASE_RETRY_SECONDS);
  return internal();
}
