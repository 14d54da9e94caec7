// Vacuum and analyze for embedded PGlite. Why: PGlite runs PostgreSQL as one standalone backend,
// without the autovacuum launcher, so nothing removed the row versions that updates and deletes
// leave (every claim, job and idempotency key is updated at least once) nor gathered the planner's
// statistics: tables and indexes grew with every update, and plans were made without statistics.
// This does what autovacuum would, with its default thresholds, one table a minute. A PostgreSQL
// server runs its own autovacuum: this is for PGlite only.
import { sql } from "drizzle-orm";
import type { Logger } from "pino";
import type { Database } from "./client.ts";
import { runEvery, type Periodic } from "./periodic.ts";

/** How often the tables' statistics are read (autovacuum_naptime's default). */
export const MAINTENANCE_INTERVAL_MS = 60_000;

// PostgreSQL's defaults for autovacuum_vacuum_threshold and _scale_factor, autovacuum_vacuum_insert_
// threshold and _scale_factor, autovacuum_analyze_threshold and _scale_factor.
const VACUUM_BASE = 50;
const VACUUM_SCALE = 0.2;
const INSERT_BASE = 1000;
const INSERT_SCALE = 0.2;
const ANALYZE_BASE = 50;
const ANALYZE_SCALE = 0.1;
/**
 * autovacuum_freeze_max_age's default: a table whose oldest unfrozen transaction id is older than
 * this is vacuumed whatever its activity, so that transaction ids never wrap around (PostgreSQL
 * stops taking writes before they would).
 */
const FREEZE_MAX_AGE = 200_000_000;

export type TableActivity = {
  /** The row count as last estimated (0 before the first vacuum or analyze). */
  rows: number;
  deadRows: number;
  insertedSinceVacuum: number;
  modifiedSinceAnalyze: number;
  /** Transactions since the table's rows were last frozen (age of relfrozenxid). */
  transactionIdAge: number;
};

export type MaintenanceDue = { vacuum: boolean; analyze: boolean };

/** What autovacuum would do for a table: vacuum (dead rows, inserts or id age past its threshold), analyze. */
export function maintenanceDue(activity: TableActivity): MaintenanceDue {
  const vacuum =
    activity.deadRows > VACUUM_BASE + VACUUM_SCALE * activity.rows ||
    activity.insertedSinceVacuum > INSERT_BASE + INSERT_SCALE * activity.rows ||
    activity.transactionIdAge > FREEZE_MAX_AGE;
  const analyze = activity.modifiedSinceAnalyze > ANALYZE_BASE + ANALYZE_SCALE * activity.rows;
  return { vacuum, analyze };
}

export type MaintainedTable = { table: string; vacuumed: boolean; ms: number };

/**
 * Vacuums (with analyze) or analyzes the table with the most dead rows among those due, if any;
 * what it did. One table a pass: the statement holds the API's thread while it runs (about 70 ms
 * for a table of 10,000 claims at 200 claims a second, bench:claims), so passes spread the work.
 */
export async function maintainNextTable(db: Database): Promise<MaintainedTable | undefined> {
  // A session reports its counts at most once a second; this pass reads them all.
  await db.execute(sql`select pg_stat_force_next_flush()`);
  const { rows } = await db.execute<{
    schema: string;
    table: string;
    rows: number;
    dead_rows: string;
    inserted_since_vacuum: string;
    modified_since_analyze: string;
    transaction_id_age: number;
  }>(sql`
    select stats.schemaname as schema, stats.relname as table, greatest(class.reltuples, 0)::float8 as rows,
           stats.n_dead_tup as dead_rows, stats.n_ins_since_vacuum as inserted_since_vacuum,
           stats.n_mod_since_analyze as modified_since_analyze, age(class.relfrozenxid) as transaction_id_age
    from pg_stat_user_tables as stats join pg_class as class on class.oid = stats.relid
    order by stats.n_dead_tup desc, stats.schemaname, stats.relname`);
  for (const row of rows) {
    const due = maintenanceDue({
      rows: Number(row.rows),
      deadRows: Number(row.dead_rows),
      insertedSinceVacuum: Number(row.inserted_since_vacuum),
      modifiedSinceAnalyze: Number(row.modified_since_analyze),
      transactionIdAge: Number(row.transaction_id_age),
    });
    if (!due.vacuum && !due.analyze) continue;
    const target = sql`${sql.identifier(row.schema)}.${sql.identifier(row.table)}`;
    const started = performance.now();
    // VACUUM (ANALYZE): a table worth vacuuming has changed enough to be analyzed again too.
    await db.execute(due.vacuum ? sql`vacuum (analyze) ${target}` : sql`analyze ${target}`);
    return { table: `${row.schema}.${row.table}`, vacuumed: due.vacuum, ms: Math.round(performance.now() - started) };
  }
  return undefined;
}

export type TableMaintenance = Periodic;

/** Maintains the next table due every intervalMs until stopped; a failed pass is logged, the next tries again. */
export function startTableMaintenance({
  db,
  logger,
  intervalMs = MAINTENANCE_INTERVAL_MS,
}: {
  db: Database;
  logger: Logger;
  intervalMs?: number;
}): TableMaintenance {
  return runEvery(intervalMs, () =>
    maintainNextTable(db)
      .then((done) => {
        if (done) logger.info(done, done.vacuumed ? "pglite: vacuumed" : "pglite: analyzed");
      })
      .catch((error: unknown) => logger.error({ err: error }, "pglite: table maintenance failed")),
  );
}
