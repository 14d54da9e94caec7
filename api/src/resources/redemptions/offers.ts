// The tenant's redemption offers, read from its RedemptionRegistry (the API keeps no copy).
import { zeroAddress, type Address } from "viem";
import { redemptionRegistryAbi } from "../../../../abi/redemptionRegistry.ts";
import { OfferStatus } from "../../../../abi/enums.ts";
import type { ChainClients } from "../../chain/chains.ts";

export type OfferView = {
  offerId: string;
  status: "ACTIVE" | "PAUSED" | "CLOSED";
  /** Active, inside its window and with units left: a redemption may be accepted. */
  open: boolean;
  startsAt: string;
  endsAt: string;
  supplyLeft: string;
  redeemed: string;
  businessCount: number;
  statusRequirement: { token: Address; tokenId: string } | null;
  costs: { token: Address; tokenId: string; amount: string }[];
  payouts: { token: Address; tokenId: string; amount: string }[];
  /** OFF_CHAIN when it pays nothing on chain, else the kinds of token it pays. */
  type: OfferType;
};

export const OFFER_TYPES = ["REWARD", "STATUS", "MIXED", "OFF_CHAIN"] as const;
export type OfferType = (typeof OFFER_TYPES)[number];

const STATUS_NAMES: Record<number, OfferView["status"] | undefined> = {
  [OfferStatus.ACTIVE]: "ACTIVE",
  [OfferStatus.PAUSED]: "PAUSED",
  [OfferStatus.CLOSED]: "CLOSED",
};

const amounts = (items: readonly { token: Address; id: bigint; amount: bigint }[]) =>
  items.map((item) => ({ token: item.token, tokenId: item.id.toString(), amount: item.amount.toString() }));
const iso = (seconds: number) => new Date(seconds * 1000).toISOString();

export type OfferRegistry = { chain: ChainClients; registry: Address; rewardToken: Address; statusToken: Address };

export function offerCount({ chain, registry }: OfferRegistry, blockNumber?: bigint): Promise<bigint> {
  return chain.publicClient.readContract({
    address: registry,
    abi: redemptionRegistryAbi,
    functionName: "offerCount",
    ...(blockNumber !== undefined && { blockNumber }),
  });
}

/** A block as far as offers need it: which one, and its time (an offer's window is in seconds). */
export type AtBlock = { number: bigint; timestamp: bigint };

/**
 * Every offer of a registry as of one block, read once for all the requests that ask at that block:
 * a list that filters reads every offer (four calls each), and anyone with the project key may ask.
 * Kept per registry for its latest block only; offers change only with a block, so none is stale.
 */
const snapshots = new Map<string, { block: bigint; offers: Promise<(OfferView | undefined)[]> }>();

export function offersAt(source: OfferRegistry, block: AtBlock): Promise<(OfferView | undefined)[]> {
  const key = `${source.chain.chainId}:${source.registry.toLowerCase()}`;
  const kept = snapshots.get(key);
  if (kept && kept.block === block.number) return kept.offers;
  const offers = (async () => {
    const count = Number(await offerCount(source, block.number));
    return Promise.all(
      Array.from({ length: count }, (_, index) =>
        readOffer(source, BigInt(index + 1), Number(block.timestamp), block.number),
      ),
    );
  })();
  snapshots.set(key, { block: block.number, offers });
  // A failed read is not kept: the next request reads again.
  offers.catch(() => {
    if (snapshots.get(key)?.offers === offers) snapshots.delete(key);
  });
  return offers;
}

/** Offer `offerId` as the chain has it; undefined when it does not exist. */
export async function readOffer(
  source: OfferRegistry,
  offerId: bigint,
  nowSeconds: number,
  blockNumber?: bigint,
): Promise<OfferView | undefined> {
  const { chain, registry } = source;
  const contract = {
    address: registry,
    abi: redemptionRegistryAbi,
    args: [offerId],
    ...(blockNumber !== undefined && { blockNumber }),
  } as const;
  const offer = await chain.publicClient.readContract({ ...contract, functionName: "getOffer" });
  const status = STATUS_NAMES[offer.status];
  if (!status) return undefined;
  const [costs, payouts, [statusToken, statusId]] = await Promise.all([
    chain.publicClient.readContract({ ...contract, functionName: "getCosts" }),
    chain.publicClient.readContract({ ...contract, functionName: "getPayouts" }),
    chain.publicClient.readContract({ ...contract, functionName: "getOfferStatusRequirement" }),
  ]);
  const paid = new Set(payouts.map((payout) => payout.token.toLowerCase()));
  const pays = {
    reward: paid.has(source.rewardToken.toLowerCase()),
    status: paid.has(source.statusToken.toLowerCase()),
  };
  const type: OfferType =
    payouts.length === 0 ? "OFF_CHAIN" : pays.reward && pays.status ? "MIXED" : pays.status ? "STATUS" : "REWARD";
  return {
    offerId: offerId.toString(),
    status,
    open: status === "ACTIVE" && offer.start <= nowSeconds && nowSeconds < offer.end && offer.supplyLeft > 0n,
    startsAt: iso(offer.start),
    endsAt: iso(offer.end),
    supplyLeft: offer.supplyLeft.toString(),
    redeemed: offer.redeemed.toString(),
    businessCount: offer.businessCount,
    statusRequirement: statusToken === zeroAddress ? null : { token: statusToken, tokenId: statusId.toString() },
    costs: amounts(costs),
    payouts: amounts(payouts),
    type,
  };
}
