import { ponder } from "ponder:registry";
import { campaign, claim, engagement } from "ponder:schema";
import { zeroAddress } from "viem";
import { onRoleAdminChanged, onRoleChanged } from "./accessControl.ts";
import { noteCause } from "./causes.ts";
import { amountsJson, claimSourceName } from "./decode.ts";
import { onEip712DomainChanged, onInitialized, onUpgraded } from "./tenantContract.ts";
import { eventKey } from "./rowKeys.ts";
import { tenantOf } from "./tenantOf.ts";

ponder.on("CampaignRegistry:CampaignCreated", async ({ event, context }) => {
  const { campaignId, config, payouts } = event.args;
  await context.db
    .insert(campaign)
    .values({
      chainId: context.chain.id,
      registry: event.log.address,
      campaignId,
      tenantId: await tenantOf(context, event.log.address),
      status: "ACTIVE",
      start: BigInt(config.start),
      end: BigInt(config.end),
      perUserLimit: BigInt(config.perUserLimit),
      budget: config.budget,
      claimed: 0n,
      skipped: 0n,
      payouts: amountsJson(payouts),
    })
    .onConflictDoNothing();
});

ponder.on("CampaignRegistry:CampaignUpdated", async ({ event, context }) => {
  const { campaignId, config, payouts } = event.args;
  await context.db
    .update(campaign, { chainId: context.chain.id, registry: event.log.address, campaignId })
    .set((row) => ({
      start: BigInt(config.start),
      end: BigInt(config.end),
      perUserLimit: BigInt(config.perUserLimit),
      budget: config.budget,
      payouts: amountsJson(payouts),
      // A raised budget has some left again.
      budgetSpentBlock: row.claimed < config.budget ? null : row.budgetSpentBlock,
    }));
});

for (const [name, status] of [
  ["CampaignPaused", "PAUSED"],
  ["CampaignResumed", "ACTIVE"],
  ["CampaignClosed", "CLOSED"],
] as const) {
  ponder.on(`CampaignRegistry:${name}`, async ({ event, context }) => {
    const key = { chainId: context.chain.id, registry: event.log.address, campaignId: event.args.campaignId };
    await context.db.update(campaign, key).set({ status });
  });
}

// Emitted by the claim that uses the last of the budget, after its Claimed.
ponder.on("CampaignRegistry:CampaignBudgetSpent", async ({ event, context }) => {
  const key = { chainId: context.chain.id, registry: event.log.address, campaignId: event.args.campaignId };
  await context.db.update(campaign, key).set({ budgetSpentBlock: event.block.number });
});

ponder.on("CampaignRegistry:EngagementSet", async ({ event, context }) => {
  const { campaignId, business, active, cap } = event.args;
  await context.db
    .insert(engagement)
    .values({ chainId: context.chain.id, registry: event.log.address, campaignId, business, active, cap, claimed: 0n })
    .onConflictDoUpdate({ active, cap });
});

ponder.on("CampaignRegistry:Claimed", async ({ event, context }) => {
  const { campaignId, claimId, recipient, source, business } = event.args;
  const chainId = context.chain.id;
  const registry = event.log.address;
  noteCause(chainId, event.transaction.hash, {
    kind: "CLAIM",
    account: recipient,
    reference: String(claimId),
    campaignId,
  });

  const inserted = await context.db
    .insert(claim)
    .values({
      id: eventKey(chainId, registry, claimId),
      chainId,
      registry,
      claimId,
      tenantId: await tenantOf(context, registry),
      campaignId,
      recipient,
      source: claimSourceName(source),
      business,
      transactionHash: event.transaction.hash,
      blockNumber: event.block.number,
      timestamp: event.block.timestamp,
    })
    .onConflictDoNothing();
  if (!inserted) return; // replayed: the counts below were already taken
  await context.db.update(campaign, { chainId, registry, campaignId }).set((row) => ({ claimed: row.claimed + 1n }));
  if (business !== zeroAddress) {
    await context.db
      .update(engagement, { chainId, registry, campaignId, business })
      .set((row) => ({ claimed: row.claimed + 1n }));
  }
});

ponder.on("CampaignRegistry:ClaimSkipped", async ({ event, context }) => {
  const key = { chainId: context.chain.id, registry: event.log.address, campaignId: event.args.campaignId };
  if (await context.db.find(campaign, key)) {
    await context.db.update(campaign, key).set((row) => ({ skipped: row.skipped + 1n }));
  }
});

ponder.on("CampaignRegistry:RoleGranted", ({ event, context }) => onRoleChanged(event, context, true));
ponder.on("CampaignRegistry:RoleRevoked", ({ event, context }) => onRoleChanged(event, context, false));
ponder.on("CampaignRegistry:RoleAdminChanged", ({ event, context }) => onRoleAdminChanged(event, context));
ponder.on("CampaignRegistry:Upgraded", ({ event, context }) => onUpgraded(event, context));
ponder.on("CampaignRegistry:Initialized", ({ event, context }) => onInitialized(event, context));
ponder.on("CampaignRegistry:EIP712DomainChanged", ({ event, context }) => onEip712DomainChanged(event, context));
