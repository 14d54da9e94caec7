import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { createApiKeyCache, type FoundApiKey } from "./apiKeyCache.ts";

const keyOf = (tenantId: string, id = "k1"): FoundApiKey => ({
  principal: { kind: "tenant", tenantId, level: "SYSTEM", subject: `key:${id}`, apiKeyId: id },
  lastUsedAt: null,
});

/** A read that counts how often the database was asked. */
function database(answer: () => FoundApiKey | undefined) {
  const reads = { count: 0 };
  const read = async () => {
    reads.count += 1;
    return answer();
  };
  return { reads, read };
}

describe("the API key cache", () => {
  it("reads a found key once while it is kept, and again after its time", async () => {
    const cache = createApiKeyCache({ ttlMs: 50, maxKeys: 10 });
    const { reads, read } = database(() => keyOf("tenant-a"));
    assert.equal((await cache.find("hash", read))?.principal.tenantId, "tenant-a");
    assert.equal((await cache.find("hash", read))?.principal.tenantId, "tenant-a");
    assert.equal(reads.count, 1);
    await sleep(80);
    await cache.find("hash", read);
    assert.equal(reads.count, 2);
  });

  it("never keeps an unknown key: each guess is read", async () => {
    const cache = createApiKeyCache({ ttlMs: 60_000, maxKeys: 10 });
    const { reads, read } = database(() => undefined);
    assert.equal(await cache.find("guess", read), undefined);
    assert.equal(await cache.find("guess", read), undefined);
    assert.equal(reads.count, 2);
  });

  it("forgets a tenant's keys at once and keeps the other tenants'", async () => {
    const cache = createApiKeyCache({ ttlMs: 60_000, maxKeys: 10 });
    let revoked = false;
    const a = database(() => (revoked ? undefined : keyOf("tenant-a")));
    const b = database(() => keyOf("tenant-b", "k2"));
    await cache.find("a", a.read);
    await cache.find("b", b.read);
    revoked = true;
    cache.forget("tenant-a");
    assert.equal(await cache.find("a", a.read), undefined, "the revoked key is read again and refused");
    assert.equal(a.reads.count, 2);
    assert.ok(await cache.find("b", b.read));
    assert.equal(b.reads.count, 1, "another tenant's key stays kept");
  });

  it("does not keep what a read found when a revocation came while it ran", async () => {
    const cache = createApiKeyCache({ ttlMs: 60_000, maxKeys: 10 });
    let release!: () => void;
    const reads = { count: 0 };
    const slowRead = async () => {
      reads.count += 1;
      if (reads.count === 1) await new Promise<void>((resolve) => (release = resolve));
      return keyOf("tenant-a");
    };
    const pending = cache.find("a", slowRead);
    cache.forget("tenant-a"); // revoked after the read looked, before it answered
    release();
    assert.ok(await pending, "the request that raced the revocation is answered as read");
    await cache.find("a", slowRead);
    assert.equal(reads.count, 2, "but the next request reads again");
  });

  it("with a time of 0 reads every request", async () => {
    const cache = createApiKeyCache({ ttlMs: 0, maxKeys: 10 });
    const { reads, read } = database(() => keyOf("tenant-a"));
    await cache.find("hash", read);
    await cache.find("hash", read);
    assert.equal(reads.count, 2);
  });
});
