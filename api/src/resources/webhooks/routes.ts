// Webhooks: the endpoints a tenant's admin registers to receive platform events, and their
// deliveries. Each endpoint has a Standard Webhooks secret (shown when it is made or rotated, never
// again) that signs every delivery; api/src/webhooks/dispatcher.ts makes and sends the deliveries.
import { randomUUID } from "node:crypto";
import { arrayContains, asc, eq, gte, lt, not } from "drizzle-orm";
import type { Context } from "koa";
import { access } from "../../auth/principal.ts";
import { scopeOf } from "../../db/scope.ts";
import { webhookAttempts, webhookDeliveries, webhookEndpoints } from "../../db/webhooksSchema.ts";
import { conflict, notFound } from "../../errors.ts";
import { date } from "../../http/fields.ts";
import { idParams } from "../../http/pagination.ts";
import { defineRoute, type Api } from "../../http/route.ts";
import { assertOutboundUrl } from "../../outbound/urlPolicy.ts";
import { attemptInFlight } from "../../webhooks/dispatcher.ts";
import { newEndpointSecret } from "../../webhooks/secrets.ts";
import {
  deliveryParams,
  webhookDelivery,
  webhookDeliveryDetail,
  webhookDeliveryList,
  webhookDeliveryListQuery,
  webhookEndpoint,
  webhookEndpointCreate,
  webhookEndpointList,
  webhookEndpointListQuery,
  webhookEndpointUpdate,
  webhookEndpointWithSecret,
  webhookSecretRotation,
} from "./schema.ts";

type EndpointRow = typeof webhookEndpoints.$inferSelect;
type DeliveryRow = typeof webhookDeliveries.$inferSelect;
type AttemptRow = typeof webhookAttempts.$inferSelect;

const presentEndpoint = (row: EndpointRow) => ({
  id: row.id,
  url: row.url,
  description: row.description,
  eventTypes: row.eventTypes as never,
  active: row.active,
  previousSecretExpiresAt:
    row.previousSecretExpiresAt && row.previousSecretExpiresAt > new Date() ? date(row.previousSecretExpiresAt) : null,
  createdAt: date(row.createdAt)!,
  updatedAt: date(row.updatedAt)!,
});

const presentDelivery = (row: DeliveryRow) => ({
  id: row.id,
  endpointId: row.endpointId,
  eventId: row.eventId,
  eventType: row.eventType as never,
  status: row.status,
  attempts: row.attempts,
  nextAttemptAt: row.status === "PENDING" ? date(row.nextAttemptAt) : null,
  lastAttemptAt: date(row.lastAttemptAt),
  lastStatusCode: row.lastStatusCode,
  lastError: row.lastError,
  createdAt: date(row.createdAt)!,
  updatedAt: date(row.updatedAt)!,
});

const presentAttempt = (row: AttemptRow) => ({
  id: row.id,
  manual: row.manual,
  statusCode: row.statusCode,
  durationMs: row.durationMs,
  error: row.error,
  responseExcerpt: row.responseExcerpt,
  createdAt: date(row.createdAt)!,
});

/** https (http where the API allows it), and a public host unless private networks are allowed. */
const assertUrlAllowed = (ctx: Context, url: string | undefined) =>
  assertOutboundUrl(url, "body.url", {
    allowHttp: ctx.services.config.WEBHOOKS_ALLOW_HTTP,
    allowPrivateNetworks: ctx.services.config.OUTBOUND_ALLOW_PRIVATE_NETWORKS,
  });

/** The caller's endpoint (another tenant's answers 404). */
const ownEndpoint = (ctx: Context, id: string) => scopeOf(ctx).find(webhookEndpoints, id, "webhook endpoint");

/** A delivery of the caller's endpoint `id`, and the endpoint. */
async function ownDelivery(ctx: Context, id: string, deliveryId: string) {
  const scope = scopeOf(ctx);
  const endpoint = await ownEndpoint(ctx, id);
  const [row] = await scope.db
    .select()
    .from(webhookDeliveries)
    .where(scope.where(webhookDeliveries, eq(webhookDeliveries.endpointId, id), eq(webhookDeliveries.id, deliveryId)))
    .limit(1);
  if (!row) throw notFound("webhook delivery");
  return { endpoint, delivery: row };
}

