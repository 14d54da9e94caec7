// Every claim reads its campaign, and a busy campaign is the same row hundreds of times a second:
// a database statement, and a round trip that each claim waited for. Claims take the row from here
// instead: campaigns read lately (CLAIM_CAMPAIGN_CACHE_MS). A kept row is only a hint. The claim
// writer locks the campaign's row and refuses a claim with `campaign-changed` when what it was
// checked against has changed since (checkedFieldsDiffer; the route then checks it again with a
// fresh row), and a claim that a kept row refuses is refused only if a fresh row agrees. So a kept
// row never decides a claim differently from a fresh one.
import { LRUCache } from "lru-cache";
import { campaigns } from "../../db/schema.ts";
import type { TenantScope } from "../../db/scope.ts";

type Campaign = typeof campaigns.$inferSelect;

/** What a claim's checks read from its campaign that the writer does not check again itself. */
export type CheckedCampaignFields = Pick<
  Campaign,
  "visibility" | "targetUserIds" | "targetSegments" | "targetBusinessIds" | "triggerId"
>;

/** Whether a claim checked against `checked` would be checked differently against `current`. */
export function checkedFieldsDiffer(checked: CheckedCampaignFields, current: CheckedCampaignFields) {
  const sameList = (a: readonly string[], b: readonly string[]) =>
    a.length === b.length && a.every((item, index) => item === b[index]);
  return (
    checked.visibility !== current.visibility ||
    checked.triggerId !== current.triggerId ||
    !sameList(checked.targetUserIds, current.targetUserIds) ||
    !sameList(checked.targetSegments, current.targetSegments) ||
    !sameList(checked.targetBusinessIds, current.targetBusinessIds)
  );
}

export type RecentCampaign = { campaign: Campaign; kept: boolean };

export type RecentCampaigns = {
  /** The campaign as read lately (`kept`), or read now; 404 when the tenant has no such campaign. */
  find: (scope: TenantScope, id: string) => Promise<RecentCampaign>;
  /** The campaign read now (and kept for the next claims). */
  read: (scope: TenantScope, id: string) => Promise<Campaign>;
};

export function createRecentCampaigns({ ttlMs, maxCampaigns }: { ttlMs: number; maxCampaigns: number }) {
  const kept = ttlMs > 0 ? new LRUCache<string, Campaign>({ max: maxCampaigns, ttl: ttlMs }) : undefined;
  const keyOf = (scope: TenantScope, id: string) => `${scope.tenantId}:${id}`;
  const read = async (scope: TenantScope, id: string) => {
    const campaign = await scope.findShared(campaigns, id, "campaign");
    kept?.set(keyOf(scope, id), campaign);
    return { ...campaign };
  };
  const recent: RecentCampaigns = {
    read,
    find: async (scope, id) => {
      const campaign = kept?.get(keyOf(scope, id));
      // Each caller gets its own copy, as from the database.
      if (campaign) return { campaign: { ...campaign }, kept: true };
      return { campaign: await read(scope, id), kept: false };
    },
  };
  return recent;
}
