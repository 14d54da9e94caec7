// Roles and upgrades, the same on every tenant contract: each contract registers these handlers.
import type { Context, Event } from "ponder:registry";
import { roleMember, tenantContract } from "ponder:schema";
import type { Address, Hex } from "viem";

type Log = Pick<Event, "block" | "log">;

export async function onRoleChanged(
  event: Log & { args: { role: Hex; account: Address } },
  context: Context,
  active: boolean,
) {
  const { role, account } = event.args;
  await context.db
    .insert(roleMember)
    .values({
      chainId: context.chain.id,
      contract: event.log.address,
      role,
      account,
      active,
      changedBlock: event.block.number,
    })
    .onConflictDoUpdate({ active, changedBlock: event.block.number });
}

/** The proxy's first Upgraded comes from its constructor, before the factory's event names the
 * contract; later ones update the row that event created. */
export async function onUpgraded(event: Log & { args: { implementation: Address } }, context: Context) {
  const key = { chainId: context.chain.id, address: event.log.address };
  if (await context.db.find(tenantContract, key)) {
    await context.db.update(tenantContract, key).set({ implementation: event.args.implementation });
  }
}
