// Trigger sources: where claims through a trigger come from, a QR code (whose payloads the source's
// secret signs) or a platform's webhook (which the secret verifies). The secret is random, sealed
// under the master key bound to the source's id, and shown only when it is made.
import { randomUUID } from "node:crypto";
import { eq } from "drizzle-orm";
import { access } from "../../auth/principal.ts";
import { randomSecret } from "../../crypto/hashing.ts";
import { seal } from "../../crypto/secretBox.ts";
import { campaignTriggers, triggerSources } from "../../db/schema.ts";
import { scopeOf } from "../../db/scope.ts";
import { date } from "../../http/fields.ts";
import { idParams } from "../../http/pagination.ts";
import { defineRoute, type Api } from "../../http/route.ts";
import {
  triggerSource,
  triggerSourceCreate,
  triggerSourceList,
  triggerSourceListQuery,
  triggerSourceUpdate,
  triggerSourceWithSecret,
} from "./schema.ts";

export const secretContext = (id: string) => `trigger-source:${id}`;

const newSecret = (masterKey: Buffer, id: string) => {
  const secret = randomSecret("pers_ts_");
  return { secret, secretCiphertext: seal(masterKey, secret, secretContext(id)) };
};

const present = (row: typeof triggerSources.$inferSelect) => ({
  id: row.id,
  type: row.type,
  name: row.name,
  triggerId: row.triggerId,
  active: row.active,
  createdAt: date(row.createdAt)!,
  updatedAt: date(row.updatedAt)!,
});

const managers = access.levels("ADMIN", "SYSTEM");

export function registerTriggerSources(api: Api) {
  defineRoute(api, {
    method: "post",
    path: "/trigger-sources",
    // Its answer holds a secret shown once, never to be kept for replay.
    idempotent: false,
    summary: "Create a trigger source (its secret is in this answer only)",
    tags: ["trigger-sources"],
    access: managers,
    body: triggerSourceCreate,
    errors: [404],
    responses: { 201: { description: "Created", schema: triggerSourceWithSecret } },
    handler: async (ctx) => {
      const scope = scopeOf(ctx);
      const { type, name, triggerId } = ctx.input.body;
      await scope.find(campaignTriggers, triggerId, "campaign trigger");
      const id = randomUUID();
      const { secret, secretCiphertext } = newSecret(ctx.services.config.MASTER_KEY, id);
      const row = await scope.insert(triggerSources, { id, type, name, triggerId, secretCiphertext });
      ctx.status = 201;
      ctx.body = { ...present(row), secret };
    },
  });

  defineRoute(api, {
    method: "get",
    path: "/trigger-sources",
    summary: "List trigger sources (never their secrets)",
    tags: ["trigger-sources"],
    access: managers,
    query: triggerSourceListQuery,
    responses: { 200: { description: "A page of trigger sources", schema: triggerSourceList } },
    handler: async (ctx) => {
      const { page, limit, sort, order, type, triggerId, active } = ctx.input.query;
      const result = await scopeOf(ctx).list(triggerSources, {
        page,
        limit,
        order,
        orderBy: sort === "name" ? triggerSources.name : triggerSources.createdAt,
        where: [
          type === undefined ? undefined : eq(triggerSources.type, type),
          triggerId === undefined ? undefined : eq(triggerSources.triggerId, triggerId),
          active === undefined ? undefined : eq(triggerSources.active, active),
        ],
      });
      ctx.body = { data: result.data.map(present), pagination: result.pagination };
    },
  });

  defineRoute(api, {
    method: "get",
    path: "/trigger-sources/:id",
    summary: "Read a trigger source (never its secret)",
    tags: ["trigger-sources"],
    access: managers,
    params: idParams,
    responses: { 200: { description: "The trigger source", schema: triggerSource } },
    handler: async (ctx) => {
      ctx.body = present(await scopeOf(ctx).find(triggerSources, ctx.input.params.id, "trigger source"));
    },
  });

  defineRoute(api, {
    method: "patch",
    path: "/trigger-sources/:id",
    summary: "Rename a trigger source, point it at another trigger, or (de)activate it",
    tags: ["trigger-sources"],
    access: managers,
    params: idParams,
    body: triggerSourceUpdate,
    responses: { 200: { description: "The updated trigger source", schema: triggerSource } },
    handler: async (ctx) => {
      const scope = scopeOf(ctx);
      const existing = await scope.find(triggerSources, ctx.input.params.id, "trigger source");
      const { name, triggerId, active } = ctx.input.body;
      if (triggerId !== undefined) await scope.find(campaignTriggers, triggerId, "campaign trigger");
      ctx.body = present(
        await scope.update(triggerSources, existing.id, { name, triggerId, active }, "trigger source"),
      );
    },
  });

  defineRoute(api, {
    method: "post",
    path: "/trigger-sources/:id/rotate-secret",
    // Its answer holds a secret shown once, never to be kept for replay.
    idempotent: false,
    summary: "Replace a trigger source's secret (the new one is in this answer only; the old one stops working)",
    tags: ["trigger-sources"],
    access: managers,
    params: idParams,
    responses: { 200: { description: "The source with its new secret", schema: triggerSourceWithSecret } },
    handler: async (ctx) => {
      const scope = scopeOf(ctx);
      const { id } = await scope.find(triggerSources, ctx.input.params.id, "trigger source");
      const { secret, secretCiphertext } = newSecret(ctx.services.config.MASTER_KEY, id);
      ctx.body = { ...present(await scope.update(triggerSources, id, { secretCiphertext }, "trigger source")), secret };
    },
  });

  defineRoute(api, {
    method: "delete",
    path: "/trigger-sources/:id",
    summary: "Delete a trigger source that has paid no claim (to keep its record, deactivate it instead)",
    tags: ["trigger-sources"],
    access: managers,
    params: idParams,
    responses: { 204: { description: "Deleted" } },
    errors: [409],
    handler: async (ctx) => {
      await scopeOf(ctx).remove(triggerSources, ctx.input.params.id, "trigger source");
      ctx.status = 204;
    },
  });
}
