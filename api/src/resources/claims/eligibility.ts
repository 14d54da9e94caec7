// The rules a claim must meet before it is accepted. Those that read only the request (distance,
// conditions) are checked first; those that count earlier claims are checked inside the transaction
// that records the claim (api/src/resources/claims/writer.ts, a batch of claims at once), under
// locks on the users and the campaigns, so that simultaneous claims cannot all pass a limit that
// only one of them may. The campaign-wide limits (budget, a business's cap) are counters kept on the
// campaign and the engagement, so that no claim counts all of a campaign's claims. A Tally holds
// what the transaction read, and counts each accepted claim so that the next claim of the same
// batch sees it.
import { and, count, eq, max, ne, sql } from "drizzle-orm";
import { Engine, type TopLevelCondition } from "json-rules-engine";
import type { Database } from "../../db/client.ts";
import { claims } from "../../db/relaySchema.ts";
import { campaignEngagements, campaignTriggers, campaigns } from "../../db/schema.ts";
import { claimRefused } from "../../errors.ts";
import { anyOf } from "../../db/anyOf.ts";

type Trigger = typeof campaignTriggers.$inferSelect;
type Campaign = typeof campaigns.$inferSelect;
type Engagement = typeof campaignEngagements.$inferSelect;
type TriggerHistory = { total: number; today: number; last: Date | undefined };
export type Point = { lat: number; lng: number };

const EARTH_RADIUS_METERS = 6_371_008.8;
const radians = (degrees: number) => (degrees * Math.PI) / 180;

