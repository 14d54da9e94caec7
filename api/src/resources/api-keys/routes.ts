// API keys: random, shown once, stored as SHA-256 hashes, scoped to the tenant and a level,
// revocable, with the time they were last used. Only an admin signed in makes or revokes them: a key
// that could make keys would outlive its own revocation through them. ADMIN keys may list and read
// the records, which hold no secret.
import { isNotNull, isNull } from "drizzle-orm";
import { access } from "../../auth/principal.ts";
import { revokeSessions } from "../../auth/sessions.ts";
import { randomSecret, sha256 } from "../../crypto/hashing.ts";
import { apiKeys } from "../../db/schema.ts";
import { scopeOf } from "../../db/scope.ts";
import { conflict } from "../../errors.ts";
import { date } from "../../http/fields.ts";
import { idParams } from "../../http/pagination.ts";
import { defineRoute, type Api } from "../../http/route.ts";
import { apiKey, apiKeyCreate, apiKeyCreated, apiKeyList, apiKeyListQuery } from "./schema.ts";

const KEY_PREFIX = "pers_sk_";

const present = (row: typeof apiKeys.$inferSelect) => ({
  id: row.id,
  name: row.name,
  level: row.level,
  prefix: row.prefix,
  lastUsedAt: date(row.lastUsedAt),
  revokedAt: date(row.revokedAt),
  createdAt: date(row.createdAt)!,
});

export function registerApiKeys(api: Api) {
  defineRoute(api, {
    method: "post",
    path: "/api-keys",
    // Its answer holds a secret shown once, never to be kept for replay.
    idempotent: false,
    summary: "Create an API key (the key is in this answer only); an admin signed in only, not an API key",
    tags: ["api-keys"],
    access: access.signedInAdmin,
    body: apiKeyCreate,
    responses: { 201: { description: "Created", schema: apiKeyCreated } },
    handler: async (ctx) => {
      const key = randomSecret(KEY_PREFIX);
      const row = await scopeOf(ctx).insert(apiKeys, {
        name: ctx.input.body.name,
        level: ctx.input.body.level,
        prefix: key.slice(0, KEY_PREFIX.length + 6),
        hash: sha256(key),
      });
      ctx.status = 201;
      ctx.body = { ...present(row), key };
    },
  });

  defineRoute(api, {
    method: "get",
    path: "/api-keys",
    summary: "List the tenant's API keys (never the keys themselves)",
    tags: ["api-keys"],
    access: access.levels("ADMIN"),
    query: apiKeyListQuery,
    responses: { 200: { description: "A page of keys", schema: apiKeyList } },
    handler: async (ctx) => {
      const { page, limit, sort, order, revoked } = ctx.input.query;
      const result = await scopeOf(ctx).list(apiKeys, {
        page,
        limit,
        order,
        orderBy: { createdAt: apiKeys.createdAt, name: apiKeys.name, lastUsedAt: apiKeys.lastUsedAt }[sort],
        where: [revoked === undefined ? undefined : revoked ? isNotNull(apiKeys.revokedAt) : isNull(apiKeys.revokedAt)],
      });
      ctx.body = { data: result.data.map(present), pagination: result.pagination };
    },
  });

  defineRoute(api, {
    method: "get",
    path: "/api-keys/:id",
    summary: "Read an API key's record",
    tags: ["api-keys"],
    access: access.levels("ADMIN"),
    params: idParams,
    responses: { 200: { description: "The key's record", schema: apiKey } },
    handler: async (ctx) => {
      ctx.body = present(await scopeOf(ctx).find(apiKeys, ctx.input.params.id, "API key"));
    },
  });

  defineRoute(api, {
    method: "delete",
    path: "/api-keys/:id",
    summary:
      "Revoke an API key: it stops working at once, and so do the access and refresh tokens it was exchanged for (within API_KEY_CACHE_MS and SESSION_REVOCATION_POLL_MS on other API processes); an admin signed in only, not an API key",
    tags: ["api-keys"],
    access: access.signedInAdmin,
    params: idParams,
    errors: [409],
    responses: { 200: { description: "Revoked", schema: apiKey } },
    handler: async (ctx) => {
      const scope = scopeOf(ctx);
      const existing = await scope.find(apiKeys, ctx.input.params.id, "API key");
      if (existing.revokedAt) throw conflict("This key is already revoked.");
      ctx.body = present(await scope.update(apiKeys, existing.id, { revokedAt: new Date() }, "API key"));
      ctx.services.apiKeys.forget(existing.tenantId);
      await revokeSessions(ctx.services, scope.tenantId, `key:${existing.id}`);
    },
  });
}
