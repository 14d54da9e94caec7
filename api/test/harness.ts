// The API under test: a real HTTP server on a real database (in-memory PGlite, and in CI also a
// fresh database on the PostgreSQL server named by PERS_TEST_DATABASE_URL), writing to a real
// local Hardhat chain served over HTTP.
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { network } from "hardhat";
import { pino } from "pino";
import { hardhat } from "viem/chains";
import { rpcUrlVariableFor, writeDeployment } from "../../deploy/deployment-file.ts";
import { deployProtocol } from "../../deploy/protocol.ts";
import { connectChains, type Chains } from "../src/chain/chains.ts";
import { readConfig, type Config } from "../src/config.ts";
import {
  openDatabase,
  type Database,
  type OpenDatabaseParameters,
  type OpenDatabaseReturnType,
} from "../src/db/client.ts";
import { tenants } from "../src/db/schema.ts";
import { startApi, type StartApiReturnType } from "../src/server.ts";
import { startSession } from "../src/auth/sessions.ts";
import { tenantScope } from "../src/db/scope.ts";
import { createUser, type NewUser } from "../src/resources/users/accounts.ts";
import { createScratchDatabase } from "../../test/helpers/scratchDatabase.ts";

export type TestDatabase = {
  name: string;
  open: () => Promise<{ parameters: OpenDatabaseParameters; drop: () => Promise<void> }>;
};

/** PGlite always; PostgreSQL too when PERS_TEST_DATABASE_URL names a server (CI sets it). */
export function testDatabases(): TestDatabase[] {
  const server = process.env.PERS_TEST_DATABASE_URL;
  const databases: TestDatabase[] = [
    { name: "PGlite", open: async () => ({ parameters: { kind: "memory" }, drop: async () => {} }) },
  ];
  if (server) {
    databases.push({
      name: "PostgreSQL",
      open: async () => {
        const database = await createScratchDatabase(server, "api_test");
        return { parameters: { kind: "postgres", url: database.url }, drop: database.drop };
      },
    });
  }
  return databases;
}

/** The database opened as the API opens it (migrated), for tests without an API; close() also drops it. */
export async function openTestDatabase(database: TestDatabase): Promise<OpenDatabaseReturnType> {
  const scratch = await database.open();
  const opened = await openDatabase(scratch.parameters);
  return {
    ...opened,
    close: async () => {
      await opened.close();
      await scratch.drop();
    },
  };
}

/** A tenant row alone, with no contracts behind it: for tests of tables that belong to a tenant. */
export async function insertTenantRow(db: Database, name: string) {
  const [tenant] = await db
    .insert(tenants)
    .values({
      name,
      externalId: randomUUID(),
      projectKey: randomUUID(),
      chainId: hardhat.id,
      onchainId: "1",
      adminAddress: "0x0000000000000000000000000000000000000001",
      contracts: {} as never,
      creationTransaction: "0x",
    })
    .returning();
  return tenant!;
}

export type TestChain = { rpcUrl: string; deploymentsDir: string; chains: Chains; close: () => Promise<void> };

/** A Hardhat chain on a free port with the protocol deployed, as the API would find it. */
export async function startTestChain(): Promise<TestChain> {
  const server = await network.createServer("default", "127.0.0.1", 0);
  const { port } = await server.listen();
  const rpcUrl = `http://127.0.0.1:${port}`;
  const { viem } = await network.create({ network: "localhost", override: { url: rpcUrl } });
  const deployed = await deployProtocol(viem);
  const deploymentsDir = mkdtempSync(join(tmpdir(), "pers-api-"));
  writeDeployment(
    { ...deployed, network: "localhost", rpcUrlVariable: rpcUrlVariableFor(deployed.chainId) },
    deploymentsDir,
  );
  const chains = connectChains({
    deploymentsDir,
    environment: { [rpcUrlVariableFor(deployed.chainId)]: rpcUrl },
    logger: pino({ level: "silent" }),
  });
  return { rpcUrl, deploymentsDir, chains, close: () => server.close() };
}

export const PLATFORM_KEY = `platform-${randomBytes(24).toString("hex")}`;

export type TestApi = StartApiReturnType & {
  config: Config;
  request: (method: string, path: string, options?: RequestOptions) => Promise<TestResponse>;
};

export type RequestOptions = {
  token?: string;
  apiKey?: string;
  projectKey?: string;
  body?: unknown;
  /** Sent as is (for malformed bodies); wins over body. */
  rawBody?: string | Buffer;
  headers?: Record<string, string>;
};

export type TestResponse = { status: number; headers: Headers; body: any; text: string };