/** Great-circle distance (haversine) in meters. */
export function distanceMeters(a: Point, b: Point): number {
  const dLat = radians(b.lat - a.lat);
  const dLng = radians(b.lng - a.lng);
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(radians(a.lat)) * Math.cos(radians(b.lat)) * Math.sin(dLng / 2) ** 2;
  return 2 * EARTH_RADIUS_METERS * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** Whether json-rules-engine finds the conditions true of the facts (a fact not given is undefined). */
export async function conditionsHold(conditions: Record<string, unknown>, facts: Record<string, unknown>) {
  const engine = new Engine([], { allowUndefinedFacts: true });
  engine.addRule({ conditions: conditions as TopLevelCondition, event: { type: "eligible" } });
  try {
    const { events } = await engine.run({ ...facts });
    return events.length > 0;
  } catch {
    // A fact of the wrong shape for its operator or path: the conditions do not hold.
    return false;
  }
}

/** The trigger's rules on the request alone: where it is made, and its facts. */
export async function checkRequest(trigger: Trigger, request: { location?: Point; facts?: Record<string, unknown> }) {
  if (trigger.maxGeoDistanceMeters !== null && trigger.latitude !== null && trigger.longitude !== null) {
    if (!request.location) {
      throw claimRefused(422, "location-required", "This campaign's trigger needs the claim's location.");
    }
    const distance = distanceMeters(request.location, { lat: trigger.latitude, lng: trigger.longitude });
    if (distance > trigger.maxGeoDistanceMeters) {
      throw claimRefused(
        422,
        "too-far",
        `The claim is ${Math.round(distance)} m from the trigger's point; at most ${trigger.maxGeoDistanceMeters} m.`,
        { distanceMeters: Math.round(distance), maxGeoDistanceMeters: trigger.maxGeoDistanceMeters },
      );
    }
  }
  if (trigger.conditions && !(await conditionsHold(trigger.conditions, request.facts ?? {}))) {
    throw claimRefused(422, "conditions-not-met", "The claim's facts do not meet the trigger's conditions.");
  }
}

/** A campaign's own rules at `now`: its status, whether it is on chain, its window. */
export function checkCampaign(campaign: Campaign, now: Date) {
  if (campaign.status !== "ACTIVE") {
    throw claimRefused(409, "campaign-not-active", `The campaign is ${campaign.status}.`);
  }
  if (!campaign.onchainCampaignId) {
    throw claimRefused(409, "campaign-not-published", "The campaign is not on chain yet; try again shortly.");
  }
  if (campaign.startsAt && campaign.startsAt > now) {
    throw claimRefused(409, "campaign-not-started", `The campaign starts at ${campaign.startsAt.toISOString()}.`);
  }
  if (campaign.endsAt && campaign.endsAt <= now) {
    throw claimRefused(409, "campaign-ended", `The campaign ended at ${campaign.endsAt.toISOString()}.`);
  }
}

/**
 * Serialises the claims of these users against any other transaction that records claims of them
 * (call first inside it). One statement; the locks are taken in a fixed order, so that two
 * transactions locking overlapping sets of users cannot deadlock.
 */
export async function lockUsers(db: Database, userIds: readonly string[]) {
  const ordered = [...new Set(userIds)].sort();
  if (!ordered.length) return;
  const keys = sql.join(
    ordered.map((userId) => sql`(${`pers:claims:${userId}`})`),
    sql`, `,
  );
  await db.execute(sql`select pg_advisory_xact_lock(hashtextextended(key, 0)) from (values ${keys}) as locked(key)`);
}

const live = ne(claims.status, "FAILED");
const startOfUtcDay = (now: Date) => new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
const pairKey = (a: string, b: string) => `${a}/${b}`;

/** What the recording transaction read of earlier claims, kept up to date as it accepts claims. */
export type Tally = {
  /** Live claims per campaign and user. */
  perUser: Map<string, number>;
  /** Live claims per user and trigger (of any campaign that uses it). */
  perTrigger: Map<string, TriggerHistory>;
  /** campaigns.liveClaims and campaign_engagements.liveClaims, by id. */
  campaigns: Map<string, number>;
  engagements: Map<string, number>;
};

/** A claim as the rules that count see it. */
export type CountedClaim = { campaign: Campaign; userId: string; trigger?: Trigger; engagement?: Engagement };

/** Whether the trigger limits a user's claims (in all, per day, or by a cool-down). */
export const limitsTrigger = (trigger: Trigger | undefined): trigger is Trigger =>
  trigger !== undefined &&
  (trigger.maxPerUser !== null || trigger.maxPerDay !== null || trigger.cooldownSeconds !== null);

/**
 * Reads, in at most two grouped statements, the earlier claims the rules of these claims count:
 * per (campaign, user) where the campaign caps claims per user, and per (user, trigger) where the
 * trigger has limits. Call under lockUsers, with the campaigns and engagements read (and locked)
 * in the same transaction.
 */
export async function readTally(
  db: Database,
  batch: {
    claims: readonly CountedClaim[];
    campaigns: readonly Campaign[];
    engagements: readonly Engagement[];
    now: Date;
  },
): Promise<Tally> {
  const tally: Tally = {
    perUser: new Map(),
    perTrigger: new Map(),
    campaigns: new Map(batch.campaigns.map((campaign) => [campaign.id, campaign.liveClaims])),
    engagements: new Map(batch.engagements.map((engagement) => [engagement.id, engagement.liveClaims])),
  };
  const capped = batch.claims.filter((claim) => claim.campaign.maxClaimsPerUser !== null);
  if (capped.length) {
    const rows = await db
      .select({ campaignId: claims.campaignId, userId: claims.userId, count: count() })
      .from(claims)
      .where(
        and(
          live,
          anyOf(claims.campaignId, [...new Set(capped.map((claim) => claim.campaign.id))]),
          anyOf(claims.userId, [...new Set(capped.map((claim) => claim.userId))]),
        ),
      )
      .groupBy(claims.campaignId, claims.userId);
    for (const row of rows) tally.perUser.set(pairKey(row.campaignId, row.userId!), Number(row.count));
  }
  const limited = batch.claims.filter((claim) => limitsTrigger(claim.trigger));
  if (limited.length) {
    const dayStart = startOfUtcDay(batch.now);
    const rows = await db
      .select({
        userId: claims.userId,
        triggerId: campaigns.triggerId,
        total: count(),
        today: sql<number>`count(*) filter (where ${claims.createdAt} >= ${dayStart.toISOString()})`.mapWith(Number),
        last: max(claims.createdAt),
      })
      .from(claims)
      .innerJoin(campaigns, eq(campaigns.id, claims.campaignId))
      .where(
        and(
          live,
          anyOf(claims.userId, [...new Set(limited.map((claim) => claim.userId))]),
          anyOf(campaigns.triggerId, [...new Set(limited.map((claim) => claim.trigger!.id))]),
        ),
      )
      .groupBy(claims.userId, campaigns.triggerId);
    for (const row of rows) {
      tally.perTrigger.set(pairKey(row.userId!, row.triggerId!), {
        total: Number(row.total),
        today: row.today,
        last: row.last ? new Date(row.last) : undefined,
      });
    }
  }
  return tally;
}

/** The rules that count the user's earlier claims (per campaign, per trigger, the cool-down). */
function checkUserCounts(claim: CountedClaim, tally: Tally, now: Date) {
  const { campaign, userId, trigger } = claim;
  const made = tally.perUser.get(pairKey(campaign.id, userId)) ?? 0;
  if (campaign.maxClaimsPerUser !== null && made >= campaign.maxClaimsPerUser) {
    throw claimRefused(
      409,
      "user-limit-reached",
      `This user has made the campaign's ${campaign.maxClaimsPerUser} claims per user.`,
    );
  }
  if (!limitsTrigger(trigger)) return;
  const history = tally.perTrigger.get(pairKey(userId, trigger.id));
  if (trigger.maxPerUser !== null && (history?.total ?? 0) >= trigger.maxPerUser) {
    throw claimRefused(
      409,
      "trigger-user-limit-reached",
      `This user has made the trigger's ${trigger.maxPerUser} claims.`,
    );
  }
  if (trigger.maxPerDay !== null && (history?.today ?? 0) >= trigger.maxPerDay) {
    throw claimRefused(
      409,
      "trigger-daily-limit-reached",
      `This user has made the trigger's ${trigger.maxPerDay} claims today (UTC).`,
    );
  }
  if (trigger.cooldownSeconds !== null && history?.last) {
    const waitMs = history.last.getTime() + trigger.cooldownSeconds * 1000 - now.getTime();
    if (waitMs > 0) {
      const retryAfterSeconds = Math.ceil(waitMs / 1000);
      throw claimRefused(409, "cooldown", `This user may claim through this trigger again in ${retryAfterSeconds} s.`, {
        retryAfterSeconds,
      });
    }
  }
}

/** The campaign's budget and the business's cap, against their counters. */
function checkCampaignCounts(claim: CountedClaim, tally: Tally) {
  const { campaign, engagement } = claim;
  if (campaign.budget !== null && tally.campaigns.get(campaign.id)! >= campaign.budget) {
    throw claimRefused(409, "budget-exhausted", `The campaign's budget of ${campaign.budget} claims is spent.`);
  }
  if (engagement && engagement.maxClaims !== null && tally.engagements.get(engagement.id)! >= engagement.maxClaims) {
    throw claimRefused(409, "business-cap-reached", `The business has brought its ${engagement.maxClaims} claims.`);
  }
}

/**
 * Checks the rules that count earlier claims, refusing the claim with the first it breaks; if it
 * meets them all, counts it in the tally, so that the batch's next claims see it.
 */
export function admitClaim(claim: CountedClaim, tally: Tally, now: Date) {
  checkUserCounts(claim, tally, now);
  checkCampaignCounts(claim, tally);
  const { campaign, userId, trigger, engagement } = claim;
  const pair = pairKey(campaign.id, userId);
  tally.perUser.set(pair, (tally.perUser.get(pair) ?? 0) + 1);
  if (trigger) {
    const key = pairKey(userId, trigger.id);
    const history = tally.perTrigger.get(key) ?? { total: 0, today: 0, last: undefined };
    tally.perTrigger.set(key, { total: history.total + 1, today: history.today + 1, last: now });
  }
  tally.campaigns.set(campaign.id, tally.campaigns.get(campaign.id)! + 1);
  if (engagement) tally.engagements.set(engagement.id, tally.engagements.get(engagement.id)! + 1);
}
