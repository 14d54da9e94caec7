// The API's configuration, read from the environment once at start and checked with zod: a wrong
// value stops the start with a message naming the variable.
import { z } from "zod";

const hex32 = z
  .string()
  .regex(/^(0x)?[0-9a-fA-F]{64}$/, "must be 32 bytes in hex (openssl rand -hex 32)")
  .transform((value) => Buffer.from(value.replace(/^0x/, ""), "hex"));

const positiveInt = z.coerce.number().int().positive();

const environmentSchema = z.object({
  API_HOST: z.string().min(1).default("127.0.0.1"),
  API_PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  /** Postgres when set; embedded PGlite under API_DATA_DIR otherwise. */
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  API_DATA_DIR: z.string().min(1).default(".data"),
  FILES_DIR: z.string().min(1).optional(),
  /** Encrypts every key the API keeps (custodial wallets, signing keys, trigger secrets). */
  MASTER_KEY: hex32,
  /** A platform credential (SYSTEM level, no tenant): creates and lists tenants. */
  PLATFORM_API_KEY: z.string().min(32, "must be at least 32 characters").optional(),
  JWT_ISSUER: z.string().min(1).default("pers-api"),
  JWT_AUDIENCE: z.string().min(1).default("pers"),
  ACCESS_TOKEN_TTL_SECONDS: positiveInt.default(900),
  REFRESH_TOKEN_TTL_SECONDS: positiveInt.default(30 * 24 * 3600),
  SIGNING_KEY_ROTATION_SECONDS: positiveInt.default(24 * 3600),
  SIWE_NONCE_TTL_SECONDS: positiveInt.default(300),
  /**
   * The domains (host[:port]) a Sign-In-with-Ethereum message may name. Unset: only this machine's
   * (localhost and 127.0.0.1 at the port the API listens on), never the request's Host, which the
   * client chooses. A deployed API sets it to its dApps' domains.
   */
  SIWE_DOMAINS: z
    .string()
    .transform((value) =>
      value
        .split(",")
        .map((domain) => domain.trim())
        .filter(Boolean),
    )
    .optional(),
  RATE_LIMIT_PER_IP: positiveInt.default(600),
  RATE_LIMIT_PER_KEY: positiveInt.default(1200),
  /** Sign-in and refresh attempts per IP: the brake on password guessing. */
  AUTH_RATE_LIMIT_PER_IP: positiveInt.default(30),
  RATE_LIMIT_WINDOW_SECONDS: positiveInt.default(60),
  BODY_LIMIT_BYTES: positiveInt.default(1024 * 1024),
  /**
   * How long an API key found in the database is trusted before it is looked up again (0: every
   * request). A key revoked through another API process stops working here within this time.
   */
  API_KEY_CACHE_MS: z.coerce.number().int().min(0).default(1000),
  /**
   * How often each API process reads the sessions ended and tenants deactivated by the others
   * (auth/revocations.ts): their access tokens stop working there within this time.
   */
  SESSION_REVOCATION_POLL_MS: positiveInt.default(1000),
  /** How long a campaign list answer is served again before the database is read (0: always read). */
  CAMPAIGN_LIST_CACHE_MS: z.coerce.number().int().min(0).default(1000),
  /**
   * How long the first claim of a batch waits for others before the batch is recorded in one
   * transaction (api/src/resources/claims/writer.ts), and how many claims make a batch at once.
   */
  CLAIM_BATCH_WINDOW_MS: z.coerce.number().int().min(0).default(5),
  CLAIM_BATCH_MAX: positiveInt.default(50),
  /**
   * How long claims take their campaign's row from memory instead of reading it (0: every claim
   * reads it). Only a hint: the claim writer checks it against the locked row (claims/recentCampaigns.ts).
   */
  CLAIM_CAMPAIGN_CACHE_MS: z.coerce.number().int().min(0).default(1000),
  /** How far ahead a trigger source's QR payload may expire: short-lived, as a screen shows them. */
  TRIGGER_QR_MAX_LIFETIME_SECONDS: positiveInt.default(86_400),
  FILE_MAX_BYTES: positiveInt.default(5 * 1024 * 1024),
  /** The bytes one uploader (a user, a business, an admin, a key) may keep stored. */
  FILE_QUOTA_BYTES: positiveInt.default(100 * 1024 * 1024),
  /** The bytes a tenant's files may take in all. */
  FILE_TENANT_QUOTA_BYTES: positiveInt.default(10 * 1024 * 1024 * 1024),
  FILE_TYPES: z
    .string()
    .default("image/png,image/jpeg,image/webp,image/gif,application/pdf")
    .transform((value) => value.split(",").map((type) => type.trim())),
  /** Chains the API writes to (deployment files must exist); all deployment files when unset. */
  PERS_CHAINS: z
    .string()
    .regex(/^\d+(,\d+)*$/, "must be chain ids separated by commas")
    .transform((value) => value.split(",").map(Number))
    .optional(),
  /** The platform's deployer and operator key; on the local chain Hardhat's account 0 if unset. */
  PLATFORM_PRIVATE_KEY: z
    .string()
    .regex(/^0x[0-9a-fA-F]{64}$/, "must be a 0x-prefixed 32-byte private key")
    .optional(),
  /** A signer whose balance is below this (in wei) is reported `low` by /chains (and a `signer.balance_low` event). */
  SIGNER_LOW_BALANCE_WEI: z
    .string()
    .regex(/^\d{1,78}$/, "must be a non-negative integer in wei")
    .default("50000000000000000")
    .transform((value) => BigInt(value)),
  /** Run the relayer (api/src/relay/worker.ts) in this process. */
  RELAYER_ENABLED: z.stringbool().default(true),
  RELAYER_POLL_INTERVAL_MS: positiveInt.default(250),
  /** Blocks a relayed transaction's receipt must have (its own included) before its jobs are confirmed. */
  RELAYER_CONFIRMATIONS: positiveInt.default(1),
  /** A relayed transaction not mined after this long is replaced with the same nonce and higher fees. */
  RELAYER_REPLACE_AFTER_MS: positiveInt.default(30_000),
  /**
   * The most any relayed transaction may offer per gas (its maxFeePerGas, in wei): a replacement
   * stops there, and nothing is sent while the chain's base fee is above it. 500 gwei: far above an
   * L2's usual fees, yet a bound on what a congested chain or a bug can cost.
   */
  RELAYER_MAX_FEE_PER_GAS_WEI: z
    .string()
    .regex(/^[1-9]\d{0,77}$/, "must be a positive integer in wei")
    .default("500000000000")
    .transform((value) => BigInt(value)),
  /** Requests one wallet may have relayed through the forwarder per hour (redemptions, transfers, burns); over it, 429. */
  RELAYER_WALLET_REQUESTS_PER_HOUR: positiveInt.default(120),
  /** Gas one tenant's relayed transactions may use per hour (0: no limit); over it, its jobs wait. */
  RELAYER_TENANT_GAS_PER_HOUR: z.coerce.number().int().min(0).default(20_000_000_000),
  /** How long POST /tenants waits for its TenantFactory transaction to be confirmed before answering 503. */
  TENANT_DEPLOY_TIMEOUT_MS: positiveInt.default(120_000),
  /** How long a read from a chain may take before the API answers that the chain is unavailable. */
  CHAIN_READ_TIMEOUT_MS: positiveInt.default(5000),
  /** The Ponder indexer (indexer/): balances and transactions are read from its GraphQL. */
  INDEXER_URL: z.url({ protocol: /^https?$/ }).default("http://127.0.0.1:42069"),
  /** How long a read from the indexer may take before the API answers that it is unavailable. */
  INDEXER_TIMEOUT_MS: positiveInt.default(5000),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** Let tenants register an http:// JWKS URL (local development and tests only: https otherwise). */
  IDP_ALLOW_HTTP: z.stringbool().default(false),
  /**
   * Let the API connect to private, loopback and other non-public addresses when it fetches a URL a
   * tenant gave it (webhook endpoints, JWKS URLs): local development and tests only, SSRF otherwise.
   */
  OUTBOUND_ALLOW_PRIVATE_NETWORKS: z.stringbool().default(false),
  /** Browser origins allowed to call the API (dApps): `*` or origins separated by commas. */
  CORS_ORIGINS: z
    .string()
    .default("*")
    .transform((value) => value.split(",").map((origin) => origin.trim())),
  /** Let tenants register http:// webhook endpoints (local development and tests only: https otherwise). */
  WEBHOOKS_ALLOW_HTTP: z.stringbool().default(false),
  /** Run the webhook dispatcher in this process (several processes may: they share the deliveries). */
  WEBHOOK_DISPATCHER: z.stringbool().default(true),
  WEBHOOK_POLL_INTERVAL_MS: positiveInt.default(1000),
  /** How long a receiver may take to answer one delivery. */
  WEBHOOK_TIMEOUT_MS: positiveInt.default(10_000),
  /** Seconds to wait before each retry of a failed delivery; after the last one it has failed for good. */
  WEBHOOK_RETRY_SCHEDULE_SECONDS: z
    .string()
    .regex(/^\d+(,\d+)*$/, "must be seconds separated by commas")
    .default("5,30,120,600,3600,10800,21600,43200")
    .transform((value) => value.split(",").map(Number)),
  /** How far a payment provider's webhook timestamp may be from now. */
  PURCHASE_WEBHOOK_TOLERANCE_SECONDS: positiveInt.default(300),
  /** Trust X-Forwarded-For (behind a proxy) when rate limiting by IP. */
  TRUST_PROXY: z.stringbool().default(false),
  /**
   * With TRUST_PROXY, how many proxies in front of the API append to X-Forwarded-For: the client's
   * address is the entry that many from the end. Entries before it are whatever the client sent.
   */
  TRUST_PROXY_HOPS: positiveInt.default(1),
});

export type Config = z.output<typeof environmentSchema>;

/** Every variable the API reads (README's configuration table lists each). */
export const CONFIG_VARIABLES = Object.keys(environmentSchema.shape);

export class ConfigError extends Error {}

/** Reads the configuration; throws ConfigError naming each wrong variable. */
export function readConfig(environment: NodeJS.ProcessEnv = process.env): Config {
  // An empty variable means unset, as in most shells' `VAR= command`.
  const set = Object.fromEntries(Object.entries(environment).filter(([, value]) => value !== ""));
  const parsed = environmentSchema.safeParse(set);
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((issue) => `  ${issue.path.join(".")}: ${issue.message}`);
  throw new ConfigError(`the API's configuration is wrong:\n${lines.join("\n")}`);
}
