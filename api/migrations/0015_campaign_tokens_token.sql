-- Payouts that requests racing past the API's check added twice for the same token (the registry
-- refuses them all, so the campaign could not be published): the oldest of each stays.
DELETE FROM "campaign_tokens" AS "later"
USING "campaign_tokens" AS "earlier"
WHERE "earlier"."campaign_id" = "later"."campaign_id"
AND lower("earlier"."token_address") = lower("later"."token_address")
AND ("earlier"."created_at", "earlier"."id") < ("later"."created_at", "later"."id");--> statement-breakpoint
CREATE UNIQUE INDEX "campaign_tokens_token" ON "campaign_tokens" USING btree ("campaign_id",lower("token_address"));
