ALTER TABLE "campaign_engagements" ADD COLUMN "live_claims" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "campaigns" ADD COLUMN "live_claims" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
-- Campaigns and engagements that already have claims start from their count.
UPDATE "campaigns" SET "live_claims" = (SELECT count(*) FROM "claims" WHERE "claims"."campaign_id" = "campaigns"."id" AND "claims"."status" <> 'FAILED');--> statement-breakpoint
UPDATE "campaign_engagements" SET "live_claims" = (SELECT count(*) FROM "claims" WHERE "claims"."campaign_id" = "campaign_engagements"."campaign_id" AND "claims"."business_id" = "campaign_engagements"."business_id" AND "claims"."status" <> 'FAILED');
