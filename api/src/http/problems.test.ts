import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/node-postgres";
import Koa from "koa";
import pg from "pg";
import { HttpRequestError } from "viem";
import { pino } from "pino";
import { freePort } from "../../../test/helpers/ports.ts";
import { problemJson } from "./problems.ts";

/** An error as node-postgres (or drizzle wrapping it) throws it for this SQLSTATE. */
const databaseError = (code: string, wrapped: boolean) => {
  const cause = Object.assign(new Error(`violation ${code}`), { code });
  return wrapped ? new Error("Failed query", { cause }) : cause;
};

/** A query through drizzle on a pool of these settings, which fails as the driver fails. */
async function queryOn(config: pg.PoolConfig, query = sql`select 1`, holdOne = false) {
  const pool = new pg.Pool({ max: 1, ...config });
  pool.on("error", () => undefined);
  const held = holdOne ? await pool.connect() : undefined;
  try {
    await drizzle(pool).execute(query);
  } finally {
    held?.release();
    await pool.end();
  }
}

const databaseUrl = process.env.PERS_TEST_DATABASE_URL;
/** Real failures of node-postgres, thrown by the route of their path. */
const driverFailures: Record<string, () => Promise<void>> = {
  "/driver/refused": async () => queryOn({ host: "127.0.0.1", port: await freePort() }),
  ...(databaseUrl && {
    "/driver/statement-timeout": () =>
      queryOn({ connectionString: databaseUrl, statement_timeout: 50 }, sql`select pg_sleep(5)`),
    "/driver/no-free-connection": () =>
      queryOn({ connectionString: databaseUrl, connectionTimeoutMillis: 50 }, sql`select 1`, true),
  }),
};

describe("errors as problems", () => {
  let url: string;
  let server: ReturnType<Koa["listen"]>;
  before(async () => {
    const app = new Koa();
    app.use(async (ctx, next) => {
      ctx.log = pino({ level: "silent" });
      await next();
    });
    app.use(problemJson);
    app.use(async (ctx, next) => {
      const failing = driverFailures[ctx.path];
      return failing ? failing() : next();
    });
    app.use((ctx) => {
      const [code, wrapped] = ctx.path.slice(1).split("/");
      // node-postgres's pool errors carry no code.
      if (code === "pool-timeout") throw new Error("timeout exceeded when trying to connect");
      if (code === "terminated") throw new Error("Connection terminated unexpectedly");
      // A chain client's failure to connect is not the database's; nor a query's parameter that reads like one.
      if (code === "chain")
        throw new HttpRequestError({ url: "http://127.0.0.1:1", cause: databaseError("ECONNREFUSED", false) });
      if (code === "parameter")
        throw new Error("Failed query: select $1\nparams: timeout exceeded when trying to connect", {
          cause: new Error("a bug"),
        });
      throw code === "plain" ? new Error("a bug") : databaseError(code!, wrapped === "wrapped");
    });
    server = app.listen(0, "127.0.0.1");
    await new Promise((resolve) => server.once("listening", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => server.close());

  it("answers a write that lost a race to a constraint (unique or foreign key) with 409, anything else with 500", async () => {
    for (const [path, status] of [
      ["/23505/plain", 409],
      ["/23505/wrapped", 409],
      ["/23503/wrapped", 409],
      ["/23001/plain", 409],
      ["/42601/wrapped", 500],
      ["/chain", 500],
      ["/parameter", 500],
      ["/plain", 500],
    ] as const) {
      const response = await fetch(`${url}${path}`);
      assert.equal(response.status, status, path);
      assert.equal(response.headers.get("content-type"), "application/problem+json", path);
      const body = (await response.json()) as { detail?: string };
      assert.doesNotMatch(body.detail ?? "", /violation|a bug/, path);
    }
  });

  it(`answers node-postgres's real failures with 503 (${Object.keys(driverFailures).join(", ")})`, async () => {
    for (const path of Object.keys(driverFailures)) {
      const response = await fetch(`${url}${path}`);
      assert.equal(response.status, 503, path);
      assert.equal(response.headers.get("retry-after"), "1", path);
    }
  });

  it("answers a database that cannot answer now (down, overloaded, timed out, a deadlock) with 503 and Retry-After", async () => {
    for (const path of [
      "/57014/wrapped", // statement timeout
      "/57P01/plain", // terminated by the administrator
      "/55P03/wrapped", // lock timeout
      "/53300/plain", // too many connections
      "/40001/wrapped", // serialization failure
      "/40P01/plain", // deadlock
      "/08006/wrapped", // connection failure
      "/ECONNREFUSED/wrapped",
      "/pool-timeout",
      "/terminated",
    ]) {
      const response = await fetch(`${url}${path}`);
      assert.equal(response.status, 503, path);
      assert.equal(response.headers.get("content-type"), "application/problem+json", path);
      assert.equal(response.headers.get("retry-after"), "1", path);
      const body = (await response.json()) as { type: string; detail: string };
      assert.equal(body.type, "/problems/unavailable", path);
      assert.doesNotMatch(body.detail, /violation|timeout exceeded|terminated/, path);
    }
  });
});
