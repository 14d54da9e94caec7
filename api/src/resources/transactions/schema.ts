import { z } from "zod";
import { address, timestamp, uint256 } from "../../http/fields.ts";
import { listQuery, paginated } from "../../http/pagination.ts";
import { RELAYED_STATUSES, typedData } from "../redemptions/schema.ts";

const positiveAmount = uint256.refine((value) => BigInt(value) > 0n, "must be more than 0");

export const transactionCreate = z
  .discriminatedUnion("type", [
    z.strictObject({
      type: z.literal("MINT"),
      /** The tenant's points (its main one when omitted), reward or status token. */
      token: address.optional(),
      /** The reward or status class; 0 for points. */
      tokenId: uint256.default("0"),
      to: address.optional(),
      userId: z.uuid().optional(),
      amount: positiveAmount,
    }),
    z.strictObject({
      type: z.literal("TRANSFER"),
      token: address.optional(),
      tokenId: uint256.default("0"),
      to: address.optional(),
      toUserId: z.uuid().optional(),
      amount: positiveAmount,
    }),
    z.strictObject({
      type: z.literal("BURN"),
      token: address.optional(),
      tokenId: uint256.default("0"),
      amount: positiveAmount,
    }),
  ])
  .meta({ id: "TransactionCreate" });

export const transactionRequest = z
  .object({
    id: z.uuid(),
    type: z.enum(["MINT", "TRANSFER", "BURN"]),
    status: z.enum(RELAYED_STATUSES),
    token: address,
    tokenId: z.string(),
    from: address.nullable(),
    to: address.nullable(),
    amount: z.string(),
    userId: z.uuid().nullable(),
    reference: z.string().nullable(),
    typedData: typedData.nullable(),
    transactionHash: z.string().nullable(),
    error: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: "TransactionRequest" });

export const indexedTransaction = z
  .object({
    id: z.string(),
    status: z.literal("CONFIRMED"),
    type: z.enum(["MINT", "TRANSFER", "BURN"]),
    token: z.string(),
    tokenId: z.string(),
    from: z.string(),
    to: z.string(),
    amount: z.string(),
    cause: z.enum(["CLAIM", "REDEMPTION", "PURCHASE", "GRANT", "NONE"]),
    causeReference: z.string().nullable(),
    campaignId: z.string().nullable(),
    offerId: z.string().nullable(),
    transactionHash: z.string(),
    blockNumber: z.string(),
    logIndex: z.number().int(),
    timestamp: z.string(),
  })
  .meta({ id: "Transaction" });

export const transactionList = z
  .object({
    data: z.array(indexedTransaction),
    /** The API's own requests matching the filters that the chain has not confirmed (yet). */
    pending: z.array(transactionRequest),
    pagination: z.object({ page: z.number().int(), limit: z.number().int(), total: z.number().int() }),
  })
  .meta({ id: "TransactionList" });

const filters = {
  token: address.optional(),
  type: z.enum(["MINT", "TRANSFER", "BURN"]).optional(),
  /** CONFIRMED: the indexer's movements only; any other: the API's requests in that status only. */
  status: z.enum(["CONFIRMED", ...RELAYED_STATUSES]).optional(),
  dateFrom: timestamp.optional(),
  dateTo: timestamp.optional(),
  /** Relative to the participant (the caller for /transactions/me). */
  direction: z.enum(["sent", "received"]).optional(),
};
export const transactionListQuery = listQuery(["timestamp"], { ...filters, participant: address.optional() });
export const myTransactionListQuery = listQuery(["timestamp"], filters);

export const balanceQuery = z.strictObject({
  address: address.optional(),
  userId: z.uuid().optional(),
  token: address.optional(),
});

export const balanceList = z
  .object({
    address,
    data: z.array(
      z.object({
        token: z.string(),
        tokenId: z.string(),
        amount: z.string(),
        kind: z.enum(["POINTS", "REWARD", "STATUS"]),
        name: z.string().nullable(),
        symbol: z.string().nullable(),
        decimals: z.number().int().nullable(),
      }),
    ),
    pending: z.array(transactionRequest),
  })
  .meta({ id: "BalanceList" });
