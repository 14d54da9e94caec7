// Every resource the API serves; each registers its routes (and their OpenAPI description).
import type { Api } from "./http/route.ts";
import { registerAdmins } from "./resources/admins/routes.ts";
import { registerApiKeys } from "./resources/api-keys/routes.ts";
import { registerAuth } from "./resources/auth/routes.ts";
import { registerBusinessTypes } from "./resources/business-types/routes.ts";
import { registerCampaignTriggers } from "./resources/campaign-triggers/routes.ts";
import { registerCampaigns } from "./resources/campaigns/routes.ts";
import { registerClaims } from "./resources/claims/routes.ts";
import { registerChains } from "./resources/chains/routes.ts";
import { registerContracts } from "./resources/contracts/routes.ts";
import { registerFiles } from "./resources/files/routes.ts";
import { registerRedemptions } from "./resources/redemptions/routes.ts";
import { registerTransactions } from "./resources/transactions/routes.ts";
import { registerBalances } from "./resources/balances/routes.ts";
import { registerHealth } from "./resources/health/routes.ts";
import { registerTenants } from "./resources/tenants/routes.ts";
import { registerTokens } from "./resources/tokens/routes.ts";
import { registerTriggerSources } from "./resources/trigger-sources/routes.ts";
import { registerBusinesses } from "./resources/businesses/routes.ts";
import { registerUsers } from "./resources/users/routes.ts";
import { registerWebhooks } from "./resources/webhooks/routes.ts";
import { registerPurchases } from "./resources/purchases/routes.ts";

export const resources: ((api: Api) => void)[] = [
  registerHealth,
  registerAuth,
  registerTenants,
  registerApiKeys,
  registerBusinessTypes,
  registerTokens,
  registerChains,
  registerContracts,
  registerFiles,
  registerAdmins,
  registerUsers,
  registerBusinesses,
  registerCampaignTriggers,
  registerTriggerSources,
  // Before /campaigns/:id, which would read "claims" as an id.
  registerClaims,
  registerCampaigns,
  registerWebhooks,
  registerPurchases,
  registerRedemptions,
  registerTransactions,
  registerBalances,
];
