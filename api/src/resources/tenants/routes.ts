// Tenants: the platform creates them (deploying their contracts), lists and deactivates them; a
// tenant's admin reads and updates its own.
import { randomUUID } from "node:crypto";
import { and, asc, count, desc, eq, type SQL } from "drizzle-orm";
import type { Context } from "koa";
import type { Address } from "viem";
import { access } from "../../auth/principal.ts";
import { hashPassword, randomSecret } from "../../crypto/hashing.ts";
import { createCustodialWallet } from "../../crypto/wallets.ts";
import { admins, tenantDeployments, tenants } from "../../db/schema.ts";
import { badRequest, conflict, notFound, Problem, unavailable } from "../../errors.ts";
import { date } from "../../http/fields.ts";
import { idParams } from "../../http/pagination.ts";
import { defineRoute, type Api } from "../../http/route.ts";
import { assertOutboundUrl } from "../../outbound/urlPolicy.ts";
import { deploySuite } from "./deploy.ts";
import { tenant, tenantCreate, tenantCreated, tenantList, tenantListQuery, tenantUpdate } from "./schema.ts";

type TenantRow = typeof tenants.$inferSelect;

export const presentTenant = (row: TenantRow) => ({
  id: row.id,
  name: row.name,
  externalId: row.externalId,
  projectKey: row.projectKey,
  chainId: row.chainId,
  onchainId: row.onchainId,
  adminAddress: row.adminAddress,
  adminCustodial: row.adminKeyCiphertext !== null,
  contracts: row.contracts,
  creationTransaction: row.creationTransaction,
  idp: row.idpIssuer
    ? {
        issuer: row.idpIssuer,
        audience: row.idpAudience ?? "",
        jwksUrl: row.idpJwksUrl,
        publicJwk: row.idpPublicJwk,
      }
    : null,
  active: row.active,
  createdAt: date(row.createdAt)!,
  updatedAt: date(row.updatedAt)!,
});

/** The tenant the caller may see under this id: any for the platform, only its own for a tenant. */
async function visibleTenant(ctx: Context, id: string): Promise<TenantRow> {
  const principal = ctx.state.principal!;
  if (principal.kind !== "platform" && (principal.kind === "public" || principal.tenantId !== id)) {
    throw notFound("tenant");
  }
  const [row] = await ctx.services.db.select().from(tenants).where(eq(tenants.id, id)).limit(1);
  if (!row) throw notFound("tenant");
  return row;
}

const idpColumns = (
  ctx: Context,
  idp: { issuer: string; audience: string; jwksUrl?: string; publicJwk?: Record<string, unknown> } | null,
) => {
  // The API fetches this URL itself: plain http would let anyone on the path forge the keys, and a
  // private address would let a tenant make the API call inside our network.
  assertOutboundUrl(idp?.jwksUrl, "body.idp.jwksUrl", {
    allowHttp: ctx.services.config.IDP_ALLOW_HTTP,
    allowPrivateNetworks: ctx.services.config.OUTBOUND_ALLOW_PRIVATE_NETWORKS,
  });
  return {
    idpIssuer: idp?.issuer ?? null,
    idpAudience: idp?.audience ?? null,
    idpJwksUrl: idp?.jwksUrl ?? null,
    idpPublicJwk: idp?.publicJwk ?? null,
  };
};

/**
 * The tenant's id and admin, recorded before anything is deployed so that a deployment outliving
 * its request is adopted on retry with the same custodial wallet (see tenantDeployments). A retry
 * must ask for the same chain and admin as the attempt it resumes.
 */
