import { purchases } from "../../db/purchasesSchema.ts";
import { date } from "../../http/fields.ts";

export const presentPurchase = (row: typeof purchases.$inferSelect) => ({
  id: row.id,
  providerId: row.providerId,
  paymentId: row.paymentId,
  userId: row.userId,
  recipient: row.recipient,
  currency: row.currency,
  amountMinor: row.amountMinor,
  points: row.points,
  chainId: row.chainId,
  tokenAddress: row.tokenAddress,
  reference: row.reference,
  status: row.status,
  transactionHash: row.transactionHash,
  error: row.error,
  createdAt: date(row.createdAt)!,
  updatedAt: date(row.updatedAt)!,
});
