// The outbound agent against a real local server, with a resolver the test controls: names that
// resolve to non-public addresses are refused before any connection, and the connection goes to the
// very address the check saw.
import assert from "node:assert/strict";
import type { LookupAddress } from "node:dns";
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { LookupFunction } from "node:net";
import { after, before, describe, it } from "node:test";
import type { Agent } from "undici";
import { createOutboundAgent, OutboundBodyTooLarge, outboundFetch, outboundRefusalOf, withBodyCap } from "./agent.ts";

let port: number;
const received: IncomingHttpHeaders[] = [];
const server = createServer((request, response) => {
  received.push(request.headers);
  response.end("reached");
});
before(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as { port: number }).port;
});
after(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** A resolver answering each call with the next of `answers` (the last one repeating), and its calls. */
function scriptedLookup(...answers: string[][]) {
  const calls: string[] = [];
  const lookup: LookupFunction = (hostname, options, callback) => {
    calls.push(hostname);
    const addresses = answers[Math.min(calls.length, answers.length) - 1]!;
    const all: LookupAddress[] = addresses.map((address) => ({ address, family: address.includes(":") ? 6 : 4 }));
    if (options.all) callback(null, all);
    else callback(null, all[0]!.address, all[0]!.family);
  };
  return { lookup, calls };
}

/** Why fetching `url` through `agent` failed: the refusal's message (or the test fails). */
async function refusalFetching(agent: Agent, url: string, timeoutMs = 5_000): Promise<string> {
  const error = await outboundFetch(agent)(url, { signal: AbortSignal.timeout(timeoutMs) }).then(
    (response) => assert.fail(`answered ${response.status}`),
    (error: unknown) => error,
  );
  const refusal = outboundRefusalOf(error);
  assert.ok(refusal, `not refused: ${String(error)}`);
  return refusal.message;
}

describe("outbound agent", () => {
  it("refuses a name that resolves to a loopback or private address, before connecting", async () => {
    for (const [addresses, message] of [
      [["127.0.0.1"], /^hooks\.example\.com resolves to 127\.0\.0\.1, a non-public address \(loopback\)/],
      [["::1"], /resolves to ::1, a non-public address \(loopback\)/],
      // One bad address among good ones is enough: the socket could pick it.
      [["93.184.216.34", "10.1.2.3"], /resolves to 10\.1\.2\.3, a non-public address \(private\)/],
      [["::ffff:169.254.169.254"], /\(link-local\)/],
    ] as const) {
      const { lookup, calls } = scriptedLookup([...addresses]);
      const agent = createOutboundAgent({ allowPrivateNetworks: false, lookup });
      try {
        const before = received.length;
        assert.match(await refusalFetching(agent, `http://hooks.example.com:${port}/`), message);
        assert.equal(received.length, before, "nothing reached the server");
        assert.deepEqual(calls, ["hooks.example.com"]);
      } finally {
        await agent.close();
      }
    }
  });

  it("refuses an IP literal in a non-public range without resolving anything", async () => {
    const { lookup, calls } = scriptedLookup(["127.0.0.1"]);
    const agent = createOutboundAgent({ allowPrivateNetworks: false, lookup });
    try {
      assert.match(
        await refusalFetching(agent, `http://127.0.0.1:${port}/`),
        /^127\.0\.0\.1, a non-public address \(loopback\)/,
      );
      assert.match(await refusalFetching(agent, `https://[::ffff:7f00:1]:${port}/`), /\(loopback\)/);
      assert.match(await refusalFetching(agent, `https://[fd00::1]/`), /\(unique-local\)/);
      assert.equal(received.length, 0);
      assert.deepEqual(calls, []);
    } finally {
      await agent.close();
    }
  });

  it("resolves once per connection and connects to the address it checked (no rebinding in between)", async () => {
    // A rebinding resolver: public on the first answer, loopback on every later one. A guard that
    // resolved to check and let the socket resolve again would reach the server.
    const { lookup, calls } = scriptedLookup(["93.184.216.34"], ["127.0.0.1"]);
    const agent = createOutboundAgent({ allowPrivateNetworks: false, lookup });
    try {
      const error = await outboundFetch(agent)(`http://rebinding.example.com:${port}/`, {
        signal: AbortSignal.timeout(300),
      }).then(
        () => undefined,
        (error: unknown) => error,
      );
      assert.ok(error, "the public address is not reachable from the test");
      assert.equal(received.length, 0, "the loopback answer was never used");
      assert.deepEqual(calls, ["rebinding.example.com"]);
    } finally {
      await agent.destroy();
    }
  });

  it("with private networks allowed, connects where the resolver says (the name kept as the Host)", async () => {
    const { lookup, calls } = scriptedLookup(["127.0.0.1"]);
    const agent = createOutboundAgent({ allowPrivateNetworks: true, lookup });
    try {
      const response = await outboundFetch(agent)(`http://hooks.example.com:${port}/`);
      assert.equal(response.status, 200);
      assert.equal(await response.text(), "reached");
      assert.equal(received.at(-1)!.host, `hooks.example.com:${port}`);
      assert.deepEqual(calls, ["hooks.example.com"]);
      const literal = await outboundFetch(agent)(`http://127.0.0.1:${port}/`);
      assert.equal(await literal.text(), "reached");
    } finally {
      await agent.close();
    }
  });
});

describe("withBodyCap", () => {
  // Answers by path: a small body, one declaring more than the cap, and a stream without end.
  let streamed = 0;
  let endless: Promise<void> = Promise.resolve();
  const answers = createServer((request, response) => {
    if (request.url === "/small") return void response.end("a small answer");
    if (request.url === "/declared") {
      response.writeHead(200, { "content-length": String(10 * 1024 * 1024) });
      return void response.write("x".repeat(1024));
    }
    // Chunks of 64 KiB until the reader goes away.
    endless = new Promise<void>((resolve) => {
      const chunk = Buffer.alloc(64 * 1024, "y");
      const more = () => {
        while (!response.destroyed && streamed < 1024 * 1024 * 1024) {
          streamed += chunk.length;
          if (!response.write(chunk)) return void response.once("drain", more);
        }
        resolve();
      };
      response.once("close", resolve);
      more();
    });
  });
  let base: string;
  const agent = createOutboundAgent({ allowPrivateNetworks: true });
  before(async () => {
    await new Promise<void>((resolve) => answers.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(answers.address() as { port: number }).port}`;
  });
  after(async () => {
    await agent.destroy();
    answers.closeAllConnections();
    await new Promise<void>((resolve) => answers.close(() => resolve()));
  });

  it("gives a body within the cap whole, and refuses one past it without reading on", async () => {
    const small = await withBodyCap(await outboundFetch(agent)(`${base}/small`), 1024);
    assert.equal(small.status, 200);
    assert.equal(await small.text(), "a small answer");

    await assert.rejects(
      withBodyCap(await outboundFetch(agent)(`${base}/declared`), 64 * 1024),
      (error: Error) => error instanceof OutboundBodyTooLarge && /65536 bytes/.test(error.message),
    );
    await assert.rejects(
      withBodyCap(await outboundFetch(agent)(`${base}/endless`), 256 * 1024),
      (error: Error) => error instanceof OutboundBodyTooLarge,
    );
    await endless;
    // The reader stopped a little past the cap (what sockets had buffered), far from the gigabyte offered.
    assert.ok(streamed < 64 * 1024 * 1024, `the server wrote ${streamed} bytes`);
  });
});
