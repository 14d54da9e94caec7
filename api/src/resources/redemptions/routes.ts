// Redemptions: the tenant's offers (read from its RedemptionRegistry) and holders' redemptions of
// them, relayed through the ERC-2771 forwarder (api/src/relay/kinds/forward.ts).
import { eq } from "drizzle-orm";
import type { Context } from "koa";
import { encodeFunctionData, zeroAddress, type Address, type Hex } from "viem";
import { redemptionRegistryAbi } from "../../../../abi/redemptionRegistry.ts";
import { access } from "../../auth/principal.ts";
import { readChain, tenantChainOf, type TenantChain } from "../../chain/reads.ts";
import { redemptions } from "../../db/redemptionsSchema.ts";
import { businesses, tenants } from "../../db/schema.ts";
import { scopeOf, tenantScope } from "../../db/scope.ts";
import { notFound, unprocessable } from "../../errors.ts";
import { date } from "../../http/fields.ts";
import { idParams } from "../../http/pagination.ts";
import { defineRoute, type Api } from "../../http/route.ts";
import { acceptForward, submitSignature } from "../../relay/acceptForward.ts";
import { forwardGasFor, simulateForwarded, typedDataJson, type ForwardRequest } from "../../relay/forwardRequests.ts";
import { MAX_FORWARD_GAS } from "../../relay/kinds/forward.ts";
import { holderOf } from "./holder.ts";
import {
  OFFER_TYPES,
  offerCount,
  offersAt,
  readOffer,
  type AtBlock,
  type OfferRegistry,
  type OfferView,
} from "./offers.ts";
import {
  offer,
  offerList,
  offerListQuery,
  offerParams,
  offerTypes,
  redeem,
  redeemCreate,
  redeemList,
  redeemListQuery,
  signatureBody,
} from "./schema.ts";

type Row = typeof redemptions.$inferSelect;

const registryOf = ({ tenant, chain }: TenantChain): OfferRegistry => ({
  chain,
  registry: tenant.contracts.redemptionRegistry as Address,
  rewardToken: tenant.contracts.rewardToken as Address,
  statusToken: tenant.contracts.statusToken as Address,
});

/** The request a redemption carries (its signer is the holder, its target the registry). */
const requestOf = (row: Row, registry: Address): ForwardRequest => ({
  from: row.holder as Address,
  to: registry,
  value: 0n,
  gas: BigInt(row.gas!),
  nonce: BigInt(row.nonce!),
  deadline: row.deadline!,
  data: row.data as Hex,
});

function present(row: Row, registry: Address) {
  return {
    id: row.id,
    userId: row.userId,
    holder: row.holder,
    offerId: row.offerId,
    quantity: row.quantity,
    businessId: row.businessId,
    business: row.business,
    status: row.status,
    typedData:
      row.status === "AWAITING_SIGNATURE"
        ? typedDataJson(row.chainId, row.forwarder as Address, requestOf(row, registry))
        : null,
    transactionHash: row.transactionHash,
    onchainRedemptionId: row.onchainRedemptionId,
    error: row.error,
    createdAt: date(row.createdAt)!,
    updatedAt: date(row.updatedAt)!,
  };
}

/** The registry of the caller's tenant (from the database: no chain needed to show a record). */
async function registryAddress(ctx: Context): Promise<Address> {
  const scope = scopeOf(ctx);
  const [row] = await scope.db
    .select({ contracts: tenants.contracts })
    .from(tenants)
    .where(eq(tenants.id, scope.tenantId))
    .limit(1);
  if (!row) throw notFound("tenant");
  return row.contracts.redemptionRegistry as Address;
}

/** A redemption the caller may see: a USER's own, a BUSINESS's at its business; 404 otherwise. */
async function visibleRedemption(ctx: Context, id: string): Promise<Row> {
  const row = await scopeOf(ctx).find(redemptions, id, "redemption");
  const principal = ctx.state.principal!;
  if (principal.kind === "tenant") {
    if (principal.level === "USER" && row.userId !== principal.userId) throw notFound("redemption");
    if (principal.level === "BUSINESS" && row.businessId !== principal.businessId) throw notFound("redemption");
  }
  return row;
}

async function latestBlock(ctx: Context, { chain }: TenantChain): Promise<AtBlock> {
  return readChain(ctx, chain.chainId, () => chain.publicClient.getBlock());
}

