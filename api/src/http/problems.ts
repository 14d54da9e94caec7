// The one place errors become responses: every error is application/problem+json (RFC 9457).
// Unknown errors become a 500 that leaks nothing and is logged with the request id; a write that lost
// a race to a database constraint, a 409.
import type { Middleware } from "koa";
import { isForeignKeyViolation, isUniqueViolation } from "../db/errors.ts";
import { conflict, internal, Problem } from "../errors.ts";

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

/**
 * A write two requests raced for, which a route's own check could not see coming (the other request
 * committed between its read and its write): the database's constraint decided, and the request
 * lost. A conflict, not the server's failure; anything else is.
 */
function fromDatabase(error: unknown): Problem {
  if (isUniqueViolation(error))
    return conflict("Another request wrote the same record at the same time; read it again.");
  if (isForeignKeyViolation(error))
    return conflict("A record this one refers to, or that refers to it, changed meanwhile.");
  return internal();
}
