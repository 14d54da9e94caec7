// Turns the request's credential into a Principal: a Bearer access token (ES256 JWT), an API key
// (X-API-Key: a tenant's key or the platform's), or only X-Project-Key for public reads. A
// credential that is present but wrong is a 401, never a silent downgrade to public.
import { timingSafeEqual } from "node:crypto";
import { and, eq, isNull } from "drizzle-orm";
import type { Context, Middleware } from "koa";
import { z } from "zod";
import { apiKeys, tenants } from "../db/schema.ts";
import { forbidden, unauthorized } from "../errors.ts";
import { sha256 } from "../crypto/hashing.ts";
import type { FoundApiKey } from "./apiKeyCache.ts";
import { LEVELS, type Access, type Principal, type TenantPrincipal } from "./principal.ts";

const accessClaims = z.object({
  sub: z.string().regex(/^(user|admin|key):[0-9a-f-]{36}$/),
  tenant: z.uuid(),
  level: z.enum(LEVELS),
  business: z.uuid().optional(),
  /** The subject's session generation at issue (revocations.ts); tokens from before it carry none. */
  gen: z.number().int().min(0).default(0),
});

const LAST_USED_RESOLUTION_MS = 60_000;

async function fromAccessToken(ctx: Context, token: string): Promise<TenantPrincipal> {
  let payload: unknown;
  try {
    ({ payload } = await ctx.services.keys.verify(token));
  } catch {
    throw unauthorized("The access token is invalid or expired.");
  }
  const claims = accessClaims.safeParse(payload);
  if (!claims.success) throw unauthorized("The access token is invalid or expired.");
  const { sub, tenant, level, business, gen } = claims.data;
  if (!ctx.services.revocations.stands(tenant, sub, gen)) {
    throw unauthorized("This access token's session has ended: its credential was changed, revoked or deactivated.");
  }
  const [kind, id] = sub.split(":") as ["user" | "admin" | "key", string];
  return {
    kind: "tenant",
    tenantId: tenant,
    level,
    subject: sub,
    ...(kind === "user" && { userId: id }),
    ...(kind === "admin" && { adminId: id }),
    ...(kind === "key" && { apiKeyId: id }),
    ...(business && { businessId: business }),
  };
}

const sameSecret = (given: string, expected: string) => {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
};

/**
 * An API key as a principal, or undefined when it is unknown or revoked. `fresh`: read from the
 * database, not from what this process keeps (API_KEY_CACHE_MS), as exchanging a key for a session
 * must: a key revoked through another process a moment ago would otherwise get a session that
 * outlives its revocation.
 */
export async function principalForApiKey(
  ctx: Context,
  key: string,
  { fresh = false } = {},
): Promise<Principal | undefined> {
  const platformKey = ctx.services.config.PLATFORM_API_KEY;
  if (platformKey && sameSecret(key, platformKey)) return { kind: "platform", subject: "platform" };
  const { db, apiKeys: keptKeys } = ctx.services;
  const hash = sha256(key);
  const read = async (): Promise<FoundApiKey | undefined> => {
    const [row] = await db
      .select({ id: apiKeys.id, tenantId: apiKeys.tenantId, level: apiKeys.level, lastUsedAt: apiKeys.lastUsedAt })
      .from(apiKeys)
      .innerJoin(tenants, eq(tenants.id, apiKeys.tenantId))
      .where(and(eq(apiKeys.hash, hash), isNull(apiKeys.revokedAt), eq(tenants.active, true)))
      .limit(1);
    if (!row) return undefined;
    const principal = {
      kind: "tenant",
      tenantId: row.tenantId,
      level: row.level,
      subject: `key:${row.id}`,
      apiKeyId: row.id,
    } as const;
    return { principal, lastUsedAt: row.lastUsedAt };
  };
  const found = fresh ? await read() : await keptKeys.find(hash, read);
  if (!found) return undefined;
  const now = new Date();
  if (!found.lastUsedAt || now.getTime() - found.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS) {
    found.lastUsedAt = now; // before the write: the requests meanwhile need not write it again
    await db.update(apiKeys).set({ lastUsedAt: now }).where(eq(apiKeys.id, found.principal.apiKeyId));
  }
  return { ...found.principal };
}

async function fromProjectKey(ctx: Context, projectKey: string): Promise<Principal> {
  const [tenant] = await ctx.services.db
    .select({ id: tenants.id })
    .from(tenants)
    .where(and(eq(tenants.projectKey, projectKey), eq(tenants.active, true)))
    .limit(1);
  if (!tenant) throw unauthorized("Unknown project key.");
  return { kind: "public", tenantId: tenant.id };
}

export const authenticate: Middleware = async (ctx, next) => {
  const authorization = ctx.get("authorization");
  const apiKey = ctx.get("x-api-key");
  const projectKey = ctx.get("x-project-key");
  if (authorization) {
    const [scheme, token] = authorization.split(" ");
    if (scheme?.toLowerCase() !== "bearer" || !token) throw unauthorized("Use Authorization: Bearer <access token>.");
    ctx.state.principal = await fromAccessToken(ctx, token);
  } else if (apiKey) {
    const principal = await principalForApiKey(ctx, apiKey);
    if (!principal) throw unauthorized("Unknown or revoked API key.");
    ctx.state.principal = principal;
  } else if (projectKey) {
    ctx.state.principal = await fromProjectKey(ctx, projectKey);
  }
  await next();
};

/** Checks the principal against a route's access: 401 without a credential, 403 with the wrong one. */
export function authorize(required: Access): Middleware {
  return async (ctx, next) => {
    const principal = ctx.state.principal;
    if (required.kind !== "none") {
      if (!principal) throw unauthorized();
      const admitted =
        required.kind === "platform"
          ? principal.kind === "platform"
          : required.kind === "public"
            ? principal.kind === "public" || principal.kind === "tenant"
            : (principal.kind === "tenant" && required.levels.includes(principal.level)) ||
              (principal.kind === "platform" && Boolean(required.orPlatform));
      if (!admitted) throw forbidden();
      if (required.kind === "tenant" && required.signedIn && !(principal.kind === "tenant" && principal.adminId)) {
        throw forbidden("Sign in as an admin to manage admins and API keys: an API key cannot.");
      }
    }
    await next();
  };
}
