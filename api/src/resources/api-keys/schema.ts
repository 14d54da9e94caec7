import { z } from "zod";
import { listQuery, paginated } from "../../http/pagination.ts";
import { name } from "../../http/fields.ts";

export const apiKeyCreate = z
  .strictObject({ name, level: z.enum(["ADMIN", "SYSTEM"]).default("SYSTEM") })
  .meta({ id: "ApiKeyCreate" });

export const apiKey = z
  .object({
    id: z.uuid(),
    name: z.string(),
    level: z.enum(["ADMIN", "SYSTEM"]),
    prefix: z.string().meta({ description: "The key's first characters, to recognise it" }),
    lastUsedAt: z.string().nullable(),
    revokedAt: z.string().nullable(),
    createdAt: z.string(),
  })
  .meta({ id: "ApiKey" });

export const apiKeyCreated = apiKey
  .extend({ key: z.string().meta({ description: "The key itself: shown this once, stored only as a hash" }) })
  .meta({ id: "ApiKeyCreated" });

export const apiKeyList = paginated(apiKey, "ApiKey");
export const apiKeyListQuery = listQuery(["createdAt", "name", "lastUsedAt"], {
  revoked: z.stringbool().optional(),
});
