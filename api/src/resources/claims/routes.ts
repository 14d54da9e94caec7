// Claims: a user asks (or a business, an integration, a trigger source or an admin asks for them) to
// be paid a campaign's payouts. Eligibility is decided here, at once; an accepted claim is recorded
// with its relay job in one transaction and answered 202, and the relayer pays it on chain in a
// claimBatch (api/src/relay/kinds/claim.ts). The checks that read only the request and rows that do
// not change under it are made here, per request; the claim writer (./writer.ts) checks the rest
// and records the claim, with others that arrived at the same moment, in one transaction. GET
// shows its progress.
//
// Who claims for whom:
// - USER: for themselves.
// - BUSINESS: for a user, as its business (which must take part in the campaign).
// - SYSTEM: an API key; or, with only X-Project-Key, a trigger source's signed QR payload or webhook.
// - ADMIN: a manual claim for any user of the tenant.
// Every claim meets every rule of its campaign (status, on chain, window, targeting, budget, per-user
// cap, business engagement and cap) and of its campaign's trigger (per user, per day, cool-down,
// distance, conditions). A USER's claim of a campaign whose trigger has active sources must carry
// the payload of one of them: it is how a user shows they were there.
import { and, eq, gte, inArray, isNull, lt, notInArray, or, type SQL } from "drizzle-orm";
import type { Context } from "koa";
import type { Address } from "viem";
import { access, type Level, type TenantPrincipal } from "../../auth/principal.ts";
import type { Database } from "../../db/client.ts";
import { claims, relayJobs, relayTransactions } from "../../db/relaySchema.ts";
import {
  businesses,
  campaignEngagements,
  campaignTriggers,
  campaigns,
  triggerSources,
  users,
} from "../../db/schema.ts";
import { scopeOf, type TenantScope } from "../../db/scope.ts";
import { claimRefused, forbidden, notFound, Problem, unauthorized, validationFailed } from "../../errors.ts";
import { date } from "../../http/fields.ts";
import { idParams } from "../../http/pagination.ts";
import type { HeldKey } from "../../http/idempotency.ts";
import { defineRoute, type Api } from "../../http/route.ts";
import { checkCampaign, checkRequest } from "./eligibility.ts";
import { ACCEPTED_STATUS, acceptedAnswer, isCampaignChanged, type ClaimRequest } from "./writer.ts";
import { claim, claimAccepted, claimCreate, claimList, claimListQuery, type ClaimCreate } from "./schema.ts";
import { verifyTriggerProof, type TriggerProof } from "./triggerProof.ts";
import { anyOf } from "../../db/anyOf.ts";

type ClaimRow = typeof claims.$inferSelect;
type CampaignRow = typeof campaigns.$inferSelect;
type Progress = { jobStatus: string | null; hashes: string[] | null; minedHash: string | null };

function present(row: ClaimRow, progress?: Progress) {
  // Until the claim settles, its job tells how far it went and which transaction carries it.
  const inFlight = row.status === "PENDING" && progress?.jobStatus === "SUBMITTED";
  return {
    id: row.id,
    claimId: String(row.onchainClaimId),
    campaignId: row.campaignId,
    userId: row.userId,
    recipient: row.recipient,
    source: row.source,
    businessId: row.businessId,
    triggerSourceId: row.triggerSourceId,
    location: row.latitude !== null && row.longitude !== null ? { lat: row.latitude, lng: row.longitude } : null,
    status: inFlight ? ("SUBMITTED" as const) : row.status,
    transactionHash:
      row.transactionHash ?? (inFlight ? (progress?.minedHash ?? progress?.hashes?.at(-1) ?? null) : null),
    error: row.error,
    createdAt: date(row.createdAt)!,
    updatedAt: date(row.updatedAt)!,
  };
}

