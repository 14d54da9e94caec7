import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import type { Context } from "koa";
import { indexedBalances } from "./reads.ts";

const TOKEN = `0x${"ab".repeat(20)}`;
const OWNER = `0x${"cd".repeat(20)}`;
const HELD = 2_500;

describe("an owner's indexed balances", () => {
  let server: Server;
  let url: string;
  const cursorsAsked: (string | null)[] = [];

  before(async () => {
    // Ponder's GraphQL as far as indexedBalances reads it: the tenant's one token, and the owner's
    // balances of it 1,000 a page, the cursor being where the next page starts.
    server = createServer((request, response) => {
      let body = "";
      request.on("data", (chunk) => (body += chunk));
      request.on("end", () => {
        const { query, variables } = JSON.parse(body) as { query: string; variables: { after?: string | null } };
        let data: unknown;
        if (query.includes("tokens(")) {
          data = { tokens: { items: [{ address: TOKEN, kind: "REWARD", name: "R", symbol: "R", decimals: null }] } };
        } else {
          cursorsAsked.push(variables.after ?? null);
          const start = Number(variables.after ?? 0);
          const end = Math.min(start + 1000, HELD);
          const items = Array.from({ length: end - start }, (_, index) => ({
            token: TOKEN,
            tokenId: String(start + index + 1),
            amount: "1",
          }));
          data = { balances: { items, pageInfo: { hasNextPage: end < HELD, endCursor: String(end) } } };
        }
        response.writeHead(200, { "content-type": "application/json" });
        response.end(JSON.stringify({ data }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => server.close());

  it("are all of them, read a page of 1,000 at a time past Ponder's limit", async () => {
    const ctx = { services: { config: { INDEXER_URL: url, INDEXER_TIMEOUT_MS: 5000 } } } as unknown as Context;
    const balances = await indexedBalances(ctx, { chainId: 31337, tenantId: `0x${"01".repeat(20)}`, owner: OWNER });
    assert.equal(balances.length, HELD);
    assert.deepEqual(
      balances.map((balance) => Number(balance.tokenId)),
      Array.from({ length: HELD }, (_, index) => index + 1),
    );
    assert.deepEqual(cursorsAsked, [null, "1000", "2000"]);
  });
});
