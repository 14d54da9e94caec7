// Campaign triggers: the limits a claim through a trigger must respect (per user, per day,
// cool-down, distance from a point) and json-rules-engine conditions over the claim's facts.
import { and, eq, ilike, ne } from "drizzle-orm";
import { access } from "../../auth/principal.ts";
import { campaigns, campaignTriggers, triggerSources } from "../../db/schema.ts";
import { scopeOf } from "../../db/scope.ts";
import { conflict, validationFailed } from "../../errors.ts";
import { date } from "../../http/fields.ts";
import { idParams } from "../../http/pagination.ts";
import { defineRoute, type Api } from "../../http/route.ts";
import { likeLiteral } from "../business-types/routes.ts";
import {
  campaignTrigger,
  campaignTriggerCreate,
  campaignTriggerList,
  campaignTriggerListQuery,
  campaignTriggerUpdate,
  geoIssues,
} from "./schema.ts";

const present = (row: typeof campaignTriggers.$inferSelect) => ({
  id: row.id,
  name: row.name,
  maxPerUser: row.maxPerUser,
  maxPerDay: row.maxPerDay,
  cooldownSeconds: row.cooldownSeconds,
  maxGeoDistanceMeters: row.maxGeoDistanceMeters,
  latitude: row.latitude,
  longitude: row.longitude,
  conditions: row.conditions,
  createdAt: date(row.createdAt)!,
  updatedAt: date(row.updatedAt)!,
});

const managers = access.levels("ADMIN", "SYSTEM");

export function registerCampaignTriggers(api: Api) {
  defineRoute(api, {
    method: "post",
    path: "/campaign-triggers",
    summary: "Create a campaign trigger",
    tags: ["campaign-triggers"],
    access: managers,
    body: campaignTriggerCreate,
    responses: { 201: { description: "Created", schema: campaignTrigger } },
    handler: async (ctx) => {
      const body = ctx.input.body;
      const issues = geoIssues(body);
      if (issues.length) throw validationFailed(issues);
      ctx.status = 201;
      ctx.body = present(
        await scopeOf(ctx).insert(campaignTriggers, {
          name: body.name,
          maxPerUser: body.maxPerUser ?? null,
          maxPerDay: body.maxPerDay ?? null,
          cooldownSeconds: body.cooldownSeconds ?? null,
          maxGeoDistanceMeters: body.maxGeoDistanceMeters ?? null,
          latitude: body.latitude ?? null,
          longitude: body.longitude ?? null,
          conditions: body.conditions ?? null,
        }),
      );
    },
  });

  defineRoute(api, {
    method: "get",
    path: "/campaign-triggers",
    summary: "List campaign triggers",
    tags: ["campaign-triggers"],
    access: managers,
    query: campaignTriggerListQuery,
    responses: { 200: { description: "A page of triggers", schema: campaignTriggerList } },
    handler: async (ctx) => {
      const { page, limit, sort, order, name } = ctx.input.query;
      const result = await scopeOf(ctx).list(campaignTriggers, {
        page,
        limit,
        order,
        orderBy: sort === "name" ? campaignTriggers.name : campaignTriggers.createdAt,
        where: [name ? ilike(campaignTriggers.name, likeLiteral(name)) : undefined],
      });
      ctx.body = { data: result.data.map(present), pagination: result.pagination };
    },
  });

  defineRoute(api, {
    method: "get",
    path: "/campaign-triggers/:id",
    summary: "Read a campaign trigger",
    tags: ["campaign-triggers"],
    access: managers,
    params: idParams,
    responses: { 200: { description: "The trigger", schema: campaignTrigger } },
    handler: async (ctx) => {
      ctx.body = present(await scopeOf(ctx).find(campaignTriggers, ctx.input.params.id, "campaign trigger"));
    },
  });

  defineRoute(api, {
    method: "patch",
    path: "/campaign-triggers/:id",
    summary: "Update a campaign trigger (null clears a limit)",
    tags: ["campaign-triggers"],
    access: managers,
    params: idParams,
    body: campaignTriggerUpdate,
    responses: { 200: { description: "The updated trigger", schema: campaignTrigger } },
    handler: async (ctx) => {
      const scope = scopeOf(ctx);
      const existing = await scope.find(campaignTriggers, ctx.input.params.id, "campaign trigger");
      const changes = ctx.input.body;
      const issues = geoIssues({
        maxGeoDistanceMeters:
          changes.maxGeoDistanceMeters === undefined ? existing.maxGeoDistanceMeters : changes.maxGeoDistanceMeters,
        latitude: changes.latitude === undefined ? existing.latitude : changes.latitude,
        longitude: changes.longitude === undefined ? existing.longitude : changes.longitude,
      });
      if (issues.length) throw validationFailed(issues);
      // drizzle leaves the fields that are undefined (not sent) as they are.
      ctx.body = present(await scope.update(campaignTriggers, existing.id, changes, "campaign trigger"));
    },
  });

  defineRoute(api, {
    method: "delete",
    path: "/campaign-triggers/:id",
    summary: "Delete a campaign trigger that no trigger source and no open campaign uses",
    tags: ["campaign-triggers"],
    access: managers,
    params: idParams,
    errors: [409],
    responses: { 204: { description: "Deleted" } },
    handler: async (ctx) => {
      const scope = scopeOf(ctx);
      const { id } = await scope.find(campaignTriggers, ctx.input.params.id, "campaign trigger");
      const [source] = await scope.db
        .select({ id: triggerSources.id })
        .from(triggerSources)
        .where(scope.where(triggerSources, eq(triggerSources.triggerId, id)))
        .limit(1);
      if (source) throw conflict("Trigger sources use this trigger: delete them or point them at another first.");
      const [campaign] = await scope.db
        .select({ id: campaigns.id })
        .from(campaigns)
        .where(scope.where(campaigns, and(eq(campaigns.triggerId, id), ne(campaigns.status, "CLOSED"))))
        .limit(1);
      if (campaign) throw conflict("Open campaigns use this trigger: close them or give them another first.");
      await scope.remove(campaignTriggers, id, "campaign trigger");
      ctx.status = 204;
    },
  });
}
