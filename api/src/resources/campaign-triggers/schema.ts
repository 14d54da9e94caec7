import { z } from "zod";
import { listQuery, paginated } from "../../http/pagination.ts";
import { name } from "../../http/fields.ts";
import { ruleConditions } from "./conditions.ts";

const count = z.number().int().min(1).max(2_147_483_647);
/** Half the Earth's circumference: any farther is everywhere. */
const distance = z.number().int().min(1).max(20_037_508);
const latitude = z.number().min(-90).max(90);
const longitude = z.number().min(-180).max(180);

const limits = {
  maxPerUser: count.nullable().optional().meta({ description: "Claims one user may make through this trigger" }),
  maxPerDay: count
    .nullable()
    .optional()
    .meta({ description: "Claims one user may make through this trigger per UTC day" }),
  cooldownSeconds: count.nullable().optional().meta({ description: "Seconds a user waits between two claims" }),
  maxGeoDistanceMeters: distance
    .nullable()
    .optional()
    .meta({ description: "Farthest a claim may be from latitude/longitude (both then required)" }),
  latitude: latitude.nullable().optional(),
  longitude: longitude.nullable().optional(),
  conditions: ruleConditions.nullable().optional(),
};

export type GeoFields = { maxGeoDistanceMeters?: number | null; latitude?: number | null; longitude?: number | null };

/** A distance needs a point; a point needs both coordinates. */
export function geoIssues(geo: GeoFields): { path: string; message: string }[] {
  const issues: { path: string; message: string }[] = [];
  const hasLatitude = geo.latitude !== null && geo.latitude !== undefined;
  const hasLongitude = geo.longitude !== null && geo.longitude !== undefined;
  const hasDistance = geo.maxGeoDistanceMeters !== null && geo.maxGeoDistanceMeters !== undefined;
  if (!hasLatitude && (hasLongitude || hasDistance)) {
    issues.push({ path: "body.latitude", message: "required with longitude or maxGeoDistanceMeters" });
  }
  if (!hasLongitude && (hasLatitude || hasDistance)) {
    issues.push({ path: "body.longitude", message: "required with latitude or maxGeoDistanceMeters" });
  }
  return issues;
}

export const campaignTriggerCreate = z.strictObject({ name, ...limits }).meta({ id: "CampaignTriggerCreate" });

export const campaignTriggerUpdate = z
  .strictObject({ name: name.optional(), ...limits })
  .meta({ id: "CampaignTriggerUpdate" });

export const campaignTrigger = z
  .object({
    id: z.uuid(),
    name: z.string(),
    maxPerUser: z.number().int().nullable(),
    maxPerDay: z.number().int().nullable(),
    cooldownSeconds: z.number().int().nullable(),
    maxGeoDistanceMeters: z.number().int().nullable(),
    latitude: z.number().nullable(),
    longitude: z.number().nullable(),
    conditions: z.record(z.string(), z.unknown()).nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: "CampaignTrigger" });

export const campaignTriggerList = paginated(campaignTrigger, "CampaignTrigger");
export const campaignTriggerListQuery = listQuery(["createdAt", "name"], { name: z.string().max(120).optional() });
