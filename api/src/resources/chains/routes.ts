// Chains: each chain the API writes to as it answers now (head, gas price) and the platform's
// signers' balances, flagged when low. A chain that does not answer is reported, not a 500.
import type { Context } from "koa";
import { access } from "../../auth/principal.ts";
import type { ChainClients } from "../../chain/chains.ts";
import { readChain } from "../../chain/reads.ts";
import { notFound, Problem } from "../../errors.ts";
import { defineRoute, type Api } from "../../http/route.ts";
import { chainList, chainParams, chainState } from "./schema.ts";

async function stateOf(ctx: Context, chain: ChainClients) {
  const { publicClient, walletClient, chainId } = chain;
  const signers = [walletClient.account.address];
  const threshold = ctx.services.config.SIGNER_LOW_BALANCE_WEI;
  try {
    const [headBlock, gasPrice, balances] = await readChain(ctx, chainId, () =>
      Promise.all([
        publicClient.getBlockNumber({ cacheTime: 0 }),
        publicClient.getGasPrice(),
        Promise.all(signers.map((address) => publicClient.getBalance({ address }))),
      ]),
    );
    return {
      chainId,
      status: "ok" as const,
      headBlock: Number(headBlock),
      gasPrice: gasPrice.toString(),
      lowBalanceThreshold: threshold.toString(),
      signers: signers.map((address, index) => ({
        address,
        balance: balances[index]!.toString(),
        low: balances[index]! < threshold,
      })),
    };
  } catch (error) {
    if (!(error instanceof Problem && error.type === "unavailable")) throw error;
    return {
      chainId,
      status: "unavailable" as const,
      detail: error.message,
      signers: signers.map((address) => ({ address })),
    };
  }
}

export function registerChains(api: Api) {
  defineRoute(api, {
    method: "get",
    path: "/chains",
    summary: "List the chains the API writes to: head, gas price and the platform signers' balances",
    tags: ["chains"],
    access: access.platformOr("ADMIN", "SYSTEM"),
    responses: { 200: { description: "Every chain, each answering or reported unavailable", schema: chainList } },
    handler: async (ctx) => {
      const { chains } = ctx.services;
      const clients = chains.ids().map((chainId) => chains.get(chainId)!);
      ctx.body = { data: await Promise.all(clients.map((chain) => stateOf(ctx, chain))) };
    },
  });

  defineRoute(api, {
    method: "get",
    path: "/chains/:chainId",
    summary: "Read one chain the API writes to",
    tags: ["chains"],
    access: access.platformOr("ADMIN", "SYSTEM"),
    params: chainParams,
    responses: { 200: { description: "The chain, answering or reported unavailable", schema: chainState } },
    handler: async (ctx) => {
      const chain = ctx.services.chains.get(ctx.input.params.chainId);
      if (!chain) throw notFound("chain (the API does not write to it)");
      ctx.body = await stateOf(ctx, chain);
    },
  });
}
