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

export function offerCount({ chain, registry }: OfferRegistry): Promise<bigint> {
  return chain.publicClient.readContract({ address: registry, abi: redemptionRegistryAbi, functionName: "offerCount" });
}

/** Offer `offerId` as the chain has it; undefined when it does not exist. */
export async function readOffer(
  source: OfferRegistry,
  offerId: bigint,
  nowSeconds: number,
): Promise<OfferView | undefined> {
  const { chain, registry } = source;
  const contract = { address: registry, abi: redemptionRegistryAbi, args: [offerId] } as const;
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
