// Idempotency-Key on writes: a caller who repeats a request with the same key gets the first answer
// again (status and body) instead of a second effect. The key belongs to the caller (its principal's
// subject), so keys of different callers never meet. The same key with another request is a 422; a
// repeat while the first is still being answered is a 409. Only successful answers are kept: after
// a refusal or an error the key is free again, so that the caller may retry once the cause is gone.
import { createHash } from "node:crypto";
import { and, eq } from "drizzle-orm";
import type { Context, Middleware } from "koa";
import { z } from "zod";
import { idempotencyKeys } from "../db/relaySchema.ts";
import { conflict, unprocessable, validationFailed } from "../errors.ts";

export const IDEMPOTENCY_HEADER = "Idempotency-Key";
/** An answer is replayed for this long; after it the key may be used afresh. */
const KEEP_MS = 24 * 3_600_000;
/** A first request still "in flight" after this long died with its process: a repeat takes over. */
const IN_FLIGHT_MS = 5 * 60_000;

/** The header as an OpenAPI request parameter (for routes that take it). */
export const idempotencyHeaders = z.object({
  "idempotency-key": z
    .string()
    .regex(/^[\x21-\x7e]{1,255}$/)
    .optional()
    .meta({
      description:
        "Makes the request safe to repeat: the same key (per caller) with the same body returns the first answer; " +
        "with another body it is a 422, and while the first is still being answered a 409.",
      example: "3f1c6a52-8d0b-4c1e-9c55-0c5d2f2e7a10",
    }),
});

/** Whose key this is: the principal's subject within its tenant. */
function ownerOf(ctx: Context): string | undefined {
  const principal = ctx.state.principal;
  if (!principal) return undefined;
  if (principal.kind === "platform") return "platform";
  if (principal.kind === "public") return `${principal.tenantId}:public`;
  return `${principal.tenantId}:${principal.subject}`;
}

/** JSON with object keys sorted, so that the same body sent with its keys in another order matches. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonical(item)}`).join(",")}}`;
  }
  return JSON.stringify(value ?? null);
}

/** What makes two requests the same request. */
export const fingerprint = (request: { method: string; path: string; query: string; body: unknown }) =>
  createHash("sha256").update(canonical(request)).digest("base64url");

const requestHash = (ctx: Context) =>
  fingerprint({ method: ctx.method, path: ctx.path, query: ctx.querystring, body: ctx.request.body ?? null });

export const idempotency: Middleware = async (ctx, next) => {
  const key = ctx.get(IDEMPOTENCY_HEADER);
  const owner = ownerOf(ctx);
  if (!key || !owner) return next();
  if (!/^[\x21-\x7e]{1,255}$/.test(key)) {
    throw validationFailed([{ path: "headers.idempotency-key", message: "must be 1 to 255 visible ASCII characters" }]);
  }
  const { db } = ctx.services;
  const hash = requestHash(ctx);
  const mine = and(eq(idempotencyKeys.owner, owner), eq(idempotencyKeys.key, key));

  const claim = () =>
    db
      .insert(idempotencyKeys)
      .values({ owner, key, method: ctx.method, path: ctx.path, requestHash: hash })
      .onConflictDoNothing()
      .returning({ key: idempotencyKeys.key });

  let [taken] = await claim();
  if (!taken) {
    const [first] = await db.select().from(idempotencyKeys).where(mine).limit(1);
    const age = first ? Date.now() - first.createdAt.getTime() : Infinity;
    if (first && age < KEEP_MS && !(first.status === null && age > IN_FLIGHT_MS)) {
      if (first.method !== ctx.method || first.path !== ctx.path || first.requestHash !== hash) {
        throw unprocessable(`The ${IDEMPOTENCY_HEADER} ${key} was used with another request; use a new key.`);
      }
      if (first.status === null) {
        throw conflict(`A request with the ${IDEMPOTENCY_HEADER} ${key} is still being answered; retry shortly.`);
      }
      ctx.status = first.status;
      ctx.body = first.body ?? undefined;
      ctx.set("Idempotent-Replayed", "true");
      return;
    }
    // Expired, or abandoned in flight: forget it and take the key afresh.
    if (first) await db.delete(idempotencyKeys).where(and(mine, eq(idempotencyKeys.createdAt, first.createdAt)));
    [taken] = await claim();
    if (!taken) {
      throw conflict(`A request with the ${IDEMPOTENCY_HEADER} ${key} is still being answered; retry shortly.`);
    }
  }

  let kept = false;
  try {
    await next();
    if (ctx.status >= 200 && ctx.status < 300) {
      await db
        .update(idempotencyKeys)
        .set({ status: ctx.status, body: (ctx.body ?? null) as unknown })
        .where(mine);
      kept = true;
    }
  } finally {
    if (!kept) await db.delete(idempotencyKeys).where(mine);
  }
};
