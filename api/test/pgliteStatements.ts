// Counts the statements an embedded PGlite database runs, for tests that assert how many statements
// some work takes: every statement, BEGIN and COMMIT included, is one query of the pool's client,
// whose class is the database's own (api/src/db/client.ts).
import type { Database } from "../src/db/client.ts";

type Query = (...args: unknown[]) => unknown;

/** Counts from now on; `stop` puts the client back as it was. */
export function countPgliteStatements(db: Database) {
  const pool = (db as unknown as { $client: { options: { Client: { prototype: { query: Query } } } } }).$client;
  const client = pool.options.Client.prototype;
  const query = client.query;
  const counter = {
    statements: 0,
    stop: () => {
      client.query = query;
    },
  };
  client.query = function (this: unknown, ...args: unknown[]) {
    counter.statements += 1;
    return query.apply(this, args);
  };
  return counter;
}
