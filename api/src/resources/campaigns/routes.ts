// Campaigns, the presentation half: title, description, image, targeting, window and limits, and
// a status that moves DRAFT → ACTIVE ⇄ PAUSED → CLOSED (CLOSED is final). The accounting half is
// published on chain by the relayer, which fills in onchainCampaignId. Tags, payouts and engaged
// businesses are sub-resources (tags.ts, tokens.ts, engagements.ts).
import { and, eq, gt, ilike, inArray, isNull, lte, or, type SQL } from "drizzle-orm";
import type { Context } from "koa";
import type { z } from "zod";
import { access } from "../../auth/principal.ts";
import { businesses, campaignTags, campaignTriggers, campaigns, users } from "../../db/schema.ts";
import { scopeOf, tenantScope, type TenantScope } from "../../db/scope.ts";
import { conflict, notFound, validationFailed } from "../../errors.ts";
import { date } from "../../http/fields.ts";
import { idParams } from "../../http/pagination.ts";
import { defineRoute, type Api } from "../../http/route.ts";
import { likeLiteral } from "../business-types/routes.ts";
import { registerCampaignEngagements } from "./engagements.ts";
import { assertOwned, lockedCampaign } from "./owned.ts";
import { campaignChanged } from "./publishing.ts";
import {
  campaign,
  campaignCreate,
  campaignList,
  campaignListQuery,
  campaignUpdate,
  type CampaignStatus,
} from "./schema.ts";
import { registerCampaignTags, tagsColumn, tagsOf } from "./tags.ts";
import { registerCampaignTokens } from "./tokens.ts";
import { changesCampaignLists } from "./listCache.ts";
import { managesCampaigns, viewOf, visibleCampaign, visibleToCaller } from "./visibility.ts";

type CampaignRow = typeof campaigns.$inferSelect;

/** The statuses a campaign may move to from each status. */
const NEXT_STATUSES: Record<CampaignStatus, CampaignStatus[]> = {
  DRAFT: ["ACTIVE", "CLOSED"],
  ACTIVE: ["PAUSED", "CLOSED"],
  PAUSED: ["ACTIVE", "CLOSED"],
  CLOSED: [],
};

function present(row: CampaignRow, tags: string[], withTargets: boolean) {
  return {
    id: row.id,
    title: row.title,
    description: row.description,
    imageUrl: row.imageUrl,
    visibility: row.visibility,
    // Whom a campaign targets is the tenant's business: other users' and businesses' ids stay hidden.
    ...(withTargets && {
      targetUserIds: row.targetUserIds,
      targetSegments: row.targetSegments,
      targetBusinessIds: row.targetBusinessIds,
    }),
    startsAt: date(row.startsAt),
    endsAt: date(row.endsAt),
    budget: row.budget,
    maxClaimsPerUser: row.maxClaimsPerUser,
    status: row.status,
    triggerId: row.triggerId,
    onchainCampaignId: row.onchainCampaignId,
    tags,
    createdAt: date(row.createdAt)!,
    updatedAt: date(row.updatedAt)!,
  };
}

async function presentOne(ctx: Context, scope: TenantScope, row: CampaignRow) {
  return present(row, (await tagsOf(scope, [row.id])).get(row.id) ?? [], managesCampaigns(ctx));
}

type Targeting = Pick<
  CampaignRow,
  "visibility" | "targetUserIds" | "targetSegments" | "targetBusinessIds" | "startsAt" | "endsAt"
>;

/** What a campaign must be as a whole, whichever fields a request changed. */
function campaignIssues(campaign: Targeting) {
  const issues: { path: string; message: string }[] = [];
  if (campaign.startsAt && campaign.endsAt && campaign.endsAt <= campaign.startsAt) {
    issues.push({ path: "body.endsAt", message: "must be after startsAt" });
  }
  const targets = {
    targetUserIds: campaign.targetUserIds,
    targetSegments: campaign.targetSegments,
    targetBusinessIds: campaign.targetBusinessIds,
  };
  if (campaign.visibility === "PUBLIC") {
    for (const [field, values] of Object.entries(targets)) {
      if (values.length) issues.push({ path: `body.${field}`, message: "only a TARGETED campaign has targets" });
    }
  } else if (Object.values(targets).every((values) => !values.length)) {
    issues.push({
      path: "body.visibility",
      message: "a TARGETED campaign needs targetUserIds, targetSegments or targetBusinessIds",
    });
  }
  return issues;
}

