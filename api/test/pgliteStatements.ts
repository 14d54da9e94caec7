// Counts the statements an embedded PGlite database runs (each query and exec goes through its
// _runExclusiveQuery once), for tests that assert how many statements some work takes.
import type { Database } from "../src/db/client.ts";

type Client = { _runExclusiveQuery: (...args: any[]) => any };

/** Counts from now on; `stop` puts PGlite back as it was. */
export function countPgliteStatements(db: Database) {
  const client = (db as unknown as { $client: Client }).$client;
  const run = client._runExclusiveQuery;
  const counter = {
    statements: 0,
    stop: () => {
      client._runExclusiveQuery = run;
    },
  };
  client._runExclusiveQuery = function (this: Client, ...args: any[]) {
    counter.statements += 1;
    return run.apply(this, args);
  };
  return counter;
}
