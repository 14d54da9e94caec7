// Purchases: payments reported by a tenant's payment providers (./webhook.ts), whose points the
// relayer issues on chain once per payment. ADMIN and SYSTEM read them all; a USER reads their own
// (another's id answers 404). Providers are managed in ./providers.ts.
import { eq, gte, lt } from "drizzle-orm";
import type { Context } from "koa";
import { access, type TenantPrincipal } from "../../auth/principal.ts";
import { purchases } from "../../db/purchasesSchema.ts";
import { scopeOf } from "../../db/scope.ts";
import { notFound } from "../../errors.ts";
import { idParams } from "../../http/pagination.ts";
import { defineRoute, type Api } from "../../http/route.ts";
import { presentPurchase } from "./present.ts";
import { registerPurchaseProviders } from "./providers.ts";
import { purchase, purchaseList, purchaseListQuery } from "./schema.ts";
import { registerPurchaseWebhook } from "./webhook.ts";

/** A USER sees only their own purchases: the user id every query of theirs is narrowed to. */
const ownUserId = (ctx: Context) => {
  const principal = ctx.state.principal as TenantPrincipal;
  return principal.level === "USER" ? (principal.userId ?? "none") : undefined;
};

const readers = access.levels("USER", "ADMIN", "SYSTEM");

export function registerPurchases(api: Api) {
  // Before /purchases/:id, which would otherwise take "providers" for an id.
  registerPurchaseProviders(api);
  registerPurchaseWebhook(api);

  defineRoute(api, {
    method: "get",
    path: "/purchases",
    summary: "List purchases (a USER sees their own)",
    tags: ["purchases"],
    access: readers,
    query: purchaseListQuery,
    responses: { 200: { description: "A page of purchases", schema: purchaseList } },
    handler: async (ctx) => {
      const { page, limit, order, status, providerId, userId, paymentId, from, to } = ctx.input.query;
      const own = ownUserId(ctx);
      const result = await scopeOf(ctx).list(purchases, {
        page,
        limit,
        order,
        orderBy: purchases.createdAt,
        where: [
          own === undefined ? undefined : eq(purchases.userId, own),
          userId === undefined ? undefined : eq(purchases.userId, userId),
          status === undefined ? undefined : eq(purchases.status, status),
          providerId === undefined ? undefined : eq(purchases.providerId, providerId),
          paymentId === undefined ? undefined : eq(purchases.paymentId, paymentId),
          from === undefined ? undefined : gte(purchases.createdAt, new Date(from)),
          to === undefined ? undefined : lt(purchases.createdAt, new Date(to)),
        ],
      });
      ctx.body = { data: result.data.map(presentPurchase), pagination: result.pagination };
    },
  });

  defineRoute(api, {
    method: "get",
    path: "/purchases/:id",
    summary: "Read a purchase and its progress (a USER only their own)",
    tags: ["purchases"],
    access: readers,
    params: idParams,
    responses: { 200: { description: "The purchase", schema: purchase } },
    handler: async (ctx) => {
      const row = await scopeOf(ctx).find(purchases, ctx.input.params.id, "purchase");
      const own = ownUserId(ctx);
      if (own !== undefined && row.userId !== own) throw notFound("purchase");
      ctx.body = presentPurchase(row);
    },
  });
}
