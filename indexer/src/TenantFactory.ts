import { ponder, type Context } from "ponder:registry";
import { implementation, tenant, tenantContract, tenantFactory, token } from "ponder:schema";
import { ContractKind } from "../../abi/enums.ts";
import { pointsTokenAbi } from "../../abi/pointsToken.ts";
import { tenantFactoryAbi } from "../../abi/tenantFactory.ts";
import { contractKindName } from "./decode.ts";
import { initializedVersionAt } from "./tenantContract.ts";

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
  const suite = [
    [campaignRegistry, "CAMPAIGN_REGISTRY"],
    [redemptionRegistry, "REDEMPTION_REGISTRY"],
    [rewardToken, "REWARD_TOKEN"],
    [statusToken, "STATUS_TOKEN"],
  ] as const;
  // Read from the chain at once rather than one call after another.
  const contracts = await Promise.all(
    suite.map(async ([address, kind]) => ({
      chainId,
      address,
      tenantId,
      kind,
      implementation: await implementationAt(context, event.log.address, kind, event.block.number),
      initializedVersion: await initializedVersionAt(context, address, event.block.number),
    })),
  );
  for (const values of contracts) await context.db.insert(tenantContract).values(values).onConflictDoNothing();
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
  const at = { abi: pointsTokenAbi, address: pointsToken, blockNumber: event.block.number } as const;
  const [name, symbol, decimals] = await Promise.all([
    context.client.readContract({ ...at, functionName: "name" }),
    context.client.readContract({ ...at, functionName: "symbol" }),
    context.client.readContract({ ...at, functionName: "decimals" }),
  ]);
  await context.db
    .insert(tenantContract)
    .values({
      chainId: context.chain.id,
      address: pointsToken,
      tenantId,
      kind: "POINTS_TOKEN",
      implementation: await implementationAt(context, event.log.address, "POINTS_TOKEN", event.block.number),
      initializedVersion: await initializedVersionAt(context, pointsToken, event.block.number),
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

// setCurrentImplementation emits CurrentImplementationSet, then ImplementationApproved if the
// implementation was not approved yet; setImplementationApproval emits ImplementationApproved alone.
ponder.on("TenantFactory:ImplementationApproved", async ({ event, context }) => {
  const { kind, implementation: address, approved } = event.args;
  await context.db
    .insert(implementation)
    .values({
      chainId: context.chain.id,
      factory: event.log.address,
      kind: contractKindName(kind),
      implementation: address,
      approved,
      current: false,
      changedBlock: event.block.number,
    })
    .onConflictDoUpdate({ approved, changedBlock: event.block.number });
});

ponder.on("TenantFactory:CurrentImplementationSet", async ({ event, context }) => {
  const { kind, implementation: address } = event.args;
  const chainId = context.chain.id;
  const factory = event.log.address;
  const kindName = contractKindName(kind);
  // The kind's previous current implementation stays approved but is no longer current. (Found
  // through the factory's row, not a query: raw SQL would cost Ponder its in-memory cache.)
  const factoryRow = await context.db.find(tenantFactory, { chainId, address: factory });
  if (!factoryRow) throw new Error(`indexer: factory ${factory} on chain ${chainId} has no row before its first event`);
  const { currentImplementations } = factoryRow;
  const previous = currentImplementations[kindName];
  if (previous !== undefined) {
    await context.db
      .update(implementation, { chainId, factory, kind: kindName, implementation: previous })
      .set({ current: false, changedBlock: event.block.number });
  }
  await context.db
    .update(tenantFactory, { chainId, address: factory })
    .set({ currentImplementations: { ...currentImplementations, [kindName]: address } });
  await context.db
    .insert(implementation)
    .values({
      chainId,
      factory,
      kind: kindName,
      implementation: address,
      approved: false,
      current: true,
      changedBlock: event.block.number,
    })
    .onConflictDoUpdate({ current: true, changedBlock: event.block.number });
});

// Ownable2Step: the constructor's OwnershipTransferred makes the row; a transfer is offered
// (OwnershipTransferStarted), then accepted (OwnershipTransferred, which also ends the offer).
ponder.on("TenantFactory:OwnershipTransferred", async ({ event, context }) => {
  const { newOwner } = event.args;
  await context.db
    .insert(tenantFactory)
    .values({
      chainId: context.chain.id,
      address: event.log.address,
      owner: newOwner,
      pendingOwner: null,
      currentImplementations: {},
      changedBlock: event.block.number,
    })
    .onConflictDoUpdate({ owner: newOwner, pendingOwner: null, changedBlock: event.block.number });
});

ponder.on("TenantFactory:OwnershipTransferStarted", async ({ event, context }) => {
  const { previousOwner, newOwner } = event.args;
  await context.db
    .insert(tenantFactory)
    .values({
      chainId: context.chain.id,
      address: event.log.address,
      owner: previousOwner,
      pendingOwner: newOwner,
      currentImplementations: {},
      changedBlock: event.block.number,
    })
    .onConflictDoUpdate({ pendingOwner: newOwner, changedBlock: event.block.number });
});

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
