import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createServer, type AddressInfo } from "node:net";
import { join } from "node:path";
import { describe, it } from "node:test";
import { promisify } from "node:util";
import pg from "pg";
import { pino } from "pino";
import { ConfigError, readConfig } from "./config.ts";
import { startApi } from "./server.ts";
import { testDatabases } from "../test/harness.ts";

const quiet = pino({ level: "silent" });
const masterKey = "ab".repeat(32);

/** The connections a PostgreSQL database has open, other than this question's own. */
async function connectionsTo(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query(
      "select count(*)::int as open from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()",
    );
    return rows[0].open as number;
  } finally {
    await client.end();
  }
}

describe("starting the API", () => {
  for (const database of testDatabases()) {
    describe(database.name, () => {
      it("fails on a chain without a deployment, naming the setting, and leaves the database closed (counted on PostgreSQL)", async () => {
        const scratch = await database.open();
        try {
          const config = readConfig({ MASTER_KEY: masterKey, API_PORT: "0", PERS_CHAINS: "999" });
          await assert.rejects(
            startApi({ config, logger: quiet, database: scratch.parameters }),
            (error: unknown) => error instanceof ConfigError && /^PERS_CHAINS: .*chain 999/.test(error.message),
          );
          if (scratch.parameters.kind === "postgres") assert.equal(await connectionsTo(scratch.parameters.url), 0);
        } finally {
          await scratch.drop();
        }
      });

      it("fails on a port in use, naming the address, and leaves the database closed (counted on PostgreSQL)", async () => {
        const scratch = await database.open();
        const taken = createServer();
        await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
        try {
          const { port } = taken.address() as AddressInfo;
          const config = readConfig({ MASTER_KEY: masterKey, API_PORT: String(port) });
          await assert.rejects(
            startApi({
              config,
              logger: quiet,
              database: scratch.parameters,
              chains: { ids: () => [], get: () => undefined },
            }),
            (error: unknown) =>
              error instanceof ConfigError &&
              error.message.includes(`127.0.0.1:${port}`) &&
              /EADDRINUSE/.test(error.message),
          );
          if (scratch.parameters.kind === "postgres") assert.equal(await connectionsTo(scratch.parameters.url), 0);
        } finally {
          taken.close();
          await scratch.drop();
        }
      });
    });
  }

  it("says why it cannot start in one line, without a stack trace", async () => {
    const main = join(import.meta.dirname, "main.ts");
    const failed = await promisify(execFile)(process.execPath, [main], {
      env: { PATH: process.env.PATH, MASTER_KEY: masterKey, DATABASE_URL: "postgres://pers:secret@127.0.0.1:1/none" },
    }).then(
      () => assert.fail("the API started"),
      (error: { code: number; stderr: string }) => error,
    );
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /^api: cannot start: DATABASE_URL: the database cannot be opened: .*ECONNREFUSED/);
    assert.equal(failed.stderr.trim().split("\n").length, 1);
    // The URL's password is not repeated.
    assert.doesNotMatch(failed.stderr, /secret/);
  });
});
