// Roles, the same on every tenant contract: each contract registers these handlers.
import type { Context, Event } from "ponder:registry";
import { roleAdmin, roleMember } from "ponder:schema";
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

export async function onRoleAdminChanged(event: Log & { args: { role: Hex; newAdminRole: Hex } }, context: Context) {
  const { role, newAdminRole } = event.args;
  await context.db
    .insert(roleAdmin)
    .values({
      chainId: context.chain.id,
      contract: event.log.address,
      role,
      adminRole: newAdminRole,
      changedBlock: event.block.number,
    })
    .onConflictDoUpdate({ adminRole: newAdminRole, changedBlock: event.block.number });
}
