// What every handler can reach: the services on ctx.services, the caller on ctx.state.principal,
// and the validated request on ctx.input.
import type { Logger } from "pino";
import type { Config } from "../config.ts";
import type { Database } from "../db/client.ts";
import type { KeyStore } from "../auth/signingKeys.ts";
import type { Principal } from "../auth/principal.ts";
import type { Chains } from "../chain/chains.ts";
import type { ApiKeyCache } from "../auth/apiKeyCache.ts";
import type { Revocations } from "../auth/revocations.ts";
import type { IdempotencyStore } from "./idempotency.ts";
import type { CampaignListCache } from "../resources/campaigns/listCache.ts";
import type { ClaimWriter } from "../resources/claims/writer.ts";
import type { RecentCampaigns } from "../resources/claims/recentCampaigns.ts";

export type Services = {
  config: Config;
  db: Database;
  keys: KeyStore;
  chains: Chains;
  logger: Logger;
  ping: () => Promise<boolean>;
  campaignLists: CampaignListCache;
  /** API keys found lately (API_KEY_CACHE_MS); forget a tenant's when one is revoked. */
  apiKeys: ApiKeyCache;
  /** Sessions ended and tenants deactivated: which access tokens no longer stand. */
  revocations: Revocations;
  claimWriter: ClaimWriter;
  /** Campaign rows claims read lately (CLAIM_CAMPAIGN_CACHE_MS), checked again by the claim writer. */
  recentCampaigns: RecentCampaigns;
  idempotency: IdempotencyStore;
};

declare module "koa" {
  interface DefaultContext {
    services: Services;
    input: unknown;
    log: Logger;
    requestId: string;
  }
  interface DefaultState {
    principal?: Principal;
  }
}
