// Idempotency-Key on writes: a caller who repeats a request with the same key gets the first answer
// again (status and body) instead of a second effect. The key belongs to the caller (its principal's
// subject), so keys of different callers never meet. The same key with another request is a 422; a
// repeat while the first is still being answered is a 409. Only successful answers are kept: after
// a refusal or an error the key is free again, so that the caller may retry once the cause is gone.
//
// Taking a key and keeping its answer are the two statements every keyed write adds; requests
// arriving together share them (../db/groupCommit.ts). A route that records its effect in a
// transaction of its own may keep the answer there instead (ctx.state.idempotency; claims do), so
// that the effect and the answer to replay commit together: no crash between them can leave a key
// whose effect happened but whose answer was lost.
import { createHash } from "node:crypto";
import { and, eq, sql } from "drizzle-orm";
import type { Context, Middleware } from "koa";
import { z } from "zod";
import type { Database } from "../db/client.ts";
import { createGroupCommit } from "../db/groupCommit.ts";
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

/**
 * The Idempotency-Key a request holds (ctx.state.idempotency). A route that keeps the answer in its
 * own transaction (status and body exactly as it answers) sets `kept` once that has committed.
 */
export type HeldKey = { owner: string; key: string; kept: boolean };

declare module "koa" {
  interface DefaultState {
    idempotency?: HeldKey;
  }
}

type NewKey = typeof idempotencyKeys.$inferInsert & { owner: string; key: string };
type Answer = { owner: string; key: string; status: number; body: unknown };

export type IdempotencyStore = {
  /** Takes the key for this request: false when another request holds it (or held it). */
  take: (row: NewKey) => Promise<boolean>;
  /** Keeps the answer to replay. */
  keep: (answer: Answer) => Promise<void>;
};

const MAX_BATCH = 200;

export function createIdempotencyStore(db: Database): IdempotencyStore {
  const keyOf = (row: { owner: string; key: string }) => `${row.owner}\u0000${row.key}`;
  const take = createGroupCommit<NewKey, boolean>({
    maxBatch: MAX_BATCH,
    write: async (rows) => {
      // A key twice in one batch: the first request takes it, the second finds it taken.
      const firsts = new Map<string, NewKey>();
      for (const row of rows) if (!firsts.has(keyOf(row))) firsts.set(keyOf(row), row);
      const taken = await db
        .insert(idempotencyKeys)
        .values([...firsts.values()])
        .onConflictDoNothing()
        .returning({ owner: idempotencyKeys.owner, key: idempotencyKeys.key });
      const takenKeys = new Set(taken.map(keyOf));
      return rows.map((row) => firsts.get(keyOf(row)) === row && takenKeys.has(keyOf(row)));
    },
  });
  const keep = createGroupCommit<Answer, void>({
    maxBatch: MAX_BATCH,
    write: async (answers) => {
      const values = sql.join(
        answers.map(
          ({ owner, key, status, body }) =>
            sql`(${owner}, ${key}, ${status}::integer, ${body === null ? null : JSON.stringify(body)}::jsonb)`,
        ),
        sql`, `,
      );
      await db.execute(
        sql`update ${idempotencyKeys} set status = answer.status, body = answer.body
            from (values ${values}) as answer(owner, key, status, body)
            where ${idempotencyKeys.owner} = answer.owner and ${idempotencyKeys.key} = answer.key`,
      );
      return answers.map(() => undefined);
    },
  });
  return { take, keep };
}

const requestHash = (ctx: Context) =>
  fingerprint({ method: ctx.method, path: ctx.path, query: ctx.querystring, body: ctx.request.body ?? null });

export const idempotency: Middleware = async (ctx, next) => {
  const key = ctx.get(IDEMPOTENCY_HEADER);
  const owner = ownerOf(ctx);
  if (!key || !owner) return next();
  if (!/^[\x21-\x7e]{1,255}$/.test(key)) {
    throw validationFailed([{ path: "headers.idempotency-key", message: "must be 1 to 255 visible ASCII characters" }]);
  }
  const hash = requestHash(ctx);
  const mine = and(eq(idempotencyKeys.owner, owner), eq(idempotencyKeys.key, key));

  const { db, idempotency: store } = ctx.services;
  const claim = () => store.take({ owner, key, method: ctx.method, path: ctx.path, requestHash: hash });

  let taken = await claim();
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
    taken = await claim();
    if (!taken) {
      throw conflict(`A request with the ${IDEMPOTENCY_HEADER} ${key} is still being answered; retry shortly.`);
    }
  }

  const held: HeldKey = { owner, key, kept: false };
  ctx.state.idempotency = held;
  try {
    await next();
    if (!held.kept && ctx.status >= 200 && ctx.status < 300) {
      await store.keep({ owner, key, status: ctx.status, body: ctx.body ?? null });
      held.kept = true;
    }
  } finally {
    if (!held.kept) await db.delete(idempotencyKeys).where(mine);
  }
};
