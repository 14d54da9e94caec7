// One schema, two drivers: Postgres when DATABASE_URL is set, embedded PGlite otherwise. Pending
// migrations (api/migrations, committed SQL) run on open.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { migrate as migratePglite } from "drizzle-orm/pglite/migrator";
import { drizzle as drizzlePostgres, type NodePgDatabase } from "drizzle-orm/node-postgres";
import { migrate as migratePostgres } from "drizzle-orm/node-postgres/migrator";
import pg from "pg";
import * as purchasesSchema from "./purchasesSchema.ts";
import * as redemptionsSchema from "./redemptionsSchema.ts";
import * as relaySchema from "./relaySchema.ts";
import * as tables from "./schema.ts";
import * as webhooksSchema from "./webhooksSchema.ts";

const schema = { ...tables, ...relaySchema, ...webhooksSchema, ...purchasesSchema, ...redemptionsSchema };

export type Database = NodePgDatabase<typeof schema>;

export type OpenDatabaseParameters =
  { kind: "postgres"; url: string } | { kind: "pglite"; directory: string } | { kind: "memory" };

export type OpenDatabaseReturnType = {
  db: Database;
  kind: OpenDatabaseParameters["kind"];
  /** Answers whether the database takes queries (for /ready). */
  ping: () => Promise<boolean>;
  close: () => Promise<void>;
};

const migrationsFolder = join(import.meta.dirname, "..", "..", "migrations");
// Two API processes starting together must not both migrate.
const MIGRATION_LOCK = 7_202_611;

export async function openDatabase(parameters: OpenDatabaseParameters): Promise<OpenDatabaseReturnType> {
  if (parameters.kind === "postgres") {
    const pool = new pg.Pool({ connectionString: parameters.url, max: 20 });
    // An idle connection the server ends (a restart, a terminated backend, the pool's own end racing
    // a drop) is removed by the pool and replaced on the next query; without a listener its error
    // would crash the process.
    pool.on("error", () => undefined);
    const db = drizzlePostgres(pool, { schema });
    const lock = await pool.connect();
    try {
      await lock.query("select pg_advisory_lock($1)", [MIGRATION_LOCK]);
      await migratePostgres(db, { migrationsFolder });
    } finally {
      await lock.query("select pg_advisory_unlock($1)", [MIGRATION_LOCK]).catch(() => undefined);
      lock.release();
    }
    return {
      db,
      kind: "postgres",
      ping: () =>
        pool.query("select 1").then(
          () => true,
          () => false,
        ),
      close: () => pool.end(),
    };
  }
  if (parameters.kind === "pglite") mkdirSync(parameters.directory, { recursive: true });
  const client = parameters.kind === "pglite" ? new PGlite(parameters.directory) : new PGlite();
  const db = drizzlePglite(client, { schema });
  await migratePglite(db, { migrationsFolder });
  return {
    // Both drivers build the same queries; the node-postgres type is the one the code is written to.
    db: db as unknown as Database,
    kind: parameters.kind,
    ping: () =>
      client.query("select 1").then(
        () => true,
        () => false,
      ),
    close: () => client.close(),
  };
}
