// Idempotency-Key on writes: a caller who repeats a request with the same key gets the first answer
// again (status and body) instead of a second effect. The key belongs to the caller (its principal's
// subject), so keys of different callers never meet. The same key with another request is a 422; a
// repeat while the first is still being answered is a 409. Only successful answers are kept: after
// a refusal or an error the key is free again, so that the caller may retry once the cause is gone.
//
// Taking a key and keeping its answer are the two statements every keyed write adds; requests
// arriving together share them (../db/groupCommit.ts). A route that records its effect in a
// transaction of its own may keep the answer there instead (ctx.state.idempotency), so that the
// effect and the answer to replay commit together: no crash between them can leave a key whose
// effect happened but whose answer was lost. Such a route may take the key there too
// (`idempotent: "in-route"`, claims do, with takeKeys): then a keyed request costs no statement
// and no commit of its own, and the first request's answer is looked up only when the route
// finds the key taken or refuses the request.
import { createHash } from "node:crypto";
import { and, eq, sql, type SQL } from "drizzle-orm";
import type { Context, Middleware } from "koa";
import { z } from "zod";
import type { Database } from "../db/client.ts";
import { createGroupCommit } from "../db/groupCommit.ts";
import { idempotencyKeys } from "../db/relaySchema.ts";
import { conflict, unprocessable, validationFailed } from "../errors.ts";

export const IDEMPOTENCY_HEADER = "Idempotency-Key";
/** An answer is replayed for this long; after it the key may be used afresh (and its row removed). */
export const KEEP_MS = 24 * 3_600_000;
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

/**
 * Whose key this is: the principal's subject within its tenant. Callers with no credential but the
 * project key (a claim by a trigger source's proof) cannot be told apart: their key is theirs only
 * with the very request it came with, so that none can take a key another will use. For them the
 * same key with another body is another key, not a 422.
 */
