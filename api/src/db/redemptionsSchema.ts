// Requests a holder makes with their own tokens, relayed through the ERC-2771 forwarder:
// redemptions of offers, and transfers, burns and admin grants (`POST /transactions`). Each row is
// the API's record of intent and progress; the chain (and the indexer) hold the outcome.
import { bigint, index, integer, pgEnum, pgTable, primaryKey, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { relayJobs } from "./relaySchema.ts";
import { businesses, tenants, users } from "./schema.ts";

/** AWAITING_SIGNATURE (self-custody) → PENDING (queued) → PROCESSING (sent) → COMPLETED or FAILED. */
export const relayedRequestStatus = pgEnum("relayed_request_status", [
  "AWAITING_SIGNATURE",
  "PENDING",
  "PROCESSING",
  "COMPLETED",
  "FAILED",
]);
export const transactionRequestType = pgEnum("transaction_request_type", ["MINT", "TRANSFER", "BURN"]);

const createdAt = () => timestamp("created_at", { withTimezone: true }).notNull().defaultNow();
const updatedAt = () => timestamp("updated_at", { withTimezone: true }).notNull().defaultNow();
const tenantId = () =>
  uuid("tenant_id")
    .notNull()
    .references(() => tenants.id, { onDelete: "cascade" });

/** The ERC-2771 request a holder signs (or the server signs for a custodial holder). */
const forwardRequestColumns = () => ({
  chainId: integer("chain_id").notNull(),
  forwarder: text("forwarder"),
  /** The forwarder nonce of the signer this request was made for. */
  nonce: bigint("nonce", { mode: "number" }),
  gas: text("gas"),
  /** Unix seconds; the forwarder refuses the request from then on. */
  deadline: bigint("deadline", { mode: "number" }),
  data: text("data"),
  signature: text("signature"),
});

export const redemptions = pgTable(
  "redemptions",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    tenantId: tenantId(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    /** The user's wallet: the signer of the request and the redeemer on chain. */
    holder: text("holder").notNull(),
    /** The RedemptionRegistry's offer id. */
    offerId: text("offer_id").notNull(),
    quantity: integer("quantity").notNull(),
    businessId: uuid("business_id").references(() => businesses.id, { onDelete: "set null" }),
    /** Where it is redeemed: the business's wallet, or the zero address. */
    business: text("business").notNull(),
    status: relayedRequestStatus("status").notNull(),
    ...forwardRequestColumns(),
    jobId: uuid("job_id").references(() => relayJobs.id),
    transactionHash: text("transaction_hash"),
    /** The registry's redemption id, once redeemed. */
    onchainRedemptionId: text("onchain_redemption_id"),
    error: text("error"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (table) => [
    index("redemptions_tenant_created").on(table.tenantId, table.createdAt),
    index("redemptions_user_created").on(table.userId, table.createdAt),
  ],
);

/** A MINT (admin grant), TRANSFER or BURN asked through the API; the indexer shows it once confirmed. */
export const transactionRequests = pgTable(
  "transaction_requests",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    tenantId: tenantId(),
    type: transactionRequestType("type").notNull(),
    /** Who asked: `user:<id>`, `admin:<id>` or `key:<id>`. */
    requestedBy: text("requested_by").notNull(),
    /** The user whose tokens move (TRANSFER, BURN) or who receives a grant, when one is known. */
    userId: uuid("user_id").references(() => users.id, { onDelete: "set null" }),
    token: text("token").notNull(),
    tokenId: text("token_id").notNull(),
    /** Null for a MINT. */
    from: text("from_address"),
    /** Null for a BURN. */
    to: text("to_address"),
    amount: text("amount").notNull(),
    /** A MINT's issue reference (bytes32), unique per token on chain. */
    reference: text("reference"),
    status: relayedRequestStatus("status").notNull(),
    ...forwardRequestColumns(),
    jobId: uuid("job_id").references(() => relayJobs.id),
    transactionHash: text("transaction_hash"),
    error: text("error"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (table) => [
    index("transaction_requests_tenant_created").on(table.tenantId, table.createdAt),
    index("transaction_requests_from").on(table.tenantId, table.from),
    index("transaction_requests_to").on(table.tenantId, table.to),
  ],
);

/**
 * Forwarder nonces taken by queued requests, so that two requests of one signer never carry the
 * same nonce. A nonce the forwarder did not use (the request was refused) is released.
 */
export const forwardNonces = pgTable(
  "forward_nonces",
  {
    chainId: integer("chain_id").notNull(),
    forwarder: text("forwarder").notNull(),
    signer: text("signer").notNull(),
    nonce: bigint("nonce", { mode: "number" }).notNull(),
    createdAt: createdAt(),
  },
  (table) => [primaryKey({ columns: [table.chainId, table.forwarder, table.signer, table.nonce] })],
);
