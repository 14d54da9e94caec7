import { z } from "zod";
import { EVENT_TYPES } from "../../events/outbox.ts";
import { httpsUrl, id, text, timestamp } from "../../http/fields.ts";
import { listQuery, paginated } from "../../http/pagination.ts";

const eventType = z.enum(EVENT_TYPES);
const eventTypes = z
  .array(eventType)
  .min(1)
  .max(EVENT_TYPES.length)
  .refine((types) => new Set(types).size === types.length, "must not repeat an event type")
  .meta({ description: "The events this endpoint receives" });
const deliveryStatus = z.enum(["PENDING", "SUCCEEDED", "FAILED"]);

export const webhookEndpointCreate = z
  .strictObject({
    url: httpsUrl.meta({
      description:
        "https (http only where the API allows it, for local development), without credentials, on a public host: never a private, loopback or link-local address nor a local name such as localhost",
    }),
    description: text.optional(),
    eventTypes,
  })
  .meta({ id: "WebhookEndpointCreate" });

export const webhookEndpointUpdate = z
  .strictObject({
    url: httpsUrl.optional(),
    description: text.nullable().optional(),
    eventTypes: eventTypes.optional(),
    active: z.boolean().optional().meta({ description: "false stops new deliveries to this endpoint" }),
  })
  .meta({ id: "WebhookEndpointUpdate" });

export const webhookEndpoint = z
  .object({
    id: z.uuid(),
    url: z.string(),
    description: z.string().nullable(),
    eventTypes: z.array(eventType),
    active: z.boolean(),
    previousSecretExpiresAt: z.string().nullable().meta({
      description: "Until then deliveries carry a signature by the secret before the last rotation too",
    }),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: "WebhookEndpoint" });

/** A day, as Standard Webhooks' own service keeps an old secret: receivers have time to switch. */
const DEFAULT_KEEP_PREVIOUS_SECONDS = 24 * 60 * 60;

export const webhookSecretRotation = z
  .strictObject({
    keepPreviousSeconds: z
      .number()
      .int()
      .min(0)
      .max(7 * 24 * 60 * 60)
      .default(DEFAULT_KEEP_PREVIOUS_SECONDS)
      .meta({
        description:
          "How long deliveries stay signed by the old secret too (a signature each, space-separated in webhook-signature); 0 stops it at once. A day by default, a week at most",
      }),
  })
  .meta({ id: "WebhookSecretRotation" });

export const webhookEndpointWithSecret = webhookEndpoint
  .extend({
    secret: z.string().meta({
      description:
        "The Standard Webhooks signing secret (whsec_ and base64): verify webhook-signature with it. Shown in this answer only",
    }),
  })
  .meta({ id: "WebhookEndpointWithSecret" });

export const webhookEndpointList = paginated(webhookEndpoint, "WebhookEndpoint");
export const webhookEndpointListQuery = listQuery(["createdAt", "url"], {
  active: z.stringbool().optional(),
  eventType: eventType.optional(),
});

export const webhookAttempt = z
  .object({
    id: z.uuid(),
    manual: z.boolean(),
    statusCode: z.number().int().nullable(),
    durationMs: z.number().int(),
    error: z.string().nullable(),
    responseExcerpt: z.string().nullable(),
    createdAt: z.string(),
  })
  .meta({ id: "WebhookAttempt" });

export const webhookDelivery = z
  .object({
    id: z.uuid(),
    endpointId: z.uuid(),
    eventId: z.uuid().meta({ description: "Also the webhook-id header: the same on every attempt" }),
    eventType,
    status: deliveryStatus,
    attempts: z.number().int(),
    nextAttemptAt: z.string().nullable().meta({ description: "When the next attempt is due (PENDING only)" }),
    lastAttemptAt: z.string().nullable(),
    lastStatusCode: z.number().int().nullable(),
    lastError: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: "WebhookDelivery" });

export const webhookDeliveryDetail = webhookDelivery
  .extend({
    payload: z.unknown().meta({ description: "The body sent on every attempt" }),
    attemptLog: z.array(webhookAttempt),
  })
  .meta({ id: "WebhookDeliveryDetail" });

export const webhookDeliveryList = paginated(webhookDelivery, "WebhookDelivery");
export const webhookDeliveryListQuery = listQuery(["createdAt", "nextAttemptAt"], {
  status: deliveryStatus.optional(),
  eventType: eventType.optional(),
  eventId: z.uuid().optional(),
  from: timestamp.optional().meta({ description: "Made at or after" }),
  to: timestamp.optional().meta({ description: "Made before" }),
});

export const deliveryParams = z.object({ id, deliveryId: id });
