// JSON bodies only (files have their own multipart route), with a size limit; a body that is not
// JSON, too large, or nested too deep is a problem rather than a crash.
import { bodyParser } from "@koa/bodyparser";
import type { Middleware } from "koa";
import { malformedJson, payloadTooLarge, validationFailed } from "../errors.ts";

/** More than any body the API takes needs (a trigger's conditions nest a few levels). */
export const MAX_BODY_DEPTH = 32;

export function jsonBody(limitBytes: number): Middleware {
  const parse = bodyParser({
    enableTypes: ["json"],
    jsonLimit: limitBytes,
    encoding: "utf-8",
    onError: (error) => {
      throw (error as { status?: number }).status === 413 ? payloadTooLarge(limitBytes) : malformedJson();
    },
  });
  // Checked before anything walks the body (the Idempotency-Key's fingerprint, validation): a few
  // KB of brackets would overflow the stack of any recursive walk.
  return (ctx, next) =>
    parse(ctx, async () => {
      if (deeperThan(ctx.request.body, MAX_BODY_DEPTH)) {
        throw validationFailed([{ path: "body", message: `must not nest deeper than ${MAX_BODY_DEPTH} levels` }]);
      }
      await next();
    });
}

/** Whether arrays and objects nest deeper than `limit` levels in `value`; without recursion. */
function deeperThan(value: unknown, limit: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length) {
    const [item, depth] = stack.pop()!;
    if (typeof item !== "object" || item === null) continue;
    if (depth >= limit) return true;
    for (const child of Object.values(item)) stack.push([child, depth + 1]);
  }
  return false;
}
