// Whether the identity behind a session may still get tokens: the tenant is active, and the admin,
// user or API key exists in it, is active (not revoked), and a BUSINESS session's business too.
import { and, eq, isNull } from "drizzle-orm";
import type { Services } from "../http/context.ts";
import { admins, apiKeys, businessMembers, businesses, tenants, users } from "../db/schema.ts";
import type { TenantPrincipal } from "./principal.ts";

export async function isSubjectActive(
  { db }: Services,
  { tenantId, subject, businessId }: Pick<TenantPrincipal, "tenantId" | "subject" | "businessId">,
): Promise<boolean> {
  const [tenant] = await db.select({ active: tenants.active }).from(tenants).where(eq(tenants.id, tenantId));
  if (!tenant?.active) return false;
  const [kind, id = ""] = subject.split(":");
  if (kind === "admin") {
    const [row] = await db
      .select({ id: admins.id })
      .from(admins)
      .where(and(eq(admins.id, id), eq(admins.tenantId, tenantId), eq(admins.active, true)));
    return Boolean(row);
  }
  if (kind === "key") {
    const [row] = await db
      .select({ id: apiKeys.id })
      .from(apiKeys)
      .where(and(eq(apiKeys.id, id), eq(apiKeys.tenantId, tenantId), isNull(apiKeys.revokedAt)));
    return Boolean(row);
  }
  if (kind !== "user") return false;
  const [user] = await db
    .select({ id: users.id })
    .from(users)
    .where(and(eq(users.id, id), eq(users.tenantId, tenantId), eq(users.active, true)));
  if (!user) return false;
  if (!businessId) return true;
  const [member] = await db
    .select({ id: businesses.id })
    .from(businessMembers)
    .innerJoin(businesses, eq(businesses.id, businessMembers.businessId))
    .where(
      and(
        eq(businessMembers.userId, id),
        eq(businessMembers.businessId, businessId),
        eq(businesses.tenantId, tenantId),
        eq(businesses.active, true),
      ),
    );
  return Boolean(member);
}
