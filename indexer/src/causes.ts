// Attributes mints and burns to their cause. The contracts emit the cause first (`Claimed`,
// `Redeemed`, `Issued`), then the token events, in the same transaction; Ponder hands events over
// in log order, so the causes of the transaction being indexed are kept here until it ends.
// Nothing outlives one transaction, so a restart or a reorg (which replays whole blocks) cannot
// leave a stale cause behind.
import type { Address, Hex } from "viem";

export type CauseKind = "CLAIM" | "REDEMPTION" | "PURCHASE" | "GRANT";

export type Cause = {
  kind: CauseKind;
  /** The account whose mints (and, for redemptions, burns) it explains. */
  account: Address;
  reference: string;
  campaignId?: bigint;
  offerId?: bigint;
  /** Issues name their token; a claim explains one mint per payout token. */
  token?: Address;
  explained: Set<string>;
};

type Movement = { token: Address; tokenId: bigint; account: Address; isMint: boolean };

const current = new Map<number, { transactionHash: Hex; causes: Cause[] }>();

function causesOf(chainId: number, transactionHash: Hex): Cause[] {
  const entry = current.get(chainId);
  if (entry?.transactionHash === transactionHash) return entry.causes;
  const causes: Cause[] = [];
  current.set(chainId, { transactionHash, causes });
  return causes;
}

export function noteCause(
  chainId: number,
  transactionHash: Hex,
  cause: Omit<Cause, "explained" | "account"> & { account: Address },
) {
  causesOf(chainId, transactionHash).push({ ...cause, account: lower(cause.account), explained: new Set() });
}

/** The cause of a mint to, or burn from, `account`; undefined for a plain transfer or a holder's burn. */
export function explain(chainId: number, transactionHash: Hex, movement: Movement): Cause | undefined {
  const account = lower(movement.account);
  const key = `${lower(movement.token)}:${movement.tokenId}`;
  for (const cause of causesOf(chainId, transactionHash)) {
    if (cause.account !== account) continue;
    if (cause.kind === "REDEMPTION") return cause; // burns the costs and mints the payouts
    if (!movement.isMint) continue;
    if (cause.token && lower(cause.token) !== lower(movement.token)) continue;
    if (cause.explained.has(key)) continue;
    cause.explained.add(key);
    return cause;
  }
  return undefined;
}

const lower = (address: Address) => address.toLowerCase() as Address;
