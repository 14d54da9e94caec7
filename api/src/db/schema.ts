// The API's tables: one schema for Postgres and embedded PGlite. Balances are never here; they are
// the chain's, mirrored by the indexer. Every tenant-owned table has `tenant_id`, which the scope in
// ./scope.ts adds to every query.
import { sql } from "drizzle-orm";
import {
  boolean,
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

export const accessLevel = pgEnum("access_level", ["USER", "BUSINESS", "ADMIN", "SYSTEM"]);
export const apiKeyLevel = pgEnum("api_key_level", ["ADMIN", "SYSTEM"]);
export const campaignVisibility = pgEnum("campaign_visibility", ["PUBLIC", "TARGETED"]);
export const campaignStatus = pgEnum("campaign_status", ["DRAFT", "ACTIVE", "PAUSED", "CLOSED"]);
export const triggerSourceType = pgEnum("trigger_source_type", ["QR_CODE", "API_WEBHOOK"]);
export const fileVisibility = pgEnum("file_visibility", ["PUBLIC", "PRIVATE"]);

const id = () => uuid("id").primaryKey().defaultRandom();
const createdAt = () => timestamp("created_at", { withTimezone: true }).notNull().defaultNow();
const updatedAt = () => timestamp("updated_at", { withTimezone: true }).notNull().defaultNow();
const tenantId = () =>
  uuid("tenant_id")
    .notNull()
    .references(() => tenants.id, { onDelete: "cascade" });

export type TenantContracts = {
  pointsToken: string;
  rewardToken: string;
  statusToken: string;
  campaignRegistry: string;
  redemptionRegistry: string;
  forwarder: string;
  tenantFactory: string;
};

export const tenants = pgTable("tenants", {
  id: id(),
  name: text("name").notNull(),
  /** The creator's own id; keccak256 of it is the factory's externalId. Unique per platform. */
  externalId: text("external_id").notNull().unique(),
  /** Public: names the tenant in X-Project-Key for public reads. */
  projectKey: text("project_key").notNull().unique(),
  chainId: integer("chain_id").notNull(),
  onchainId: text("onchain_id").notNull(),
  adminAddress: text("admin_address").notNull(),
  /** The admin wallet's key when the API keeps it (AES-256-GCM under MASTER_KEY); null for the tenant's own. */
  adminKeyCiphertext: text("admin_key_ciphertext"),
  contracts: jsonb("contracts").$type<TenantContracts>().notNull(),
  creationTransaction: text("creation_transaction").notNull(),
  /** The tenant's identity provider: its issuer, audience and a JWKS URL or one public JWK. */
  idpIssuer: text("idp_issuer"),
  idpAudience: text("idp_audience"),
  idpJwksUrl: text("idp_jwks_url"),
  idpPublicJwk: jsonb("idp_public_jwk").$type<Record<string, unknown>>(),
  active: boolean("active").notNull().default(true),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

/**
 * A tenant being created: written before its suite is deployed and removed when the tenant's row is
 * written. If the deployment outlives its request (the transaction mined after the API stopped
 * waiting), the retry finds here the tenant's id and the custodial admin wallet that the suite on
 * chain names, and adopts that suite instead of losing the wallet's key.
 */
export const tenantDeployments = pgTable("tenant_deployments", {
  externalId: text("external_id").primaryKey(),
  /** The id the tenant will have (the custodial key is sealed to it). */
  tenantId: uuid("tenant_id").notNull(),
  chainId: integer("chain_id").notNull(),
  adminAddress: text("admin_address").notNull(),
  adminKeyCiphertext: text("admin_key_ciphertext"),
  createdAt: createdAt(),
});

export const admins = pgTable(
  "admins",
  {
    id: id(),
    tenantId: tenantId(),
    email: text("email").notNull(),
    name: text("name").notNull(),
    passwordHash: text("password_hash").notNull(),
    active: boolean("active").notNull().default(true),
    lastLoginAt: timestamp("last_login_at", { withTimezone: true }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (table) => [uniqueIndex("admins_tenant_email").on(table.tenantId, table.email)],
);

export const apiKeys = pgTable("api_keys", {
  id: id(),
  tenantId: tenantId(),
  name: text("name").notNull(),
  level: apiKeyLevel("level").notNull(),
  /** The first characters of the key, to recognise it in a list; the key itself is never stored. */
  prefix: text("prefix").notNull(),
  hash: text("hash").notNull().unique(),
  lastUsedAt: timestamp("last_used_at", { withTimezone: true }),
  revokedAt: timestamp("revoked_at", { withTimezone: true }),
  createdAt: createdAt(),
});

/**
 * A subject's session generation (auth/revocations.ts): raised each time its sessions end; an access
 * token carries the generation it was issued under and stops working once it is raised.
 */
export const sessionGenerations = pgTable(
  "session_generations",
  {
    tenantId: tenantId(),
    /** `admin:<id>`, `user:<id>` or `key:<id>`, as in an access token's `sub`. */
    subject: text("subject").notNull(),
    generation: integer("generation").notNull(),
    /** The database's clock when it was raised: every API process reads the raises since it last looked. */
    raisedAt: timestamp("raised_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    primaryKey({ columns: [table.tenantId, table.subject] }),
    index("session_generations_raised").on(table.raisedAt),
  ],
);

/** The API's ES256 signing keys; the newest active one signs, the JWKS publishes the recent ones. */
export const signingKeys = pgTable("signing_keys", {
  kid: text("kid").primaryKey(),
  privateKeyCiphertext: text("private_key_ciphertext").notNull(),
  publicJwk: jsonb("public_jwk").$type<Record<string, unknown>>().notNull(),
  createdAt: createdAt(),
  retiredAt: timestamp("retired_at", { withTimezone: true }),
});

export const refreshTokens = pgTable(
  "refresh_tokens",
  {
    id: id(),
    familyId: uuid("family_id").notNull(),
    tokenHash: text("token_hash").notNull().unique(),
    tenantId: tenantId(),
    level: accessLevel("level").notNull(),
    subject: text("subject").notNull(),
    businessId: uuid("business_id"),
    /** The subject's session generation it was issued under (auth/revocations.ts): older ones are refused. */
    generation: integer("generation").notNull().default(0),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
    usedAt: timestamp("used_at", { withTimezone: true }),
    revokedAt: timestamp("revoked_at", { withTimezone: true }),
    createdAt: createdAt(),
  },
  (table) => [
    index("refresh_tokens_family").on(table.familyId),
    // A subject's sessions, revoked together (auth/sessions.ts revokeSessions).
    index("refresh_tokens_subject").on(table.tenantId, table.subject),
    // Expired ones, removed (db/expiredRows.ts).
    index("refresh_tokens_expires").on(table.expiresAt),
  ],
);

export const siweNonces = pgTable("siwe_nonces", {
  nonce: text("nonce").primaryKey(),
  tenantId: tenantId(),
  expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
  usedAt: timestamp("used_at", { withTimezone: true }),
});

export const users = pgTable(
  "users",
  {
    id: id(),
    tenantId: tenantId(),
    /** The subject of the tenant's identity provider, when the user signs in through it. */
    externalId: text("external_id"),
    email: text("email"),
    /**
     * False while the email is one the user typed in themself (PATCH /users/:id): nothing vouches for
     * it, so payments are not matched to them by it. The tenant's own (ADMIN, SYSTEM, its identity
     * provider) count as verified.
     */
    emailVerified: boolean("email_verified").notNull().default(true),
    firstName: text("first_name"),
    lastName: text("last_name"),
    walletAddress: text("wallet_address").notNull(),
    /** The user's key when the API keeps their wallet (AES-256-GCM under MASTER_KEY); never returned. */
    keyCiphertext: text("key_ciphertext"),
    segments: text("segments")
      .array()
      .notNull()
      .default(sql`'{}'::text[]`),
    active: boolean("active").notNull().default(true),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (table) => [
    uniqueIndex("users_tenant_wallet").on(table.tenantId, table.walletAddress),
    uniqueIndex("users_tenant_external").on(table.tenantId, table.externalId),
    uniqueIndex("users_tenant_email").on(table.tenantId, table.email),
  ],
);

export const businessTypes = pgTable(
  "business_types",
  {
    id: id(),
    tenantId: tenantId(),
    name: text("name").notNull(),
    description: text("description"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (table) => [uniqueIndex("business_types_tenant_name").on(table.tenantId, table.name)],
);

export const businesses = pgTable("businesses", {
  id: id(),
  tenantId: tenantId(),
  businessTypeId: uuid("business_type_id").references(() => businessTypes.id, { onDelete: "set null" }),
  name: text("name").notNull(),
  email: text("email"),
  walletAddress: text("wallet_address").notNull(),
  keyCiphertext: text("key_ciphertext").notNull(),
  active: boolean("active").notNull().default(true),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

/** Users who act for a business (they sign in with level BUSINESS and that business as context). */
export const businessMembers = pgTable(
  "business_members",
  {
    tenantId: tenantId(),
    businessId: uuid("business_id")
      .notNull()
      .references(() => businesses.id, { onDelete: "cascade" }),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    createdAt: createdAt(),
  },
  (table) => [primaryKey({ columns: [table.businessId, table.userId] })],
);

export const campaignTriggers = pgTable("campaign_triggers", {
  id: id(),
  tenantId: tenantId(),
  name: text("name").notNull(),
  maxPerUser: integer("max_per_user"),
  maxPerDay: integer("max_per_day"),
  cooldownSeconds: integer("cooldown_seconds"),
  maxGeoDistanceMeters: integer("max_geo_distance_meters"),
  latitude: doublePrecision("latitude"),
  longitude: doublePrecision("longitude"),
  /** json-rules-engine conditions over the claim's facts. */
  conditions: jsonb("conditions").$type<Record<string, unknown>>(),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

export const campaigns = pgTable(
  "campaigns",
  {
    id: id(),
    tenantId: tenantId(),
    title: text("title").notNull(),
    description: text("description"),
    imageUrl: text("image_url"),
    visibility: campaignVisibility("visibility").notNull().default("PUBLIC"),
    targetUserIds: uuid("target_user_ids")
      .array()
      .notNull()
      .default(sql`'{}'::uuid[]`),
    targetSegments: text("target_segments")
      .array()
      .notNull()
      .default(sql`'{}'::text[]`),
    targetBusinessIds: uuid("target_business_ids")
      .array()
      .notNull()
      .default(sql`'{}'::uuid[]`),
    startsAt: timestamp("starts_at", { withTimezone: true }),
    endsAt: timestamp("ends_at", { withTimezone: true }),
    /** The accounting half, published on chain by the relayer: claims in the budget, claims per user. */
    budget: integer("budget"),
    maxClaimsPerUser: integer("max_claims_per_user"),
    /**
     * Claims accepted and not FAILED: what the budget counts. The claim route adds one and the
     * relayer takes failed ones off, so that accepting a claim never counts the campaign's claims.
     */
    liveClaims: integer("live_claims").notNull().default(0),
    status: campaignStatus("status").notNull().default("DRAFT"),
    triggerId: uuid("trigger_id").references(() => campaignTriggers.id, { onDelete: "set null" }),
    /** The CampaignRegistry's id once published. */
    onchainCampaignId: text("onchain_campaign_id"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (table) => [index("campaigns_tenant_created").on(table.tenantId, table.createdAt)],
);

export const campaignTags = pgTable(
  "campaign_tags",
  {
    tenantId: tenantId(),
    campaignId: uuid("campaign_id")
      .notNull()
      .references(() => campaigns.id, { onDelete: "cascade" }),
    tag: text("tag").notNull(),
  },
  (table) => [primaryKey({ columns: [table.campaignId, table.tag] })],
);

/** What one claim of a campaign pays: an amount of a tenant token (id 0 for points). */
export const campaignTokens = pgTable(
  "campaign_tokens",
  {
    id: id(),
    tenantId: tenantId(),
    campaignId: uuid("campaign_id")
      .notNull()
      .references(() => campaigns.id, { onDelete: "cascade" }),
    tokenAddress: text("token_address").notNull(),
    tokenId: text("token_id").notNull().default("0"),
    amount: text("amount").notNull(),
    createdAt: createdAt(),
  },
  // Each token once per campaign, whatever its id and the address's case: the CampaignRegistry
  // refuses a token paid twice (CampaignDuplicatePayout), ERC-1155 classes of one token included.
  (table) => [uniqueIndex("campaign_tokens_token").on(table.campaignId, sql`lower(${table.tokenAddress})`)],
);

/** A business taking part in a campaign, with its own cap on claims. */
export const campaignEngagements = pgTable(
  "campaign_engagements",
  {
    id: id(),
    tenantId: tenantId(),
    campaignId: uuid("campaign_id")
      .notNull()
      .references(() => campaigns.id, { onDelete: "cascade" }),
    businessId: uuid("business_id")
      .notNull()
      .references(() => businesses.id, { onDelete: "cascade" }),
    maxClaims: integer("max_claims"),
    /** The business's claims of the campaign accepted and not FAILED: what maxClaims counts (as campaigns.liveClaims). */
    liveClaims: integer("live_claims").notNull().default(0),
    active: boolean("active").notNull().default(true),
    createdAt: createdAt(),
  },
  (table) => [uniqueIndex("campaign_engagements_business").on(table.campaignId, table.businessId)],
);

export const triggerSources = pgTable("trigger_sources", {
  id: id(),
  tenantId: tenantId(),
  type: triggerSourceType("type").notNull(),
  name: text("name").notNull(),
  triggerId: uuid("trigger_id")
    .notNull()
    .references(() => campaignTriggers.id, { onDelete: "cascade" }),
  /** Signs QR payloads / verifies platform webhooks (AES-256-GCM under MASTER_KEY); shown once. */
  secretCiphertext: text("secret_ciphertext").notNull(),
  active: boolean("active").notNull().default(true),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

/**
 * The trigger-source proofs that paid a claim (a QR payload's nonce, a webhook's signature), each
 * hashed: a proof pays one claim, and a replay of it is refused until it has expired anyway.
 */
export const triggerProofUses = pgTable(
  "trigger_proof_uses",
  {
    triggerSourceId: uuid("trigger_source_id")
      .notNull()
      .references(() => triggerSources.id, { onDelete: "cascade" }),
    proofHash: text("proof_hash").notNull(),
    /** When the proof itself expires: the row is of no use after it (db/expiredRows.ts). */
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
  },
  (table) => [
    primaryKey({ columns: [table.triggerSourceId, table.proofHash] }),
    index("trigger_proof_uses_expires").on(table.expiresAt),
  ],
);

export const files = pgTable(
  "files",
  {
    id: id(),
    tenantId: tenantId(),
    /** Who uploaded it: `admin:<id>`, `user:<id>`, `business:<id>` or `key:<id>`. */
    uploadedBy: text("uploaded_by").notNull(),
    filename: text("filename").notNull(),
    contentType: text("content_type").notNull(),
    size: integer("size").notNull(),
    sha256: text("sha256").notNull(),
    visibility: fileVisibility("visibility").notNull().default("PRIVATE"),
    createdAt: createdAt(),
  },
  // What an uploader and a tenant keep stored, summed from the index alone (files/routes.ts).
  (table) => [index("files_tenant_uploader_size").on(table.tenantId, table.uploadedBy, table.size)],
);
