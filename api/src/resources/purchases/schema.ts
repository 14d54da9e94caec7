import { z } from "zod";
import { address, id, name, timestamp, uint256 } from "../../http/fields.ts";
import { listQuery, paginated } from "../../http/pagination.ts";

const currency = z
  .string()
  .regex(/^[A-Z]{3}$/, "must be an ISO 4217 code in capitals (EUR)")
  .meta({ example: "EUR" });
const positiveUint256 = uint256.refine((value) => BigInt(value) > 0n, "must be greater than 0");
const providerSecret = z
  .string()
  .min(16)
  .max(200)
  .regex(/^[\x21-\x7e]+$/, "must be printable ASCII without spaces");
const purchaseStatus = z.enum(["PENDING", "COMPLETED", "FAILED"]);

export const purchaseProviderCreate = z
  .strictObject({
    name,
    currency,
    pointsPerMinorUnit: positiveUint256.meta({
      description: "Points, in the token's smallest unit, per minor unit of the currency (one cent)",
    }),
    tokenAddress: address.optional().meta({ description: "One of the tenant's points tokens; its first by default" }),
    secret: providerSecret.optional().meta({
      description: "The provider's own signing secret, when it makes one; otherwise the API makes one",
    }),
  })
  .meta({ id: "PurchaseProviderCreate" });

export const purchaseProviderUpdate = z
  .strictObject({
    name: name.optional(),
    currency: currency.optional(),
    pointsPerMinorUnit: positiveUint256.optional(),
    tokenAddress: address.optional(),
    secret: providerSecret.optional().meta({ description: "Replaces the secret (the provider's own)" }),
    active: z.boolean().optional().meta({ description: "false refuses the provider's webhooks" }),
  })
  .meta({ id: "PurchaseProviderUpdate" });

export const purchaseProvider = z
  .object({
    id: z.uuid(),
    name: z.string(),
    currency: z.string(),
    pointsPerMinorUnit: z.string(),
    tokenAddress: z.string(),
    active: z.boolean(),
    webhookPath: z.string().meta({ description: "Where the provider sends its signed webhooks" }),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: "PurchaseProvider" });

export const purchaseProviderWithSecret = purchaseProvider
  .extend({
    secret: z.string().meta({ description: "Verifies the provider's signatures: shown in this answer only" }),
  })
  .meta({ id: "PurchaseProviderWithSecret" });

export const purchaseProviderList = paginated(purchaseProvider, "PurchaseProvider");
export const purchaseProviderListQuery = listQuery(["createdAt", "name"], { active: z.stringbool().optional() });

export const purchase = z
  .object({
    id: z.uuid(),
    providerId: z.uuid(),
    paymentId: z.string(),
    userId: z.uuid(),
    recipient: z.string(),
    currency: z.string(),
    amountMinor: z.string(),
    points: z.string().meta({ description: "Issued in the token's smallest unit" }),
    chainId: z.number().int(),
    tokenAddress: z.string(),
    reference: z
      .string()
      .meta({ description: "The issue's on-chain reference: keccak256 of `<providerId>:<paymentId>`" }),
    status: purchaseStatus,
    transactionHash: z.string().nullable(),
    error: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: "Purchase" });

export const purchaseList = paginated(purchase, "Purchase");
export const purchaseListQuery = listQuery(["createdAt"], {
  status: purchaseStatus.optional(),
  providerId: z.uuid().optional(),
  userId: z.uuid().optional(),
  paymentId: z.string().max(200).optional(),
  from: timestamp.optional().meta({ description: "Made at or after" }),
  to: timestamp.optional().meta({ description: "Made before" }),
});

const minorAmount = z
  .union([z.number().int().positive().max(Number.MAX_SAFE_INTEGER), z.string().regex(/^[1-9]\d{0,30}$/)])
  .transform((value) => String(value))
  .meta({ description: "The amount paid in minor units (cents), an integer or a decimal string" });

/** The payment a `payment.succeeded` event reports, and who paid (exactly one of the tenant's user's identifiers). */
export const paymentSucceeded = z.object({
  paymentId: z.string().min(1).max(200),
  amount: minorAmount,
  currency,
  customer: z
    .strictObject({
      userId: z.uuid().optional(),
      externalId: z.string().min(1).max(200).optional(),
      email: z.string().max(320).optional(),
    })
    .refine(
      (customer) => Object.values(customer).filter((value) => value !== undefined).length === 1,
      "must name the user by exactly one of userId, externalId, email",
    ),
});

/**
 * A provider's webhook: `payment.succeeded` issues points; other types are acknowledged and
 * ignored. Fields beyond these are the provider's own and ignored (so the envelope is not strict).
 */
export const purchaseWebhook = z
  .object({
    id: z.string().min(1).max(200).meta({ description: "The provider's event id: a repeat gets the first answer" }),
    type: z.string().min(1).max(100).meta({ example: "payment.succeeded" }),
    data: z.record(z.string(), z.unknown()),
  })
  .meta({ id: "PurchaseWebhook" });

export const purchaseWebhookAnswer = z
  .object({
    eventId: z.string(),
    status: z.enum(["ACCEPTED", "DUPLICATE_PAYMENT", "IGNORED"]),
    purchase: purchase.nullable(),
  })
  .meta({ id: "PurchaseWebhookAnswer" });

export const providerParams = z.object({ provider: id });
