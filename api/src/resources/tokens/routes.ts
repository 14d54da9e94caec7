// Tokens: the tenant's points, reward and status tokens, read from the chain (the API keeps no
// copy). Anyone who names the tenant may read them.
import type { Address } from "viem";
import { access } from "../../auth/principal.ts";
import { readChain, tenantChainOf, type TenantChain } from "../../chain/reads.ts";
import { notFound } from "../../errors.ts";
import { defineRoute, type Api } from "../../http/route.ts";
import {
  multiTokensOf,
  pointsTokensOf,
  readMultiTokens,
  readPointsTokens,
  readTokenClass,
  type MultiTokenRef,
  type PointsTokenRef,
} from "./onchain.ts";
import { token, tokenClass, tokenClassParams, tokenList, tokenParams } from "./schema.ts";

type OwnToken = { type: "POINTS"; ref: PointsTokenRef } | { type: "MULTI"; ref: MultiTokenRef };

/** The tenant's token at `address`; another tenant's (or no token) is a 404. */
async function ownToken(tenantChain: TenantChain, address: Address): Promise<OwnToken> {
  const multi = multiTokensOf(tenantChain).find((token) => token.address === address);
  if (multi) return { type: "MULTI", ref: multi };
  const points = (await pointsTokensOf(tenantChain)).find((token) => token.address === address);
  if (points) return { type: "POINTS", ref: points };
  throw notFound("token");
}

export function registerTokens(api: Api) {
  defineRoute(api, {
    method: "get",
    path: "/tokens",
    summary: "List the tenant's tokens as the chain has them: points tokens, and reward and status tokens with classes",
    tags: ["tokens"],
    access: access.public,
    errors: [503],
    responses: { 200: { description: "The tenant's tokens", schema: tokenList } },
    handler: async (ctx) => {
      const tenantChain = await tenantChainOf(ctx);
      const { chain } = tenantChain;
      ctx.body = {
        data: await readChain(ctx, chain.chainId, async () => {
          const [points, multi] = await Promise.all([
            pointsTokensOf(tenantChain).then((tokens) => readPointsTokens(chain, tokens)),
            readMultiTokens(tenantChain, multiTokensOf(tenantChain)),
          ]);
          return [...points, ...multi];
        }),
      };
    },
  });

  defineRoute(api, {
    method: "get",
    path: "/tokens/:address",
    summary: "Read one of the tenant's tokens from the chain",
    tags: ["tokens"],
    access: access.public,
    params: tokenParams,
    errors: [503],
    responses: { 200: { description: "The token", schema: token } },
    handler: async (ctx) => {
      const tenantChain = await tenantChainOf(ctx);
      const { chain } = tenantChain;
      ctx.body = await readChain(ctx, chain.chainId, async () => {
        const own = await ownToken(tenantChain, ctx.input.params.address);
        const [state] =
          own.type === "POINTS"
            ? await readPointsTokens(chain, [own.ref])
            : await readMultiTokens(tenantChain, [own.ref]);
        return state;
      });
    },
  });

  defineRoute(api, {
    method: "get",
    path: "/tokens/:address/classes/:id",
    summary: "Read one class of the tenant's reward or status token from the chain",
    tags: ["tokens"],
    access: access.public,
    params: tokenClassParams,
    errors: [503],
    responses: { 200: { description: "The token class", schema: tokenClass } },
    handler: async (ctx) => {
      const tenantChain = await tenantChainOf(ctx);
      const { chain } = tenantChain;
      const { address, id } = ctx.input.params;
      ctx.body = await readChain(ctx, chain.chainId, async () => {
        const own = await ownToken(tenantChain, address);
        if (own.type !== "MULTI") throw notFound("token class (points tokens have none)");
        const state = await readTokenClass(chain, own.ref, BigInt(id));
        if (!state) throw notFound("token class");
        return state;
      });
    },
  });
}
