// A request id on every request (the caller's X-Request-Id if sane, else a new one), echoed in the
// response and carried by every log line of that request.
import { randomUUID } from "node:crypto";
import type { Middleware } from "koa";

const SANE_REQUEST_ID = /^[A-Za-z0-9._-]{1,100}$/;

export const requestLogging: Middleware = async (ctx, next) => {
  const given = ctx.get("x-request-id");
  ctx.requestId = SANE_REQUEST_ID.test(given) ? given : randomUUID();
  ctx.set("x-request-id", ctx.requestId);
  ctx.log = ctx.services.logger.child({ requestId: ctx.requestId });
  const started = performance.now();
  try {
    await next();
  } finally {
    ctx.log.info(
      { method: ctx.method, path: ctx.path, status: ctx.status, ms: Math.round(performance.now() - started) },
      "request",
    );
  }
};
