import assert from "node:assert/strict";
import { createServer, type RequestListener, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, describe, it } from "node:test";
import { IndexerUnavailable, indexerQuery } from "./client.ts";

const servers: Server[] = [];
after(() => {
  for (const server of servers) {
    server.closeAllConnections();
    server.close();
  }
});

/** An indexer that answers its GraphQL requests with `answer`. */
async function indexerAnswering(answer: RequestListener): Promise<string> {
  const server = createServer((request, response) => {
    request.resume();
    request.on("end", () => answer(request, response));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const query = (url: string) =>
  indexerQuery({ INDEXER_URL: url, INDEXER_TIMEOUT_MS: 300 }, "{ tenants { items { id } } }");

describe("reading the indexer", () => {
  it("is unavailable, not an error, when the answer's body stalls or is cut off", async () => {
    const stalling = await indexerAnswering((_, response) => {
      response.writeHead(200, { "content-type": "application/json" });
      response.write('{"data":');
    });
    await assert.rejects(query(stalling), IndexerUnavailable);
    const cut = await indexerAnswering((_, response) => {
      response.writeHead(200, { "content-type": "application/json", "content-length": "1000" });
      response.write('{"data":');
      setTimeout(() => response.socket?.destroy(), 20);
    });
    await assert.rejects(query(cut), IndexerUnavailable);
  });

  it("is unavailable when the answer is JSON but no GraphQL result", async () => {
    for (const body of ["null", "3", '"text"', '{"errors":[{"message":"boom"}]}']) {
      const url = await indexerAnswering((_, response) => response.end(body));
      await assert.rejects(query(url), IndexerUnavailable, body);
    }
    const fine = await indexerAnswering((_, response) => response.end('{"data":{"tenants":{"items":[]}}}'));
    assert.deepEqual(await query(fine), { tenants: { items: [] } });
  });
});
