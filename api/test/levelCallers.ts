// Callers of every level in one tenant (with the actor the API records for each), for access and isolation tests: a USER, a BUSINESS member
// acting for a business, the tenant's ADMIN and a SYSTEM integration (an API key made through the API).
import { randomUUID } from "node:crypto";
import { createCustodialWallet } from "../src/crypto/wallets.ts";
import { businesses, businessMembers } from "../src/db/schema.ts";
import { tenantScope } from "../src/db/scope.ts";
import type { Level } from "../src/auth/principal.ts";
import { insertUser, tokenFor, type RequestOptions, type TestApi, type TestTenant } from "./harness.ts";

export type Caller = {
  level: Level;
  /** Spread into a request's options. */
  credential: Pick<RequestOptions, "token" | "apiKey">;
  /** Who the API records as the actor, e.g. `user:<id>` or `business:<id>`. */
  actor: string;
};

export type Callers = Record<Level, Caller>;

export async function callersOf(api: TestApi, tenant: TestTenant): Promise<Callers> {
  const scope = tenantScope(api.services.db, tenant.id);
  const user = await insertUser(api, tenant.id);
  const member = await insertUser(api, tenant.id);
  const businessId = randomUUID();
  const wallet = createCustodialWallet(api.config.MASTER_KEY, `business:${businessId}`);
  await scope.insert(businesses, {
    id: businessId,
    name: "Corner shop",
    walletAddress: wallet.address,
    keyCiphertext: wallet.keyCiphertext,
  });
  await api.services.db.insert(businessMembers).values({ tenantId: tenant.id, businessId, userId: member.user.id });
  const businessToken = await tokenFor(api, {
    tenantId: tenant.id,
    level: "BUSINESS",
    subject: `user:${member.user.id}`,
    businessId,
  });
  const key = await api.request("POST", "/api-keys", {
    token: tenant.adminToken,
    body: { name: "integration", level: "SYSTEM" },
  });
  if (key.status !== 201) throw new Error(`callersOf: API key ${key.status} ${key.text}`);
  return {
    USER: { level: "USER", credential: { token: user.token }, actor: `user:${user.user.id}` },
    BUSINESS: { level: "BUSINESS", credential: { token: businessToken }, actor: `business:${businessId}` },
    ADMIN: { level: "ADMIN", credential: { token: tenant.adminToken }, actor: `admin:${tenant.admin.id}` },
    SYSTEM: { level: "SYSTEM", credential: { apiKey: key.body.key }, actor: `key:${key.body.id}` },
  };
}

export const everyLevel = (callers: Callers): Caller[] => Object.values(callers);
