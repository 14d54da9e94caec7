// One schema and one driver (node-postgres) for two servers: PostgreSQL when DATABASE_URL is set,
// embedded PGlite otherwise, served as a single connection by PGlite's node-postgres adapter (with
// statements prepared once and messages pipelined, below).
// Pending migrations (api/migrations, committed SQL) run on open.
import { createHash } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { PGlite, protocol } from "@electric-sql/pglite";
import { PglitePgConnection } from "@electric-sql/pglite/node-postgres";
import { drizzle, type NodePgDatabase } from "drizzle-orm/node-postgres";
import { migrate } from "drizzle-orm/node-postgres/migrator";
import pg from "pg";
import * as purchasesSchema from "./purchasesSchema.ts";
import * as redemptionsSchema from "./redemptionsSchema.ts";
import * as relaySchema from "./relaySchema.ts";
import * as tables from "./schema.ts";
import * as webhooksSchema from "./webhooksSchema.ts";

const schema = { ...tables, ...relaySchema, ...webhooksSchema, ...purchasesSchema, ...redemptionsSchema };

export type Database = NodePgDatabase<typeof schema>;
/** The handle a `db.transaction` callback gets. */
export type Transaction = Parameters<Parameters<Database["transaction"]>[0]>[0];

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

/**
 * How many statements PGlite's session keeps prepared. Past it, the one used least lately is closed
 * to make room: the texts a busy API repeats stay prepared however many others come and go (an IN
 * list's every length), and PGlite's memory for statements stays bounded.
 */
export const MAX_PREPARED_STATEMENTS = 500;

type QueryConfig = pg.QueryConfig & { name?: string };

const statementNames = new Map<string, string>();

/** The same text has the same name on every connection (a connection's prepared names never mislead it). */
function statementName(text: string): string {
  let name = statementNames.get(text);
  if (!name) {
    if (statementNames.size >= 4 * MAX_PREPARED_STATEMENTS) statementNames.clear();
    name = `pers_${createHash("sha256").update(text).digest("base64url").slice(0, 40)}`;
    statementNames.set(text, name);
  }
  return name;
}

/**
 * What PGlite's one session holds prepared. node-postgres keeps this record on its connection and
 * opens another connection after a failed query; every connection to the session shares this one.
 */
class SessionStatements {
  /** node-postgres's own record: the names parsed, and those whose Parse is on its way. */
  readonly parsedStatements: Record<string, string> = {};
  readonly submittedNamedStatements: Record<string, string> = {};
  /** Close messages of the statements evicted, to go ahead of the next statement's messages. */
  readonly closing: Uint8Array[] = [];
  /** Every name given out, the one used least lately first. */
  readonly #lastUsed = new Set<string>();

  /** Records a use of the name, making room for it when it is new and the session is full. */
  use(name: string) {
    if (this.#lastUsed.delete(name)) {
      this.#lastUsed.add(name);
      return;
    }
    if (this.#lastUsed.size >= MAX_PREPARED_STATEMENTS) this.#evictLeastLatelyUsed();
    this.#lastUsed.add(name);
  }

  #evictLeastLatelyUsed() {
    for (const name of this.#lastUsed) {
      // Its Parse is on its way, and its answer would record it again.
      if (this.submittedNamedStatements[name] !== undefined) continue;
      this.#lastUsed.delete(name);
      // A statement still queued under this name finds it unparsed, and parses it again after the Close.
      if (this.parsedStatements[name] !== undefined) {
        delete this.parsedStatements[name];
        this.closing.push(protocol.serialize.close({ type: "S", name }));
      }
      return;
    }
  }
}

/**
 * Prepares each statement with parameters once per session, then only binds and runs it. Why:
 * PostgreSQL parses and plans an unnamed statement every time, and on embedded PGlite, which runs
 * on the API's own thread, that was more than half of the database's time (the claim writer's
 * statement: 1.2 of its 2 ms). node-postgres does the rest: it sends Parse for a name only once
 * per connection, and forgets a name whose Parse failed. Used for PGlite only: on a PostgreSQL
 * server, in bench:claims, it left the API's CPU a claim as it was and raised accept p99 (about 54
 * to 73 ms, two interleaved runs each; 110 ms with every plan custom), so there statements stay
 * unnamed until that is understood.
 */
class PreparingClient extends pg.Client {
  readonly #statements: SessionStatements;

  constructor(config: pg.ClientConfig, statements: SessionStatements) {
    super(config);
    this.#statements = statements;
  }

  override query(...args: unknown[]): any {
    const [config, values] = args as [QueryConfig | string, unknown[] | undefined];
    if (typeof config === "object" && config.text && !config.name && (values ?? config.values)?.length) {
      const name = statementName(config.text);
      this.#statements.use(name);
      args[0] = { ...config, name };
    }
    return (super.query as (...args: unknown[]) => unknown)(...args);
  }
}

type BackendMessage = { name: string };

