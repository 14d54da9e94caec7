// One relayed transaction: its EIP-1559 fees, its signature (the same fields always give the same
// hash, so a rebroadcast is harmless) and its broadcast.
import { keccak256, type Address, type Hex } from "viem";
import type { ChainClients } from "../chain/chains.ts";
import { relayTransactions } from "../db/relaySchema.ts";
import { nodeMessage, sendRefusal, type SendRefusal } from "./chainErrors.ts";
import type { Signer } from "./signers.ts";

export type RelayTransaction = typeof relayTransactions.$inferSelect;

/** The gas one transaction may use at most (EIP-7825, enforced by Hardhat's Osaka rules). */
export const TRANSACTION_GAS_CAP = 1n << 24n;

/** Estimates are exact for the state they ran on; leave room for a state that moved a little. */
export const withMargin = (gas: bigint) => (gas * 6n) / 5n + 10_000n;

export type Fees = { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint };

export async function currentFees(chain: ChainClients): Promise<Fees> {
  const { maxFeePerGas, maxPriorityFeePerGas } = await chain.publicClient.estimateFeesPerGas({
    type: "eip1559",
    chain: chain.walletClient.chain,
  });
  return { maxFeePerGas, maxPriorityFeePerGas };
}

/** The market's fees and the latest block's base fee, which a transaction's maxFeePerGas must reach to be mined. */
export async function marketFees(chain: ChainClients): Promise<{ fees: Fees; baseFeePerGas: bigint }> {
  const [fees, block] = await Promise.all([currentFees(chain), chain.publicClient.getBlock({ blockTag: "latest" })]);
  return { fees, baseFeePerGas: block.baseFeePerGas ?? 0n };
}

const min = (a: bigint, b: bigint) => (a < b ? a : b);

/** Fees lowered to the ceiling (maxFeePerGas at most `ceiling`, the priority fee at most that). */
export function cappedFees(fees: Fees, ceiling: bigint): Fees {
  const maxFeePerGas = min(fees.maxFeePerGas, ceiling);
  return { maxFeePerGas, maxPriorityFeePerGas: min(fees.maxPriorityFeePerGas, maxFeePerGas) };
}

/**
 * A first submission's fees: the market's, lowered to the ceiling. Undefined while the base fee is
 * above the ceiling: such a transaction could not be mined, and would only hold the lane's nonce.
 */
export function firstFees(market: Fees, baseFeePerGas: bigint, ceiling: bigint): Fees | undefined {
  return baseFeePerGas > ceiling ? undefined : cappedFees(market, ceiling);
}

/** The least a node takes to replace a transaction: 10% more, for each fee. */
const bump = (value: bigint) => (value * 11n) / 10n + 1n;

/**
 * A replacement's fees within the ceiling: bumped (below), then lowered to the ceiling. Undefined
 * when that leaves less than the 10% a node requires: the lane waits on the transaction it sent.
 */
export function replacementFees(previous: Fees, market: Fees, ceiling: bigint): Fees | undefined {
  const fees = cappedFees(bumpedFees(previous, market), ceiling);
  const enough =
    fees.maxFeePerGas >= bump(previous.maxFeePerGas) &&
    fees.maxPriorityFeePerGas >= bump(previous.maxPriorityFeePerGas);
  return enough ? fees : undefined;
}

/** A replacement's fees: at least 10% above the replaced ones (nodes require it), and at least the market's. */
export function bumpedFees(previous: Fees, market: Fees): Fees {
  const maxPriorityFeePerGas = [bump(previous.maxPriorityFeePerGas), market.maxPriorityFeePerGas].reduce((a, b) =>
    a > b ? a : b,
  );
  const maxFeePerGas = [bump(previous.maxFeePerGas), market.maxFeePerGas, maxPriorityFeePerGas].reduce((a, b) =>
    a > b ? a : b,
  );
  return { maxFeePerGas, maxPriorityFeePerGas };
}

export type TransactionFields = {
  nonce: number;
  to: Address;
  data: Hex;
  gasLimit: bigint;
} & Fees;

export async function signFields(
  signer: Signer,
  chainId: number,
  fields: TransactionFields,
): Promise<{ serialized: Hex; hash: Hex }> {
  const serialized = await signer.signTransaction({
    type: "eip1559",
    chainId,
    nonce: fields.nonce,
    to: fields.to,
    data: fields.data,
    value: 0n,
    gas: fields.gasLimit,
    maxFeePerGas: fields.maxFeePerGas,
    maxPriorityFeePerGas: fields.maxPriorityFeePerGas,
  });
  return { serialized, hash: keccak256(serialized) };
}

/** A stored transaction's fields (its latest fees). */
export const fieldsOf = (row: RelayTransaction): TransactionFields => ({
  nonce: row.nonce,
  to: row.to as Address,
  data: row.data as Hex,
  gasLimit: BigInt(row.gasLimit),
  maxFeePerGas: BigInt(row.maxFeePerGas),
  maxPriorityFeePerGas: BigInt(row.maxPriorityFeePerGas),
});

export type BroadcastReturnType = { sent: true } | { sent: false; refusal: SendRefusal; error: string };

export async function broadcast(chain: ChainClients, serialized: Hex): Promise<BroadcastReturnType> {
  try {
    await chain.publicClient.sendRawTransaction({ serializedTransaction: serialized });
    return { sent: true };
  } catch (error) {
    const refusal = sendRefusal(error);
    // The node already has this very transaction: it is sent.
    if (refusal === "already-known") return { sent: true };
    return { sent: false, refusal, error: nodeMessage(error) };
  }
}