async function progressOf(db: Database, rows: ClaimRow[]): Promise<Map<string, Progress>> {
  const jobIds = rows.flatMap((row) => (row.jobId && row.status === "PENDING" ? [row.jobId] : []));
  if (!jobIds.length) return new Map();
  const found = await db
    .select({
      id: relayJobs.id,
      jobStatus: relayJobs.status,
      hashes: relayTransactions.hashes,
      minedHash: relayTransactions.minedHash,
    })
    .from(relayJobs)
    .leftJoin(relayTransactions, eq(relayTransactions.id, relayJobs.transactionId))
    .where(anyOf(relayJobs.id, jobIds));
  return new Map(found.map(({ id, ...progress }) => [id, progress]));
}

/** The rows a caller may see: a USER their own claims, a BUSINESS those it brought, ADMIN and SYSTEM all. */
function visibleTo(ctx: Context): SQL | undefined {
  const principal = ctx.state.principal as TenantPrincipal;
  if (principal.level === "USER") return eq(claims.userId, principal.userId ?? "");
  if (principal.level === "BUSINESS") return eq(claims.businessId, principal.businessId ?? "");
  return undefined;
}

/** Whom the claim pays: the USER caller, or the user named by id or wallet. */
async function recipientOf(
  scope: TenantScope,
  principal: TenantPrincipal | undefined,
  body: { userId?: string; recipient?: Address },
) {
  if (principal?.level === "USER") {
    const self = principal.userId;
    const [user] = self
      ? await scope.db
          .select()
          .from(users)
          .where(scope.where(users, eq(users.id, self)))
      : [];
    if (!user) throw unauthorized("This user no longer exists.");
    const named = body.userId ?? body.recipient;
    if (named !== undefined && named !== user.id && named.toLowerCase() !== user.walletAddress.toLowerCase()) {
      throw forbidden("A user claims for themselves only.");
    }
    return user;
  }
  if (body.userId !== undefined) return scope.findShared(users, body.userId, "user");
  if (body.recipient !== undefined) {
    const [user] = await scope.db
      .select()
      .from(users)
      .where(scope.where(users, eq(users.walletAddress, body.recipient)));
    if (!user) throw notFound("user with that wallet");
    return user;
  }
  throw validationFailed([{ path: "body.userId", message: "name whom the claim pays: userId or recipient" }]);
}

const targets = (campaign: CampaignRow, user: typeof users.$inferSelect, businessId: string | undefined) =>
  campaign.visibility === "PUBLIC" ||
  campaign.targetUserIds.includes(user.id) ||
  campaign.targetSegments.some((segment) => user.segments.includes(segment)) ||
  (businessId !== undefined && campaign.targetBusinessIds.includes(businessId));

/** Who claims, for whom, with what: all of a claim request that does not depend on its campaign. */
type Claimant = {
  scope: TenantScope;
  principal: TenantPrincipal | undefined;
  level: Level;
  body: ClaimCreate;
  proof: TriggerProof | undefined;
  user: typeof users.$inferSelect;
  idempotencyKey: HeldKey | undefined;
};

