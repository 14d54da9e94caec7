import { z } from "zod";
import { listQuery, paginated } from "../../http/pagination.ts";
import { id, name } from "../../http/fields.ts";

const email = z.email().max(254);

export const businessCreate = z
  .strictObject({ name, email: email.optional(), businessTypeId: z.uuid().optional() })
  .meta({ id: "BusinessCreate" });

/** ADMIN may change every field; a BUSINESS caller only its own business's name and email. */
export const businessUpdate = z
  .strictObject({
    name: name.optional(),
    email: email.nullable().optional(),
    businessTypeId: z.uuid().nullable().optional(),
    active: z.boolean().optional(),
  })
  .meta({ id: "BusinessUpdate" });

export const BUSINESS_EDITABLE = ["name", "email"] as const;

/** What anyone who names the tenant may see of an active business. */
export const businessPublic = z
  .object({
    id: z.uuid(),
    name: z.string(),
    businessTypeId: z.uuid().nullable(),
    walletAddress: z.string(),
  })
  .meta({ id: "BusinessPublic" });

export const business = businessPublic
  .extend({
    email: z.string().nullable(),
    custodial: z.literal(true).meta({ description: "Every business's wallet is kept by the API (key never returned)" }),
    active: z.boolean(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: "Business", description: "A business as its admins and its own members see it" });

export const businessView = z.union([business, businessPublic]).meta({
  id: "BusinessView",
  description: "Business for ADMIN, SYSTEM and the business itself; BusinessPublic otherwise",
});

export const businessList = paginated(businessView, "Business");
export const businessListQuery = listQuery(["createdAt", "name"], {
  businessTypeId: z.uuid().optional(),
  active: z.stringbool().optional(),
  name: z.string().max(120).optional().meta({ description: "Part of the name, any case" }),
});

export const memberParams = z.object({ id, userId: id });
export const memberCreate = z.strictObject({ userId: z.uuid() }).meta({ id: "BusinessMemberCreate" });

export const member = z
  .object({
    userId: z.uuid(),
    email: z.string().nullable(),
    firstName: z.string().nullable(),
    lastName: z.string().nullable(),
    walletAddress: z.string(),
    addedAt: z.string(),
  })
  .meta({ id: "BusinessMember", description: "A user who acts for the business (signs in at level BUSINESS)" });

export const memberList = paginated(member, "BusinessMember");
export const memberListQuery = listQuery(["addedAt"]);
