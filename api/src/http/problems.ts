// The one place errors become responses: every error is application/problem+json (RFC 9457).
// Unknown errors become a 500 that leaks nothing and is logged with the request id.
import type { Middleware } from "koa";
import { internal, Problem } from "../errors.ts";

export const problemJson: Middleware = async (ctx, next) => {
  try {
    await next();
  } catch (error) {
    const problem = error instanceof Problem ? error : internal();
    if (!(error instanceof Problem)) ctx.log.error({ err: error }, "unhandled error");
    ctx.status = problem.status;
    for (const [name, value] of Object.entries(problem.headers)) ctx.set(name, value);
    ctx.type = "application/problem+json";
    ctx.body = problem.body(ctx.path);
  }
};
