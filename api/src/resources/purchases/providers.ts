// Payment providers: a tenant's admin registers each provider whose webhooks report purchases, with
// the points a payment is worth. The provider's signing secret is sealed under the master key bound
// to the provider's id and shown only when it is made or replaced.
import { randomUUID } from "node:crypto";
import { eq } from "drizzle-orm";
import type { Context } from "koa";
import { getAddress } from "viem";
import { access } from "../../auth/principal.ts";
import { readChain, tenantChainOf } from "../../chain/reads.ts";
import { randomSecret } from "../../crypto/hashing.ts";
import { open, seal } from "../../crypto/secretBox.ts";
import { isForeignKeyViolation } from "../../db/errors.ts";
import { purchaseProviders } from "../../db/purchasesSchema.ts";
import { scopeOf } from "../../db/scope.ts";
import { conflict, validationFailed } from "../../errors.ts";
import { date } from "../../http/fields.ts";
import { idParams } from "../../http/pagination.ts";
import { defineRoute, type Api } from "../../http/route.ts";
import { pointsTokensOf } from "../tokens/onchain.ts";
import {
  purchaseProvider,
  purchaseProviderCreate,
  purchaseProviderList,
  purchaseProviderListQuery,
  purchaseProviderUpdate,
  purchaseProviderWithSecret,
} from "./schema.ts";

type ProviderRow = typeof purchaseProviders.$inferSelect;

const secretContext = (id: string) => `purchase-provider:${id}`;

export const sealProviderSecret = (masterKey: Buffer, id: string, secret = randomSecret("pers_ps_")) => ({
  secret,
  secretCiphertext: seal(masterKey, secret, secretContext(id)),
});

export const openProviderSecret = (masterKey: Buffer, row: ProviderRow) =>
  open(masterKey, row.secretCiphertext, secretContext(row.id));

const present = (row: ProviderRow) => ({
  id: row.id,
  name: row.name,
  currency: row.currency,
  pointsPerMinorUnit: row.pointsPerMinorUnit,
  tokenAddress: row.tokenAddress,
  active: row.active,
  webhookPath: `/purchases/webhooks/${row.id}`,
  createdAt: date(row.createdAt)!,
  updatedAt: date(row.updatedAt)!,
});

/** The points token to issue: the tenant's first by default, else one of its points tokens. */
async function pointsTokenFor(ctx: Context, requested: string | undefined): Promise<string> {
  const tenantChain = await tenantChainOf(ctx);
  const first = getAddress(tenantChain.tenant.contracts.pointsToken);
  if (requested === undefined || requested === first) return first;
  const tokens = await readChain(ctx, tenantChain.chain.chainId, () => pointsTokensOf(tenantChain));
  if (!tokens.some((token) => token.address === requested)) {
    throw validationFailed([{ path: "body.tokenAddress", message: "must be one of the tenant's points tokens" }]);
  }
  return requested;
}

const admins = access.levels("ADMIN");
const tags = ["purchases"];