export async function startTestApi(options: {
  database: OpenDatabaseParameters;
  chain?: TestChain;
  environment?: Record<string, string>;
}): Promise<TestApi> {
  const config = readConfig({
    API_PORT: "0",
    MASTER_KEY: randomBytes(32).toString("hex"),
    PLATFORM_API_KEY: PLATFORM_KEY,
    API_DATA_DIR: mkdtempSync(join(tmpdir(), "pers-api-data-")),
    LOG_LEVEL: "silent",
    // The suite signs in far more often than any person would.
    AUTH_RATE_LIMIT_PER_IP: "100000",
    RATE_LIMIT_PER_IP: "1000000",
    RATE_LIMIT_PER_KEY: "1000000",
    // Tests that need webhooks start the dispatcher themselves (api/src/webhooks/dispatcher.ts).
    WEBHOOK_DISPATCHER: "false",
    // Tests start the relayer themselves (api/src/relay/*.test.ts), or pass RELAYER_ENABLED=true.
    RELAYER_ENABLED: "false",
    // Receivers and identity providers under test listen on 127.0.0.1.
    OUTBOUND_ALLOW_PRIVATE_NETWORKS: "true",
    // A process sees its own revocations at once; polling for other processes' (two statements a
    // second) would only add statements to the tests that count them (api/src/auth/revocations.test.ts
    // polls on its own).
    SESSION_REVOCATION_POLL_MS: "600000",
    ...options.environment,
  });
  const api = await startApi({
    config,
    database: options.database,
    chains: options.chain?.chains ?? { ids: () => [], get: () => undefined },
  });
  const request = async (method: string, path: string, request: RequestOptions = {}): Promise<TestResponse> => {
    const headers: Record<string, string> = { ...request.headers };
    if (request.token) headers.authorization = `Bearer ${request.token}`;
    if (request.apiKey) headers["x-api-key"] = request.apiKey;
    if (request.projectKey) headers["x-project-key"] = request.projectKey;
    let body: string | Buffer | undefined = request.rawBody;
    if (body === undefined && request.body !== undefined) {
      body = JSON.stringify(request.body);
      headers["content-type"] ??= "application/json";
    }
    const response = await fetch(`${api.url}${path}`, { method, headers, ...(body !== undefined && { body }) });
    const text = await response.text();
    let parsed: unknown = undefined;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: response.status, headers: response.headers, body: parsed, text };
  };
  return { ...api, config, request };
}

/** An API on a fresh database of this kind (see testDatabases); its close() drops the database too. */
export async function startTestApiOn(
  database: TestDatabase,
  options: Omit<Parameters<typeof startTestApi>[0], "database"> = {},
): Promise<TestApi> {
  const opened = await database.open();
  const api = await startTestApi({ ...options, database: opened.parameters });
  return {
    ...api,
    close: async () => {
      await api.close();
      await opened.drop();
    },
  };
}

let tenantCounter = 0;

export type TestTenant = {
  id: string;
  projectKey: string;
  tenant: any;
  admin: { id: string; email: string; password: string };
  /** An ADMIN access token. */
  adminToken: string;
};

/** A tenant created through the API (its suite deployed on the test chain) and its admin's token. */
export async function createTestTenant(api: TestApi, overrides: Record<string, unknown> = {}): Promise<TestTenant> {
  tenantCounter += 1;
  const externalId = `tenant-${process.pid}-${tenantCounter}-${randomBytes(3).toString("hex")}`;
  const admin = { email: `admin@${externalId}.test`, name: "Admin", password: "correct horse battery staple" };
  const created = await api.request("POST", "/tenants", {
    apiKey: PLATFORM_KEY,
    body: {
      name: `Tenant ${tenantCounter}`,
      externalId,
      points: { name: "Points", symbol: "PTS" },
      admin,
      ...overrides,
    },
  });
  if (created.status !== 201) throw new Error(`createTestTenant: ${created.status} ${created.text}`);
  const { tenant } = created.body;
  const session = await api.request("POST", "/auth/token", {
    projectKey: tenant.projectKey,
    body: { type: "password", email: admin.email, password: admin.password },
  });
  if (session.status !== 200) throw new Error(`createTestTenant: sign-in ${session.status} ${session.text}`);
  return {
    id: tenant.id,
    projectKey: tenant.projectKey,
    tenant,
    admin: { id: created.body.admin.id, email: admin.email, password: admin.password },
    adminToken: session.body.accessToken,
  };
}

/** Asserts nothing here; returns whether a response is a problem document (RFC 9457). */
export const isProblem = (response: TestResponse) =>
  (response.headers.get("content-type") ?? "").startsWith("application/problem+json") &&
  typeof response.body?.type === "string" &&
  typeof response.body?.title === "string" &&
  response.body?.status === response.status;

/**
 * An access token for any identity, signed by the API's own key store. For fixtures only: the
 * sign-in grants themselves are tested in resources/auth.
 */
export async function tokenFor(
  api: TestApi,
  subject: { tenantId: string; level: "USER" | "BUSINESS" | "ADMIN" | "SYSTEM"; subject: string; businessId?: string },
): Promise<string> {
  const session = await startSession(api.services, subject);
  return session.accessToken;
}

/** A user row in a tenant (custodial wallet unless one is given), and a USER token for them. */
export async function insertUser(api: TestApi, tenantId: string, user: NewUser = {}) {
  const row = await createUser(tenantScope(api.services.db, tenantId), api.config.MASTER_KEY, user);
  const token = await tokenFor(api, { tenantId, level: "USER", subject: `user:${row.id}` });
  return { user: row, token };
}
