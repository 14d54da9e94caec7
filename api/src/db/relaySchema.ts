// The relayer's tables: jobs (intent), the transactions that carry them, one nonce lane per signer
// per chain, claims (the API's record of each accepted claim) and idempotency keys.
import { sql } from "drizzle-orm";
import {
  bigint,
  bigserial,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";
import { accessLevel, businesses, campaigns, tenants, triggerSources, users } from "./schema.ts";

export const jobStatus = pgEnum("job_status", ["PENDING", "SUBMITTED", "CONFIRMED", "FAILED"]);
export const relayTransactionStatus = pgEnum("relay_transaction_status", [
  "SUBMITTED",
  "MINED",
  "CONFIRMED",
  "REVERTED",
  "DROPPED",
]);
export const claimStatus = pgEnum("claim_status", ["PENDING", "SUBMITTED", "CONFIRMED", "FAILED"]);

const createdAt = () => timestamp("created_at", { withTimezone: true }).notNull().defaultNow();
const updatedAt = () => timestamp("updated_at", { withTimezone: true }).notNull().defaultNow();

/** A transaction the platform sends for someone: one nonce of one signer on one chain. */
export const relayTransactions = pgTable(
  "relay_transactions",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    chainId: integer("chain_id").notNull(),
    signer: text("signer").notNull(),
    nonce: bigint("nonce", { mode: "number" }).notNull(),
    /**
     * The tenant whose jobs it carries (a batch is one tenant's); none for a lane's nonce filler. A
     * deleted tenant's transactions stay: they are the lane's history.
     */
    tenantId: uuid("tenant_id").references(() => tenants.id, { onDelete: "set null" }),
    to: text("to").notNull(),
    data: text("data").notNull(),
    gasLimit: text("gas_limit").notNull(),
    maxFeePerGas: text("max_fee_per_gas").notNull(),
    maxPriorityFeePerGas: text("max_priority_fee_per_gas").notNull(),
    /** Every hash sent for this nonce (replacements bump the fee), newest last. */
    hashes: text("hashes")
      .array()
      .notNull()
      .default(sql`'{}'::text[]`),
    /** The hash that was mined, once one was. */
    minedHash: text("mined_hash"),
    blockNumber: bigint("block_number", { mode: "number" }),
    gasUsed: text("gas_used"),
    status: relayTransactionStatus("status").notNull().default("SUBMITTED"),
    error: text("error"),
    lastSentAt: timestamp("last_sent_at", { withTimezone: true }).notNull().defaultNow(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (table) => [
    index("relay_transactions_open").on(table.chainId, table.status),
    index("relay_transactions_lane").on(table.chainId, table.signer, table.nonce),
    // The tenant's gas of the last hour (api/src/relay/limits.ts).
    index("relay_transactions_tenant_created").on(table.tenantId, table.createdAt),
  ],
);

/** What someone asked the platform to do on chain; jobs with one batch key may share a transaction. */
export const relayJobs = pgTable(
  "relay_jobs",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    tenantId: uuid("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    chainId: integer("chain_id").notNull(),
    /** Which job kind (api/src/relay/kinds) encodes and settles it. */
    kind: text("kind").notNull(),
    batchKey: text("batch_key"),
    payload: jsonb("payload").$type<Record<string, unknown>>().notNull(),
    status: jobStatus("status").notNull().default("PENDING"),
    transactionId: uuid("transaction_id").references(() => relayTransactions.id),
    attempts: integer("attempts").notNull().default(0),
    error: text("error"),
    availableAt: timestamp("available_at", { withTimezone: true }).notNull().defaultNow(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (table) => [
    index("relay_jobs_pending").on(table.status, table.availableAt),
    // The tenants with jobs ready on a chain, and each one's oldest (relay/submitter.ts claimJobs).
    index("relay_jobs_ready").on(table.status, table.chainId, table.tenantId, table.availableAt),
    index("relay_jobs_transaction").on(table.transactionId),
  ],
);

/** The next nonce of a signer on a chain; its row is locked while a transaction takes a nonce. */
export const signerLanes = pgTable(
  "signer_lanes",
  {
    chainId: integer("chain_id").notNull(),
    signer: text("signer").notNull(),
    nextNonce: bigint("next_nonce", { mode: "number" }).notNull(),
    updatedAt: updatedAt(),
  },
  (table) => [primaryKey({ columns: [table.chainId, table.signer] })],
);

/** A claim the API accepted. Its on-chain claim id is unique, so the registry pays it at most once. */
export const claims = pgTable(
  "claims",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    tenantId: uuid("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    /** The claim id sent to CampaignRegistry: a platform-wide sequence, so ids share bitmap words. */
    onchainClaimId: bigserial("onchain_claim_id", { mode: "number" }).notNull().unique(),
    campaignId: uuid("campaign_id")
      .notNull()
      .references(() => campaigns.id),
    userId: uuid("user_id").references(() => users.id),
    recipient: text("recipient").notNull(),
    source: accessLevel("source").notNull(),
    businessId: uuid("business_id").references(() => businesses.id),
    triggerSourceId: uuid("trigger_source_id").references(() => triggerSources.id),
    latitude: doublePrecision("latitude"),
    longitude: doublePrecision("longitude"),
    status: claimStatus("status").notNull().default("PENDING"),
    jobId: uuid("job_id").references(() => relayJobs.id),
    transactionHash: text("transaction_hash"),
    error: text("error"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (table) => [
    index("claims_campaign_user").on(table.campaignId, table.userId, table.createdAt),
    index("claims_tenant_created").on(table.tenantId, table.createdAt),
  ],
);

/** The first answer to a write with an Idempotency-Key, replayed for repeats with the same body. */
export const idempotencyKeys = pgTable(
  "idempotency_keys",
  {
    /** The caller (principal subject) the key belongs to: keys of different callers never meet. */
    owner: text("owner").notNull(),
    key: text("key").notNull(),
    method: text("method").notNull(),
    path: text("path").notNull(),
    requestHash: text("request_hash").notNull(),
    /** Null while the first request is still being answered. */
    status: integer("status"),
    body: jsonb("body"),
    createdAt: createdAt(),
  },
  (table) => [
    primaryKey({ columns: [table.owner, table.key] }),
    uniqueIndex("idempotency_keys_created").on(table.createdAt, table.owner, table.key),
  ],
);

/**
 * Platform events (claim confirmed, signer balance low...) written in the same transaction as the
 * change they report; the webhook dispatcher delivers them to the endpoints that subscribed.
 */
export const platformEvents = pgTable(
  "platform_events",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    /** Null for platform-wide events (a signer's balance). */
    tenantId: uuid("tenant_id").references(() => tenants.id, { onDelete: "cascade" }),
    type: text("type").notNull(),
    data: jsonb("data").$type<Record<string, unknown>>().notNull(),
    /** Set once the dispatcher has made a delivery for every subscribed endpoint. */
    dispatchedAt: timestamp("dispatched_at", { withTimezone: true }),
    createdAt: createdAt(),
  },
  (table) => [index("platform_events_undispatched").on(table.dispatchedAt, table.createdAt)],
);
