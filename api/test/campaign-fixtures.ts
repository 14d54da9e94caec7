// Fixtures for the campaign resources' tests: businesses inserted directly (as many as a test
// needs, without the /businesses route), and the callers of every level from ./callers.ts with
// the ids the targeting tests need and the USER in some segments.
import { randomBytes, randomUUID } from "node:crypto";
import { eq } from "drizzle-orm";
import { privateKeyToAddress } from "viem/accounts";
import { businesses, users } from "../src/db/schema.ts";
import { tenantScope } from "../src/db/scope.ts";
import { callersOf } from "./callers.ts";
import type { RequestOptions, TestApi, TestTenant } from "./harness.ts";

/** A business row inserted directly (with a throwaway wallet and no usable key). */
export async function insertBusiness(api: TestApi, tenantId: string, name = `Business ${randomUUID().slice(0, 8)}`) {
  const walletAddress = privateKeyToAddress(`0x${randomBytes(32).toString("hex")}`);
  return tenantScope(api.services.db, tenantId).insert(businesses, {
    name,
    walletAddress,
    keyCiphertext: "fixture: no key",
  });
}

export type CampaignCallers = {
  user: { id: string; token: string };
  business: { id: string; token: string };
  admin: { token: string };
  system: { apiKey: string };
  /** The credential of each level, as request options. */
  levels: Record<"USER" | "BUSINESS" | "ADMIN" | "SYSTEM", RequestOptions>;
};

/** One caller of each level in the tenant; the USER is in these segments. */
export async function campaignCallers(
  api: TestApi,
  tenant: TestTenant,
  segments: string[] = [],
): Promise<CampaignCallers> {
  const { callers, user, business } = await callersOf(api, tenant);
  if (segments.length) {
    await api.services.db
      .update(users)
      .set({ segments })
      .where(tenantScope(api.services.db, tenant.id).where(users, eq(users.id, user.id)));
  }
  return {
    user: { id: user.id, token: callers.USER.token! },
    business: { id: business.id, token: callers.BUSINESS.token! },
    admin: { token: callers.ADMIN.token! },
    system: { apiKey: callers.SYSTEM.apiKey! },
    levels: { USER: callers.USER, BUSINESS: callers.BUSINESS, ADMIN: callers.ADMIN, SYSTEM: callers.SYSTEM },
  };
}
