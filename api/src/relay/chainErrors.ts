// Reading what a node said: whether a call reverted (and with which custom error), or why it
// refused a raw transaction. A network failure is neither: the relayer retries it later.
import { BaseError, decodeErrorResult, type Abi, type Hex } from "viem";
import { campaignRegistryAbi } from "../../../abi/campaignRegistry.ts";
import { erc2771ForwarderAbi } from "../../../abi/erc2771Forwarder.ts";
import { pointsTokenAbi } from "../../../abi/pointsToken.ts";
import { redemptionRegistryAbi } from "../../../abi/redemptionRegistry.ts";
import { rewardTokenAbi } from "../../../abi/rewardToken.ts";
import { statusTokenAbi } from "../../../abi/statusToken.ts";
import { tenantFactoryAbi } from "../../../abi/tenantFactory.ts";

/** Every custom error the protocol's contracts (and their OpenZeppelin bases) raise. */
const errorsAbi: Abi = [
  ...campaignRegistryAbi,
  ...erc2771ForwarderAbi,
  ...pointsTokenAbi,
  ...redemptionRegistryAbi,
  ...rewardTokenAbi,
  ...statusTokenAbi,
  ...tenantFactoryAbi,
].filter((item) => item.type === "error");

const causes = (error: unknown): unknown[] => {
  const chain: unknown[] = [];
  for (let current = error; current && chain.length < 20; current = (current as { cause?: unknown }).cause) {
    chain.push(current);
  }
  return chain;
};

const messageOf = (error: unknown) =>
  causes(error)
    .map((cause) =>
      cause instanceof BaseError ? `${cause.shortMessage} ${cause.details ?? ""}` : String((cause as Error)?.message),
    )
    .join(" | ");

const revertData = (error: unknown): Hex | undefined => {
  for (const cause of causes(error)) {
    const data = (cause as { data?: unknown }).data;
    if (typeof data === "string" && /^0x[0-9a-fA-F]*$/.test(data) && data.length >= 10) return data as Hex;
    const nested = (data as { data?: unknown } | undefined)?.data;
    if (typeof nested === "string" && /^0x[0-9a-fA-F]*$/.test(nested) && nested.length >= 10) return nested as Hex;
  }
  return undefined;
};

/** Whether a simulation failed because the call reverts (rather than because the node was unreachable). */
export function isRevert(error: unknown): boolean {
  return (
    revertData(error) !== undefined ||
    causes(error).some((cause) => (cause as { code?: unknown }).code === 3) ||
    /revert|invalid opcode|out of gas/i.test(messageOf(error))
  );
}

/** A revert as a readable reason: `TokenReferenceUsed(0x…)` for a protocol error, else the node's message. */
export function revertReason(error: unknown): string {
  const data = revertData(error);
  if (data) {
    try {
      const decoded = decodeErrorResult({ abi: errorsAbi, data });
      return `${decoded.errorName}(${(decoded.args ?? []).map(String).join(", ")})`;
    } catch {
      // Not one of ours: fall back to the node's words.
    }
  }
  const first = causes(error)[0];
  return (first instanceof BaseError ? first.shortMessage : messageOf(error)).slice(0, 500);
}

export type SendRefusal = "nonce-too-low" | "nonce-too-high" | "already-known" | "underpriced" | "other";

/** Why a node refused a raw transaction. */
export const sendRefusal = (error: unknown): SendRefusal => refusalIn(messageOf(error));

/** The refusal that a node's words (as nodeMessage keeps them) describe. */
export function refusalIn(message: string): SendRefusal {
  if (/nonce too low|nonce has already been used|nonce.*already used/i.test(message)) return "nonce-too-low";
  // A node that queues nothing (Hardhat's automine, a rollup's sequencer) refuses a nonce past its next.
  if (/nonce too high/i.test(message)) return "nonce-too-high";
  if (/already known|known transaction|already imported/i.test(message)) return "already-known";
  if (/underpriced/i.test(message)) return "underpriced";
  return "other";
}

/** The node's own words for a refusal (viem's short message alone often says only "invalid parameters"). */
export function nodeMessage(error: unknown): string {
  const first = causes(error)[0];
  const message = first instanceof BaseError ? `${first.shortMessage} ${first.details ?? ""}` : messageOf(error);
  return message.trim().slice(0, 500);
}

export const shortError = (error: unknown) =>
  (error instanceof BaseError ? error.shortMessage : error instanceof Error ? error.message : String(error)).slice(
    0,
    500,
  );
