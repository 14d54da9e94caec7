// Test helpers for flows relayed through the forwarder: the tenant's offers and points made with the
// platform's operator key, and the `forward` job kind driven by hand (encode → send → receipt →
// settle), as the relayer's worker does.
import { and, asc, eq, inArray } from "drizzle-orm";
import { parseEventLogs, zeroAddress, type Address } from "viem";
import { IssueReason } from "../../abi/enums.ts";
import { pointsTokenAbi } from "../../abi/pointsToken.ts";
import { redemptionRegistryAbi } from "../../abi/redemptionRegistry.ts";
import { rewardTokenAbi } from "../../abi/rewardToken.ts";
import { statusTokenAbi } from "../../abi/statusToken.ts";
import type { ChainClients } from "../src/chain/chains.ts";
import { relayJobs } from "../src/db/relaySchema.ts";
import { tenants } from "../src/db/schema.ts";
import { forwardKind, type ForwardPayload } from "../src/relay/kinds/forward.ts";
import type { Job } from "../src/relay/jobs.ts";
import type { LocalAccount } from "viem/accounts";
import type { TestApi, TestChain } from "./harness.ts";

export const REWARD_ID = 1n;

/** The request of a typed data document from the API, as the forwarder takes it (without its signature). */
export const requestOf = (typedData: any) => ({
  ...typedData.message,
  value: BigInt(typedData.message.value),
  gas: BigInt(typedData.message.gas),
  nonce: BigInt(typedData.message.nonce),
});

/** Signs a typed data document from the API with a test account, as a wallet would. */
export const signWith = (account: LocalAccount, typedData: any) =>
  account.signTypedData({ ...typedData, message: requestOf(typedData) });

export const clientsOf = (chain: TestChain): ChainClients => chain.chains.get(chain.chains.ids()[0]!)!;

async function send(clients: ChainClients, call: Parameters<ChainClients["walletClient"]["writeContract"]>[0]) {
  const hash = await clients.walletClient.writeContract(call);
  const receipt = await clients.publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new Error(`transaction ${hash} reverted`);
  return receipt;
}

let reference = 0;
/** A fresh 32-byte issue reference: the tokens refuse one used before. */
const nextReference = () => {
  reference += 1;
  return `0x${(Date.now() * 1000 + reference).toString(16).padStart(64, "0")}` as const;
};

/** Issues `amount` points of the tenant to `to` (the platform is an issuer); the receipt. */
export async function issuePoints(chain: TestChain, tenant: { contracts: any }, to: Address, amount: bigint) {
  return send(clientsOf(chain), {
    address: tenant.contracts.pointsToken,
    abi: pointsTokenAbi,
    functionName: "issue",
    args: [to, amount, IssueReason.GRANT, nextReference()],
  } as never);
}

export type MultiToken = "rewardToken" | "statusToken";
const abiOf = (token: MultiToken) => (token === "rewardToken" ? rewardTokenAbi : statusTokenAbi);

/** Defines class `id` of the tenant's reward or status token (unlimited supply) unless it is already. */
export async function defineClass(chain: TestChain, tenant: { contracts: any }, token: MultiToken, id: bigint) {
  const clients = clientsOf(chain);
  const address = tenant.contracts[token];
  const defined = await clients.publicClient.readContract({
    address,
    abi: abiOf(token),
    functionName: "isClassDefined",
    args: [id],
  });
  if (!defined) {
    await send(clients, { address, abi: abiOf(token), functionName: "defineClass", args: [id, 0n, ""] } as never);
  }
}

/** Issues `amount` of class `id` of the tenant's reward or status token to `to` (defined first if need be); the receipt. */
export async function issueClass(
  chain: TestChain,
  tenant: { contracts: any },
  token: MultiToken,
  to: Address,
  id: bigint,
  amount: bigint,
) {
  await defineClass(chain, tenant, token, id);
  return send(clientsOf(chain), {
    address: tenant.contracts[token],
    abi: abiOf(token),
    functionName: "issue",
    args: [to, id, amount, IssueReason.GRANT, nextReference()],
  } as never);
}

/** A holder's balance of class `id` of the tenant's reward or status token. */
export function classBalance(
  chain: TestChain,
  tenant: { contracts: any },
  token: MultiToken,
  holder: Address,
  id: bigint,
) {
  return clientsOf(chain).publicClient.readContract({
    address: tenant.contracts[token],
    abi: abiOf(token),
    functionName: "balanceOf",
    args: [holder, id],
  });
}

