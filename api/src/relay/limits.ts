// Limits around relaying: a tenant's gas per hour, and the signer's balance running low.
import { and, eq, gt, ne, sql } from "drizzle-orm";
import { recordEvent } from "../events/outbox.ts";
import { platformEvents, relayTransactions, signerLanes } from "../db/relaySchema.ts";
import type { ChainLane, RelayerContext } from "./context.ts";

const HOUR_MS = 3600_000;

/**
 * Gas of the tenant's transactions sent in the last hour: used where mined, the limit while in
 * flight; a reverted transaction counts (its gas was spent), a dropped one does not. One index range
 * of the tenant's transactions, however many jobs they carried.
 */
export async function tenantGasLastHour(context: Pick<RelayerContext, "db">, tenantId: string): Promise<bigint> {
  const [row] = await context.db
    .select({
      gas: sql<string>`coalesce(sum(coalesce(${relayTransactions.gasUsed}, ${relayTransactions.gasLimit})::numeric), 0)::text`,
    })
    .from(relayTransactions)
    .where(
      and(
        eq(relayTransactions.tenantId, tenantId),
        gt(relayTransactions.createdAt, new Date(Date.now() - HOUR_MS)),
        ne(relayTransactions.status, "DROPPED"),
      ),
    );
  return BigInt(row?.gas ?? "0");
}

export async function overGasLimit(context: RelayerContext, tenantId: string): Promise<boolean> {
  const limit = context.settings.tenantGasPerHour;
  if (limit <= 0) return false;
  return (await tenantGasLastHour(context, tenantId)) >= BigInt(limit);
}

/**
 * Records `signer.balance_low` when the signer's balance is under the threshold, at most once an
 * hour per signer and chain (the lane's row serialises processes checking at once).
 */
export async function checkBalance(context: RelayerContext, lane: ChainLane): Promise<boolean> {
  const { chain, signer } = lane;
  const balance = await chain.publicClient.getBalance({ address: signer.address });
  if (balance >= context.settings.lowBalanceWei) return false;
  return context.db.transaction(async (tx) => {
    await tx
      .select()
      .from(signerLanes)
      .where(and(eq(signerLanes.chainId, chain.chainId), eq(signerLanes.signer, signer.address)))
      .for("update");
    const [recent] = await tx
      .select({ id: platformEvents.id })
      .from(platformEvents)
      .where(
        and(
          eq(platformEvents.type, "signer.balance_low"),
          gt(platformEvents.createdAt, new Date(Date.now() - HOUR_MS)),
          sql`${platformEvents.data}->>'signer' = ${signer.address}`,
          sql`${platformEvents.data}->>'chainId' = ${String(chain.chainId)}`,
        ),
      )
      .limit(1);
    if (recent) return false;
    await recordEvent(tx, {
      tenantId: null,
      type: "signer.balance_low",
      data: {
        chainId: chain.chainId,
        signer: signer.address,
        balanceWei: balance.toString(),
        thresholdWei: context.settings.lowBalanceWei.toString(),
      },
    });
    context.logger.warn(
      { chainId: chain.chainId, signer: signer.address, balance: String(balance) },
      "signer balance low",
    );
    return true;
  });
}
