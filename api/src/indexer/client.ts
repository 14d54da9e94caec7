// Reading the Ponder indexer (indexer/) while answering a request: its GraphQL at INDEXER_URL. An
// indexer that is down, too slow or answering errors is a 503, never a 500: the API's own data
// stays available without it.
import type { Context } from "koa";
import { unavailable } from "../errors.ts";

export type IndexerConfig = { INDEXER_URL: string; INDEXER_TIMEOUT_MS: number };

export class IndexerUnavailable extends Error {}

/** Runs one GraphQL query against the indexer; throws IndexerUnavailable when it cannot answer. */
export async function indexerQuery<T>(
  config: IndexerConfig,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<T> {
  let response: Response;
  let text: string;
  try {
    response = await fetch(new URL("/graphql", config.INDEXER_URL), {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify({ query, variables }),
      signal: AbortSignal.timeout(config.INDEXER_TIMEOUT_MS),
    });
    // The body too may stall past the timeout or be cut off.
    text = await response.text();
  } catch (error) {
    throw new IndexerUnavailable(`the indexer did not answer: ${(error as Error).message}`);
  }
  let body: { data?: T; errors?: { message: string }[] } | null;
  try {
    body = JSON.parse(text);
  } catch {
    throw new IndexerUnavailable(`the indexer answered ${response.status} without JSON`);
  }
  if (typeof body !== "object" || body === null) {
    throw new IndexerUnavailable(`the indexer answered ${response.status} without a GraphQL result`);
  }
  if (!response.ok || body.errors?.length || !body.data) {
    const messages = body.errors?.map((error) => error.message).join("; ") ?? "";
    throw new IndexerUnavailable(`the indexer answered ${response.status} ${messages}`);
  }
  return body.data;
}

/** indexerQuery for a request: failures are logged and become a 503 problem. */
export async function readIndexer<T>(ctx: Context, query: string, variables: Record<string, unknown> = {}) {
  try {
    return await indexerQuery<T>(ctx.services.config, query, variables);
  } catch (error) {
    if (!(error instanceof IndexerUnavailable)) throw error;
    ctx.log.warn({ err: error }, "indexer read failed");
    throw unavailable("The indexer did not answer; try again later.");
  }
}
