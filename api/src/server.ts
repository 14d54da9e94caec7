// Starting the API: configuration, database (migrated), signing keys, chains, then HTTP.
import { join } from "node:path";
import type { Server } from "node:http";
import { pino, type Logger } from "pino";
import { createApp } from "./app.ts";
import { connectChains, type Chains } from "./chain/chains.ts";
import type { Config } from "./config.ts";
import { openDatabase, type OpenDatabaseParameters } from "./db/client.ts";
import { createKeyStore } from "./auth/signingKeys.ts";
import type { Services } from "./http/context.ts";

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
  const log = logger ?? pino({ level: config.LOG_LEVEL });
  const database = await openDatabase(
    databaseParameters ??
      (config.DATABASE_URL
        ? { kind: "postgres", url: config.DATABASE_URL }
        : { kind: "pglite", directory: join(config.API_DATA_DIR, "pglite") }),
  );
  const services: Services = {
    config,
    db: database.db,
    logger: log,
    ping: database.ping,
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
  await new Promise<void>((resolve, reject) => {
    server.once("listening", resolve);
    server.once("error", reject);
  }).catch(async (error) => {
    await database.close();
    throw error;
  });
  // Slow clients may not hold sockets open forever.
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  const { port } = server.address() as { port: number };
  const url = `http://${config.API_HOST}:${port}`;
  log.info({ url, database: database.kind }, "api listening");
  return {
    url,
    server,
    services,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      await database.close();
    },
  };
}
