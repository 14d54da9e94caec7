// Counts the statements an embedded PGlite database runs, for tests that assert how many statements
// some work takes: node-postgres sends each statement through PGlite's adapter connection either as
// a simple query or, with parameters, as one Bind (after a Parse, the first time a name is seen).
import type { Database } from "../src/db/client.ts";

type AdapterConnection = { query: (...args: unknown[]) => unknown; bind: (...args: unknown[]) => unknown };

/** Counts from now on; `stop` puts the connection back as it was. */
export function countPgliteStatements(db: Database) {
  const pool = (db as unknown as { $client: { options: { connection?: AdapterConnection } } }).$client;
  const connection = pool.options.connection;
  if (!connection) throw new Error("not an embedded PGlite database");
  const { query, bind } = connection;
  const counter = {
    statements: 0,
    stop: () => {
      Object.assign(connection, { query, bind });
    },
  };
  connection.query = (...args) => {
    counter.statements += 1;
    return query.apply(connection, args);
  };
  connection.bind = (...args) => {
    counter.statements += 1;
    return bind.apply(connection, args);
  };
  return counter;
}
