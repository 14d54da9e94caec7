import { z } from "zod";
import { listQuery, paginated } from "../../http/pagination.ts";
import { name } from "../../http/fields.ts";

const type = z.enum(["QR_CODE", "API_WEBHOOK"]);

export const triggerSourceCreate = z
  .strictObject({ type, name, triggerId: z.uuid() })
  .meta({ id: "TriggerSourceCreate" });

export const triggerSourceUpdate = z
  .strictObject({
    name: name.optional(),
    triggerId: z.uuid().optional(),
    active: z.boolean().optional().meta({ description: "false deactivates the source: its claims are refused" }),
  })
  .meta({ id: "TriggerSourceUpdate" });

export const triggerSource = z
  .object({
    id: z.uuid(),
    type,
    name: z.string(),
    triggerId: z.uuid(),
    active: z.boolean(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: "TriggerSource" });

export const triggerSourceWithSecret = triggerSource
  .extend({
    secret: z.string().meta({
      description: "Signs QR payloads or verifies the platform's webhooks: shown in this answer only",
    }),
  })
  .meta({ id: "TriggerSourceWithSecret" });

export const triggerSourceList = paginated(triggerSource, "TriggerSource");
export const triggerSourceListQuery = listQuery(["createdAt", "name"], {
  type: type.optional(),
  triggerId: z.uuid().optional(),
  active: z.stringbool().optional(),
});