/** The users, businesses and trigger a request names must be the tenant's own (404 otherwise). */
async function assertReferences(
  scope: TenantScope,
  body: { targetUserIds?: string[]; targetBusinessIds?: string[]; triggerId?: string | null },
) {
  await assertOwned(scope, users, body.targetUserIds ?? [], "user");
  await assertOwned(scope, businesses, body.targetBusinessIds ?? [], "business");
  if (body.triggerId) await assertOwned(scope, campaignTriggers, [body.triggerId], "campaign trigger");
}

const distinct = <T>(values: T[] | undefined) => (values === undefined ? undefined : [...new Set(values)]);
const asDate = (value: string | null | undefined) =>
  value === undefined ? undefined : value === null ? null : new Date(value);

/** The campaign list's filters, each a condition on `campaigns`. */
function filters(scope: TenantScope, query: z.output<typeof campaignListQuery>): (SQL | undefined)[] {
  const now = new Date();
  const started = or(isNull(campaigns.startsAt), lte(campaigns.startsAt, now));
  const notEnded = or(isNull(campaigns.endsAt), gt(campaigns.endsAt, now));
  return [
    query.status === undefined ? undefined : eq(campaigns.status, query.status),
    query.visibility === undefined ? undefined : eq(campaigns.visibility, query.visibility),
    query.title ? ilike(campaigns.title, likeLiteral(query.title)) : undefined,
    query.activeNow === undefined
      ? undefined
      : query.activeNow
        ? and(started, notEnded)
        : or(gt(campaigns.startsAt, now), lte(campaigns.endsAt, now)),
    query.tag === undefined
      ? undefined
      : inArray(
          campaigns.id,
          scope.db
            .select({ id: campaignTags.campaignId })
            .from(campaignTags)
            .where(scope.where(campaignTags, eq(campaignTags.tag, query.tag))),
        ),
  ];
}

const managers = access.levels("ADMIN", "SYSTEM");
const SORT_COLUMNS = {
  createdAt: campaigns.createdAt,
  startsAt: campaigns.startsAt,
  endsAt: campaigns.endsAt,
  title: campaigns.title,
};