function ownerOf(ctx: Context, requestHash: string): string | undefined {
  const principal = ctx.state.principal;
  if (!principal) return undefined;
  if (principal.kind === "platform") return "platform";
  if (principal.kind === "public") return `${principal.tenantId}:public:${requestHash}`;
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

/** A key as one string: its owner's and its own name. */
const nameOf = (row: { owner: string; key: string }) => `${row.owner}\u0000${row.key}`;

/** What makes two requests the same request. */
export const fingerprint = (request: { method: string; path: string; query: string; body: unknown }) =>
  createHash("sha256").update(canonical(request)).digest("base64url");

/**
 * The Idempotency-Key a request holds (ctx.state.idempotency), and the request it stands for. A
 * route that keeps the answer in its own transaction (status and body exactly as it answers) sets
 * `kept` once that has committed; `taken` is false until the key's row is written (by takeKeys,
 * for an "in-route" route).
 */
export type HeldKey = {
  owner: string;
  key: string;
  method: string;
  path: string;
  requestHash: string;
  taken: boolean;
  kept: boolean;
};

declare module "koa" {
  interface DefaultState {
    idempotency?: HeldKey;
  }
}

/** Thrown by a route that finds its request's key taken by an earlier request (see takeKeys). */
export class IdempotencyKeyTaken extends Error {
  constructor() {
    super("the Idempotency-Key is taken by an earlier request");
  }
}

/** A key and the request it is for: what taking the key records. */
type KeyRequest = { owner: string; key: string; method: string; path: string; requestHash: string };
type Answer = { owner: string; key: string; status: number; body: unknown };

export type IdempotencyStore = {
  /** Takes the key for this request: false when another live request holds it. */
  take: (request: KeyRequest) => Promise<boolean>;
  /** Keeps the answer to replay. */
  keep: (answer: Answer) => Promise<void>;
};

const MAX_BATCH = 200;

export function createIdempotencyStore(db: Database): IdempotencyStore {
  const take = createGroupCommit<KeyRequest, boolean>({
    maxBatch: MAX_BATCH,
    write: async (requests) => {
      const taken = await takeKeys(db, requests);
      return requests.map((request) => taken.has(request));
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

/** The key this request holds, or none (no header, or no caller to own it). */
function heldKeyOf(ctx: Context): HeldKey | undefined {
  const key = ctx.get(IDEMPOTENCY_HEADER);
  if (!key) return undefined;
  const hash = requestHash(ctx);
  const owner = ownerOf(ctx, hash);
  if (!owner) return undefined;
  if (!/^[\x21-\x7e]{1,255}$/.test(key)) {
    throw validationFailed([{ path: "headers.idempotency-key", message: "must be 1 to 255 visible ASCII characters" }]);
  }
  return { owner, key, method: ctx.method, path: ctx.path, requestHash: hash, taken: false, kept: false };
}

const rowOf = (held: HeldKey) => and(eq(idempotencyKeys.owner, held.owner), eq(idempotencyKeys.key, held.key));

/** Whether the first request's row still speaks for the key: its answer for KEEP_MS, in flight for IN_FLIGHT_MS. */
function isLive(first: { status: number | null; createdAt: Date }) {
  const age = Date.now() - first.createdAt.getTime();
  return age < KEEP_MS && !(first.status === null && age > IN_FLIGHT_MS);
}

/**
 * Answers this request as the first one under its key was: its answer replayed, a 422 if it was
 * another request, a 409 while it is still being answered. False when no live first request is
 * found.
 */
async function answerAsFirst(ctx: Context, held: HeldKey) {
  const [first] = await ctx.services.db.select().from(idempotencyKeys).where(rowOf(held)).limit(1);
  if (!first || !isLive(first)) return false;
  if (first.method !== held.method || first.path !== held.path || first.requestHash !== held.requestHash) {
    throw unprocessable(`The ${IDEMPOTENCY_HEADER} ${held.key} was used with another request; use a new key.`);
  }
  if (first.status === null) {
    throw conflict(`A request with the ${IDEMPOTENCY_HEADER} ${held.key} is still being answered; retry shortly.`);
  }
  ctx.status = first.status;
  ctx.body = first.body ?? undefined;
  ctx.set("Idempotent-Replayed", "true");
  return true;
}

/** Takes the key before the route runs, and keeps a successful answer after it (or frees the key). */
export const idempotency: Middleware = async (ctx, next) => {
  const held = heldKeyOf(ctx);
  if (!held) return next();
  const { db, idempotency: store } = ctx.services;
  // An expired or abandoned first request is taken over; a live one answers instead.
  if (!(await store.take(held))) {
    if (await answerAsFirst(ctx, held)) return;
    // Gone by the time it was read (its request failed): take the key afresh.
    if (!(await store.take(held))) {
      throw conflict(`A request with the ${IDEMPOTENCY_HEADER} ${held.key} is still being answered; retry shortly.`);
    }
  }

  held.taken = true;
  ctx.state.idempotency = held;
  try {
    await next();
    if (!held.kept && ctx.status >= 200 && ctx.status < 300) {
      await store.keep({ owner: held.owner, key: held.key, status: ctx.status, body: ctx.body ?? null });
      held.kept = true;
    }
  } finally {
    if (!held.kept) await db.delete(idempotencyKeys).where(rowOf(held));
  }
};

/**
 * For a route that takes the key (takeKeys) and keeps its answer in the transaction that records
 * its effect. Nothing is read or written before the route runs; when it finds the key taken
 * (IdempotencyKeyTaken) or refuses the request, the first request under the key answers instead,
 * if there is one: a repeat of an accepted request is replayed, not refused by what the first one did.
 */
export const idempotencyInRoute: Middleware = async (ctx, next) => {
  const held = heldKeyOf(ctx);
  if (!held) return next();
  ctx.state.idempotency = held;
  try {
    await next();
  } catch (error) {
    if (await answerAsFirst(ctx, held)) return;
    if (error instanceof IdempotencyKeyTaken) {
      // Taken, and gone again by the time it was read: the caller may simply retry.
      throw conflict(`A request with the ${IDEMPOTENCY_HEADER} ${held.key} is still being answered; retry shortly.`);
    }
    throw error;
  }
  if (!held.kept && ctx.status >= 200 && ctx.status < 300) {
    ctx.log.error({ path: held.path }, "an in-route Idempotency-Key route answered without keeping its answer");
  }
};

/**
 * Takes these keys for their requests in one statement (inside the caller's transaction, if it
 * runs in one): a key is taken when no live request holds it (an expired or abandoned one is taken
 * over). Returns the keys taken; a key held by another transaction waits for it to end. Keys are
 * taken in a fixed order, so that two transactions taking overlapping keys cannot deadlock.
 */
export async function takeKeys<K extends KeyRequest>(db: Database, keys: readonly K[]): Promise<Set<K>> {
  const byName = new Map<string, K>();
  // A key twice among them: the first request takes it, the second finds it taken.
  for (const held of keys) if (!byName.has(nameOf(held))) byName.set(nameOf(held), held);
  const firsts = [...byName.values()].sort((a, b) => (nameOf(a) < nameOf(b) ? -1 : 1));
  if (!firsts.length) return new Set();
  const values = sql.join(
    firsts.map((held) => sql`(${held.owner}, ${held.key}, ${held.method}, ${held.path}, ${held.requestHash})`),
    sql`, `,
  );
  const stale: SQL = sql`${idempotencyKeys.createdAt} < now() - ${`${KEEP_MS} milliseconds`}::interval
    or (${idempotencyKeys.status} is null and ${idempotencyKeys.createdAt} < now() - ${`${IN_FLIGHT_MS} milliseconds`}::interval)`;
  const taken = await db.execute<{ owner: string; key: string }>(sql`
    insert into ${idempotencyKeys} (owner, key, method, path, request_hash)
    select * from (values ${values}) as taking (owner, key, method, path, request_hash)
    on conflict (owner, key) do update set method = excluded.method, path = excluded.path,
      request_hash = excluded.request_hash, status = null, body = null, created_at = now()
      where ${stale}
    returning owner, key`);
  const names = new Set(taken.rows.map(nameOf));
  return new Set(firsts.filter((held) => names.has(nameOf(held))));
}

/** Frees keys taken in the caller's transaction for requests it did not accept. */
export async function freeKeys(db: Database, keys: HeldKey[]) {
  if (!keys.length) return;
  const names = sql.join(
    keys.map((held) => sql`(${held.owner}, ${held.key})`),
    sql`, `,
  );
  await db.execute(sql`delete from ${idempotencyKeys} where (owner, key) in (${names})`);
}