/** Checks the claim against its campaign and trigger; what the writer is to record, or the refusal. */
async function checkClaim(
  { scope, principal, level, body, proof, user, idempotencyKey }: Claimant,
  campaign: CampaignRow,
): Promise<ClaimRequest> {
  const now = new Date();
  if (!user.active) throw claimRefused(409, "user-inactive", "This user is inactive.");
  if (level === "BUSINESS" && body.businessId !== undefined && body.businessId !== principal?.businessId) {
    throw forbidden("A business claims as itself only.");
  }
  // A user's own request, or one vouched for by a QR code (whose signature covers its payload, not
  // the body), says nothing trustworthy about which business brought it or what happened: naming a
  // business would pass its targeting and spend its cap, and facts would meet any condition.
  const vouched =
    level === "BUSINESS" ||
    level === "ADMIN" ||
    (level === "SYSTEM" && principal !== undefined) ||
    proof?.source.type === "API_WEBHOOK";
  if (!vouched && body.businessId !== undefined) {
    throw forbidden("Only the business itself, an admin, a SYSTEM key or a signed webhook names the business.");
  }
  if (!vouched && body.facts !== undefined) {
    throw forbidden("Facts come from a business, an admin, a SYSTEM key or a signed webhook, not from the user.");
  }
  const businessId = level === "BUSINESS" ? principal?.businessId : body.businessId;
  if (level === "BUSINESS" && !businessId) throw forbidden("This access token acts for no business.");
  const business = businessId ? await scope.find(businesses, businessId, "business") : undefined;
  if (business && !business.active) throw claimRefused(409, "business-inactive", "This business is inactive.");

  // Campaigns a caller may not see do not exist for them: drafts, and TARGETED ones not theirs (a
  // business sees those that target it). A signed webhook speaks for the tenant, and a QR payload
  // made for the campaign has told its holder that it exists: they learn why.
  const seesAll = level === "ADMIN" || (level === "SYSTEM" && principal !== undefined);
  if (!seesAll && campaign.status === "DRAFT") throw notFound("campaign");
  if (!targets(campaign, user, businessId)) {
    const toldOfIt = seesAll || proof?.source.type === "API_WEBHOOK" || proof?.campaignId === campaign.id;
    if (!toldOfIt) throw notFound("campaign");
    throw claimRefused(422, "not-targeted", "This TARGETED campaign is not for this user or business.");
  }

  if (proof) {
    if (proof.campaignId !== undefined && proof.campaignId !== campaign.id) {
      throw claimRefused(422, "trigger-payload-campaign", "The QR payload was made for another campaign.");
    }
    if (proof.source.triggerId !== campaign.triggerId) {
      throw claimRefused(422, "trigger-source-campaign", "This trigger source does not serve this campaign.");
    }
  }
  // The writer checks status and window again under its lock.
  checkCampaign(campaign, now);
  const trigger = campaign.triggerId
    ? await scope.find(campaignTriggers, campaign.triggerId, "campaign trigger")
    : undefined;
  if (trigger && level === "USER" && !proof) {
    const [source] = await scope.db
      .select({ id: triggerSources.id })
      .from(triggerSources)
      .where(scope.where(triggerSources, eq(triggerSources.triggerId, trigger.id), eq(triggerSources.active, true)))
      .limit(1);
    if (source) {
      throw claimRefused(422, "trigger-source-required", "Claim this campaign with a payload of its trigger source.");
    }
  }
  let engagement: typeof campaignEngagements.$inferSelect | undefined;
  if (business) {
    [engagement] = await scope.db
      .select()
      .from(campaignEngagements)
      .where(
        scope.where(
          campaignEngagements,
          eq(campaignEngagements.campaignId, campaign.id),
          eq(campaignEngagements.businessId, business.id),
        ),
      );
    if (!engagement?.active) {
      throw claimRefused(409, "business-not-engaged", "This business does not take part in the campaign.");
    }
  }
  if (trigger) await checkRequest(trigger, body);
  return {
    tenantId: scope.tenantId,
    campaignId: campaign.id,
    checkedAgainst: campaign,
    user,
    source: level,
    ...(business && engagement && { business: { ...business, engagementId: engagement.id } }),
    ...(trigger && { trigger }),
    ...(proof && { proof: proof.use }),
    ...(body.location && { location: body.location }),
    ...(idempotencyKey && { idempotencyKey }),
  };
}

