CREATE TYPE "public"."claim_status" AS ENUM('PENDING', 'SUBMITTED', 'CONFIRMED', 'FAILED');--> statement-breakpoint
CREATE TYPE "public"."job_status" AS ENUM('PENDING', 'SUBMITTED', 'CONFIRMED', 'FAILED');--> statement-breakpoint
CREATE TYPE "public"."relay_transaction_status" AS ENUM('SUBMITTED', 'MINED', 'CONFIRMED', 'REVERTED', 'DROPPED');--> statement-breakpoint
CREATE TABLE "claims" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"onchain_claim_id" bigserial NOT NULL,
	"campaign_id" uuid NOT NULL,
	"user_id" uuid,
	"recipient" text NOT NULL,
	"source" "access_level" NOT NULL,
	"business_id" uuid,
	"trigger_source_id" uuid,
	"latitude" double precision,
	"longitude" double precision,
	"status" "claim_status" DEFAULT 'PENDING' NOT NULL,
	"job_id" uuid,
	"transaction_hash" text,
	"error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "claims_onchain_claim_id_unique" UNIQUE("onchain_claim_id")
);
--> statement-breakpoint
CREATE TABLE "idempotency_keys" (
	"owner" text NOT NULL,
	"key" text NOT NULL,
	"method" text NOT NULL,
	"path" text NOT NULL,
	"request_hash" text NOT NULL,
	"status" integer,
	"body" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "idempotency_keys_owner_key_pk" PRIMARY KEY("owner","key")
);
--> statement-breakpoint
CREATE TABLE "platform_events" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid,
	"type" text NOT NULL,
	"data" jsonb NOT NULL,
	"dispatched_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "relay_jobs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"chain_id" integer NOT NULL,
	"kind" text NOT NULL,
	"batch_key" text,
	"payload" jsonb NOT NULL,
	"status" "job_status" DEFAULT 'PENDING' NOT NULL,
	"transaction_id" uuid,
	"attempts" integer DEFAULT 0 NOT NULL,
	"error" text,
	"available_at" timestamp with time zone DEFAULT now() NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "relay_transactions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"chain_id" integer NOT NULL,
	"signer" text NOT NULL,
	"nonce" bigint NOT NULL,
	"to" text NOT NULL,
	"data" text NOT NULL,
	"gas_limit" text NOT NULL,
	"max_fee_per_gas" text NOT NULL,
	"max_priority_fee_per_gas" text NOT NULL,
	"hashes" text[] DEFAULT '{}'::text[] NOT NULL,
	"mined_hash" text,
	"block_number" bigint,
	"gas_used" text,
	"status" "relay_transaction_status" DEFAULT 'SUBMITTED' NOT NULL,
	"error" text,
	"last_sent_at" timestamp with time zone DEFAULT now() NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "signer_lanes" (
	"chain_id" integer NOT NULL,
	"signer" text NOT NULL,
	"next_nonce" bigint NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "signer_lanes_chain_id_signer_pk" PRIMARY KEY("chain_id","signer")
);
--> statement-breakpoint
ALTER TABLE "claims" ADD CONSTRAINT "claims_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "claims" ADD CONSTRAINT "claims_campaign_id_campaigns_id_fk" FOREIGN KEY ("campaign_id") REFERENCES "public"."campaigns"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "claims" ADD CONSTRAINT "claims_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "claims" ADD CONSTRAINT "claims_business_id_businesses_id_fk" FOREIGN KEY ("business_id") REFERENCES "public"."businesses"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "claims" ADD CONSTRAINT "claims_trigger_source_id_trigger_sources_id_fk" FOREIGN KEY ("trigger_source_id") REFERENCES "public"."trigger_sources"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "claims" ADD CONSTRAINT "claims_job_id_relay_jobs_id_fk" FOREIGN KEY ("job_id") REFERENCES "public"."relay_jobs"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "platform_events" ADD CONSTRAINT "platform_events_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "relay_jobs" ADD CONSTRAINT "relay_jobs_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "relay_jobs" ADD CONSTRAINT "relay_jobs_transaction_id_relay_transactions_id_fk" FOREIGN KEY ("transaction_id") REFERENCES "public"."relay_transactions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "claims_campaign_user" ON "claims" USING btree ("campaign_id","user_id","created_at");--> statement-breakpoint
CREATE INDEX "claims_tenant_created" ON "claims" USING btree ("tenant_id","created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "idempotency_keys_created" ON "idempotency_keys" USING btree ("created_at","owner","key");--> statement-breakpoint
CREATE INDEX "platform_events_undispatched" ON "platform_events" USING btree ("dispatched_at","created_at");--> statement-breakpoint
CREATE INDEX "relay_jobs_pending" ON "relay_jobs" USING btree ("status","available_at");--> statement-breakpoint
CREATE INDEX "relay_jobs_transaction" ON "relay_jobs" USING btree ("transaction_id");--> statement-breakpoint
CREATE INDEX "relay_transactions_open" ON "relay_transactions" USING btree ("chain_id","status");--> statement-breakpoint
CREATE INDEX "relay_transactions_lane" ON "relay_transactions" USING btree ("chain_id","signer","nonce");