import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import Koa from "koa";
import { pino } from "pino";
import { problemJson } from "./problems.ts";

/** An error as node-postgres (or drizzle wrapping it) throws it for this SQLSTATE. */
const databaseError = (code: string, wrapped: boolean) => {
  const cause = Object.assign(new Error(`violation ${code}`), { code });
  return wrapped ? new Error("Failed query", { cause }) : cause;
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
    app.use((ctx) => {
      const [code, wrapped] = ctx.path.slice(1).split("/");
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
      ["/40001/wrapped", 500],
      ["/plain", 500],
    ] as const) {
      const response = await fetch(`${url}${path}`);
      assert.equal(response.status, status, path);
      assert.equal(response.headers.get("content-type"), "application/problem+json", path);
      const body = (await response.json()) as { detail?: string };
      assert.doesNotMatch(body.detail ?? "", /violation|a bug/, path);
    }
  });
});
