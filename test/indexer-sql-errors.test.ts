// How the indexer answers SQL over HTTP that fails: which database errors are the query's fault, and
// Ponder's plain-text answers as problems. test/indexer.test.ts sends failing queries to the indexer.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Hono } from "hono";
import { isQueryFault, ponderAnswersAsProblems, problemOfError } from "../indexer/src/api/sqlErrors.ts";

/** An error as PostgreSQL's and PGlite's clients throw it: the SQLSTATE in `code`. */
const databaseError = (code: string, message: string) => Object.assign(new Error(message), { code });

describe("the indexer's SQL errors", () => {
  it("are the query's fault for a data exception, a syntax or access rule error, a cardinality violation", () => {
    for (const [code, message] of [
      ["22012", "division by zero"],
      ["22P02", 'invalid input syntax for type integer: "a"'],
      ["42703", 'column "nope" does not exist'],
      ["42883", "operator does not exist: text + integer"],
      ["21000", "more than one row returned by a subquery used as an expression"],
    ])
      assert.equal(isQueryFault(databaseError(code!, message!)), true, message);
    // Ponder's own for the database's "does not exist".
    const ponders = Object.assign(new Error('relation "nope" does not exist'), { name: "NonRetryableUserError" });
    assert.equal(isQueryFault(ponders), true);
  });

  it("are the database's fault otherwise: a timeout, a lost connection, a shutdown, an error with no SQLSTATE", () => {
    for (const error of [
      databaseError("57014", "canceling statement due to statement timeout"),
      databaseError("55P03", "canceling statement due to lock timeout"),
      databaseError("53300", "sorry, too many clients already"),
      databaseError("57P01", "terminating connection due to administrator command"),
      Object.assign(new Error("Connection terminated unexpectedly"), { name: "DbConnectionError" }),
      Object.assign(new Error("shutting down"), { name: "ShutdownError" }),
      new TypeError("Do not know how to serialize a BigInt"),
    ])
      assert.equal(isQueryFault(error), false, error.message);
  });

  it("answer a database that cannot answer now with 503 and Retry-After, on every route", () => {
    const unavailable = [
      databaseError("57014", "canceling statement due to statement timeout"),
      databaseError("55P03", "canceling statement due to lock timeout"),
      databaseError("53300", "sorry, too many clients already"),
      databaseError("57P01", "terminating connection due to administrator command"),
      new Error("Failed query", { cause: databaseError("ECONNREFUSED", "connect ECONNREFUSED 127.0.0.1:5432") }),
      Object.assign(new Error("Connection terminated unexpectedly"), { name: "DbConnectionError" }),
      Object.assign(new Error("shutting down"), { name: "ShutdownError" }),
    ];
    for (const error of unavailable)
      for (const path of ["/sql/db", "/audit/31337/0x01", "/accounts/0x01/portfolio"]) {
        if (path === "/sql/db" && error.message.includes("statement timeout")) continue;
        const { problem, headers } = problemOfError(error, path);
        assert.equal(problem.status, 503, `${path}: ${error.message}`);
        assert.equal(problem.type, "unavailable");
        assert.doesNotMatch(problem.detail, /canceling|clients|ECONNREFUSED|terminat|shutting/);
        assert.deepEqual(headers, { "retry-after": "1" });
      }
    // A dApp's query past the statement timeout would time out again: its fault, on SQL over HTTP.
    const timedOut = databaseError("57014", "canceling statement due to statement timeout");
    assert.equal(problemOfError(timedOut, "/sql/db").problem.status, 400);
    assert.match(problemOfError(timedOut, "/sql/db").problem.detail, /statement timeout/);
    assert.equal(
      problemOfError(databaseError("53400", "temporary file size exceeds temp_file_limit"), "/sql/live").problem.status,
      400,
    );
    const fault = databaseError("22012", "division by zero");
    assert.deepEqual(problemOfError(fault, "/sql/db").problem.status, 400);
    assert.match(problemOfError(fault, "/sql/db").problem.detail, /division by zero/);
    // Outside SQL over HTTP the query is the indexer's own: its failure is a bug.
    assert.deepEqual(problemOfError(fault, "/audit/31337/0x01").problem.status, 500);
    assert.deepEqual(problemOfError(new TypeError("a bug"), "/sql/db").problem.status, 500);
    assert.doesNotMatch(problemOfError(new TypeError("a bug"), "/sql/db").problem.detail, /bug/);
  });

  it("turn Ponder's plain-text answers into problems, and leave its other answers alone", async (t) => {
    const logged = t.mock.method(console, "error", () => {});
    const app = new Hono();
    app.use("/sql/*", ponderAnswersAsProblems);
    // As Ponder answers /sql/live, its stream's headers set before it refuses.
    app.get("/sql/refused", (c) => {
      c.header("Content-Type", "text/event-stream");
      c.header("Cache-Control", "no-cache");
      return c.text("Function call not supported", 400);
    });
    app.get("/sql/later", (c) => c.text("Live queries are not available until the backfill is complete", 503));
    app.get("/sql/broken", (c) => c.text("Error: at /work/ponder/dist/esm/client/index.js:1:1", 500));
    app.get("/sql/rows", (c) => c.json({ rows: [] }));

    const refused = await app.request("/sql/refused");
    assert.equal(refused.status, 400);
    assert.equal(refused.headers.get("content-type"), "application/problem+json");
    assert.equal(refused.headers.get("cache-control"), null);
    assert.deepEqual(await refused.json(), {
      type: "/problems/invalid-query",
      title: "Invalid query",
      status: 400,
      detail: "Function call not supported",
    });
    const later = await app.request("/sql/later");
    assert.equal(later.status, 503);
    assert.deepEqual(await later.json(), {
      type: "/problems/unavailable",
      title: "Unavailable",
      status: 503,
      detail: "Live queries are not available until the backfill is complete",
    });
    // An answer Ponder should not give: a 500 that says nothing, and the indexer's log says what.
    assert.equal(logged.mock.callCount(), 0);
    const broken = await app.request("/sql/broken");
    assert.equal(broken.status, 500);
    const text = await broken.text();
    assert.doesNotMatch(text, /work|dist|index\.js/);
    assert.equal((JSON.parse(text) as { type: string }).type, "/problems/internal");
    assert.match(String(logged.mock.calls[0]?.arguments[0]), /500: Error: at \/work\/ponder/);
    const rows = await app.request("/sql/rows");
    assert.equal(rows.status, 200);
    assert.deepEqual(await rows.json(), { rows: [] });
  });
});
