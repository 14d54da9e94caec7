// Businesses taking part in a campaign, each with an optional cap on the claims it brings. Anyone
// who may see the campaign may see which businesses take part.
import { and, eq } from "drizzle-orm";
import { z } from "zod";
import { access } from "../../auth/principal.ts";
import { businesses, campaignEngagements } from "../../db/schema.ts";
import { scopeOf, tenantScope } from "../../db/scope.ts";
import { conflict, notFound } from "../../errors.ts";
import { date, id } from "../../http/fields.ts";
import { idParams, listQuery, paginated } from "../../http/pagination.ts";
import { defineRoute, type Api } from "../../http/route.ts";
import { assertOwned, lockedOpenCampaign, openCampaign } from "./owned.ts";
import { engagementChanged } from "./publishing.ts";
import { count } from "./schema.ts";
import { visibleCampaign } from "./visibility.ts";

const maxClaims = count.nullable().optional().meta({ description: "Claims this business may bring in all" });

const engagementCreate = z
  .strictObject({ businessId: z.uuid().meta({ description: "One of the tenant's businesses" }), maxClaims })
  .meta({ id: "CampaignEngagementCreate" });
const engagementUpdate = z
  .strictObject({ maxClaims, active: z.boolean().optional() })
  .meta({ id: "CampaignEngagementUpdate" });
const engagement = z
  .object({
    id: z.uuid(),
    campaignId: z.uuid(),
    businessId: z.uuid(),
    maxClaims: z.number().int().nullable(),
    active: z.boolean(),
    createdAt: z.string(),
  })
  .meta({ id: "CampaignEngagement" });
const engagementList = paginated(engagement, "CampaignEngagement");
const engagementListQuery = listQuery(["createdAt"], { active: z.stringbool().optional() });
const engagementParams = idParams.extend({ engagementId: id });

const present = (row: typeof campaignEngagements.$inferSelect) => ({
  id: row.id,
  campaignId: row.campaignId,
  businessId: row.businessId,
  maxClaims: row.maxClaims,
  active: row.active,
  createdAt: date(row.createdAt)!,
});

const managers = access.levels("ADMIN", "SYSTEM");

export function registerCampaignEngagements(api: Api) {
  defineRoute(api, {
    method: "get",
    path: "/campaigns/:id/engagements",
    summary: "The businesses taking part in a campaign",
    tags: ["campaigns"],
    access: access.public,
    params: idParams,
    query: engagementListQuery,
    responses: { 200: { description: "A page of engagements", schema: engagementList } },
    handler: async (ctx) => {
      const scope = scopeOf(ctx);
      const campaign = await visibleCampaign(ctx, scope, ctx.input.params.id);
      const { page, limit, order, active } = ctx.input.query;
      const result = await scope.list(campaignEngagements, {
        page,
        limit,
        order,
        orderBy: campaignEngagements.createdAt,
        where: [
          eq(campaignEngagements.campaignId, campaign.id),
          active === undefined ? undefined : eq(campaignEngagements.active, active),
        ],
      });
      ctx.body = { data: result.data.map(present), pagination: result.pagination };
    },
  });

  defineRoute(api, {
    method: "post",
    path: "/campaigns/:id/engagements",
    summary: "Engage a business in a campaign",
    tags: ["campaigns"],
    access: managers,
    params: idParams,
    body: engagementCreate,
    errors: [409],
    responses: { 201: { description: "Engaged", schema: engagement } },
    handler: async (ctx) => {
      const scope = scopeOf(ctx);
      const campaign = await openCampaign(scope, ctx.input.params.id);
      const { businessId, maxClaims } = ctx.input.body;
      await assertOwned(scope, businesses, [businessId], "business");
      const [taken] = await scope.db
        .select({ id: campaignEngagements.id })
        .from(campaignEngagements)
        .where(
          scope.where(
            campaignEngagements,
            and(eq(campaignEngagements.campaignId, campaign.id), eq(campaignEngagements.businessId, businessId)),
          ),
        );
      if (taken) throw conflict("This business already takes part in the campaign.");
      const row = await scope.db
        .transaction(async (tx) => {
          // Read again under the campaign's lock: it may have closed since.
          const locked = tenantScope(tx, scope.tenantId);
          const current = await lockedOpenCampaign(locked, campaign.id);
          const engaged = await locked.insert(campaignEngagements, {
            campaignId: current.id,
            businessId,
            maxClaims: maxClaims ?? null,
          });
          await engagementChanged(tx, current, businessId);
          return engaged;
        })
        .catch((error: unknown) => {
          // Two requests engaging the same business at once: the unique index decides.
          const code = (error as { code?: string; cause?: { code?: string } }).cause?.code;
          throw code === "23505" || (error as { code?: string }).code === "23505"
            ? conflict("This business already takes part in the campaign.")
            : error;
        });
      ctx.status = 201;
      ctx.body = present(row);
    },
  });

  defineRoute(api, {
    method: "patch",
    path: "/campaigns/:id/engagements/:engagementId",
    summary: "Change a business's cap in a campaign, or (de)activate it",
    tags: ["campaigns"],
    access: managers,
    params: engagementParams,
    body: engagementUpdate,
    errors: [409],
    responses: { 200: { description: "The engagement", schema: engagement } },
    handler: async (ctx) => {
      const scope = scopeOf(ctx);
      const campaign = await openCampaign(scope, ctx.input.params.id);
      const existing = await scope.find(campaignEngagements, ctx.input.params.engagementId, "engagement");
      if (existing.campaignId !== campaign.id) throw notFound("engagement");
      const { maxClaims, active } = ctx.input.body;
      const changed = maxClaims !== undefined || active !== undefined;
      if (!changed) {
        ctx.body = present(existing);
        return;
      }
      ctx.body = present(
        await scope.db.transaction(async (tx) => {
          const locked = tenantScope(tx, scope.tenantId);
          const current = await lockedOpenCampaign(locked, campaign.id);
          const updated = await locked.update(campaignEngagements, existing.id, { maxClaims, active }, "engagement");
          await engagementChanged(tx, current, existing.businessId);
          return updated;
        }),
      );
    },
  });

  defineRoute(api, {
    method: "delete",
    path: "/campaigns/:id/engagements/:engagementId",
    summary: "Remove a business from a campaign",
    tags: ["campaigns"],
    access: managers,
    params: engagementParams,
    errors: [409],
    responses: { 204: { description: "Removed" } },
    handler: async (ctx) => {
      const scope = scopeOf(ctx);
      const campaign = await openCampaign(scope, ctx.input.params.id);
      const existing = await scope.find(campaignEngagements, ctx.input.params.engagementId, "engagement");
      if (existing.campaignId !== campaign.id) throw notFound("engagement");
      await scope.db.transaction(async (tx) => {
        const locked = tenantScope(tx, scope.tenantId);
        const current = await lockedOpenCampaign(locked, campaign.id);
        await locked.remove(campaignEngagements, existing.id, "engagement");
        await engagementChanged(tx, current, existing.businessId);
      });
      ctx.status = 204;
    },
  });
}
