// The grants that prove a tenant's admin or key (password, api_key), and what every grant shares.
import { and, eq, sql } from "drizzle-orm";
import type { Context } from "koa";
import { principalForApiKey } from "../../auth/authenticate.ts";
import type { TenantPrincipal } from "../../auth/principal.ts";
import { hashPassword, verifyPassword } from "../../crypto/hashing.ts";
import { admins } from "../../db/schema.ts";
import { badRequest, unauthorized } from "../../errors.ts";
import type { TokenRequest } from "./schema.ts";

export type Subject = Pick<TenantPrincipal, "tenantId" | "level" | "subject" | "businessId">;
export type Grant<T extends TokenRequest["type"]> = (
  ctx: Context,
  request: Extract<TokenRequest, { type: T }>,
) => Promise<Subject>;

/** The tenant named by X-Project-Key, for grants that prove a person rather than a tenant's key. */
export function projectTenant(ctx: Context): string {
  const principal = ctx.state.principal;
  if (principal?.kind !== "public") throw badRequest("Name the tenant with the X-Project-Key header.");
  return principal.tenantId;
}

// Verified against when the email is unknown, so that unknown and known emails take as long.
let decoyHash: Promise<string> | undefined;

export const passwordGrant: Grant<"password"> = async (ctx, { email, password }) => {
  const tenantId = projectTenant(ctx);
  const { db } = ctx.services;
  const [admin] = await db
    .select()
    .from(admins)
    .where(and(eq(admins.tenantId, tenantId), eq(sql`lower(${admins.email})`, email.toLowerCase())))
    .limit(1);
  const matches = await verifyPassword(password, admin?.passwordHash ?? (await (decoyHash ??= hashPassword("decoy"))));
  if (!admin || !matches || !admin.active) throw unauthorized("Wrong email or password.");
  await db.update(admins).set({ lastLoginAt: new Date() }).where(eq(admins.id, admin.id));
  return { tenantId, level: "ADMIN", subject: `admin:${admin.id}` };
};

export const apiKeyGrant: Grant<"api_key"> = async (ctx, { apiKey }) => {
  const principal = await principalForApiKey(ctx, apiKey, { fresh: true });
  if (principal?.kind !== "tenant") throw unauthorized("Unknown or revoked API key.");
  return { tenantId: principal.tenantId, level: principal.level, subject: principal.subject };
};
