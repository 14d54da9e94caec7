import { ponder } from "ponder:registry";
import { redemption, redemptionOffer } from "ponder:schema";
import { onRoleAdminChanged, onRoleChanged } from "./accessControl.ts";
import { noteCause } from "./causes.ts";
import { amountsJson } from "./decode.ts";
import { onInitialized, onUpgraded } from "./tenantContract.ts";
import { eventKey } from "./rowKeys.ts";
import { tenantOf } from "./tenantOf.ts";

ponder.on("RedemptionRegistry:OfferCreated", async ({ event, context }) => {
  const { offerId, config, costs, payouts } = event.args;
  await context.db
    .insert(redemptionOffer)
    .values({
      chainId: context.chain.id,
      registry: event.log.address,
      offerId,
      tenantId: await tenantOf(context, event.log.address),
      status: "ACTIVE",
      start: BigInt(config.start),
      end: BigInt(config.end),
      supplyLeft: config.supply,
      redeemed: 0n,
      statusToken: config.statusToken,
      statusId: config.statusId,
      costs: amountsJson(costs),
      payouts: amountsJson(payouts),
      businesses: [],
    })
    .onConflictDoNothing();
});

ponder.on("RedemptionRegistry:OfferUpdated", async ({ event, context }) => {
  const { offerId, config } = event.args;
  await context.db.update(redemptionOffer, { chainId: context.chain.id, registry: event.log.address, offerId }).set({
    start: BigInt(config.start),
    end: BigInt(config.end),
    supplyLeft: config.supply,
    statusToken: config.statusToken,
    statusId: config.statusId,
  });
});

for (const [name, status] of [
  ["OfferPaused", "PAUSED"],
  ["OfferResumed", "ACTIVE"],
  ["OfferClosed", "CLOSED"],
] as const) {
  ponder.on(`RedemptionRegistry:${name}`, async ({ event, context }) => {
    const key = { chainId: context.chain.id, registry: event.log.address, offerId: event.args.offerId };
    await context.db.update(redemptionOffer, key).set({ status });
  });
}

ponder.on("RedemptionRegistry:OfferBusinessSet", async ({ event, context }) => {
  const { offerId, business, honoured } = event.args;
  const key = { chainId: context.chain.id, registry: event.log.address, offerId };
  await context.db.update(redemptionOffer, key).set((row) => {
    const others = row.businesses.filter((listed) => listed.toLowerCase() !== business.toLowerCase());
    return { businesses: honoured ? [...others, business] : others };
  });
});

ponder.on("RedemptionRegistry:Redeemed", async ({ event, context }) => {
  const { redemptionId, offerId, holder, quantity, business } = event.args;
  const chainId = context.chain.id;
  const registry = event.log.address;
  noteCause(chainId, event.transaction.hash, {
    kind: "REDEMPTION",
    account: holder,
    reference: String(redemptionId),
    offerId,
  });
  const inserted = await context.db
    .insert(redemption)
    .values({
      id: eventKey(chainId, registry, redemptionId),
      chainId,
      registry,
      redemptionId,
      tenantId: await tenantOf(context, registry),
      offerId,
      holder,
      quantity,
      business,
      transactionHash: event.transaction.hash,
      blockNumber: event.block.number,
      timestamp: event.block.timestamp,
    })
    .onConflictDoNothing();
  if (!inserted) return;
  await context.db
    .update(redemptionOffer, { chainId, registry, offerId })
    .set((row) => ({ supplyLeft: row.supplyLeft - quantity, redeemed: row.redeemed + quantity }));
});

ponder.on("RedemptionRegistry:RoleGranted", ({ event, context }) => onRoleChanged(event, context, true));
ponder.on("RedemptionRegistry:RoleRevoked", ({ event, context }) => onRoleChanged(event, context, false));
ponder.on("RedemptionRegistry:RoleAdminChanged", ({ event, context }) => onRoleAdminChanged(event, context));
ponder.on("RedemptionRegistry:Upgraded", ({ event, context }) => onUpgraded(event, context));
ponder.on("RedemptionRegistry:Initialized", ({ event, context }) => onInitialized(event, context));