async function latestTimestamp(ctx: Context, tenantChain: TenantChain) {
  return Number((await latestBlock(ctx, tenantChain)).timestamp);
}

export function registerRedemptions(api: Api) {
  defineRoute(api, {
    method: "get",
    path: "/redemptions",
    summary: "List the tenant's redemption offers, as its RedemptionRegistry has them",
    tags: ["redemptions"],
    access: access.public,
    query: offerListQuery,
    errors: [503],
    responses: { 200: { description: "A page of offers", schema: offerList } },
    handler: async (ctx) => {
      const { page, limit, order, open, type } = ctx.input.query;
      const tenantChain = await tenantChainOf(ctx);
      const { chainId } = tenantChain.chain;
      const source = registryOf(tenantChain);
      const block = await latestBlock(ctx, tenantChain);
      const filtered = open !== undefined || type !== undefined;
      if (filtered) {
        // Every offer is read to filter them: once a block for all the requests (offersAt).
        const offers = (await readChain(ctx, chainId, () => offersAt(source, block))).filter(
          (item): item is OfferView =>
            item !== undefined &&
            (open === undefined || item.open === open) &&
            (type === undefined || item.type === type),
        );
        if (order !== "asc") offers.reverse();
        ctx.body = {
          data: offers.slice((page - 1) * limit, page * limit),
          pagination: { page, limit, total: offers.length },
        };
        return;
      }
      // Without filters only the page is read.
      const count = Number(await readChain(ctx, chainId, () => offerCount(source, block.number)));
      const ids = Array.from({ length: count }, (_, index) => BigInt(order === "asc" ? index + 1 : count - index));
      const wanted = ids.slice((page - 1) * limit, page * limit);
      const offers = await readChain(ctx, chainId, () =>
        Promise.all(wanted.map((offerId) => readOffer(source, offerId, Number(block.timestamp), block.number))),
      );
      ctx.body = {
        data: offers.filter((item): item is OfferView => item !== undefined),
        pagination: { page, limit, total: count },
      };
    },
  });

  defineRoute(api, {
    method: "get",
    path: "/redemptions/types",
    summary: "The kinds of offers the tenant has (what they pay), with how many of each are open",
    tags: ["redemptions"],
    access: access.public,
    errors: [503],
    responses: { 200: { description: "Offer types", schema: offerTypes } },
    handler: async (ctx) => {
      const tenantChain = await tenantChainOf(ctx);
      const block = await latestBlock(ctx, tenantChain);
      const offers = await readChain(ctx, tenantChain.chain.chainId, () => offersAt(registryOf(tenantChain), block));
      ctx.body = {
        data: OFFER_TYPES.map((type) => {
          const ofType = offers.filter((item) => item?.type === type);
          return { type, offers: ofType.length, open: ofType.filter((item) => item!.open).length };
        }),
      };
    },
  });

  defineRoute(api, {
    method: "post",
    path: "/redemptions/redeems",
    summary:
      "Redeem an offer: custodial holders' requests are signed and queued at once; self-custody holders get the typed data to sign",
    tags: ["redemptions"],
    access: access.levels("USER", "ADMIN", "SYSTEM"),
    body: redeemCreate,
    errors: [404, 422, 503],
    responses: { 202: { description: "Accepted (PENDING) or AWAITING_SIGNATURE", schema: redeem } },
    handler: async (ctx) => {
      const scope = scopeOf(ctx);
      const { offerId, quantity, businessId, userId } = ctx.input.body;
      const holder = await holderOf(ctx, scope, userId);
      let business: Address = zeroAddress;
      if (businessId) {
        const row = await scope.find(businesses, businessId, "business");
        if (!row.active) throw unprocessable("This business is deactivated.");
        business = row.walletAddress as Address;
      }
      const tenantChain = await tenantChainOf(ctx);
      const { tenant, chain } = tenantChain;
      const registry = tenant.contracts.redemptionRegistry as Address;
      const now = await latestTimestamp(ctx, tenantChain);
      const found = await readChain(ctx, chain.chainId, () => readOffer(registryOf(tenantChain), BigInt(offerId), now));
      if (!found) throw unprocessable(`There is no offer ${offerId}.`);
      if (!found.open) throw unprocessable(`Offer ${offerId} is not open (${found.status}, ${found.supplyLeft} left).`);
      const data = encodeFunctionData({
        abi: redemptionRegistryAbi,
        functionName: "redeem",
        args: [BigInt(offerId), BigInt(quantity), business],
      });
      const simulation = await readChain(ctx, chain.chainId, () =>
        simulateForwarded(chain, { from: holder.walletAddress as Address, to: registry, data }),
      );
      if (!simulation.ok) throw unprocessable(`The redemption would fail on chain: ${simulation.reason}.`);
      const row = await acceptForward({
        ctx,
        kind: "redemption",
        tenantId: tenant.id,
        chain,
        holder,
        call: { to: registry, data, gas: forwardGasFor(simulation.gas, MAX_FORWARD_GAS) },
        insert: (db, forward) =>
          tenantScope(db, tenant.id).insert(redemptions, {
            userId: holder.id,
            holder: holder.walletAddress,
            offerId: String(offerId),
            quantity,
            businessId: businessId ?? null,
            business,
            ...forward,
          }),
      });
      ctx.status = 202;
      ctx.body = present(row, registry);
    },
  });

  defineRoute(api, {
    method: "post",
    path: "/redemptions/redeems/:id/signature",
    summary: "A self-custody holder's signature over the redemption's typed data; the redemption is queued",
    tags: ["redemptions"],
    access: access.levels("USER", "ADMIN", "SYSTEM"),
    params: idParams,
    body: signatureBody,
    errors: [409, 422, 503],
    responses: { 202: { description: "Queued (PENDING)", schema: redeem } },
    handler: async (ctx) => {
      const row = await visibleRedemption(ctx, ctx.input.params.id);
      const { tenant, chain } = await tenantChainOf(ctx);
      const registry = tenant.contracts.redemptionRegistry as Address;
      const signed = await submitSignature({
        ctx,
        kind: "redemption",
        chain,
        row,
        request: requestOf(row, registry),
        signature: ctx.input.body.signature as Hex,
      });
      ctx.status = 202;
      ctx.body = present(signed, registry);
    },
  });

  defineRoute(api, {
    method: "get",
    path: "/redemptions/redeems",
    summary: "List redemptions: a user's own, a business's at it, or all of the tenant's",
    tags: ["redemptions"],
    access: access.levels("USER", "BUSINESS", "ADMIN", "SYSTEM"),
    query: redeemListQuery,
    responses: { 200: { description: "A page of redemptions", schema: redeemList } },
    handler: async (ctx) => {
      const { page, limit, order, status, userId, offerId } = ctx.input.query;
      const principal = ctx.state.principal!;
      const own =
        principal.kind !== "tenant"
          ? undefined
          : principal.level === "USER"
            ? eq(redemptions.userId, principal.userId!)
            : principal.level === "BUSINESS"
              ? eq(redemptions.businessId, principal.businessId!)
              : undefined;
      const result = await scopeOf(ctx).list(redemptions, {
        page,
        limit,
        order,
        where: [
          own,
          status ? eq(redemptions.status, status) : undefined,
          userId ? eq(redemptions.userId, userId) : undefined,
          offerId ? eq(redemptions.offerId, String(offerId)) : undefined,
        ],
      });
      const registry = await registryAddress(ctx);
      ctx.body = { data: result.data.map((row) => present(row, registry)), pagination: result.pagination };
    },
  });

  defineRoute(api, {
    method: "get",
    path: "/redemptions/redeems/:id",
    summary: "Read a redemption and its progress",
    tags: ["redemptions"],
    access: access.levels("USER", "BUSINESS", "ADMIN", "SYSTEM"),
    params: idParams,
    responses: { 200: { description: "The redemption", schema: redeem } },
    handler: async (ctx) => {
      const row = await visibleRedemption(ctx, ctx.input.params.id);
      ctx.body = present(row, await registryAddress(ctx));
    },
  });

  defineRoute(api, {
    method: "get",
    path: "/redemptions/:offerId",
    summary: "Read one redemption offer from the chain",
    tags: ["redemptions"],
    access: access.public,
    params: offerParams,
    errors: [503],
    responses: { 200: { description: "The offer", schema: offer } },
    handler: async (ctx) => {
      const tenantChain = await tenantChainOf(ctx);
      const now = await latestTimestamp(ctx, tenantChain);
      const found = await readChain(ctx, tenantChain.chain.chainId, () =>
        readOffer(registryOf(tenantChain), BigInt(ctx.input.params.offerId), now),
      );
      if (!found) throw notFound("offer");
      ctx.body = found;
    },
  });
}
