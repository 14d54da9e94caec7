// The contracts the indexer follows, by the name its handlers use ("PointsToken:Transfer"), with the
// generated ABI of each: ponder.config.ts indexes these, and a test checks every event has a handler.
import { campaignRegistryAbi } from "../abi/campaignRegistry.ts";
import { pointsTokenAbi } from "../abi/pointsToken.ts";
import { redemptionRegistryAbi } from "../abi/redemptionRegistry.ts";
import { rewardTokenAbi } from "../abi/rewardToken.ts";
import { statusTokenAbi } from "../abi/statusToken.ts";
import { tenantFactoryAbi } from "../abi/tenantFactory.ts";

export const indexedAbis = {
  TenantFactory: tenantFactoryAbi,
  PointsToken: pointsTokenAbi,
  RewardToken: rewardTokenAbi,
  StatusToken: statusTokenAbi,
  CampaignRegistry: campaignRegistryAbi,
  RedemptionRegistry: redemptionRegistryAbi,
} as const;
