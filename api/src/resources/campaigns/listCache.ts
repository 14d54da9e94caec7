// The campaign list is the hot read of dApps and changes rarely, so its answers are kept, serialized,
// for a short while (CAMPAIGN_LIST_CACHE_MS) per tenant, caller's view and query. Any change this
// process makes to a tenant's campaigns, their tags or its users starts that tenant afresh at once;
// a change made elsewhere (another API process, the relayer recording an on-chain id) shows within
// that while. Concurrent misses of one key share one database read.
import type { Middleware } from "koa";
import { LRUCache } from "lru-cache";

export type CampaignListCacheParameters = {
  /** How long an answer is served without reading the database again (0: never kept). */
  ttlMs: number;
  /** Room for answers, counted in characters of their JSON. */
  maxChars: number;
};

export type CampaignListKey = {
  tenantId: string;
  /** Whose view it is: every caller with the same view sees the same list. */
  view: string;
  query: unknown;
};

export type CampaignListCache = {
  /** The kept answer under this key, or the one `read` makes (then kept). */
  answer: (key: CampaignListKey, read: () => Promise<string>) => Promise<string>;
  /** Forgets every answer of the tenant. */
  forget: (tenantId: string) => void;
};

export function createCampaignListCache({ ttlMs, maxChars }: CampaignListCacheParameters): CampaignListCache {
  if (ttlMs === 0) return { answer: (_key, read) => read(), forget: () => {} };
  // Forgetting a tenant moves it to a new generation: its old answers are never asked for again and
  // age out, with no scan of the cache.
  const generations = new Map<string, number>();
  const answers = new LRUCache<string, string, () => Promise<string>>({
    ttl: ttlMs,
    maxSize: maxChars,
    sizeCalculation: (value, key) => value.length + key.length,
    fetchMethod: (_key, _stale, { context: read }) => read(),
  });
  return {
    answer: async ({ tenantId, view, query }, read) => {
      const key = `${tenantId}:${generations.get(tenantId) ?? 0}:${view}:${JSON.stringify(query)}`;
      // A kept answer is served without the promise machinery of a fetch.
      return answers.get(key) ?? (await answers.fetch(key, { context: read }))!;
    },
    forget: (tenantId) => {
      generations.set(tenantId, (generations.get(tenantId) ?? 0) + 1);
    },
  };
}

/** For the routes that change what campaign lists show: the caller's tenant starts afresh after them. */
export const changesCampaignLists: Middleware = async (ctx, next) => {
  try {
    await next();
  } finally {
    const principal = ctx.state.principal;
    if (principal?.kind === "tenant") ctx.services.campaignLists.forget(principal.tenantId);
  }
};
