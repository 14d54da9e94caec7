// Balances: what an address holds of the tenant's tokens, as the indexer has it, with the API's
// requests touching that address that the chain has not confirmed yet.
import type { Address } from "viem";
import { access } from "../../auth/principal.ts";
import { tenantChainOf } from "../../chain/reads.ts";
import { businesses, users } from "../../db/schema.ts";
import { scopeOf } from "../../db/scope.ts";
import { forbidden, validationFailed } from "../../errors.ts";
import { defineRoute, type Api } from "../../http/route.ts";
import { indexedBalances } from "../../indexer/reads.ts";
import { pendingRequests } from "../transactions/requests.ts";
import { balanceList, balanceQuery } from "../transactions/schema.ts";

export function registerBalances(api: Api) {
  defineRoute(api, {
    method: "get",
    path: "/balances",
    summary:
      "Balances of the tenant's tokens: the caller's own (USER, BUSINESS), or any address or user's (ADMIN, SYSTEM)",
    tags: ["balances"],
    access: access.levels("USER", "BUSINESS", "ADMIN", "SYSTEM"),
    query: balanceQuery,
    errors: [404, 503],
    responses: { 200: { description: "The balances and pending requests", schema: balanceList } },
    handler: async (ctx) => {
      const principal = ctx.state.principal!;
      if (principal.kind !== "tenant") throw forbidden();
      const scope = scopeOf(ctx);
      const { address, userId, token } = ctx.input.query;
      let owner: Address;
      if (principal.level === "USER" || principal.level === "BUSINESS") {
        if (address !== undefined || userId !== undefined) {
          throw forbidden("Users and businesses read their own balances only.");
        }
        owner = (
          principal.level === "USER"
            ? (await scope.find(users, principal.userId!, "user")).walletAddress
            : (await scope.find(businesses, principal.businessId!, "business")).walletAddress
        ) as Address;
      } else if ((address === undefined) === (userId === undefined)) {
        throw validationFailed([{ path: "query.address", message: "give either address or userId" }]);
      } else {
        owner = (address ?? (await scope.find(users, userId!, "user")).walletAddress) as Address;
      }
      const { tenant } = await tenantChainOf(ctx);
      const data = await indexedBalances(ctx, {
        chainId: tenant.chainId,
        tenantId: tenant.onchainId,
        owner,
        ...(token && { token }),
      });
      const pending = await pendingRequests(scope, { participant: owner, ...(token && { token }) });
      ctx.body = { address: owner, data, pending };
    },
  });
}
