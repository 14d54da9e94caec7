import { z } from "zod";
import { address } from "../../http/fields.ts";
import { listQuery, paginated } from "../../http/pagination.ts";

export const RELAYED_STATUSES = ["AWAITING_SIGNATURE", "PENDING", "PROCESSING", "COMPLETED", "FAILED"] as const;

const tokenAmount = z.object({ token: address, tokenId: z.string(), amount: z.string() }).meta({ id: "TokenAmount" });

export const offer = z
  .object({
    offerId: z.string(),
    status: z.enum(["ACTIVE", "PAUSED", "CLOSED"]),
    open: z.boolean(),
    type: z.enum(["REWARD", "STATUS", "MIXED", "OFF_CHAIN"]),
    startsAt: z.string(),
    endsAt: z.string(),
    supplyLeft: z.string(),
    redeemed: z.string(),
    businessCount: z.number().int(),
    statusRequirement: z.object({ token: address, tokenId: z.string() }).nullable(),
    costs: z.array(tokenAmount),
    payouts: z.array(tokenAmount),
  })
  .meta({ id: "RedemptionOffer" });
export const offerList = paginated(offer, "RedemptionOffer");
export const offerListQuery = listQuery(["offerId"], {
  open: z.stringbool().optional(),
  type: z.enum(["REWARD", "STATUS", "MIXED", "OFF_CHAIN"]).optional(),
});
export const offerParams = z.object({ offerId: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER) });
export const offerTypes = z
  .object({ data: z.array(z.object({ type: z.string(), offers: z.number().int(), open: z.number().int() })) })
  .meta({ id: "RedemptionTypeList" });

export const redeemCreate = z
  .strictObject({
    offerId: z.int().min(1).max(Number.MAX_SAFE_INTEGER),
    quantity: z.int().min(1).max(1_000_000).default(1),
    businessId: z.uuid().optional(),
    /** ADMIN and SYSTEM redeem for a user; a USER only for themself. */
    userId: z.uuid().optional(),
  })
  .meta({ id: "RedeemCreate" });

export const signatureBody = z
  .strictObject({ signature: z.string().regex(/^0x[0-9a-fA-F]{130}$/, "must be a 65-byte hex signature") })
  .meta({ id: "ForwardRequestSignature" });

export const typedData = z
  .object({
    domain: z.object({ name: z.string(), version: z.string(), chainId: z.number().int(), verifyingContract: address }),
    types: z.record(z.string(), z.array(z.object({ name: z.string(), type: z.string() }))),
    primaryType: z.literal("ForwardRequest"),
    message: z.object({
      from: address,
      to: address,
      value: z.string(),
      gas: z.string(),
      nonce: z.string(),
      deadline: z.number().int(),
      data: z.string(),
    }),
  })
  .meta({ id: "ForwardRequestTypedData", description: "EIP-712 typed data for eth_signTypedData_v4" });

export const redeem = z
  .object({
    id: z.uuid(),
    userId: z.uuid(),
    holder: address,
    offerId: z.string(),
    quantity: z.number().int(),
    businessId: z.uuid().nullable(),
    business: address,
    status: z.enum(RELAYED_STATUSES),
    /** What the holder signs, while the redemption awaits their signature. */
    typedData: typedData.nullable(),
    transactionHash: z.string().nullable(),
    onchainRedemptionId: z.string().nullable(),
    error: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: "Redeem" });
export const redeemList = paginated(redeem, "Redeem");
export const redeemListQuery = listQuery(["createdAt"], {
  status: z.enum(RELAYED_STATUSES).optional(),
  userId: z.uuid().optional(),
  offerId: z.coerce.number().int().min(1).optional(),
});
