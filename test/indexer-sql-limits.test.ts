// The indexer's limits on SQL over HTTP, by client: which addresses count as one client, and how many
// queries one client may run at once. Requests go to a Hono app with the limits in front of a
// handler the test holds open, through `app.request` with the connection's address the test gives
// (a loopback socket cannot come from two addresses of one IPv6 /64). test/indexer.test.ts runs the
// same limits in the indexer.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Hono } from "hono";
import { ProblemError, problemResponse } from "../indexer/src/api/problems.ts";
import { clientOf, createSqlLimits, type SqlLimitsParameters } from "../indexer/src/api/sqlLimits.ts";

/** The limits in front of a handler that answers once `release` is called: a query the test ends. */
function limitedApp(parameters: SqlLimitsParameters) {
  const { perClient, queries } = createSqlLimits(parameters);
  const waiting: (() => void)[] = [];
  const app = new Hono();
  app.onError((error) => {
    if (error instanceof ProblemError) return problemResponse(error.problem, error.headers);
    throw error;
  });
  app.use("/sql/*", perClient, queries);
  app.get("/sql/db", async (c) => {
    await new Promise<void>((resolve) => waiting.push(resolve));
    return c.json({ rows: [] });
  });
  const request = (remoteAddress: string) =>
    app.request("/sql/db", {}, { incoming: { socket: { remoteAddress, remotePort: 40_000 } } });
  /** Until `count` queries are running (or 5 s pass: the test's next assertion then says how many are). */
  const untilRunning = async (count: number) => {
    for (const deadline = Date.now() + 5_000; waiting.length < count && Date.now() < deadline;) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };
  const release = () => waiting.splice(0).forEach((resolve) => resolve());
  return { request, untilRunning, release, running: () => waiting.length };
}

describe("the indexer's SQL limits", () => {
  it("count an IPv4 address as one client, an IPv6 address by its /64, and ::ffff:a.b.c.d as a.b.c.d", () => {
    assert.equal(clientOf("192.0.2.7"), "192.0.2.7");
    assert.equal(clientOf("::ffff:192.0.2.7"), "192.0.2.7");
    assert.equal(clientOf("::FFFF:192.0.2.7"), "192.0.2.7");
    const network = "2001:db8:1:2::/64";
    for (const address of ["2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:0DB8:0001:0002:0:0:0:0"])
      assert.equal(clientOf(address), network, address);
    assert.equal(clientOf("2001:db8:1:3::1"), "2001:db8:1:3::/64");
    assert.equal(clientOf("::1"), "::/64");
    assert.equal(clientOf("fe80::1%eth0"), "fe80::/64");
  });

  it("count the requests per minute of an IPv6 /64 together, and of an IPv4-mapped address with its IPv4 one", async () => {
    const { request, untilRunning, release } = limitedApp({ concurrency: 100, perMinute: 2 });
    /** The statuses of requests sent one after another, each answered before the next. */
    const inTurn = async (addresses: string[]) => {
      const statuses: number[] = [];
      for (const address of addresses) {
        const answer = request(address);
        // Running, or refused at once.
        await Promise.race([answer, untilRunning(1)]);
        release();
        statuses.push((await answer).status);
      }
      return statuses;
    };
    assert.deepEqual(await inTurn(["2001:db8::1", "2001:db8::2", "2001:db8::ffff:3"]), [200, 200, 429]);
    assert.deepEqual(await inTurn(["2001:db8:0:1::1"]), [200]);
    assert.deepEqual(await inTurn(["192.0.2.7", "::ffff:192.0.2.7", "192.0.2.7"]), [200, 200, 429]);
    assert.deepEqual(await inTurn(["192.0.2.8"]), [200]);
  });

  for (const [concurrency, share] of [
    [4, 2],
    [5, 3],
    [1, 1],
  ] as const) {
    it(`let one client run ${share} of ${concurrency} queries at once and turn its next away with a 429 problem and Retry-After`, async (t) => {
      const { request, untilRunning, release, running } = limitedApp({ concurrency, perMinute: 1000 });
      t.after(release);
      const first = Array.from({ length: share }, (_, i) => request(`2001:db8::${i + 1}`));
      await untilRunning(share);
      assert.equal(running(), share);
      // Another address of the same /64 is the same client.
      const refused = await request("2001:db8::ffff");
      assert.equal(refused.status, 429);
      assert.equal(refused.headers.get("retry-after"), "1");
      assert.equal(refused.headers.get("content-type"), "application/problem+json");
      assert.deepEqual(await refused.json(), {
        type: "/problems/too-many-requests",
        title: "Too many requests",
        status: 429,
        detail: `at most ${share} SQL queries at a time from one client`,
      });

      // Other clients take the slots left; past them the indexer is busy, whoever asks.
      const others = Array.from({ length: concurrency - share }, (_, i) => request(`192.0.2.${i + 1}`));
      await untilRunning(concurrency);
      assert.equal(running(), concurrency);
      const busy = await request("198.51.100.1");
      assert.equal(busy.status, 503);
      assert.equal(busy.headers.get("retry-after"), "1");

      // Once its queries end, the client may run as many again.
      release();
      for (const answer of await Promise.all([...first, ...others])) assert.equal(answer.status, 200);
      const again = Array.from({ length: share }, (_, i) => request(`2001:db8::${i + 1}`));
      await untilRunning(share);
      assert.equal(running(), share);
      release();
      for (const answer of await Promise.all(again)) assert.equal(answer.status, 200);
    });
  }

  it("count the queries at once of an IPv4 client in both its forms together", async (t) => {
    const { request, untilRunning, release, running } = limitedApp({ concurrency: 4, perMinute: 1000 });
    t.after(release);
    const held = [request("192.0.2.7"), request("::ffff:192.0.2.7")];
    await untilRunning(2);
    assert.equal(running(), 2);
    assert.equal((await request("192.0.2.7")).status, 429);
    assert.equal((await request("::ffff:192.0.2.7")).status, 429);
    release();
    await Promise.all(held);
  });
});
