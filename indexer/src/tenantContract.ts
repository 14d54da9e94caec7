// What every tenant contract emits as a proxy (Upgraded), as an Initializable (Initialized) and as an
// EIP-712 signer (EIP712DomainChanged); each contract registers these handlers under its own name.
// A proxy's constructor upgrades and initialises it before the factory's event names the contract,
// so those first events find no row: the factory's handler reads their outcome from the chain.
import type { Context, Event } from "ponder:registry";
import { tenantContract } from "ponder:schema";
import { hexToBigInt, maxUint64, type Address } from "viem";

type Log = Pick<Event, "block" | "log">;

/** OpenZeppelin Initializable's ERC-7201 slot; its low 64 bits hold the initialized version. */
const INITIALIZABLE_SLOT = "0xf0c57e16840df040f15088dc2f81fe391c3923bec73e23a9662efc9c229c6a00";

export async function onUpgraded(event: Log & { args: { implementation: Address } }, context: Context) {
  await updateKnown(event, context, { implementation: event.args.implementation });
}

export async function onInitialized(event: Log & { args: { version: bigint } }, context: Context) {
  await updateKnown(event, context, { initializedVersion: event.args.version });
}

export async function onEip712DomainChanged(event: Log, context: Context) {
  await updateKnown(event, context, { eip712DomainChangedBlock: event.block.number });
}

/** The version a tenant contract was initialised to, as of `blockNumber`. */
export async function initializedVersionAt(context: Context, address: Address, blockNumber: bigint) {
  const word = await context.client.getStorageAt({ address, slot: INITIALIZABLE_SLOT, blockNumber });
  return hexToBigInt(word ?? "0x0") & maxUint64;
}

async function updateKnown(
  event: Log,
  context: Context,
  values: Partial<
    Pick<typeof tenantContract.$inferInsert, "implementation" | "initializedVersion" | "eip712DomainChangedBlock">
  >,
) {
  const key = { chainId: context.chain.id, address: event.log.address };
  if (await context.db.find(tenantContract, key)) await context.db.update(tenantContract, key).set(values);
}
