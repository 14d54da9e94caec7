import type { Context } from "ponder:registry";
import { tenantContract } from "ponder:schema";
import type { Address, Hex } from "viem";

/** The tenant a suite contract belongs to. Its factory event always comes first, so a miss is a bug. */
export async function tenantOf(context: Context, address: Address): Promise<Hex> {
  const row = await context.db.find(tenantContract, { chainId: context.chain.id, address });
  if (!row) throw new Error(`indexer: ${address} on chain ${context.chain.id} is not a known tenant contract`);
  return row.tenantId;
}
