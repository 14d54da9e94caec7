// An indexer that knows of nothing: its GraphQL answers every list the API asks for (one root field
// per query, as in api/src/indexer/reads.ts) as empty. For tests that exercise the API's routes,
// not the indexer's data, so that a route reading the indexer answers as it would with a live one.
import { createServer, type Server } from "node:http";

export type FakeIndexer = { url: string; queries: () => number; close: () => Promise<void> };

const ROOT_FIELD = /^[^{]*\{\s*(\w+)/;

export async function startFakeIndexer(): Promise<FakeIndexer> {
  let queries = 0;
  const server: Server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => (body += chunk));
    request.on("end", () => {
      const field = request.method === "POST" && request.url === "/graphql" ? rootFieldOf(body) : undefined;
      if (!field) {
        response.writeHead(400, { "content-type": "application/json" });
        response.end(JSON.stringify({ errors: [{ message: "not a query this fake knows" }] }));
        return;
      }
      queries += 1;
      response.writeHead(200, { "content-type": "application/json" });
      const empty = { items: [], totalCount: 0, pageInfo: { hasNextPage: false, endCursor: null } };
      response.end(JSON.stringify({ data: { [field]: empty } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    queries: () => queries,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function rootFieldOf(body: string): string | undefined {
  try {
    const { query } = JSON.parse(body) as { query?: unknown };
    return typeof query === "string"
      ? ROOT_FIELD.exec(query.replace(/^\s*query\s+\w*\s*(\([^)]*\))?/, ""))?.[1]
      : undefined;
  } catch {
    return undefined;
  }
}
