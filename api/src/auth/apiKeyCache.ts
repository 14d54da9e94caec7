// Integrations send their API key with every request, often hundreds a second, and looking the key
// up was a database statement on each of them. The keys this process has found are kept for a short
// while (API_KEY_CACHE_MS) by their hash. Revoking a key or deactivating a tenant through this
// process forgets the tenant's keys at once; done through another process, it takes effect here
// within that while. Unknown keys are never kept, so that guessing cannot fill the cache.
import { LRUCache } from "lru-cache";
import type { TenantPrincipal } from "./principal.ts";

export type ApiKeyPrincipal = TenantPrincipal & { apiKeyId: string };

/** A key as the database knows it: who it acts for, and when it was last used. */
export type FoundApiKey = { principal: ApiKeyPrincipal; lastUsedAt: Date | null };

export type ApiKeyCache = {
  /** The kept key under this hash, or what `read` finds (kept when found). */
  find: (hash: string, read: () => Promise<FoundApiKey | undefined>) => Promise<FoundApiKey | undefined>;
  /** Forgets every key of the tenant. */
  forget: (tenantId: string) => void;
};

export function createApiKeyCache({ ttlMs, maxKeys }: { ttlMs: number; maxKeys: number }): ApiKeyCache {
  if (ttlMs === 0) return { find: (_hash, read) => read(), forget: () => {} };
  // Forgetting a tenant moves it to a new generation: its kept keys no longer match and are read again.
  const generations = new Map<string, number>();
  const generationOf = (tenantId: string) => generations.get(tenantId) ?? 0;
  let forgotten = 0;
  const kept = new LRUCache<string, FoundApiKey & { generation: number }>({ max: maxKeys, ttl: ttlMs });
  return {
    find: async (hash, read) => {
      const entry = kept.get(hash);
      if (entry && entry.generation === generationOf(entry.principal.tenantId)) return entry;
      const forgottenBefore = forgotten;
      const fresh = await read();
      if (!fresh) {
        kept.delete(hash);
        return undefined;
      }
      // A revocation while the read was under way may postdate what it found: keep nothing then.
      if (forgotten !== forgottenBefore) return fresh;
      const keep = { ...fresh, generation: generationOf(fresh.principal.tenantId) };
      kept.set(hash, keep);
      return keep;
    },
    forget: (tenantId) => {
      generations.set(tenantId, generationOf(tenantId) + 1);
      forgotten += 1;
    },
  };
}
