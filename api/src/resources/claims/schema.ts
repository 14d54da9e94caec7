import { z } from "zod";
import { LEVELS } from "../../auth/principal.ts";
import { address, id, timestamp } from "../../http/fields.ts";
import { listQuery, paginated } from "../../http/pagination.ts";

export const CLAIM_STATUSES = ["PENDING", "SUBMITTED", "CONFIRMED", "FAILED"] as const;
const status = z.enum(CLAIM_STATUSES);

const location = z
  .strictObject({ lat: z.number().min(-90).max(90), lng: z.number().min(-180).max(180) })
  .meta({ id: "ClaimLocation", description: "Where the claim is made (WGS 84 degrees)" });

export const claimCreate = z
  .strictObject({
    campaignId: id,
    userId: id
      .optional()
      .meta({ description: "Whom the claim pays (not for USER callers: they claim for themselves)" }),
    recipient: address.optional().meta({ description: "Whom the claim pays, by wallet: one of the tenant's users" }),
    businessId: id.optional().meta({
      description:
        "The business bringing the claim (it must take part in the campaign and be active); a BUSINESS caller's " +
        "own; named by ADMIN, SYSTEM or a signed webhook only (403 from a USER or with a QR payload)",
    }),
    qr: z
      .string()
      .min(1)
      .max(4096)
      .optional()
      .meta({
        description:
          "A trigger source's signed QR payload: base64url(JSON {triggerSourceId, campaignId, exp, nonce}) '.' " +
          "base64url(HMAC-SHA256 of the first part under the source's secret)",
      }),
    triggerSourceId: id.optional().meta({
      description:
        "For a platform's webhook: the API_WEBHOOK source whose secret signed this body " +
        "(X-Trigger-Timestamp, X-Trigger-Signature: sha256=hex(HMAC-SHA256(secret, timestamp + '.' + body)))",
    }),
    location: location.optional(),
    facts: z
      .record(z.string(), z.unknown())
      .optional()
      .meta({
        description:
          "Facts the campaign trigger's conditions are evaluated against; from BUSINESS, ADMIN, SYSTEM or a " +
          "signed webhook only (403 from a USER or with a QR payload: they would meet any condition)",
      }),
  })
  .superRefine((body, ctx) => {
    if (body.qr !== undefined && body.triggerSourceId !== undefined) {
      ctx.addIssue({ code: "custom", path: ["triggerSourceId"], message: "send either qr or triggerSourceId" });
    }
    if (body.userId !== undefined && body.recipient !== undefined) {
      ctx.addIssue({ code: "custom", path: ["recipient"], message: "send either userId or recipient" });
    }
  })
  .meta({ id: "ClaimCreate" });
export type ClaimCreate = z.infer<typeof claimCreate>;

export const claimAccepted = z
  .object({
    id: z.uuid(),
    claimId: z.string().meta({ description: "The claim id on chain: the registry pays it at most once" }),
    status: z.literal("PENDING"),
  })
  .meta({ id: "ClaimAccepted" });

export const claim = z
  .object({
    id: z.uuid(),
    claimId: z.string(),
    campaignId: z.uuid(),
    userId: z.uuid().nullable(),
    recipient: z.string(),
    source: z.enum(LEVELS),
    businessId: z.uuid().nullable(),
    triggerSourceId: z.uuid().nullable(),
    location: z.object({ lat: z.number(), lng: z.number() }).nullable(),
    status: status.meta({
      description: "PENDING (queued) → SUBMITTED (in a transaction) → CONFIRMED (paid) or FAILED (see error)",
    }),
    transactionHash: z.string().nullable(),
    error: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: "Claim" });

export const claimList = paginated(claim, "Claim");
export const claimListQuery = listQuery(["createdAt"], {
  campaignId: z.uuid().optional(),
  userId: z.uuid().optional(),
  businessId: z.uuid().optional(),
  status: status.optional(),
  from: timestamp.optional().meta({ description: "Made at or after" }),
  to: timestamp.optional().meta({ description: "Made before" }),
});
