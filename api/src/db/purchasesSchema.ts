// Purchases in: the payment providers a tenant trusts, the webhook events they sent (each answered
// once, replays get the first answer), and the purchases whose points the relayer issues on chain.
import {
  boolean,
  integer,
  index,
  jsonb,
  pgEnum,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";
import { relayJobs } from "./relaySchema.ts";
import { tenants, users } from "./schema.ts";

export const purchaseStatus = pgEnum("purchase_status", ["PENDING", "COMPLETED", "FAILED"]);

const createdAt = () => timestamp("created_at", { withTimezone: true }).notNull().defaultNow();
const updatedAt = () => timestamp("updated_at", { withTimezone: true }).notNull().defaultNow();
const tenantId = () =>
  uuid("tenant_id")
    .notNull()
    .references(() => tenants.id, { onDelete: "cascade" });

/** A payment provider: its webhook secret, and how a payment becomes points. */
export const purchaseProviders = pgTable("purchase_providers", {
  id: uuid("id").primaryKey().defaultRandom(),
  tenantId: tenantId(),
  name: text("name").notNull(),
  /** ISO 4217 code of the payments it reports. */
  currency: text("currency").notNull(),
  /** Points (in the token's smallest unit) per minor unit of the currency (a cent), a decimal string. */
  pointsPerMinorUnit: text("points_per_minor_unit").notNull(),
  /** The points token issued (one of the tenant's). */
  tokenAddress: text("token_address").notNull(),
  /** Verifies the provider's signatures (AES-256-GCM under MASTER_KEY); shown once. */
  secretCiphertext: text("secret_ciphertext").notNull(),
  active: boolean("active").notNull().default(true),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

/** A paid purchase; one per provider and payment, so a payment is issued at most once. */
export const purchases = pgTable(
  "purchases",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    tenantId: tenantId(),
    providerId: uuid("provider_id")
      .notNull()
      .references(() => purchaseProviders.id, { onDelete: "restrict" }),
    paymentId: text("payment_id").notNull(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id),
    recipient: text("recipient").notNull(),
    currency: text("currency").notNull(),
    amountMinor: text("amount_minor").notNull(),
    points: text("points").notNull(),
    chainId: integer("chain_id").notNull(),
    tokenAddress: text("token_address").notNull(),
    /** keccak256 of the provider id and payment id: the token refuses to issue under it twice. */
    reference: text("reference").notNull(),
    status: purchaseStatus("status").notNull().default("PENDING"),
    jobId: uuid("job_id").references(() => relayJobs.id),
    transactionHash: text("transaction_hash"),
    error: text("error"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (table) => [
    uniqueIndex("purchases_provider_payment").on(table.providerId, table.paymentId),
    index("purchases_tenant_created").on(table.tenantId, table.createdAt),
    index("purchases_user").on(table.userId, table.createdAt),
  ],
);

/** A provider's webhook event, with the answer it got: a replay of its id gets the same answer. */
export const purchaseWebhookEvents = pgTable(
  "purchase_webhook_events",
  {
    providerId: uuid("provider_id")
      .notNull()
      .references(() => purchaseProviders.id, { onDelete: "cascade" }),
    eventId: text("event_id").notNull(),
    tenantId: tenantId(),
    purchaseId: uuid("purchase_id").references(() => purchases.id),
    responseStatus: integer("response_status").notNull(),
    responseBody: jsonb("response_body").$type<Record<string, unknown>>().notNull(),
    createdAt: createdAt(),
  },
  (table) => [primaryKey({ columns: [table.providerId, table.eventId] })],
);
