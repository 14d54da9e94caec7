import { z } from "zod";
import { listQuery, paginated } from "../../http/pagination.ts";
import { name } from "../../http/fields.ts";

const password = z.string().min(12, "must be at least 12 characters").max(200);

export const adminCreate = z.strictObject({ email: z.email().max(254), name, password }).meta({ id: "AdminCreate" });

export const adminUpdate = z
  .strictObject({ name: name.optional(), password: password.optional(), active: z.boolean().optional() })
  .meta({ id: "AdminUpdate" });

export const admin = z
  .object({
    id: z.uuid(),
    email: z.string(),
    name: z.string(),
    active: z.boolean(),
    lastLoginAt: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: "Admin", description: "A tenant's administrator (never their password hash)" });

export const adminList = paginated(admin, "Admin");
export const adminListQuery = listQuery(["createdAt", "email", "name"], {
  active: z.stringbool().optional(),
  email: z.string().max(254).optional().meta({ description: "Part of the email, any case" }),
});
