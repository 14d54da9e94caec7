// Rows nothing reads once they have expired: Idempotency-Keys past the day their answer is kept,
// refresh tokens past their expiry, trigger sources' proofs past theirs. Nothing else removes them
// (a key's row is overwritten only if the same key comes back), so each table grew with every write
// for good. They are removed every minute, on PostgreSQL as on PGlite, in batches of a bounded
// size with a turn of the event loop between them: on PGlite a long statement would hold the API's
// only thread.
import { lt, sql, type SQL } from "drizzle-orm";
import type { AnyPgColumn, PgTable } from "drizzle-orm/pg-core";
import type { Logger } from "pino";
import { KEEP_MS } from "../http/idempotency.ts";
import type { Database } from "./client.ts";
import { runEvery, type Periodic } from "./periodic.ts";
import { idempotencyKeys } from "./relaySchema.ts";
import { refreshTokens, triggerProofUses } from "./schema.ts";

export const EXPIRED_ROWS_INTERVAL_MS = 60_000;
const BATCH_ROWS = 500;
const PROOF_GRACE_MS = 5 * 60_000;

type ExpiringTable = {
  name: string;
  table: PgTable;
  /** The columns that identify a row (its primary key). */
  key: AnyPgColumn[];
  expired: (now: Date) => SQL;
};

const EXPIRING: ExpiringTable[] = [
  {
    name: "idempotency_keys",
    table: idempotencyKeys,
    key: [idempotencyKeys.owner, idempotencyKeys.key],
    expired: (now) => lt(idempotencyKeys.createdAt, new Date(now.getTime() - KEEP_MS)),
  },
  {
    name: "refresh_tokens",
    table: refreshTokens,
    key: [refreshTokens.id],
    expired: (now) => lt(refreshTokens.expiresAt, now),
  },
  {
    name: "trigger_proof_uses",
    table: triggerProofUses,
    key: [triggerProofUses.triggerSourceId, triggerProofUses.proofHash],
    // Kept a while past: a replay checked just before its proof expired may still be on its way to
    // the claim writer.
    expired: (now) => lt(triggerProofUses.expiresAt, new Date(now.getTime() - PROOF_GRACE_MS)),
  },
];

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Removes at most `batchRows` expired rows of one table; how many it removed. */
async function removeBatch(db: Database, { table, key, expired }: ExpiringTable, now: Date, batchRows: number) {
  const columns = sql.join(key, sql`, `);
  const removed = await db.execute(sql`
    delete from ${table} where (${columns}) in (
      select ${columns} from ${table} where ${expired(now)} limit ${batchRows}
    )`);
  return removed.rowCount ?? 0;
}

/** Removes every row expired at `now`, batch by batch; the count removed from each table that had some. */
export async function removeExpiredRows(
  db: Database,
  now = new Date(),
  batchRows = BATCH_ROWS,
): Promise<Record<string, number>> {
  const removed: Record<string, number> = {};
  for (const expiring of EXPIRING) {
    for (;;) {
      const count = await removeBatch(db, expiring, now, batchRows);
      if (count) removed[expiring.name] = (removed[expiring.name] ?? 0) + count;
      if (count < batchRows) break;
      await nextTurn();
    }
  }
  return removed;
}

export type ExpiredRowRemoval = Periodic;

/** Removes expired rows every intervalMs until stopped; a failed pass is logged, the next tries again. */
export function startExpiredRowRemoval({
  db,
  logger,
  intervalMs = EXPIRED_ROWS_INTERVAL_MS,
}: {
  db: Database;
  logger: Logger;
  intervalMs?: number;
}): ExpiredRowRemoval {
  return runEvery(intervalMs, () =>
    removeExpiredRows(db)
      .then((removed) => {
        if (Object.keys(removed).length) logger.info({ removed }, "expired rows removed");
      })
      .catch((error: unknown) => logger.error({ err: error }, "removing expired rows failed")),
  );
}
