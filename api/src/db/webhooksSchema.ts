// Webhooks out: the endpoints tenants register, one delivery per (endpoint, platform event), and
// every attempt to deliver it. The dispatcher (api/src/webhooks/dispatcher.ts) fills and drains them.
import { sql } from "drizzle-orm";
import { boolean, index, integer, pgEnum, pgTable, text, timestamp, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { platformEvents } from "./relaySchema.ts";
import { tenants } from "./schema.ts";

export const webhookDeliveryStatus = pgEnum("webhook_delivery_status", ["PENDING", "SUCCEEDED", "FAILED"]);

const createdAt = () => timestamp("created_at", { withTimezone: true }).notNull().defaultNow();
const updatedAt = () => timestamp("updated_at", { withTimezone: true }).notNull().defaultNow();
const tenantId = () =>
  uuid("tenant_id")
    .notNull()
    .references(() => tenants.id, { onDelete: "cascade" });

/** Where a tenant wants its events: a URL, the event types it subscribed to, and its signing secret. */
export const webhookEndpoints = pgTable(
  "webhook_endpoints",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    tenantId: tenantId(),
    url: text("url").notNull(),
    description: text("description"),
    eventTypes: text("event_types")
      .array()
      .notNull()
      .default(sql`'{}'::text[]`),
    /** The Standard Webhooks secret `whsec_...` (AES-256-GCM under MASTER_KEY); shown once. */
    secretCiphertext: text("secret_ciphertext").notNull(),
    /** The secret before the last rotation, still signing beside the new one until it expires. */
    previousSecretCiphertext: text("previous_secret_ciphertext"),
    previousSecretExpiresAt: timestamp("previous_secret_expires_at", { withTimezone: true }),
    active: boolean("active").notNull().default(true),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (table) => [index("webhook_endpoints_tenant").on(table.tenantId, table.active)],
);

/** One event for one endpoint. Its body is fixed when it is made, so every attempt sends the same bytes. */
export const webhookDeliveries = pgTable(
  "webhook_deliveries",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    /** The endpoint's tenant (a platform-wide event has none of its own). */
    tenantId: tenantId(),
    endpointId: uuid("endpoint_id")
      .notNull()
      .references(() => webhookEndpoints.id, { onDelete: "cascade" }),
    eventId: uuid("event_id")
      .notNull()
      .references(() => platformEvents.id, { onDelete: "cascade" }),
    eventType: text("event_type").notNull(),
    body: text("body").notNull(),
    status: webhookDeliveryStatus("status").notNull().default("PENDING"),
    attempts: integer("attempts").notNull().default(0),
    /** When the next attempt is due; a claimed delivery's lease (an attempt in flight) until then. */
    nextAttemptAt: timestamp("next_attempt_at", { withTimezone: true }).notNull().defaultNow(),
    /** Set by a redelivery by hand, cleared by the attempt it asked for. */
    manual: boolean("manual").notNull().default(false),
    lastAttemptAt: timestamp("last_attempt_at", { withTimezone: true }),
    lastStatusCode: integer("last_status_code"),
    lastError: text("last_error"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (table) => [
    uniqueIndex("webhook_deliveries_endpoint_event").on(table.endpointId, table.eventId),
    index("webhook_deliveries_due").on(table.status, table.nextAttemptAt),
    index("webhook_deliveries_endpoint").on(table.endpointId, table.createdAt),
  ],
);

/** Every attempt of a delivery, as the receiver answered it (or why it could not). */
export const webhookAttempts = pgTable(
  "webhook_attempts",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    tenantId: tenantId(),
    deliveryId: uuid("delivery_id")
      .notNull()
      .references(() => webhookDeliveries.id, { onDelete: "cascade" }),
    manual: boolean("manual").notNull().default(false),
    statusCode: integer("status_code"),
    durationMs: integer("duration_ms").notNull(),
    error: text("error"),
    /** The start of the receiver's answer (at most a few hundred characters). */
    responseExcerpt: text("response_excerpt"),
    createdAt: createdAt(),
  },
  (table) => [index("webhook_attempts_delivery").on(table.deliveryId, table.createdAt)],
);
