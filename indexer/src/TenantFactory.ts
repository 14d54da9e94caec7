import { ponder, type Context } from "ponder:registry";
import { tenant, tenantContract, token } from "ponder:schema";
import { ContractKind } from "../../abi/enums.ts";
import { pointsTokenAbi } from "../../abi/pointsToken.ts";
import { tenantFactoryAbi } from "../../abi/tenantFactory.ts";

ponder.on("TenantFactory:TenantCreated", async ({ event, context }) => {
  const { tenantId, creator, admin, rewardToken, statusToken, campaignRegistry, redemptionRegistry } = event.args;
  const chainId = context.chain.id;
  await context.db
    .insert(tenant)
    .values({
      chainId,
      id: tenantId,
      creator,
      admin,
      rewardToken,
      statusToken,
      campaignRegistry,
      redemptionRegistry,
      createdBlock: event.block.number,
      createdAt: event.block.timestamp,
    })
    .onConflictDoNothing();
  for (const [address, kind] of [
    [campaignRegistry, "CAMPAIGN_REGISTRY"],
    [redemptionRegistry, "REDEMPTION_REGISTRY"],
    [rewardToken, "REWARD_TOKEN"],
    [statusToken, "STATUS_TOKEN"],
  ] as const) {
    const implementation = await implementationAt(context, event.log.address, kind, event.block.number);
    await context.db
      .insert(tenantContract)
      .values({ chainId, address, tenantId, kind, implementation })
      .onConflictDoNothing();
  }
  for (const [address, kind] of [
    [rewardToken, "REWARD"],
    [statusToken, "STATUS"],
  ] as const) {
    await context.db
      .insert(token)
      .values({ chainId, address, tenantId, standard: "ERC1155", kind, paused: false })
      .onConflictDoNothing();
  }
});

// Emitted before TenantCreated for a tenant's first points token, and alone for added ones.
ponder.on("TenantFactory:PointsTokenAdded", async ({ event, context }) => {
  const { tenantId, pointsToken } = event.args;
  const read = <name extends "name" | "symbol" | "decimals">(functionName: name) =>
    context.client.readContract({
      abi: pointsTokenAbi,
      address: pointsToken,
      functionName,
      blockNumber: event.block.number,
    });
  const [name, symbol, decimals] = await Promise.all([read("name"), read("symbol"), read("decimals")]);
  await context.db
    .insert(tenantContract)
    .values({
      chainId: context.chain.id,
      address: pointsToken,
      tenantId,
      kind: "POINTS_TOKEN",
      implementation: await implementationAt(context, event.log.address, "POINTS_TOKEN", event.block.number),
    })
    .onConflictDoNothing();
  await context.db
    .insert(token)
    .values({
      chainId: context.chain.id,
      address: pointsToken,
      tenantId,
      standard: "ERC20",
      kind: "POINTS",
      name,
      symbol,
      decimals,
      paused: false,
    })
    .onConflictDoNothing();
});

// The implementation registry is the factory's own business; the indexer serves tenants.
ponder.on("TenantFactory:ImplementationApproved", async () => {});
ponder.on("TenantFactory:CurrentImplementationSet", async () => {});

/** The implementation the factory gave a new proxy of `kind`: its current one at that block. */
function implementationAt(
  context: Context,
  factory: `0x${string}`,
  kind: keyof typeof ContractKind,
  blockNumber: bigint,
) {
  return context.client.readContract({
    abi: tenantFactoryAbi,
    address: factory,
    functionName: "currentImplementation",
    args: [ContractKind[kind]],
    blockNumber,
  });
}
