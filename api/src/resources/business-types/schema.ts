import { z } from "zod";
import { listQuery, paginated } from "../../http/pagination.ts";
import { name, text } from "../../http/fields.ts";

export const businessTypeCreate = z
  .strictObject({ name, description: text.optional() })
  .meta({ id: "BusinessTypeCreate" });

export const businessTypeUpdate = z
  .strictObject({ name: name.optional(), description: text.nullable().optional() })
  .meta({ id: "BusinessTypeUpdate" });

export const businessType = z
  .object({
    id: z.uuid(),
    name: z.string(),
    description: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: "BusinessType" });

export const businessTypeList = paginated(businessType, "BusinessType");
export const businessTypeListQuery = listQuery(["createdAt", "name"], { name: z.string().max(120).optional() });
