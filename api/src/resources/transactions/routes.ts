// Transactions: movements of the tenant's tokens. Reads come from the indexer (what the chain did),
// beside the API's own requests it has not confirmed yet; writes are an admin's grant (MINT of points
// or of a reward or status class, issued by the relayer's `issue` job) and a holder's TRANSFER or BURN of their own tokens (a forward request,
// signed here for custodial holders, by the holder otherwise).
import { eq } from "drizzle-orm";
import type { Context } from "koa";
import { encodeFunctionData, pad, type Address, type Hex } from "viem";
import { pointsTokenAbi } from "../../../../abi/pointsToken.ts";
import { rewardTokenAbi } from "../../../../abi/rewardToken.ts";
import { access } from "../../auth/principal.ts";
import { readChain, tenantChainOf, type TenantChain } from "../../chain/reads.ts";
import type { Database } from "../../db/client.ts";
import { transactionRequests } from "../../db/redemptionsSchema.ts";
import { users } from "../../db/schema.ts";
import { scopeOf, tenantScope } from "../../db/scope.ts";
import { forbidden, notFound, unprocessable, validationFailed } from "../../errors.ts";
import { idParams } from "../../http/pagination.ts";
import { defineRoute, type Api, type RouteContext } from "../../http/route.ts";
import { indexedTransactions, type TransactionFilter } from "../../indexer/reads.ts";
import { acceptForward, submitSignature } from "../../relay/acceptForward.ts";
import { forwardGasFor, simulateForwarded } from "../../relay/forwardRequests.ts";
import { enqueue } from "../../relay/jobs.ts";
import { MAX_FORWARD_GAS } from "../../relay/kinds/forward.ts";
import { encodeIssue, ISSUE_KIND, type IssuePayload } from "../../relay/kinds/issue.ts";
import { signatureBody } from "../redemptions/schema.ts";
import { holderOf } from "../redemptions/holder.ts";
import { forwardRequestOf, pendingRequests, present, withJobs, type Row } from "./requests.ts";
import {
  myTransactionListQuery,
  transactionCreate,
  transactionList,
  transactionListQuery,
  transactionRequest,
} from "./schema.ts";

type TokenKind = "POINTS" | "REWARD" | "STATUS";

function tokenKindOf({ tenant }: TenantChain, token: Address): TokenKind {
  const contracts = tenant.contracts;
  const kinds: [string, TokenKind][] = [
    [contracts.pointsToken, "POINTS"],
    [contracts.rewardToken, "REWARD"],
    [contracts.statusToken, "STATUS"],
  ];
  const found = kinds.find(([address]) => address.toLowerCase() === token.toLowerCase());
  if (!found) throw unprocessable(`${token} is not a token of this tenant.`);
  return found[1];
}

/** A visible request: a USER's own (theirs to move or to receive), any for ADMIN and SYSTEM. */
async function visibleRequest(ctx: Context, id: string) {
  const scope = scopeOf(ctx);
  const [found] = await withJobs(scope, [eq(transactionRequests.id, id)], 1);
  if (!found) throw notFound("transaction");
  const principal = ctx.state.principal!;
  if (principal.kind === "tenant" && principal.level === "USER" && found.row.userId !== principal.userId) {
    throw notFound("transaction");
  }
  return found;
}

type ListInput = {
  page: number;
  limit: number;
  order: "asc" | "desc";
  token?: Address;
  type?: "MINT" | "TRANSFER" | "BURN";
  status?: "CONFIRMED" | Row["status"];
  dateFrom?: string;
  dateTo?: string;
  direction?: "sent" | "received";
};

/** The indexer's movements (CONFIRMED) and the API's unconfirmed requests, with the same filters. */
async function listTransactions(ctx: Context, input: ListInput, participant: Address | undefined) {
  if (input.direction && !participant) {
    throw validationFailed([{ path: "query.direction", message: "needs a participant" }]);
  }
  const { tenant } = await tenantChainOf(ctx);
  const since = input.dateFrom ? new Date(input.dateFrom) : undefined;
  const until = input.dateTo ? new Date(input.dateTo) : undefined;
  const wantsIndexed = input.status === undefined || input.status === "CONFIRMED";
  const wantsPending = input.status !== "CONFIRMED";
  const filter: TransactionFilter = {
    chainId: tenant.chainId,
    tenantId: tenant.onchainId,
    ...(input.token && { token: input.token }),
    ...(input.type && { type: input.type }),
    ...(participant && { participant }),
    ...(input.direction && { direction: input.direction }),
    ...(since && { from: Math.floor(since.getTime() / 1000) }),
    ...(until && { to: Math.floor(until.getTime() / 1000) }),
  };
  const indexed = wantsIndexed
    ? await indexedTransactions(ctx, filter, { page: input.page, limit: input.limit, order: input.order })
    : { items: [], total: 0 };
  const pending = wantsPending
    ? await pendingRequests(scopeOf(ctx), {
        ...(participant && { participant }),
        ...(input.direction && { direction: input.direction }),
        ...(input.token && { token: input.token }),
        ...(input.type && { type: input.type }),
        ...(input.status && input.status !== "CONFIRMED" && { status: input.status }),
        ...(since && { since }),
        ...(until && { until }),
      })
    : [];
  return {
    data: indexed.items.map((item) => ({ ...item, status: "CONFIRMED" as const })),
    pending,
    pagination: { page: input.page, limit: input.limit, total: indexed.total },
  };
}