async function recordDeployment(ctx: Context, externalId: string, chainId: number, adminAddress: Address | undefined) {
  const { db, config } = ctx.services;
  const [earlier] = await db.select().from(tenantDeployments).where(eq(tenantDeployments.externalId, externalId));
  if (earlier) {
    const sameAdmin = adminAddress
      ? adminAddress.toLowerCase() === earlier.adminAddress.toLowerCase()
      : earlier.adminKeyCiphertext !== null;
    if (earlier.chainId !== chainId || !sameAdmin) {
      throw conflict(
        `A creation of the tenant ${externalId} on chain ${earlier.chainId} with admin ${earlier.adminAddress} is unfinished; ` +
          "retry it with the same chain and admin.",
      );
    }
    return earlier;
  }
  const tenantId = randomUUID();
  const custodial = adminAddress ? undefined : createCustodialWallet(config.MASTER_KEY, `tenant-admin:${tenantId}`);
  const [recorded] = await db
    .insert(tenantDeployments)
    .values({
      externalId,
      tenantId,
      chainId,
      adminAddress: adminAddress ?? custodial!.address,
      adminKeyCiphertext: custodial?.keyCiphertext ?? null,
    })
    .onConflictDoNothing()
    .returning();
  if (!recorded) throw conflict(`The tenant ${externalId} is being created by another request.`);
  return recorded;
}

