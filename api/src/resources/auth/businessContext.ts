// A user who is a member of businesses may sign in to act for one of them (level BUSINESS), as PERS
// does: by naming it (businessId), or with asBusiness when they have exactly one; with several,
// the answer lists them to choose from.
import { and, asc, eq } from "drizzle-orm";
import type { TenantScope } from "../../db/scope.ts";
import { businesses, businessMembers } from "../../db/schema.ts";
import { businessChoiceRequired, forbidden } from "../../errors.ts";
import type { Subject } from "./grants.ts";

export type BusinessChoice = { businessId?: string | undefined; asBusiness?: boolean | undefined };

const MAX_LISTED = 100;

function memberships(scope: TenantScope, userId: string, businessId?: string) {
  return scope.db
    .select({ id: businesses.id, name: businesses.name })
    .from(businessMembers)
    .innerJoin(businesses, eq(businesses.id, businessMembers.businessId))
    .where(
      scope.where(
        businessMembers,
        eq(businessMembers.userId, userId),
        eq(businesses.tenantId, scope.tenantId),
        eq(businesses.active, true),
        businessId === undefined ? undefined : eq(businessMembers.businessId, businessId),
      ),
    )
    .orderBy(asc(businesses.name), asc(businesses.id))
    .limit(MAX_LISTED);
}

/** The session subject of a signed-in user: USER, or BUSINESS with the business they chose. */
export async function userSubject(scope: TenantScope, userId: string, choice: BusinessChoice): Promise<Subject> {
  const user: Subject = { tenantId: scope.tenantId, level: "USER", subject: `user:${userId}` };
  if (choice.businessId) {
    const [business] = await memberships(scope, userId, choice.businessId);
    if (!business) throw forbidden("This user is not a member of that business, or it is inactive.");
    return { ...user, level: "BUSINESS", businessId: business.id };
  }
  if (!choice.asBusiness) return user;
  const found = await memberships(scope, userId);
  if (found.length === 0) throw forbidden("This user is a member of no active business.");
  if (found.length > 1) throw businessChoiceRequired(found);
  return { ...user, level: "BUSINESS", businessId: found[0]!.id };
}