export function registerPurchaseProviders(api: Api) {
  defineRoute(api, {
    method: "post",
    path: "/purchases/providers",
    // Its answer holds a secret shown once, never to be kept for replay.
    idempotent: false,
    summary: "Register a payment provider (its secret is in this answer only)",
    tags,
    access: admins,
    body: purchaseProviderCreate,
    errors: [503],
    responses: { 201: { description: "Registered", schema: purchaseProviderWithSecret } },
    handler: async (ctx) => {
      const { name, currency, pointsPerMinorUnit, tokenAddress, secret: given } = ctx.input.body;
      const token = await pointsTokenFor(ctx, tokenAddress);
      const id = randomUUID();
      const { secret, secretCiphertext } = sealProviderSecret(ctx.services.config.MASTER_KEY, id, given);
      const row = await scopeOf(ctx).insert(purchaseProviders, {
        id,
        name,
        currency,
        pointsPerMinorUnit,
        tokenAddress: token,
        secretCiphertext,
      });
      ctx.status = 201;
      ctx.body = { ...present(row), secret };
    },
  });

  defineRoute(api, {
    method: "get",
    path: "/purchases/providers",
    summary: "List the tenant's payment providers (never their secrets)",
    tags,
    access: admins,
    query: purchaseProviderListQuery,
    responses: { 200: { description: "A page of providers", schema: purchaseProviderList } },
    handler: async (ctx) => {
      const { page, limit, sort, order, active } = ctx.input.query;
      const result = await scopeOf(ctx).list(purchaseProviders, {
        page,
        limit,
        order,
        orderBy: sort === "name" ? purchaseProviders.name : purchaseProviders.createdAt,
        where: [active === undefined ? undefined : eq(purchaseProviders.active, active)],
      });
      ctx.body = { data: result.data.map(present), pagination: result.pagination };
    },
  });

  defineRoute(api, {
    method: "get",
    path: "/purchases/providers/:id",
    summary: "Read a payment provider (never its secret)",
    tags,
    access: admins,
    params: idParams,
    responses: { 200: { description: "The provider", schema: purchaseProvider } },
    handler: async (ctx) => {
      ctx.body = present(await scopeOf(ctx).find(purchaseProviders, ctx.input.params.id, "purchase provider"));
    },
  });

  defineRoute(api, {
    method: "patch",
    path: "/purchases/providers/:id",
    summary: "Change a provider's name, conversion, token or secret, or (de)activate it (purchases made keep theirs)",
    tags,
    access: admins,
    params: idParams,
    body: purchaseProviderUpdate,
    errors: [503],
    responses: { 200: { description: "The updated provider", schema: purchaseProvider } },
    handler: async (ctx) => {
      const scope = scopeOf(ctx);
      const existing = await scope.find(purchaseProviders, ctx.input.params.id, "purchase provider");
      const { name, currency, pointsPerMinorUnit, tokenAddress, secret, active } = ctx.input.body;
      const token = tokenAddress === undefined ? undefined : await pointsTokenFor(ctx, tokenAddress);
      const sealed =
        secret === undefined ? undefined : sealProviderSecret(ctx.services.config.MASTER_KEY, existing.id, secret);
      const row = await scope.update(
        purchaseProviders,
        existing.id,
        {
          name,
          currency,
          pointsPerMinorUnit,
          tokenAddress: token,
          active,
          secretCiphertext: sealed?.secretCiphertext,
        },
        "purchase provider",
      );
      ctx.body = present(row);
    },
  });

  defineRoute(api, {
    method: "post",
    path: "/purchases/providers/:id/rotate-secret",
    // Its answer holds a secret shown once, never to be kept for replay.
    idempotent: false,
    summary: "Replace a provider's secret with a new random one (in this answer only; the old one stops at once)",
    tags,
    access: admins,
    params: idParams,
    responses: { 200: { description: "The provider with its new secret", schema: purchaseProviderWithSecret } },
    handler: async (ctx) => {
      const scope = scopeOf(ctx);
      const { id } = await scope.find(purchaseProviders, ctx.input.params.id, "purchase provider");
      const { secret, secretCiphertext } = sealProviderSecret(ctx.services.config.MASTER_KEY, id);
      ctx.body = {
        ...present(await scope.update(purchaseProviders, id, { secretCiphertext }, "purchase provider")),
        secret,
      };
    },
  });

  defineRoute(api, {
    method: "delete",
    path: "/purchases/providers/:id",
    summary: "Delete a provider that has no purchases (otherwise deactivate it)",
    tags,
    access: admins,
    params: idParams,
    errors: [409],
    responses: { 204: { description: "Deleted" } },
    handler: async (ctx) => {
      try {
        await scopeOf(ctx).remove(purchaseProviders, ctx.input.params.id, "purchase provider");
      } catch (error) {
        if (isForeignKeyViolation(error)) throw conflict("The provider has purchases: deactivate it instead.");
        throw error;
      }
      ctx.status = 204;
    },
  });
}