export function registerTenants(api: Api) {
  defineRoute(api, {
    method: "post",
    path: "/tenants",
    summary: "Create a tenant: deploy its contract suite, then its first admin",
    tags: ["tenants"],
    access: access.platform,
    body: tenantCreate,
    errors: [409, 503],
    responses: { 201: { description: "Created and deployed", schema: tenantCreated } },
    handler: async (ctx) => {
      const input = ctx.input.body;
      const { db, chains, config } = ctx.services;
      const chainId = input.chainId ?? chains.ids()[0];
      const chain = chainId === undefined ? undefined : chains.get(chainId);
      if (!chain) {
        throw chainId === undefined
          ? unavailable("The API has no chain to deploy to: deploy the protocol and set RPC_URL_<chainId>.")
          : badRequest(`The API does not write to chain ${chainId}; it writes to: ${chains.ids().join(", ")}.`);
      }
      const [existing] = await db
        .select({ id: tenants.id })
        .from(tenants)
        .where(eq(tenants.externalId, input.externalId));
      if (existing) throw conflict(`A tenant with externalId ${input.externalId} exists.`);
      // Checked before anything is deployed.
      const idp = idpColumns(ctx, input.idp ?? null);

      const deployment = await recordDeployment(ctx, input.externalId, chain.chainId, input.adminAddress);
      const { tenantId: id, adminAddress } = deployment;
      const passwordHash = await hashPassword(input.admin.password);
      ctx.log.info({ externalId: input.externalId, chainId: chain.chainId }, "deploying tenant suite");
      const deployed = await deploySuite({
        services: { db, config, logger: ctx.log },
        chain,
        externalId: input.externalId,
        admin: adminAddress as Address,
        points: input.points,
        ...(input.rewardUri && { rewardUri: input.rewardUri }),
        ...(input.statusUri && { statusUri: input.statusUri }),
      }).catch(async (error: unknown) => {
        // The externalId is taken on chain by a suite with another admin: no attempt of this record
        // can ever create it, so it is done with. (After a 503 it stays, for the retry.)
        if (error instanceof Problem && error.status === 409) {
          await db.delete(tenantDeployments).where(eq(tenantDeployments.externalId, input.externalId));
        }
        throw error;
      });
      const { row, adminId } = await db.transaction(async (tx) => {
        const [row] = await tx
          .insert(tenants)
          .values({
            id,
            name: input.name,
            externalId: input.externalId,
            projectKey: randomSecret("pers_pk_", 16),
            chainId: chain.chainId,
            onchainId: deployed.tenantId,
            adminAddress,
            adminKeyCiphertext: deployment.adminKeyCiphertext,
            contracts: {
              ...deployed.suite,
              forwarder: chain.deployment.contracts.forwarder,
              tenantFactory: chain.deployment.contracts.tenantFactory,
            },
            creationTransaction: deployed.transactionHash,
            ...idp,
          })
          .returning();
        const [admin] = await tx
          .insert(admins)
          .values({ tenantId: id, email: input.admin.email.toLowerCase(), name: input.admin.name, passwordHash })
          .returning({ id: admins.id });
        await tx.delete(tenantDeployments).where(eq(tenantDeployments.externalId, input.externalId));
        return { row: row!, adminId: admin!.id };
      });
      ctx.status = 201;
      ctx.body = { tenant: presentTenant(row), admin: { id: adminId, email: input.admin.email.toLowerCase() } };
    },
  });

  defineRoute(api, {
    method: "get",
    path: "/tenants",
    summary: "List tenants",
    tags: ["tenants"],
    access: access.platform,
    query: tenantListQuery,
    responses: { 200: { description: "A page of tenants", schema: tenantList } },
    handler: async (ctx) => {
      const { page, limit, sort, order, active, chainId } = ctx.input.query;
      const conditions: SQL[] = [];
      if (active !== undefined) conditions.push(eq(tenants.active, active));
      if (chainId !== undefined) conditions.push(eq(tenants.chainId, chainId));
      const where = and(...conditions);
      const column = sort === "name" ? tenants.name : tenants.createdAt;
      const { db } = ctx.services;
      const [rows, [total]] = await Promise.all([
        db
          .select()
          .from(tenants)
          .where(where)
          .orderBy(order === "asc" ? asc(column) : desc(column), asc(tenants.id))
          .limit(limit)
          .offset((page - 1) * limit),
        db.select({ total: count() }).from(tenants).where(where),
      ]);
      ctx.body = { data: rows.map(presentTenant), pagination: { page, limit, total: Number(total?.total ?? 0) } };
    },
  });

  defineRoute(api, {
    method: "get",
    path: "/tenants/:id",
    summary: "Read a tenant (the platform any, a tenant's admin its own)",
    tags: ["tenants"],
    access: access.platformOr("ADMIN", "SYSTEM"),
    params: idParams,
    responses: { 200: { description: "The tenant", schema: tenant } },
    handler: async (ctx) => {
      ctx.body = presentTenant(await visibleTenant(ctx, ctx.input.params.id));
    },
  });

  defineRoute(api, {
    method: "patch",
    path: "/tenants/:id",
    summary: "Update a tenant's name or identity provider (only the platform may deactivate)",
    tags: ["tenants"],
    access: access.platformOr("ADMIN"),
    params: idParams,
    body: tenantUpdate,
    responses: { 200: { description: "The updated tenant", schema: tenant } },
    handler: async (ctx) => {
      const existing = await visibleTenant(ctx, ctx.input.params.id);
      const { name, idp, active } = ctx.input.body;
      if (active !== undefined && ctx.state.principal?.kind !== "platform") {
        throw badRequest("Only the platform activates or deactivates a tenant.");
      }
      const [row] = await ctx.services.db
        .update(tenants)
        .set({
          ...(name !== undefined && { name }),
          ...(idp !== undefined && idpColumns(ctx, idp)),
          ...(active !== undefined && { active }),
          updatedAt: new Date(),
        })
        .where(eq(tenants.id, existing.id))
        .returning();
      if (active === false) ctx.services.apiKeys.forget(existing.id);
      if (active !== undefined) ctx.services.revocations.noteTenantChange(existing.id, active);
      ctx.body = presentTenant(row!);
    },
  });

  defineRoute(api, {
    method: "delete",
    path: "/tenants/:id",
    summary:
      "Deactivate a tenant: its API keys, refresh and access tokens stop at once (within API_KEY_CACHE_MS and SESSION_REVOCATION_POLL_MS on other API processes); its contracts stay the tenant's",
    tags: ["tenants"],
    access: access.platform,
    params: idParams,
    responses: { 204: { description: "Deactivated" } },
    handler: async (ctx) => {
      const updated = await ctx.services.db
        .update(tenants)
        .set({ active: false, updatedAt: new Date() })
        .where(eq(tenants.id, ctx.input.params.id))
        .returning({ id: tenants.id });
      if (updated.length === 0) throw notFound("tenant");
      ctx.services.apiKeys.forget(ctx.input.params.id);
      ctx.services.revocations.noteTenantChange(ctx.input.params.id, false);
      ctx.status = 204;
    },
  });
}
