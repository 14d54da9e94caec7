// Reading the chain while answering a request: the caller's tenant with its chain's clients, and
// one wrapper that turns a chain that fails or answers too late into a 503 problem, never a 500.
import { eq } from "drizzle-orm";
import type { Context } from "koa";
import { BaseError } from "viem";
import { tenants } from "../db/schema.ts";
import { scopeOf } from "../db/scope.ts";
import { notFound, unavailable } from "../errors.ts";
import type { ChainClients } from "./chains.ts";

export type TenantRow = typeof tenants.$inferSelect;
export type TenantChain = { tenant: TenantRow; chain: ChainClients };

class ChainTimeout extends Error {}

/**
 * Runs `read` against chain `chainId` within CHAIN_READ_TIMEOUT_MS. A failed RPC call (viem's
 * errors) or a timeout is a 503 naming the chain; the cause is logged, not returned, since RPC
 * URLs may carry credentials. Anything else is a bug and stays one.
 */
export async function readChain<T>(ctx: Context, chainId: number, read: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ChainTimeout()), ctx.services.config.CHAIN_READ_TIMEOUT_MS);
  });
  try {
    return await Promise.race([read(), timeout]);
  } catch (error) {
    if (!(error instanceof BaseError || error instanceof ChainTimeout)) throw error;
    ctx.log.warn({ err: error, chainId }, "chain read failed");
    throw unavailable(`Chain ${chainId} did not answer; try again later.`);
  } finally {
    clearTimeout(timer);
  }
}

/** The caller's tenant (X-Project-Key or a tenant credential) and the clients of the chain it lives on. */
export async function tenantChainOf(ctx: Context): Promise<TenantChain> {
  const { tenantId } = scopeOf(ctx);
  const [tenant] = await ctx.services.db.select().from(tenants).where(eq(tenants.id, tenantId)).limit(1);
  if (!tenant) throw notFound("tenant");
  const chain = ctx.services.chains.get(tenant.chainId);
  if (!chain) throw unavailable(`The API has no connection to chain ${tenant.chainId}.`);
  return { tenant, chain };
}