/**
 * PGlite's node-postgres adapter, pipelined. node-postgres sends a statement as four or five
 * messages (Parse the first time, Bind, Describe, Execute, Sync); the adapter hands each to PGlite
 * on its own, a call into WebAssembly with its answer parsed and a turn of promises each. This
 * connection keeps them until the Sync (or Flush) and hands them over together, as a socket
 * carries them to a server. It also gives PGlite's serializer the parameter types only as an array
 * (drizzle passes its type parsers in that field), and closes the statements evicted from the
 * session's record ahead of the next statement, within its Sync.
 */
class PgliteConnection extends PglitePgConnection {
  readonly #pglite: PGlite;
  readonly #statements: SessionStatements;
  #pending: Uint8Array[] = [];
  #sent: Promise<unknown>;

  constructor(config: { pglite: PGlite; statements: SessionStatements }) {
    super(config);
    this.#pglite = config.pglite;
    this.#statements = config.statements;
    this.#sent = config.pglite.waitReady;
    this.parsedStatements = config.statements.parsedStatements;
    this.submittedNamedStatements = config.statements.submittedNamedStatements;
  }

  override parse(query: { types?: unknown }) {
    this.#pending.push(
      protocol.serialize.parse({
        ...(query as { text: string }),
        types: Array.isArray(query.types) ? query.types : undefined,
      }),
    );
  }
  override bind(config: Parameters<typeof protocol.serialize.bind>[0]) {
    this.#pending.push(protocol.serialize.bind(config));
  }
  override describe(message: Parameters<typeof protocol.serialize.describe>[0]) {
    this.#pending.push(protocol.serialize.describe(message));
  }
  override execute(config: Parameters<typeof protocol.serialize.execute>[0]) {
    this.#pending.push(protocol.serialize.execute(config));
  }
  override close(message: Parameters<typeof protocol.serialize.close>[0]) {
    this.#pending.push(protocol.serialize.close(message));
  }
  override flush() {
    this.#send(protocol.serialize.flush(), this.#statements.closing.splice(0));
  }
  override sync() {
    this.#send(protocol.serialize.sync(), this.#statements.closing.splice(0));
  }
  override query(text: string) {
    this.#send(protocol.serialize.query(text));
  }

  #send(last: Uint8Array, first: Uint8Array[] = []) {
    const parts = [...first, ...this.#pending, last];
    this.#pending = [];
    const message = parts.length === 1 ? last : Buffer.concat(parts);
    this.#sent = this.#sent
      .then(() => this.#pglite.execProtocolStream(message, { throwOnError: false }))
      .then((answers: BackendMessage[]) => {
        // node-postgres expects an ErrorResponse as 'errorMessage'.
        for (const answer of answers) this.emit(answer.name === "error" ? "errorMessage" : answer.name, answer);
      })
      .catch((error: unknown) => this.emit("error", error));
  }
}

export async function openDatabase(parameters: OpenDatabaseParameters): Promise<OpenDatabaseReturnType> {
  if (parameters.kind === "postgres") {
    // A request that finds every connection busy for 10 s gives up (a 503 to retry) rather than
    // waiting without end.
    const pool = new pg.Pool({ connectionString: parameters.url, max: 20, connectionTimeoutMillis: 10_000 });
    // An idle connection the server ends (a restart, a terminated backend, the pool's own end racing
    // a drop) is removed by the pool and replaced on the next query; without a listener its error
    // would crash the process.
    pool.on("error", () => undefined);
    const db = drizzle(pool, { schema });
    const lock = await pool.connect();
    try {
      await lock.query("select pg_advisory_lock($1)", [MIGRATION_LOCK]);
      await migrate(db, { migrationsFolder });
    } finally {
      await lock.query("select pg_advisory_unlock($1)", [MIGRATION_LOCK]).catch(() => undefined);
      lock.release();
    }
    return { db, kind: "postgres", ping: () => ping(pool), close: () => pool.end() };
  }
  if (parameters.kind === "pglite") mkdirSync(parameters.directory, { recursive: true });
  const pglite = parameters.kind === "pglite" ? new PGlite(parameters.directory) : new PGlite();
  // PGlite is one session: the pool holds one connection to it at a time. node-postgres's pool ends
  // a connection whose query failed and opens another; each gets an adapter of its own (the
  // adapter's end would otherwise reach the next connection), and all share the record of what the
  // session holds prepared, which outlives them.
  const statements = new SessionStatements();
  class PgliteClient extends PreparingClient {
    constructor(config?: pg.ClientConfig) {
      const connection = new PgliteConnection({ pglite, statements });
      super({ ...config, connection } as pg.ClientConfig, statements);
    }
  }
  const pool = new pg.Pool({ max: 1, idleTimeoutMillis: 0, Client: PgliteClient });
  pool.on("error", () => undefined);
  const db = drizzle(pool, { schema });
  await migrate(db, { migrationsFolder });
  return {
    db,
    kind: parameters.kind,
    ping: () => ping(pool),
    close: async () => {
      await pool.end();
      await pglite.close();
    },
  };
}

const ping = (pool: pg.Pool) =>
  pool.query("select 1").then(
    () => true,
    () => false,
  );
