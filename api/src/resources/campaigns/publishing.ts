// Where a campaign's changes become `campaign` jobs (api/src/relay/kinds/campaign.ts) for its
// accounting half on chain. Each function takes the database transaction of the change, so that the
// change and its job commit together.
//
// A campaign is published (createCampaign, then its engaged businesses, then a pause if it is paused)
// the first time it is ACTIVE or PAUSED with at least one payout: a campaign without payouts cannot
// exist on chain, so one made ACTIVE before its payouts is published when its first payout arrives
// (and one whose creation failed is published again when its payouts change). Once published (or on
// its way), changes of its window, budget, per-user cap or payouts send an update, status changes a
// pause, resume or close, and engagements their business's cap.
import { and, count, eq } from "drizzle-orm";
import type { Address } from "viem";
import type { Database } from "../../db/client.ts";
import { businesses, campaignEngagements, campaignTokens, campaigns, tenants } from "../../db/schema.ts";
import { enqueueCampaignJob, publication, type CampaignAction } from "../../relay/kinds/campaign.ts";

type CampaignRow = typeof campaigns.$inferSelect;

const ACCOUNTING = ["startsAt", "endsAt", "budget", "maxClaimsPerUser"] as const;

async function chainOf(db: Database, tenantId: string): Promise<number> {
  const [tenant] = await db.select({ chainId: tenants.chainId }).from(tenants).where(eq(tenants.id, tenantId));
  if (!tenant) throw new Error(`tenant ${tenantId} not found`);
  return tenant.chainId;
}

async function send(db: Database, campaign: CampaignRow, actions: CampaignAction[]) {
  if (!actions.length) return;
  const chainId = await chainOf(db, campaign.tenantId);
  for (const action of actions) {
    await enqueueCampaignJob(db, { tenantId: campaign.tenantId, chainId, campaignId: campaign.id, ...action });
  }
}

async function engagementAction(db: Database, campaign: CampaignRow, businessId: string): Promise<CampaignAction> {
  const [business] = await db
    .select({ walletAddress: businesses.walletAddress })
    .from(businesses)
    .where(and(eq(businesses.tenantId, campaign.tenantId), eq(businesses.id, businessId)));
  if (!business) throw new Error(`business ${businessId} not found`);
  return { action: "engagement", businessId, business: business.walletAddress as Address };
}

/** Publishes the campaign if it should be on chain and is not (nor on its way). True if it did. */
async function publishIfDue(db: Database, campaign: CampaignRow): Promise<boolean> {
  if (campaign.status !== "ACTIVE" && campaign.status !== "PAUSED") return false;
  if ((await publication(db, campaign.id)) !== "none") return false;
  const [payouts] = await db
    .select({ count: count() })
    .from(campaignTokens)
    .where(eq(campaignTokens.campaignId, campaign.id));
  if (!payouts?.count) return false;
  const engaged = await db
    .select({ businessId: campaignEngagements.businessId })
    .from(campaignEngagements)
    .where(and(eq(campaignEngagements.campaignId, campaign.id), eq(campaignEngagements.active, true)));
  const actions: CampaignAction[] = [{ action: "create" }];
  for (const { businessId } of engaged) actions.push(await engagementAction(db, campaign, businessId));
  if (campaign.status === "PAUSED") actions.push({ action: "pause" });
  await send(db, campaign, actions);
  return true;
}

/** After a campaign row changed (PATCH, or DELETE closing it). */
export async function campaignChanged(db: Database, before: CampaignRow, after: CampaignRow) {
  if (await publishIfDue(db, after)) return;
  if ((await publication(db, after.id)) === "none") return;
  const actions: CampaignAction[] = [];
  const accountingChanged = ACCOUNTING.some((field) => {
    const [was, is] = [before[field], after[field]];
    return (was instanceof Date ? was.getTime() : was) !== (is instanceof Date ? is.getTime() : is);
  });
  if (after.status === "CLOSED") {
    actions.push({ action: "close" });
  } else {
    if (accountingChanged) actions.push({ action: "update" });
    if (before.status === "ACTIVE" && after.status === "PAUSED") actions.push({ action: "pause" });
    if (before.status === "PAUSED" && after.status === "ACTIVE") actions.push({ action: "resume" });
  }
  await send(db, after, actions);
}

/** After a payout was added or removed. */
export async function payoutsChanged(db: Database, campaign: CampaignRow) {
  if (await publishIfDue(db, campaign)) return;
  if ((await publication(db, campaign.id)) === "none") return;
  await send(db, campaign, [{ action: "update" }]);
}

/** After a business's engagement was added, changed or removed. */
export async function engagementChanged(db: Database, campaign: CampaignRow, businessId: string) {
  if ((await publication(db, campaign.id)) === "none") return;
  await send(db, campaign, [await engagementAction(db, campaign, businessId)]);
}

/** Whether the campaign is on chain or on its way (then it must keep at least one payout). */
export const isPublished = async (db: Database, campaignId: string) => (await publication(db, campaignId)) !== "none";