async function presentDeliveryDetail(ctx: Context, row: DeliveryRow) {
  const scope = scopeOf(ctx);
  const attempts = await scope.db
    .select()
    .from(webhookAttempts)
    .where(scope.where(webhookAttempts, eq(webhookAttempts.deliveryId, row.id)))
    .orderBy(asc(webhookAttempts.createdAt), asc(webhookAttempts.id));
  return { ...presentDelivery(row), payload: JSON.parse(row.body), attemptLog: attempts.map(presentAttempt) };
}

const admins = access.levels("ADMIN");
const tags = ["webhooks"];

export function registerWebhooks(api: Api) {
  defineRoute(api, {
    method: "post",
    path: "/webhooks",
    // Its answer holds a secret shown once, never to be kept for replay.
    idempotent: false,
    summary: "Register an endpoint for platform events (its signing secret is in this answer only)",
    tags,
    access: admins,
    body: webhookEndpointCreate,
    responses: { 201: { description: "Registered", schema: webhookEndpointWithSecret } },
    handler: async (ctx) => {
      const { url, description, eventTypes } = ctx.input.body;
      assertUrlAllowed(ctx, url);
      const id = randomUUID();
      const { secret, secretCiphertext } = newEndpointSecret(ctx.services.config.MASTER_KEY, id);
      const row = await scopeOf(ctx).insert(webhookEndpoints, {
        id,
        url,
        description: description ?? null,
        eventTypes,
        secretCiphertext,
      });
      ctx.status = 201;
      ctx.body = { ...presentEndpoint(row), secret };
    },
  });

  defineRoute(api, {
    method: "get",
    path: "/webhooks",
    summary: "List the tenant's webhook endpoints (never their secrets)",
    tags,
    access: admins,
    query: webhookEndpointListQuery,
    responses: { 200: { description: "A page of endpoints", schema: webhookEndpointList } },
    handler: async (ctx) => {
      const { page, limit, sort, order, active, eventType } = ctx.input.query;
      const result = await scopeOf(ctx).list(webhookEndpoints, {
        page,
        limit,
        order,
        orderBy: sort === "url" ? webhookEndpoints.url : webhookEndpoints.createdAt,
        where: [
          active === undefined ? undefined : eq(webhookEndpoints.active, active),
          eventType === undefined ? undefined : arrayContains(webhookEndpoints.eventTypes, [eventType]),
        ],
      });
      ctx.body = { data: result.data.map(presentEndpoint), pagination: result.pagination };
    },
  });

  defineRoute(api, {
    method: "get",
    path: "/webhooks/:id",
    summary: "Read a webhook endpoint (never its secret)",
    tags,
    access: admins,
    params: idParams,
    responses: { 200: { description: "The endpoint", schema: webhookEndpoint } },
    handler: async (ctx) => {
      ctx.body = presentEndpoint(await ownEndpoint(ctx, ctx.input.params.id));
    },
  });

  defineRoute(api, {
    method: "patch",
    path: "/webhooks/:id",
    summary: "Change an endpoint's URL, description or events, or (de)activate it",
    tags,
    access: admins,
    params: idParams,
    body: webhookEndpointUpdate,
    responses: { 200: { description: "The updated endpoint", schema: webhookEndpoint } },
    handler: async (ctx) => {
      const { url, description, eventTypes, active } = ctx.input.body;
      assertUrlAllowed(ctx, url);
      ctx.body = presentEndpoint(
        await scopeOf(ctx).update(
          webhookEndpoints,
          ctx.input.params.id,
          { url, description, eventTypes, active },
          "webhook endpoint",
        ),
      );
    },
  });

  defineRoute(api, {
    method: "post",
    path: "/webhooks/:id/rotate-secret",
    // Its answer holds a secret shown once, never to be kept for replay.
    idempotent: false,
    summary:
      "Replace an endpoint's signing secret (the new one is in this answer only; the old one signs too for keepPreviousSeconds)",
    tags,
    access: admins,
    params: idParams,
    body: webhookSecretRotation,
    responses: { 200: { description: "The endpoint with its new secret", schema: webhookEndpointWithSecret } },
    handler: async (ctx) => {
      const existing = await ownEndpoint(ctx, ctx.input.params.id);
      const { secret, secretCiphertext } = newEndpointSecret(ctx.services.config.MASTER_KEY, existing.id);
      const keepFor = ctx.input.body.keepPreviousSeconds;
      const row = await scopeOf(ctx).update(
        webhookEndpoints,
        existing.id,
        {
          secretCiphertext,
          // The secret being replaced; one kept from an earlier rotation is dropped (two at most sign).
          previousSecretCiphertext: keepFor > 0 ? existing.secretCiphertext : null,
          previousSecretExpiresAt: keepFor > 0 ? new Date(Date.now() + keepFor * 1000) : null,
        },
        "webhook endpoint",
      );
      ctx.body = { ...presentEndpoint(row), secret };
    },
  });

  defineRoute(api, {
    method: "delete",
    path: "/webhooks/:id",
    summary: "Delete an endpoint and its delivery log (to keep the log, deactivate it instead)",
    tags,
    access: admins,
    params: idParams,
    responses: { 204: { description: "Deleted" } },
    handler: async (ctx) => {
      await scopeOf(ctx).remove(webhookEndpoints, ctx.input.params.id, "webhook endpoint");
      ctx.status = 204;
    },
  });

  defineRoute(api, {
    method: "get",
    path: "/webhooks/:id/deliveries",
    summary: "List an endpoint's deliveries, newest first",
    tags,
    access: admins,
    params: idParams,
    query: webhookDeliveryListQuery,
    responses: { 200: { description: "A page of deliveries", schema: webhookDeliveryList } },
    handler: async (ctx) => {
      const { id } = await ownEndpoint(ctx, ctx.input.params.id);
      const { page, limit, sort, order, status, eventType, eventId, from, to } = ctx.input.query;
      const result = await scopeOf(ctx).list(webhookDeliveries, {
        page,
        limit,
        order,
        orderBy: sort === "nextAttemptAt" ? webhookDeliveries.nextAttemptAt : webhookDeliveries.createdAt,
        where: [
          eq(webhookDeliveries.endpointId, id),
          status === undefined ? undefined : eq(webhookDeliveries.status, status),
          eventType === undefined ? undefined : eq(webhookDeliveries.eventType, eventType),
          eventId === undefined ? undefined : eq(webhookDeliveries.eventId, eventId),
          from === undefined ? undefined : gte(webhookDeliveries.createdAt, new Date(from)),
          to === undefined ? undefined : lt(webhookDeliveries.createdAt, new Date(to)),
        ],
      });
      ctx.body = { data: result.data.map(presentDelivery), pagination: result.pagination };
    },
  });

  defineRoute(api, {
    method: "get",
    path: "/webhooks/:id/deliveries/:deliveryId",
    summary: "Read a delivery: its payload and every attempt (status code, duration, error, response excerpt)",
    tags,
    access: admins,
    params: deliveryParams,
    responses: { 200: { description: "The delivery", schema: webhookDeliveryDetail } },
    handler: async (ctx) => {
      const { id, deliveryId } = ctx.input.params;
      const { delivery } = await ownDelivery(ctx, id, deliveryId);
      ctx.body = await presentDeliveryDetail(ctx, delivery);
    },
  });

  defineRoute(api, {
    method: "post",
    path: "/webhooks/:id/deliveries/:deliveryId/redeliver",
    summary:
      "Send a delivery again (whatever its status), as soon as the dispatcher runs; refused while an attempt is in flight",
    tags,
    access: admins,
    params: deliveryParams,
    errors: [409],
    responses: { 202: { description: "Queued for another attempt", schema: webhookDelivery } },
    handler: async (ctx) => {
      const { id, deliveryId } = ctx.input.params;
      const scope = scopeOf(ctx);
      const { endpoint, delivery } = await ownDelivery(ctx, id, deliveryId);
      if (!endpoint.active) throw conflict("The endpoint is deactivated: activate it to redeliver.");
      const now = new Date();
      // Not under an attempt's lease: it would be claimed and sent again beside that attempt, whose
      // outcome would then drop this redelivery.
      const [row] = await scope.db
        .update(webhookDeliveries)
        .set({ status: "PENDING", manual: true, nextAttemptAt: now, updatedAt: now })
        .where(scope.where(webhookDeliveries, eq(webhookDeliveries.id, delivery.id), not(attemptInFlight(now))))
        .returning();
      if (!row) throw conflict("An attempt of this delivery is in flight: redeliver it once that attempt is logged.");
      ctx.status = 202;
      ctx.body = presentDelivery(row);
    },
  });
}