/** An offer costing `price` points a unit and paying one reward (class REWARD_ID), with `supply` units. */
export async function createOffer(
  chain: TestChain,
  tenant: { contracts: any },
  { price = 100n, supply = 10n, startIn = -60, endIn = 86_400 } = {},
): Promise<bigint> {
  const clients = clientsOf(chain);
  await defineClass(chain, tenant, "rewardToken", REWARD_ID);
  const now = Number((await clients.publicClient.getBlock()).timestamp);
  const receipt = await send(clients, {
    address: tenant.contracts.redemptionRegistry,
    abi: redemptionRegistryAbi,
    functionName: "createOffer",
    args: [
      { start: now + startIn, end: now + endIn, supply, statusToken: zeroAddress, statusId: 0n },
      [{ token: tenant.contracts.pointsToken, id: 0n, amount: price }],
      [{ token: tenant.contracts.rewardToken, id: REWARD_ID, amount: 1n }],
      [],
    ],
  } as never);
  const [created] = parseEventLogs({ abi: redemptionRegistryAbi, eventName: "OfferCreated", logs: receipt.logs });
  return created!.args.offerId;
}

export async function holdings(chain: TestChain, tenant: { contracts: any }, holder: Address) {
  const { publicClient } = clientsOf(chain);
  const [points, rewards] = await Promise.all([
    publicClient.readContract({
      address: tenant.contracts.pointsToken,
      abi: pointsTokenAbi,
      functionName: "balanceOf",
      args: [holder],
    }),
    publicClient.readContract({
      address: tenant.contracts.rewardToken,
      abi: rewardTokenAbi,
      functionName: "balanceOf",
      args: [holder, REWARD_ID],
    }),
  ]);
  return { points, rewards };
}

/**
 * Relays every pending `forward` job as the worker would: batches of maxBatch per tenant, each sent
 * by the platform's signer, then settled from its receipt (or failed when it reverts).
 */
export async function relayForwardJobs(api: TestApi, chain: TestChain, options: { batch?: number } = {}) {
  const { db } = api.services;
  const clients = clientsOf(chain);
  const pending = (await db
    .select()
    .from(relayJobs)
    .where(and(eq(relayJobs.kind, forwardKind.name), eq(relayJobs.status, "PENDING")))
    .orderBy(asc(relayJobs.createdAt))) as Job<ForwardPayload>[];
  const byTenant = new Map<string, Job<ForwardPayload>[]>();
  for (const job of pending) byTenant.set(job.tenantId, [...(byTenant.get(job.tenantId) ?? []), job]);
  let transactions = 0;
  for (const [tenantId, jobs] of byTenant) {
    const [tenant] = await db.select().from(tenants).where(eq(tenants.id, tenantId));
    const context = { db, chain: clients, tenant: tenant! };
    const size = options.batch ?? forwardKind.maxBatch;
    for (let start = 0; start < jobs.length; start += size) {
      const chunk = jobs.slice(start, start + size);
      const ids = chunk.map((job) => job.id);
      const call = await forwardKind.encode(chunk, context);
      await db.update(relayJobs).set({ status: "SUBMITTED" }).where(inArray(relayJobs.id, ids));
      let receipt;
      try {
        const hash = await clients.walletClient.sendTransaction({ to: call.to, data: call.data });
        receipt = await clients.publicClient.waitForTransactionReceipt({ hash });
      } catch (error) {
        await db.update(relayJobs).set({ status: "FAILED" }).where(inArray(relayJobs.id, ids));
        await forwardKind.fail(chunk, (error as Error).message.split("\n")[0]!, context);
        continue;
      }
      transactions += 1;
      if (receipt.status !== "success") {
        await db.update(relayJobs).set({ status: "FAILED" }).where(inArray(relayJobs.id, ids));
        await forwardKind.fail(chunk, "The transaction reverted.", context);
        continue;
      }
      await db.update(relayJobs).set({ status: "CONFIRMED" }).where(inArray(relayJobs.id, ids));
      await forwardKind.settle(chunk, receipt, context);
    }
  }
  return { jobs: pending.length, transactions };
}
