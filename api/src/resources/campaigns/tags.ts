// A campaign's tags: lowercase slugs, at most MAX_TAGS, a set (PUT replaces it, POST adds one,
// DELETE removes one). Anyone who may see the campaign may read them.
import { and, asc, eq, inArray, sql } from "drizzle-orm";
import { z } from "zod";
import { access } from "../../auth/principal.ts";
import { campaigns, campaignTags } from "../../db/schema.ts";
import { scopeOf, tenantScope, type TenantScope } from "../../db/scope.ts";
import { conflict, notFound } from "../../errors.ts";
import { idParams } from "../../http/pagination.ts";
import { defineRoute, type Api } from "../../http/route.ts";
import { changesCampaignLists } from "./listCache.ts";
import { lockedOpenCampaign, openCampaign } from "./owned.ts";
import { MAX_TAGS, tag } from "./schema.ts";
import { visibleCampaign } from "./visibility.ts";

export const campaignTagSet = z.object({ tags: z.array(z.string()) }).meta({ id: "CampaignTags" });
const campaignTagsReplace = z.strictObject({ tags: z.array(tag).max(MAX_TAGS) }).meta({ id: "CampaignTagsReplace" });
const campaignTagAdd = z.strictObject({ tag }).meta({ id: "CampaignTagAdd" });
const tagParams = idParams.extend({ tag });

/** Each campaign's tags, in alphabetical order. */
/** A campaign's tags, sorted, as a column computed beside each campaign row. */
export const tagsColumn = sql<
  string[]
>`coalesce((select array_agg(${campaignTags.tag} order by ${campaignTags.tag}) from ${campaignTags} where ${campaignTags.campaignId} = ${campaigns.id}), '{}')`;

export async function tagsOf(scope: TenantScope, campaignIds: string[]): Promise<Map<string, string[]>> {
  const tags = new Map(campaignIds.map((id) => [id, [] as string[]]));
  if (!campaignIds.length) return tags;
  const rows = await scope.db
    .select({ campaignId: campaignTags.campaignId, tag: campaignTags.tag })
    .from(campaignTags)
    .where(scope.where(campaignTags, inArray(campaignTags.campaignId, campaignIds)))
    .orderBy(asc(campaignTags.tag));
  for (const row of rows) tags.get(row.campaignId)?.push(row.tag);
  return tags;
}

const answer = async (scope: TenantScope, campaignId: string) => ({
  tags: (await tagsOf(scope, [campaignId])).get(campaignId) ?? [],
});

const managers = access.levels("ADMIN", "SYSTEM");

export function registerCampaignTags(api: Api) {
  defineRoute(api, {
    method: "get",
    path: "/campaigns/:id/tags",
    summary: "A campaign's tags",
    tags: ["campaigns"],
    access: access.public,
    params: idParams,
    responses: { 200: { description: "The tags", schema: campaignTagSet } },
    handler: async (ctx) => {
      const scope = scopeOf(ctx);
      const campaign = await visibleCampaign(ctx, scope, ctx.input.params.id);
      ctx.body = await answer(scope, campaign.id);
    },
  });

  defineRoute(api, {
    method: "put",
    path: "/campaigns/:id/tags",
    summary: `Replace a campaign's tags (at most ${MAX_TAGS})`,
    tags: ["campaigns"],
    access: managers,
    before: [changesCampaignLists],
    params: idParams,
    body: campaignTagsReplace,
    errors: [409],
    responses: { 200: { description: "The tags now", schema: campaignTagSet } },
    handler: async (ctx) => {
      const scope = scopeOf(ctx);
      const tags = [...new Set(ctx.input.body.tags)];
      const campaign = await scope.db.transaction(async (tx) => {
        const locked = tenantScope(tx, scope.tenantId);
        const campaign = await lockedOpenCampaign(locked, ctx.input.params.id);
        await tx.delete(campaignTags).where(locked.where(campaignTags, eq(campaignTags.campaignId, campaign.id)));
        if (tags.length) {
          await tx
            .insert(campaignTags)
            .values(tags.map((tag) => ({ tenantId: scope.tenantId, campaignId: campaign.id, tag })))
            .onConflictDoNothing();
        }
        return campaign;
      });
      ctx.body = await answer(scope, campaign.id);
    },
  });

  defineRoute(api, {
    method: "post",
    path: "/campaigns/:id/tags",
    summary: "Add a tag to a campaign",
    tags: ["campaigns"],
    access: managers,
    before: [changesCampaignLists],
    params: idParams,
    body: campaignTagAdd,
    errors: [409],
    responses: { 201: { description: "The tags now", schema: campaignTagSet } },
    handler: async (ctx) => {
      const scope = scopeOf(ctx);
      const { tag } = ctx.input.body;
      const campaign = await scope.db.transaction(async (tx) => {
        const locked = tenantScope(tx, scope.tenantId);
        const campaign = await lockedOpenCampaign(locked, ctx.input.params.id);
        const { tags } = await answer(locked, campaign.id);
        if (tags.includes(tag)) throw conflict(`The campaign is already tagged ${tag}.`);
        if (tags.length >= MAX_TAGS) throw conflict(`A campaign has at most ${MAX_TAGS} tags.`);
        await tx
          .insert(campaignTags)
          .values({ tenantId: scope.tenantId, campaignId: campaign.id, tag })
          .onConflictDoNothing();
        return campaign;
      });
      ctx.status = 201;
      ctx.body = await answer(scope, campaign.id);
    },
  });

  defineRoute(api, {
    method: "delete",
    path: "/campaigns/:id/tags/:tag",
    summary: "Remove a tag from a campaign",
    tags: ["campaigns"],
    access: managers,
    before: [changesCampaignLists],
    params: tagParams,
    errors: [409],
    responses: { 204: { description: "Removed" } },
    handler: async (ctx) => {
      const scope = scopeOf(ctx);
      await scope.db.transaction(async (tx) => {
        const locked = tenantScope(tx, scope.tenantId);
        const campaign = await lockedOpenCampaign(locked, ctx.input.params.id);
        const removed = await tx
          .delete(campaignTags)
          .where(
            locked.where(
              campaignTags,
              and(eq(campaignTags.campaignId, campaign.id), eq(campaignTags.tag, ctx.input.params.tag)),
            ),
          )
          .returning({ tag: campaignTags.tag });
        if (!removed.length) throw notFound("tag on this campaign");
      });
      ctx.status = 204;
    },
  });
}
