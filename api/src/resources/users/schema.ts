import { z } from "zod";
import { listQuery, paginated } from "../../http/pagination.ts";
import { address, name } from "../../http/fields.ts";

const email = z.email().max(254);
const externalId = z.string().min(1).max(256).meta({ description: "The subject of the tenant's identity provider" });
const segment = z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/, "letters, digits, '.', '_', ':' and '-', at most 64");
const segments = z.array(segment).max(50);

export const userCreate = z
  .strictObject({
    walletAddress: address.optional().meta({ description: "The user's own wallet; without it the API keeps one" }),
    externalId: externalId.optional(),
    email: email.optional(),
    firstName: name.optional(),
    lastName: name.optional(),
    segments: segments.optional(),
  })
  .meta({ id: "UserCreate" });

/** ADMIN and SYSTEM may change every field; a USER only their own firstName, lastName and email (then unverified). */
export const userUpdate = z
  .strictObject({
    walletAddress: address.optional().meta({ description: "Only for a user who brought their own wallet" }),
    externalId: externalId.nullable().optional(),
    email: email.nullable().optional(),
    firstName: name.nullable().optional(),
    lastName: name.nullable().optional(),
    segments: segments.optional(),
    active: z.boolean().optional(),
  })
  .meta({ id: "UserUpdate" });

export const USER_EDITABLE = ["firstName", "lastName", "email"] as const;

export const user = z
  .object({
    id: z.uuid(),
    walletAddress: z.string(),
    custodial: z.boolean().meta({ description: "The API keeps this wallet's key (never returned)" }),
    emailVerified: z.boolean().meta({
      description: "False while the email is one the user set themself; payments are matched by verified emails only",
    }),
    externalId: z.string().nullable(),
    email: z.string().nullable(),
    firstName: z.string().nullable(),
    lastName: z.string().nullable(),
    segments: z.array(z.string()),
    active: z.boolean(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: "User" });

export const userList = paginated(user, "User");
export const userListQuery = listQuery(["createdAt", "email", "firstName", "lastName"], {
  email: z.string().max(254).optional().meta({ description: "Part of the email, any case" }),
  walletAddress: address.optional(),
  segment: segment.optional(),
  active: z.stringbool().optional(),
});
