// The rules a claim must meet before it is accepted. Those that read only the request (distance,
// conditions) are checked first; those that count earlier claims are checked inside the transaction
// that records the claim, serialised per user, and the campaign-wide ones (budget, a business's cap)
// by counters kept on the campaign and the engagement, so that simultaneous claims cannot all pass a
// limit that only one of them may, and no claim counts all of a campaign's claims.
import { and, count, eq, isNull, lt, max, ne, or, sql } from "drizzle-orm";
import { Engine, type TopLevelCondition } from "json-rules-engine";
import type { Database } from "../../db/client.ts";
import { claims } from "../../db/relaySchema.ts";
import { campaignEngagements, campaignTriggers, campaigns } from "../../db/schema.ts";
import { claimRefused } from "../../errors.ts";

type Trigger = typeof campaignTriggers.$inferSelect;
type Campaign = typeof campaigns.$inferSelect;
type Engagement = typeof campaignEngagements.$inferSelect;
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

/** Serialises the claims of one user (call first inside the claim's transaction). */
export const lockUser = (db: Database, userId: string) =>
  db.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`pers:claims:${userId}`}, 0))`);

const live = ne(claims.status, "FAILED");
const counted = async (db: Database, ...conditions: ReturnType<typeof eq>[]) => {
  const [row] = await db
    .select({ count: count() })
    .from(claims)
    .where(and(live, ...conditions));
  return Number(row?.count ?? 0);
};

const startOfUtcDay = (now: Date) => new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));

/** The rules that count the user's earlier claims; call under lockUser. */
export async function checkCounts(
  db: Database,
  claim: { campaign: Campaign; userId: string; trigger?: Trigger; now: Date },
) {
  const { campaign, userId, trigger, now } = claim;
  if (
    campaign.maxClaimsPerUser !== null &&
    (await counted(db, eq(claims.campaignId, campaign.id), eq(claims.userId, userId))) >= campaign.maxClaimsPerUser
  ) {
    throw claimRefused(
      409,
      "user-limit-reached",
      `This user has made the campaign's ${campaign.maxClaimsPerUser} claims per user.`,
    );
  }
  if (!trigger) return;
  if (trigger.maxPerUser === null && trigger.maxPerDay === null && trigger.cooldownSeconds === null) return;
  // Claims through the trigger: of any campaign that uses it.
  const dayStart = startOfUtcDay(now);
  const [history] = await db
    .select({
      total: count(),
      today: sql<number>`count(*) filter (where ${claims.createdAt} >= ${dayStart.toISOString()})`.mapWith(Number),
      last: max(claims.createdAt),
    })
    .from(claims)
    .innerJoin(campaigns, eq(campaigns.id, claims.campaignId))
    .where(and(live, eq(claims.userId, userId), eq(campaigns.triggerId, trigger.id)));
  const total = Number(history?.total ?? 0);
  if (trigger.maxPerUser !== null && total >= trigger.maxPerUser) {
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
  const last = history?.last ? new Date(history.last) : undefined;
  if (trigger.cooldownSeconds !== null && last) {
    const waitMs = last.getTime() + trigger.cooldownSeconds * 1000 - now.getTime();
    if (waitMs > 0) {
      const retryAfterSeconds = Math.ceil(waitMs / 1000);
      throw claimRefused(409, "cooldown", `This user may claim through this trigger again in ${retryAfterSeconds} s.`, {
        retryAfterSeconds,
      });
    }
  }
}

/**
 * Counts the claim against its campaign's budget and its business's cap, one conditional UPDATE
 * each, refusing it when either is spent. Call last in the claim's transaction: the campaign's row
 * (and the engagement's) stays locked until commit, so claims of one campaign wait for each other
 * only that long.
 */
export async function countClaim(db: Database, claim: { campaign: Campaign; engagement?: Engagement }) {
  const { campaign, engagement } = claim;
  const [withinBudget] = await db
    .update(campaigns)
    .set({ liveClaims: sql`${campaigns.liveClaims} + 1` })
    .where(and(eq(campaigns.id, campaign.id), or(isNull(campaigns.budget), lt(campaigns.liveClaims, campaigns.budget))))
    .returning({ id: campaigns.id });
  if (!withinBudget) {
    throw claimRefused(409, "budget-exhausted", `The campaign's budget of ${campaign.budget} claims is spent.`);
  }
  if (!engagement) return;
  const [withinCap] = await db
    .update(campaignEngagements)
    .set({ liveClaims: sql`${campaignEngagements.liveClaims} + 1` })
    .where(
      and(
        eq(campaignEngagements.id, engagement.id),
        or(isNull(campaignEngagements.maxClaims), lt(campaignEngagements.liveClaims, campaignEngagements.maxClaims)),
      ),
    )
    .returning({ id: campaignEngagements.id });
  if (!withinCap) {
    throw claimRefused(409, "business-cap-reached", `The business has brought its ${engagement.maxClaims} claims.`);
  }
}
