// The block the indexer has reached on a chain, from Ponder's /status route.

export async function indexedBlock(indexerUrl: string, chainId: number): Promise<bigint | undefined> {
  const response = await fetch(`${indexerUrl}/status`);
  if (!response.ok) throw new Error(`${indexerUrl}/status answered ${response.status}`);
  const status = (await response.json()) as Record<string, { id: number; block: { number: number } | null }>;
  const chain = Object.values(status).find((entry) => entry.id === chainId);
  return chain?.block ? BigInt(chain.block.number) : undefined;
}

/** Resolves with the indexed block once it is at least `minBlock` (any block if not given). */
export async function waitForIndexedBlock(
  indexerUrl: string,
  chainId: number,
  minBlock?: bigint,
  { timeoutMs = 120_000, onWait = (_block: bigint | undefined) => {} } = {},
): Promise<bigint> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const block = await indexedBlock(indexerUrl, chainId);
    if (block !== undefined && (minBlock === undefined || block >= minBlock)) return block;
    if (Date.now() > deadline) {
      throw new Error(
        `the indexer has not reached block ${minBlock ?? "any"} of chain ${chainId} (at ${block ?? "none"})`,
      );
    }
    onWait(block);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Resolves once the indexer has a movement from transaction `hash`: everything before it is indexed too. */
export async function waitForIndexedTransaction(indexerUrl: string, hash: string, { timeoutMs = 120_000 } = {}) {
  const query = `query($hash: String!) { transactions(where: { transactionHash: $hash }, limit: 1) { items { id } } }`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await fetch(`${indexerUrl}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query, variables: { hash: hash.toLowerCase() } }),
    }).catch(() => undefined);
    const body = (await response?.json().catch(() => undefined)) as
      { data?: { transactions: { items: unknown[] } } } | undefined;
    if (body?.data?.transactions.items.length) return;
    if (Date.now() > deadline) throw new Error(`the indexer has not indexed transaction ${hash}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The JSON-RPC requests an indexer has made, by method, read from the text of Ponder's /metrics. */
export function rpcRequestCounts(metrics: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const [, method, count] of metrics.matchAll(
    /^ponder_rpc_request_duration_count\{method="([^"]+)"[^}]*\} (\d+)/gm,
  )) {
    counts[method!] = (counts[method!] ?? 0) + Number(count);
  }
  return counts;
}

/**
 * Ponder's row-cache requests of one kind, by table, read from the text of its /metrics: "miss",
 * rows read one query at a time (the cache no longer held the table and had not predicted the
 * row); "prefetch", rows read ahead of a batch in one query per table.
 */
export function cacheRequestCounts(metrics: string, type: "miss" | "prefetch"): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const [, table, kind, count] of metrics.matchAll(
    /^ponder_indexing_cache_requests_total\{table="([^"]+)",type="([^"]+)"\} (\d+)/gm,
  )) {
    if (kind === type && Number(count) > 0) counts[table!] = Number(count);
  }
  return counts;
}
