// Reward and status tokens share their ERC-1155 events; each registers these handlers under its
// own contract name.
import type { Context, Event } from "ponder:registry";
import { operatorApproval, token, tokenClass } from "ponder:schema";
import type { Address } from "viem";
import { noteCause } from "./causes.ts";
import { issueCause } from "./decode.ts";
import { recordMovement } from "./movements.ts";

type Log = Pick<Event, "id" | "block" | "transaction" | "log">;

export async function onTransferSingle(
  event: Log & { args: { from: Address; to: Address; id: bigint; value: bigint } },
  context: Context,
) {
  const { from, to, id, value } = event.args;
  await recordMovement(event, context, {
    token: event.log.address,
    standard: "ERC1155",
    tokenId: id,
    from,
    to,
    amount: value,
    batchIndex: 0,
  });
}

export async function onTransferBatch(
  event: Log & { args: { from: Address; to: Address; ids: readonly bigint[]; values: readonly bigint[] } },
  context: Context,
) {
  const { from, to, ids, values } = event.args;
  for (let i = 0; i < ids.length; i++) {
    await recordMovement(event, context, {
      token: event.log.address,
      standard: "ERC1155",
      tokenId: ids[i]!,
      from,
      to,
      amount: values[i]!,
      batchIndex: i,
    });
  }
}

export async function onTokenClassDefined(
  event: Log & { args: { id: bigint; maxSupply: bigint; uri: string } },
  context: Context,
) {
  const { id, maxSupply, uri } = event.args;
  await context.db
    .insert(tokenClass)
    .values({ chainId: context.chain.id, token: event.log.address, tokenId: id, uri, maxSupply })
    .onConflictDoUpdate({ uri, maxSupply });
}

/** The class's effective URI: defineClass emits URI right after TokenClassDefined. */
export async function onUri(event: Log & { args: { id: bigint; value: string } }, context: Context) {
  const { id, value } = event.args;
  await context.db
    .update(tokenClass, { chainId: context.chain.id, token: event.log.address, tokenId: id })
    .set({ uri: value });
}

export async function onApprovalForAll(
  event: Log & { args: { account: Address; operator: Address; approved: boolean } },
  context: Context,
) {
  const { account, operator, approved } = event.args;
  await context.db
    .insert(operatorApproval)
    .values({
      chainId: context.chain.id,
      token: event.log.address,
      account,
      operator,
      approved,
      changedBlock: event.block.number,
    })
    .onConflictDoUpdate({ approved, changedBlock: event.block.number });
}

export async function onIssued(
  event: Log & { args: { to: Address; id: bigint; reason: number; ref: `0x${string}` } },
  context: Context,
) {
  const { to, reason, ref } = event.args;
  noteCause(context.chain.id, event.transaction.hash, {
    kind: issueCause(reason),
    account: to,
    token: event.log.address,
    reference: ref,
  });
}

export async function onPaused(event: Log, context: Context, paused: boolean) {
  await context.db.update(token, { chainId: context.chain.id, address: event.log.address }).set({ paused });
}