export function registerCampaigns(api: Api) {
  defineRoute(api, {
    method: "post",
    path: "/campaigns",
    summary: "Create a campaign (DRAFT unless created ACTIVE)",
    tags: ["campaigns"],
    access: managers,
    before: [changesCampaignLists],
    body: campaignCreate,
    responses: { 201: { description: "Created", schema: campaign } },
    handler: async (ctx) => {
      const scope = scopeOf(ctx);
      const body = ctx.input.body;
      const values = {
        title: body.title,
        description: body.description ?? null,
        imageUrl: body.imageUrl ?? null,
        visibility: body.visibility,
        targetUserIds: distinct(body.targetUserIds) ?? [],
        targetSegments: distinct(body.targetSegments) ?? [],
        targetBusinessIds: distinct(body.targetBusinessIds) ?? [],
        startsAt: asDate(body.startsAt) ?? null,
        endsAt: asDate(body.endsAt) ?? null,
        budget: body.budget ?? null,
        maxClaimsPerUser: body.maxClaimsPerUser ?? null,
        status: body.status,
        triggerId: body.triggerId ?? null,
      };
      const issues = campaignIssues(values);
      if (issues.length) throw validationFailed(issues);
      await assertReferences(scope, body);
      const row = await scope.insert(campaigns, values);
      ctx.status = 201;
      ctx.body = present(row, [], true);
    },
  });

  defineRoute(api, {
    method: "get",
    path: "/campaigns",
    summary: "List the campaigns the caller may see",
    tags: ["campaigns"],
    access: access.public,
    query: campaignListQuery,
    responses: { 200: { description: "A page of campaigns", schema: campaignList } },
    handler: async (ctx) => {
      const scope = scopeOf(ctx);
      const query = ctx.input.query;
      ctx.type = "application/json";
      ctx.body = await ctx.services.campaignLists.answer(
        { tenantId: scope.tenantId, view: viewOf(ctx), query },
        async () => {
          // The page with each campaign's tags in one query (its total apart, when the page is full):
          // this list is the hot read of dApps.
          const result = await scope.list<typeof campaigns, { tags: string[] }>(campaigns, {
            page: query.page,
            limit: query.limit,
            order: query.order,
            orderBy: SORT_COLUMNS[query.sort],
            where: [await visibleToCaller(ctx, scope), ...filters(scope, query)],
            extra: { tags: tagsColumn },
          });
          const withTargets = managesCampaigns(ctx);
          return JSON.stringify({
            data: result.data.map((row) => present(row, row.tags, withTargets)),
            pagination: result.pagination,
          });
        },
      );
    },
  });

  defineRoute(api, {
    method: "get",
    path: "/campaigns/:id",
    summary: "Read a campaign the caller may see",
    tags: ["campaigns"],
    access: access.public,
    params: idParams,
    responses: { 200: { description: "The campaign", schema: campaign } },
    handler: async (ctx) => {
      const scope = scopeOf(ctx);
      ctx.body = await presentOne(ctx, scope, await visibleCampaign(ctx, scope, ctx.input.params.id));
    },
  });

  defineRoute(api, {
    method: "patch",
    path: "/campaigns/:id",
    summary: "Update a campaign or move its status (null clears a field)",
    tags: ["campaigns"],
    access: managers,
    before: [changesCampaignLists],
    params: idParams,
    body: campaignUpdate,
    errors: [409],
    responses: { 200: { description: "The updated campaign", schema: campaign } },
    handler: async (ctx) => {
      const scope = scopeOf(ctx);
      const body = ctx.input.body;
      const changes = {
        title: body.title,
        description: body.description,
        imageUrl: body.imageUrl,
        visibility: body.visibility,
        targetUserIds: distinct(body.targetUserIds),
        targetSegments: distinct(body.targetSegments),
        targetBusinessIds: distinct(body.targetBusinessIds),
        startsAt: asDate(body.startsAt),
        endsAt: asDate(body.endsAt),
        budget: body.budget,
        maxClaimsPerUser: body.maxClaimsPerUser,
        status: body.status,
        triggerId: body.triggerId,
      };
      // The campaign is checked under its row lock, and the change and the on-chain writes it calls
      // for (publishing.ts) commit together: a racing close or pause waits, then sees this change.
      const row = await scope.db.transaction(async (tx) => {
        const locked = tenantScope(tx, scope.tenantId);
        const existing = await lockedCampaign(locked, ctx.input.params.id);
        if (existing.status === "CLOSED") throw conflict("This campaign is CLOSED: a closed campaign is final.");
        if (body.status !== undefined && body.status !== existing.status) {
          if (!NEXT_STATUSES[existing.status].includes(body.status)) {
            throw conflict(`A campaign cannot go from ${existing.status} to ${body.status}.`);
          }
        }
        const merged = { ...existing };
        for (const [field, value] of Object.entries(changes)) {
          if (value !== undefined) Object.assign(merged, { [field]: value });
        }
        const issues = campaignIssues(merged);
        if (issues.length) throw validationFailed(issues);
        await assertReferences(locked, body);
        // drizzle leaves the fields that are undefined (not sent) as they are.
        const updated = await locked.update(campaigns, existing.id, changes, "campaign");
        await campaignChanged(tx, existing, updated);
        return updated;
      });
      ctx.body = await presentOne(ctx, scope, row);
    },
  });

  defineRoute(api, {
    method: "delete",
    path: "/campaigns/:id",
    summary: "Delete a DRAFT campaign; close any other (a campaign that ran is kept, CLOSED)",
    tags: ["campaigns"],
    access: managers,
    before: [changesCampaignLists],
    params: idParams,
    errors: [409],
    responses: {
      200: { description: "Closed", schema: campaign },
      204: { description: "Deleted (it was a DRAFT)" },
    },
    handler: async (ctx) => {
      const scope = scopeOf(ctx);
      // Under the campaign's row lock, as PATCH: a draft activated meanwhile is closed, not deleted.
      const closed = await scope.db.transaction(async (tx) => {
        const locked = tenantScope(tx, scope.tenantId);
        const existing = await lockedCampaign(locked, ctx.input.params.id);
        if (existing.status === "CLOSED") throw conflict("This campaign is already CLOSED.");
        if (existing.status === "DRAFT") {
          await locked.remove(campaigns, existing.id, "campaign");
          return undefined;
        }
        const row = await locked.update(campaigns, existing.id, { status: "CLOSED" }, "campaign");
        await campaignChanged(tx, existing, row);
        return row;
      });
      if (!closed) {
        ctx.status = 204;
        return;
      }
      ctx.body = await presentOne(ctx, scope, closed);
    },
  });

  registerCampaignTags(api);
  registerCampaignTokens(api);
  registerCampaignEngagements(api);
}
