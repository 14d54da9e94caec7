// Points allowances. Approval (approve, permit) sets one exactly; transferFrom and burnFrom spend one
// without an event, so after any transfer out of an owner the allowances of everyone the owner ever
// approved are read from the chain at that block. Mints, most of the volume, cost nothing here.
import type { Context, Event } from "ponder:registry";
import { allowance, approvedSpenders } from "ponder:schema";
import type { Address } from "viem";
import { pointsTokenAbi } from "../../abi/pointsToken.ts";

type Log = Pick<Event, "block" | "log">;

export async function onApproval(
  event: Log & { args: { owner: Address; spender: Address; value: bigint } },
  context: Context,
) {
  const { owner, spender, value } = event.args;
  const chainId = context.chain.id;
  const token = event.log.address;
  await context.db
    .insert(allowance)
    .values({ chainId, token, owner, spender, amount: value })
    .onConflictDoUpdate({ amount: value });
  await context.db
    .insert(approvedSpenders)
    .values({ chainId, token, owner, spenders: [spender] })
    .onConflictDoUpdate((row) => ({
      spenders: row.spenders.some((known) => known.toLowerCase() === spender.toLowerCase())
        ? row.spenders
        : [...row.spenders, spender],
    }));
}

/** After a transfer or burn out of `owner`: the allowances it may have spent, as the chain has them. */
export async function refreshAllowances(event: Log, context: Context, owner: Address) {
  const chainId = context.chain.id;
  const token = event.log.address;
  const approved = await context.db.find(approvedSpenders, { chainId, token, owner });
  for (const spender of approved?.spenders ?? []) {
    const amount = await context.client.readContract({
      abi: pointsTokenAbi,
      address: token,
      functionName: "allowance",
      args: [owner, spender],
      blockNumber: event.block.number,
    });
    await context.db.update(allowance, { chainId, token, owner, spender }).set({ amount });
  }
}
