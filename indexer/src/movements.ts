// Every movement of value, from any token: balances, per-token statistics and a transaction row
// with its cause. Idempotent: the transaction row's id is the log's, and a replayed log is skipped.
// The id is Ponder's event id (so that Ponder can predict the row and prefetch it in batches when its
// cache no longer holds every row); the items after the first of an ERC-1155 batch add their index.
// Balances are keyed by values taken straight from the event (./rowKeys.ts).
// A transfer of nothing is no movement and leaves no row at all: anyone can log one, for ids nobody
// holds (an ERC-1155 batch of hundreds) and out of anyone's account (an ERC-20 transferFrom with no
// allowance moves 0), and rows for it would add statistics and holders that never held anything,
// and a stranger's entries to an account's history (the stuff of address poisoning).
import type { Context, Event } from "ponder:registry";
import { balance, tokenStatistics, transaction } from "ponder:schema";
import { zeroAddress, type Address } from "viem";
import { explain } from "./causes.ts";
import { eventKey } from "./rowKeys.ts";
import { tenantOf } from "./tenantOf.ts";

export type Movement = {
  token: Address;
  /** ERC-20 points have no ids (their rows say tokenId 0); ERC-1155 ids may be 0 too. */
  standard: "ERC20" | "ERC1155";
  tokenId: bigint;
  from: Address;
  to: Address;
  amount: bigint;
  batchIndex: number;
};

type LogEvent = Pick<Event, "id" | "block" | "transaction" | "log">;

export async function recordMovement(event: LogEvent, context: Context, movement: Movement) {
  const chainId = context.chain.id;
  const id = movement.batchIndex === 0 ? event.id : `${event.id}-${movement.batchIndex}`;
  const { token, tokenId, from, to, amount } = movement;
  const type = from === zeroAddress ? "MINT" : to === zeroAddress ? "BURN" : "TRANSFER";
  const cause =
    type === "TRANSFER"
      ? undefined
      : explain(chainId, event.transaction.hash, {
          token,
          tokenId,
          account: type === "MINT" ? to : from,
          isMint: type === "MINT",
        });
  // After explain, so that an issue of 0 uses up its own cause rather than the next mint's.
  if (amount === 0n) return;

  const inserted = await context.db
    .insert(transaction)
    .values({
      id,
      chainId,
      tenantId: await tenantOf(context, token),
      token,
      tokenId,
      type,
      from,
      to,
      amount,
      cause: cause?.kind ?? "NONE",
      causeReference: cause?.reference ?? null,
      campaignId: cause?.campaignId ?? null,
      offerId: cause?.offerId ?? null,
      operator: event.transaction.from,
      transactionHash: event.transaction.hash,
      blockNumber: event.block.number,
      logIndex: event.log.logIndex,
      batchIndex: movement.batchIndex,
      timestamp: event.block.timestamp,
    })
    .onConflictDoNothing();
  if (!inserted) return; // replayed: its balances and statistics were already counted

  let holderChange = 0;
  if (from !== zeroAddress) holderChange += await adjustBalance(context, movement, from, -amount);
  if (to !== zeroAddress) holderChange += await adjustBalance(context, movement, to, amount);
  const minted = type === "MINT" ? amount : 0n;
  const burned = type === "BURN" ? amount : 0n;
  await context.db
    .insert(tokenStatistics)
    .values({ chainId, token, tokenId, holders: holderChange, minted, burned, supply: minted - burned })
    .onConflictDoUpdate((row) => ({
      holders: row.holders + holderChange,
      minted: row.minted + minted,
      burned: row.burned + burned,
      supply: row.supply + minted - burned,
    }));
}

/** Changes a balance; returns how the number of holders changed: 1 if the owner became one, -1 if
 * they stopped being one, 0 otherwise. */
async function adjustBalance(context: Context, movement: Movement, owner: Address, delta: bigint) {
  const chainId = context.chain.id;
  const { token, tokenId } = movement;
  const id = balanceId(chainId, movement, owner);
  const before = (await context.db.find(balance, { id }))?.amount ?? 0n;
  const after = before + delta;
  await context.db
    .insert(balance)
    .values({ id, chainId, token, tokenId, owner, amount: after })
    .onConflictDoUpdate({ amount: after });
  if (before === 0n && after !== 0n) return 1;
  if (before !== 0n && after === 0n) return -1;
  return 0;
}

/** A balance row's key (see ./rowKeys.ts): points have no id in it (theirs is the constant 0). The
 * addresses are the event's own, never re-cased, so that the key matches the event's values. */
export function balanceId(chainId: number, movement: Pick<Movement, "token" | "standard" | "tokenId">, owner: Address) {
  return movement.standard === "ERC20"
    ? eventKey(chainId, movement.token, owner)
    : eventKey(chainId, movement.token, movement.tokenId, owner);
}
