// Starting the API: configuration, database (migrated), signing keys, chains, then HTTP.
import { join } from "node:path";
import type { Server } from "node:http";
import { pino, type Logger } from "pino";
import { createApp } from "./app.ts";
import { problemTypeUri } from "./errors.ts";
import { connectChains, type Chains } from "./chain/chains.ts";
import { ConfigError, type Config } from "./config.ts";
import { openDatabase, type OpenDatabaseParameters } from "./db/client.ts";
import { startExpiredRowRemoval } from "./db/expiredRows.ts";
import { startRevocations } from "./auth/revocations.ts";
import { startTableMaintenance } from "./db/maintenance.ts";
import { createKeyStore } from "./auth/signingKeys.ts";
import type { Services } from "./http/context.ts";
import { startWebhookDispatcher, type WebhookDispatcher } from "./webhooks/dispatcher.ts";
import { jobKinds } from "./relay/kinds.ts";
import { startRelayer } from "./relay/worker.ts";
import { createApiKeyCache } from "./auth/apiKeyCache.ts";
import { createIdempotencyStore } from "./http/idempotency.ts";
import { createCampaignListCache } from "./resources/campaigns/listCache.ts";
import { createClaimWriter } from "./resources/claims/writer.ts";
import { createRecentCampaigns } from "./resources/claims/recentCampaigns.ts";

export type StartApiParameters = {
  config: Config;
  logger?: Logger;
  /** Tests pass their own chains; by default the deployment files and RPC_URL_<id>. */
  chains?: Chains;
  /** Tests pass an in-memory database; by default DATABASE_URL or PGlite under API_DATA_DIR. */
  database?: OpenDatabaseParameters;
};

export type StartApiReturnType = { url: string; server: Server; services: Services; close: () => Promise<void> };