export function registerTransactions(api: Api) {
  defineRoute(api, {
    method: "post",
    path: "/transactions",
    summary:
      "MINT (an admin's grant of points or of a reward or status class), or TRANSFER / BURN of the caller's own tokens (custodial: executed at once; self-custody: typed data to sign)",
    tags: ["transactions"],
    access: access.levels("USER", "ADMIN"),
    body: transactionCreate,
    errors: [404, 422, 503],
    responses: { 202: { description: "Accepted, or AWAITING_SIGNATURE", schema: transactionRequest } },
    handler: async (ctx) => {
      const body = ctx.input.body;
      const principal = ctx.state.principal!;
      if (principal.kind !== "tenant") throw forbidden();
      const scope = scopeOf(ctx);
      if (body.type === "MINT") {
        if (principal.level !== "ADMIN") throw forbidden("Only an admin grants tokens.");
        if ((body.to === undefined) === (body.userId === undefined)) {
          throw validationFailed([{ path: "body.to", message: "give either to or userId" }]);
        }
        const recipient = body.userId ? await scope.find(users, body.userId, "user") : undefined;
        const tenantChain = await tenantChainOf(ctx);
        const { chain } = tenantChain;
        const token = (body.token ?? tenantChain.tenant.contracts.pointsToken) as Address;
        const kind = tokenKindOf(tenantChain, token);
        const tokenId = BigInt(body.tokenId);
        if (kind === "POINTS" && tokenId !== 0n) throw unprocessable("Points have no token id: give tokenId 0.");
        const to = (recipient?.walletAddress ?? body.to) as Address;
        const id = crypto.randomUUID();
        // The grant's on-chain reference: the request's id, so that the chain names the request.
        const reference = pad(`0x${id.replace(/-/g, "")}`, { size: 32 });
        const payload: IssuePayload = {
          token,
          ...(kind !== "POINTS" && { tokenId: tokenId.toString() }),
          to,
          amount: body.amount,
          reason: "GRANT",
          reference,
        };
        // What the chain would answer the relayer's issue (a class not defined, its supply cap, a
        // paused token, the platform's issuer role revoked), said now rather than by a failed job.
        const simulation = await readChain(ctx, chain.chainId, () =>
          simulateForwarded(chain, { from: chain.walletClient.account.address, to: token, data: encodeIssue(payload) }),
        );
        if (!simulation.ok) throw unprocessable(`The mint would fail on chain: ${simulation.reason}.`);
        const row = await scope.db.transaction(async (transaction) => {
          const tx = transaction as unknown as Database;
          const jobId = await enqueue<IssuePayload>(tx, {
            tenantId: scope.tenantId,
            chainId: tenantChain.tenant.chainId,
            kind: ISSUE_KIND,
            payload,
            batchKey: `issue:${token.toLowerCase()}`,
          });
          return tenantScope(tx, scope.tenantId).insert(transactionRequests, {
            id,
            type: "MINT",
            requestedBy: principal.subject,
            userId: recipient?.id ?? null,
            token,
            tokenId: tokenId.toString(),
            from: null,
            to,
            amount: body.amount,
            reference,
            status: "PENDING",
            chainId: tenantChain.tenant.chainId,
            forwarder: null,
            nonce: null,
            gas: null,
            deadline: null,
            data: null,
            signature: null,
            jobId,
          });
        });
        ctx.status = 202;
        ctx.body = present(row, "PENDING");
        return;
      }

      if (principal.level !== "USER") throw forbidden("A transfer or burn is made by the holder (USER).");
      const holder = await holderOf(ctx, scope, undefined);
      const from = holder.walletAddress as Address;
      const tenantChain = await tenantChainOf(ctx);
      const { tenant, chain } = tenantChain;
      const token = (body.token ?? tenant.contracts.pointsToken) as Address;
      const kind = tokenKindOf(tenantChain, token);
      const tokenId = BigInt(body.tokenId);
      const amount = BigInt(body.amount);
      if (kind === "POINTS" && tokenId !== 0n) throw unprocessable("Points have no token id: give tokenId 0.");
      let to: Address | null = null;
      let data: Hex;
      if (body.type === "TRANSFER") {
        if ((body.to === undefined) === (body.toUserId === undefined)) {
          throw validationFailed([{ path: "body.to", message: "give either to or toUserId" }]);
        }
        if (kind === "STATUS") throw unprocessable("Status tokens are soulbound: they cannot be transferred.");
        if (body.toUserId) {
          const recipient = await scope.find(users, body.toUserId, "user");
          to = recipient.walletAddress as Address;
        } else {
          to = body.to!;
        }
        if (to.toLowerCase() === from.toLowerCase()) throw unprocessable("A transfer to its own sender moves nothing.");
        data =
          kind === "POINTS"
            ? encodeFunctionData({ abi: pointsTokenAbi, functionName: "transfer", args: [to, amount] })
            : encodeFunctionData({
                abi: rewardTokenAbi,
                functionName: "safeTransferFrom",
                args: [from, to, tokenId, amount, "0x"],
              });
      } else {
        data =
          kind === "POINTS"
            ? encodeFunctionData({ abi: pointsTokenAbi, functionName: "burn", args: [amount] })
            : encodeFunctionData({ abi: rewardTokenAbi, functionName: "burn", args: [from, tokenId, amount] });
      }
      const simulation = await readChain(ctx, chain.chainId, () => simulateForwarded(chain, { from, to: token, data }));
      if (!simulation.ok)
        throw unprocessable(`The ${body.type.toLowerCase()} would fail on chain: ${simulation.reason}.`);
      const row = await acceptForward({
        ctx,
        kind: "transaction",
        tenantId: tenant.id,
        chain,
        holder,
        call: { to: token, data, gas: forwardGasFor(simulation.gas, MAX_FORWARD_GAS) },
        insert: (db, forward) =>
          tenantScope(db, tenant.id).insert(transactionRequests, {
            type: body.type,
            requestedBy: principal.subject,
            userId: holder.id,
            token,
            tokenId: tokenId.toString(),
            from,
            to,
            amount: amount.toString(),
            reference: null,
            ...forward,
          }),
      });
      ctx.status = 202;
      ctx.body = present(row);
    },
  });

  defineRoute(api, {
    method: "post",
    path: "/transactions/:id/signature",
    summary: "The holder's signature over a TRANSFER or BURN's typed data; the request is queued",
    tags: ["transactions"],
    access: access.levels("USER"),
    params: idParams,
    body: signatureBody,
    errors: [409, 422, 503],
    responses: { 202: { description: "Queued (PENDING)", schema: transactionRequest } },
    handler: async (ctx) => {
      const { row } = await visibleRequest(ctx, ctx.input.params.id);
      if (row.forwarder === null) throw unprocessable("A grant is not signed by a holder.");
      const { chain } = await tenantChainOf(ctx);
      const signed = await submitSignature({
        ctx,
        kind: "transaction",
        chain,
        row,
        request: forwardRequestOf(row),
        signature: ctx.input.body.signature as Hex,
      });
      ctx.status = 202;
      ctx.body = present(signed);
    },
  });

  defineRoute(api, {
    method: "get",
    path: "/transactions",
    summary: "The tenant's movements of value from the indexer, with the API's requests not confirmed yet",
    tags: ["transactions"],
    access: access.levels("ADMIN", "SYSTEM"),
    query: transactionListQuery,
    errors: [503],
    responses: { 200: { description: "A page of movements and the pending requests", schema: transactionList } },
    handler: async (ctx) => {
      ctx.body = await listTransactions(ctx, ctx.input.query, ctx.input.query.participant);
    },
  });

  defineRoute(api, {
    method: "get",
    path: "/transactions/me",
    summary: "The caller's movements (sent and received) from the indexer, with their requests not confirmed yet",
    tags: ["transactions"],
    access: access.levels("USER"),
    query: myTransactionListQuery,
    errors: [503],
    responses: { 200: { description: "A page of movements and the pending requests", schema: transactionList } },
    handler: async (ctx: RouteContext<undefined, typeof myTransactionListQuery>) => {
      const user = await holderOf(ctx, scopeOf(ctx), undefined, "query.userId");
      ctx.body = await listTransactions(ctx, ctx.input.query, user.walletAddress as Address);
    },
  });

  defineRoute(api, {
    method: "get",
    path: "/transactions/:id",
    summary: "Read a transaction request made through the API, and its progress",
    tags: ["transactions"],
    access: access.levels("USER", "ADMIN", "SYSTEM"),
    params: idParams,
    responses: { 200: { description: "The request", schema: transactionRequest } },
    handler: async (ctx) => {
      const { row, job } = await visibleRequest(ctx, ctx.input.params.id);
      ctx.body = present(row, job);
    },
  });
}
