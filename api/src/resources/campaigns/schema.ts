import { z } from "zod";
import { listQuery, paginated } from "../../http/pagination.ts";
import { httpsUrl, text, timestamp } from "../../http/fields.ts";

export const CAMPAIGN_STATUSES = ["DRAFT", "ACTIVE", "PAUSED", "CLOSED"] as const;
export type CampaignStatus = (typeof CAMPAIGN_STATUSES)[number];
const status = z.enum(CAMPAIGN_STATUSES);
const visibility = z.enum(["PUBLIC", "TARGETED"]);

/** Counts stored in an int column (and published on chain in a uint32/uint64). */
export const count = z.number().int().min(1).max(2_147_483_647);
export const MAX_TAGS = 20;
export const tag = z
  .string()
  .trim()
  .toLowerCase()
  .max(40)
  .regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, "must be a slug: letters, digits and single hyphens")
  .meta({ example: "coffee" });
const segment = z.string().trim().min(1).max(64);

const fields = {
  title: z.string().trim().min(1).max(200),
  description: text.nullable().optional(),
  imageUrl: httpsUrl.nullable().optional(),
  targetUserIds: z.array(z.uuid()).max(1000).optional().meta({ description: "Users a TARGETED campaign is for" }),
  targetSegments: z
    .array(segment)
    .max(100)
    .optional()
    .meta({ description: "User segments a TARGETED campaign is for (users.segments)" }),
  targetBusinessIds: z
    .array(z.uuid())
    .max(1000)
    .optional()
    .meta({ description: "Businesses a TARGETED campaign is for" }),
  startsAt: timestamp.nullable().optional(),
  endsAt: timestamp.nullable().optional().meta({ description: "After startsAt" }),
  budget: count.nullable().optional().meta({ description: "Claims the campaign pays in all" }),
  maxClaimsPerUser: count.nullable().optional(),
  triggerId: z.uuid().nullable().optional().meta({ description: "One of the tenant's campaign triggers" }),
};

export const campaignCreate = z
  .strictObject({
    ...fields,
    visibility: visibility.default("PUBLIC"),
    status: z.enum(["DRAFT", "ACTIVE"]).default("DRAFT"),
  })
  .meta({ id: "CampaignCreate" });

export const campaignUpdate = z
  .strictObject({
    ...fields,
    title: fields.title.optional(),
    visibility: visibility.optional(),
    status: status.optional().meta({
      description: "DRAFT → ACTIVE; ACTIVE ⇄ PAUSED; any but CLOSED → CLOSED. A CLOSED campaign is final.",
    }),
  })
  .meta({ id: "CampaignUpdate" });

export const campaign = z
  .object({
    id: z.uuid(),
    title: z.string(),
    description: z.string().nullable(),
    imageUrl: z.string().nullable(),
    visibility,
    targetUserIds: z.array(z.uuid()).optional().meta({ description: "Shown to ADMIN and SYSTEM only" }),
    targetSegments: z.array(z.string()).optional().meta({ description: "Shown to ADMIN and SYSTEM only" }),
    targetBusinessIds: z.array(z.uuid()).optional().meta({ description: "Shown to ADMIN and SYSTEM only" }),
    startsAt: z.string().nullable(),
    endsAt: z.string().nullable(),
    budget: z.number().int().nullable(),
    maxClaimsPerUser: z.number().int().nullable(),
    status,
    triggerId: z.uuid().nullable(),
    onchainCampaignId: z.string().nullable().meta({ description: "The CampaignRegistry's id once published" }),
    tags: z.array(z.string()),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: "Campaign" });

export const campaignList = paginated(campaign, "Campaign");
export const campaignListQuery = listQuery(["createdAt", "startsAt", "endsAt", "title"], {
  status: status.optional(),
  visibility: visibility.optional(),
  tag: tag.optional(),
  activeNow: z
    .stringbool()
    .optional()
    .meta({ description: "true: within its window now (startsAt ≤ now < endsAt); false: outside it" }),
  title: z.string().max(200).optional().meta({ description: "The title contains this text" }),
});