export async function startApi({
  config,
  logger,
  chains,
  database: databaseParameters,
}: StartApiParameters): Promise<StartApiReturnType> {
  // Buffered, asynchronous writes: a synchronous write per request line costs more than the request.
  const destination = logger ? undefined : pino.destination({ dest: 1, sync: false, minLength: 4096 });
  const log = logger ?? pino({ level: config.LOG_LEVEL }, destination);
  // Lines wait until 4 KB gather: at most a second, so that a quiet API's warnings show when made.
  const flushing = destination && setInterval(() => destination.flush(), 1000).unref();
  // What has started so far, stopped in reverse if a later step fails.
  const started: Array<() => Promise<unknown>> = [];
  const stopStarted = async () => {
    for (const stop of started.reverse()) await stop().catch(() => undefined);
    clearInterval(flushing);
    destination?.flushSync();
  };
  try {
    return await start();
  } catch (error) {
    await stopStarted();
    throw error;
  }

  async function start(): Promise<StartApiReturnType> {
    const database = await openDatabase(
      databaseParameters ??
        (config.DATABASE_URL
          ? { kind: "postgres", url: config.DATABASE_URL }
          : { kind: "pglite", directory: join(config.API_DATA_DIR, "pglite") }),
    ).catch((error: unknown) => {
      // A failing migration is a bug, and keeps its stack; a database out of reach is the setting's.
      if (!outOfReach(error)) throw error;
      // The URL is not repeated: it may carry a password.
      const where = databaseParameters
        ? "the database"
        : config.DATABASE_URL
          ? "DATABASE_URL"
          : `API_DATA_DIR (PGlite under ${config.API_DATA_DIR})`;
      throw new ConfigError(`${where}: the database cannot be opened: ${messageOf(error)}`);
    });
    started.push(database.close);
    const revocations = await startRevocations({
      db: database.db,
      logger: log,
      tokenLifetimeSeconds: config.ACCESS_TOKEN_TTL_SECONDS,
      pollMs: config.SESSION_REVOCATION_POLL_MS,
    });
    started.push(revocations.stop);
    const services: Services = {
      config,
      db: database.db,
      logger: log,
      ping: database.ping,
      campaignLists: createCampaignListCache({ ttlMs: config.CAMPAIGN_LIST_CACHE_MS, maxChars: 32 * 1024 * 1024 }),
      idempotency: createIdempotencyStore(database.db),
      apiKeys: createApiKeyCache({ ttlMs: config.API_KEY_CACHE_MS, maxKeys: 10_000 }),
      revocations,
      claimWriter: createClaimWriter({
        db: database.db,
        windowMs: config.CLAIM_BATCH_WINDOW_MS,
        maxBatch: config.CLAIM_BATCH_MAX,
      }),
      recentCampaigns: createRecentCampaigns({ ttlMs: config.CLAIM_CAMPAIGN_CACHE_MS, maxCampaigns: 10_000 }),
      keys: createKeyStore({
        db: database.db,
        masterKey: config.MASTER_KEY,
        rotationSeconds: config.SIGNING_KEY_ROTATION_SECONDS,
        tokenLifetimeSeconds: config.ACCESS_TOKEN_TTL_SECONDS,
        issuer: config.JWT_ISSUER,
        audience: config.JWT_AUDIENCE,
      }),
      chains:
        chains ??
        connectChains({
          logger: log,
          ...(config.PERS_CHAINS && { chainIds: config.PERS_CHAINS }),
          ...(config.PLATFORM_PRIVATE_KEY && { privateKey: config.PLATFORM_PRIVATE_KEY as `0x${string}` }),
        }),
    };
    const { app } = createApp(services);
    const server = app.listen(config.API_PORT, config.API_HOST);
    started.push(() => new Promise((resolve) => server.close(resolve)));
    await new Promise<void>((resolve, reject) => {
      server.once("listening", resolve);
      server.once("error", reject);
    }).catch((error: unknown) => {
      throw new ConfigError(
        `API_HOST, API_PORT: cannot listen on ${config.API_HOST}:${config.API_PORT}: ${messageOf(error)}`,
      );
    });
    // Requests Node refuses before Koa sees them (headers too large, malformed HTTP) still get a
    // problem document.
    server.on("clientError", (error: NodeJS.ErrnoException, socket) => {
      if (!socket.writable) return socket.destroy();
      const tooLarge = error.code === "HPE_HEADER_OVERFLOW";
      const status = tooLarge ? 431 : 400;
      const body = JSON.stringify({
        type: problemTypeUri("bad-request"),
        title: tooLarge ? "Request header fields too large" : "Bad request",
        status,
        detail: tooLarge ? "The URL or headers are too large." : "The request is not valid HTTP.",
      });
      socket.end(
        `HTTP/1.1 ${status} ${tooLarge ? "Request Header Fields Too Large" : "Bad Request"}\r\n` +
          `content-type: application/problem+json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
      );
    });
    // Slow clients may not hold sockets open forever.
    server.requestTimeout = 30_000;
    server.headersTimeout = 10_000;
    // The relayer carries queued jobs to the chains (RELAYER_ENABLED; tests start their own).
    const relayer = config.RELAYER_ENABLED ? startRelayer({ services, kinds: jobKinds }) : undefined;
    const { port } = server.address() as { port: number };
    const url = `http://${config.API_HOST}:${port}`;
    log.info({ url, database: database.kind }, "api listening");
    const webhooks: WebhookDispatcher | undefined = config.WEBHOOK_DISPATCHER
      ? startWebhookDispatcher({ services })
      : undefined;
    // A PostgreSQL server vacuums its own tables; PGlite has no autovacuum (api/src/db/maintenance.ts).
    const maintenance =
      database.kind === "postgres" ? undefined : startTableMaintenance({ db: database.db, logger: log });
    const expiredRows = startExpiredRowRemoval({ db: database.db, logger: log });
    for (const task of [relayer, webhooks, maintenance, expiredRows]) if (task) started.push(task.stop);
    return {
      url,
      server,
      services,
      close: async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await closed;
        await services.claimWriter.stop();
        await webhooks?.stop();
        await relayer?.stop();
        await maintenance?.stop();
        await expiredRows.stop();
        await revocations.stop();
        await database.close();
        clearInterval(flushing);
        destination?.flushSync();
      },
    };
  }
}

/**
 * Whether the database could not be reached or entered: the network or the folder (Node's error
 * codes), or the server refusing the connection, the login or the database's name (SQLSTATE
 * classes 08 and 28, and 3D000).
 */
function outOfReach(error: unknown): boolean {
  const { code } = (error ?? {}) as { code?: unknown };
  if (typeof code !== "string") return false;
  return /^E[A-Z]+$/.test(code) || code.startsWith("08") || code.startsWith("28") || code === "3D000";
}

const messageOf = (error: unknown) =>
  error instanceof Error ? error.message || ((error as NodeJS.ErrnoException).code ?? error.name) : String(error);