export function registerClaims(api: Api) {
  defineRoute(api, {
    method: "post",
    path: "/campaigns/claims",
    summary: "Claim a campaign for a user: checked at once, paid on chain by the relayer",
    tags: ["claims"],
    // Any tenant caller; X-Project-Key alone only with a trigger source's proof (checked in the handler).
    access: access.public,
    body: claimCreate,
    // The writer takes the key and keeps the answer in the claim's own transaction.
    idempotent: "in-route",
    errors: [404, 409, 422],
    responses: { 202: { description: "Accepted: the claim is queued for the chain", schema: claimAccepted } },
    handler: async (ctx) => {
      const scope = scopeOf(ctx);
      const principal = ctx.state.principal?.kind === "tenant" ? ctx.state.principal : undefined;
      const body = ctx.input.body;
      const proof = await verifyTriggerProof(ctx, scope, body);
      if (!principal && !proof) {
        throw unauthorized("Claim with an access token or an API key, or with a trigger source's signed payload.");
      }
      const level: Level = principal?.level ?? "SYSTEM";
      const { recentCampaigns, claimWriter } = ctx.services;
      const recent = await recentCampaigns.find(scope, body.campaignId);
      const user = await recipientOf(scope, principal, body);
      const claimant: Claimant = { scope, principal, level, body, proof, user, idempotencyKey: ctx.state.idempotency };
      const freshCheck = async () => checkClaim(claimant, await recentCampaigns.read(scope, body.campaignId));

      // A campaign read lately is a hint (./recentCampaigns.ts): a refusal stands only if a fresh
      // read agrees, and the writer refuses with campaign-changed what was checked against an old row.
      let request: ClaimRequest;
      try {
        request = await checkClaim(claimant, recent.campaign);
      } catch (error) {
        if (!recent.kept || !(error instanceof Problem)) throw error;
        request = await freshCheck();
      }
      let accepted;
      try {
        accepted = await claimWriter.record(request);
      } catch (error) {
        if (!isCampaignChanged(error)) throw error;
        accepted = await claimWriter.record(await freshCheck());
      }
      // The writer kept this answer for repeats of the Idempotency-Key, with the claim.
      if (ctx.state.idempotency) ctx.state.idempotency.kept = true;
      ctx.status = ACCEPTED_STATUS;
      ctx.set("Location", `/campaigns/claims/${accepted.id}`);
      ctx.body = acceptedAnswer(accepted);
    },
  });

  defineRoute(api, {
    method: "get",
    path: "/campaigns/claims",
    summary: "List claims (a USER sees their own, a BUSINESS those it brought)",
    tags: ["claims"],
    access: access.levels("USER", "BUSINESS", "ADMIN", "SYSTEM"),
    query: claimListQuery,
    responses: { 200: { description: "A page of claims", schema: claimList } },
    handler: async (ctx) => {
      const scope = scopeOf(ctx);
      const { page, limit, order, campaignId, userId, businessId, status, from, to } = ctx.input.query;
      const submitted = scope.db
        .select({ id: relayJobs.id })
        .from(relayJobs)
        .where(and(eq(relayJobs.tenantId, scope.tenantId), eq(relayJobs.status, "SUBMITTED")));
      const statusFilter =
        status === undefined
          ? undefined
          : status === "SUBMITTED"
            ? and(eq(claims.status, "PENDING"), inArray(claims.jobId, submitted))
            : status === "PENDING"
              ? and(eq(claims.status, "PENDING"), or(isNull(claims.jobId), notInArray(claims.jobId, submitted)))
              : eq(claims.status, status);
      const result = await scope.list(claims, {
        page,
        limit,
        order,
        orderBy: claims.createdAt,
        where: [
          visibleTo(ctx),
          campaignId === undefined ? undefined : eq(claims.campaignId, campaignId),
          userId === undefined ? undefined : eq(claims.userId, userId),
          businessId === undefined ? undefined : eq(claims.businessId, businessId),
          statusFilter,
          from === undefined ? undefined : gte(claims.createdAt, new Date(from)),
          to === undefined ? undefined : lt(claims.createdAt, new Date(to)),
        ],
      });
      const progress = await progressOf(scope.db, result.data);
      ctx.body = {
        data: result.data.map((row) => present(row, row.jobId ? progress.get(row.jobId) : undefined)),
        pagination: result.pagination,
      };
    },
  });

  defineRoute(api, {
    method: "get",
    path: "/campaigns/claims/:id",
    summary: "A claim's progress: status, transaction, error",
    tags: ["claims"],
    access: access.levels("USER", "BUSINESS", "ADMIN", "SYSTEM"),
    params: idParams,
    responses: { 200: { description: "The claim", schema: claim } },
    handler: async (ctx) => {
      const scope = scopeOf(ctx);
      const [row] = await scope.db
        .select()
        .from(claims)
        .where(scope.where(claims, eq(claims.id, ctx.input.params.id), visibleTo(ctx)))
        .limit(1);
      if (!row) throw notFound("claim");
      const progress = await progressOf(scope.db, [row]);
      ctx.body = present(row, row.jobId ? progress.get(row.jobId) : undefined);
    },
  });
}
