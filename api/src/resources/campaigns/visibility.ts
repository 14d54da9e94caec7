// Who sees which campaign. Anyone naming the tenant (X-Project-Key) sees its PUBLIC campaigns that
// are ACTIVE; a USER also sees the ACTIVE TARGETED ones aimed at them or at one of their segments; a
// BUSINESS those aimed at their business; ADMIN and SYSTEM see every campaign. A campaign the
// caller may not see does not exist for them: 404.
import { and, arrayContains, arrayOverlaps, eq, or, type SQL } from "drizzle-orm";
import type { Context } from "koa";
import { campaigns, users } from "../../db/schema.ts";
import type { TenantScope } from "../../db/scope.ts";
import { notFound } from "../../errors.ts";

/** ADMIN and SYSTEM manage campaigns: they see all of them, targeting included. */
export const managesCampaigns = (ctx: Context) => {
  const principal = ctx.state.principal;
  return principal?.kind === "tenant" && (principal.level === "ADMIN" || principal.level === "SYSTEM");
};

/** Whose view of the campaigns the caller has: callers with the same view see the same rows. */
export function viewOf(ctx: Context): string {
  if (managesCampaigns(ctx)) return "all";
  const principal = ctx.state.principal;
  if (principal?.kind === "tenant" && principal.level === "USER" && principal.userId) return `user:${principal.userId}`;
  if (principal?.kind === "tenant" && principal.level === "BUSINESS" && principal.businessId) {
    return `business:${principal.businessId}`;
  }
  return "public";
}

/** The condition on `campaigns` that keeps the rows this caller may see (undefined: all of them). */
export async function visibleToCaller(ctx: Context, scope: TenantScope): Promise<SQL | undefined> {
  if (managesCampaigns(ctx)) return undefined;
  const principal = ctx.state.principal;
  const aimedAtCaller: SQL[] = [];
  if (principal?.kind === "tenant" && principal.level === "USER" && principal.userId) {
    aimedAtCaller.push(arrayContains(campaigns.targetUserIds, [principal.userId]));
    const [user] = await scope.db
      .select({ segments: users.segments })
      .from(users)
      .where(scope.where(users, eq(users.id, principal.userId)))
      .limit(1);
    if (user?.segments.length) aimedAtCaller.push(arrayOverlaps(campaigns.targetSegments, user.segments));
  }
  if (principal?.kind === "tenant" && principal.level === "BUSINESS" && principal.businessId) {
    aimedAtCaller.push(arrayContains(campaigns.targetBusinessIds, [principal.businessId]));
  }
  return and(
    eq(campaigns.status, "ACTIVE"),
    or(
      eq(campaigns.visibility, "PUBLIC"),
      aimedAtCaller.length ? and(eq(campaigns.visibility, "TARGETED"), or(...aimedAtCaller)) : undefined,
    ),
  );
}

/** The campaign under this id if the caller may see it; otherwise 404. */
export async function visibleCampaign(ctx: Context, scope: TenantScope, id: string) {
  const [row] = await scope.db
    .select()
    .from(campaigns)
    .where(scope.where(campaigns, eq(campaigns.id, id), await visibleToCaller(ctx, scope)))
    .limit(1);
  if (!row) throw notFound("campaign");
  return row;
}
