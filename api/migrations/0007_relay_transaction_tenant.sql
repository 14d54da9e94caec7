ALTER TABLE "relay_transactions" ADD COLUMN "tenant_id" uuid;--> statement-breakpoint
ALTER TABLE "relay_transactions" ADD CONSTRAINT "relay_transactions_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "relay_transactions_tenant_created" ON "relay_transactions" USING btree ("tenant_id","created_at");--> statement-breakpoint
-- Transactions sent before this migration: the tenant of a job they carried.
UPDATE "relay_transactions" SET "tenant_id" = "carried"."tenant_id"
FROM (SELECT DISTINCT ON ("transaction_id") "transaction_id", "tenant_id" FROM "relay_jobs" WHERE "transaction_id" IS NOT NULL) AS "carried"
WHERE "carried"."transaction_id" = "relay_transactions"."id";
