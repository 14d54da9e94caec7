CREATE TYPE "public"."relayed_request_status" AS ENUM('AWAITING_SIGNATURE', 'PENDING', 'PROCESSING', 'COMPLETED', 'FAILED');--> statement-breakpoint
CREATE TYPE "public"."transaction_request_type" AS ENUM('MINT', 'TRANSFER', 'BURN');--> statement-breakpoint
CREATE TABLE "forward_nonces" (
	"chain_id" integer NOT NULL,
	"forwarder" text NOT NULL,
	"signer" text NOT NULL,
	"nonce" bigint NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "forward_nonces_chain_id_forwarder_signer_nonce_pk" PRIMARY KEY("chain_id","forwarder","signer","nonce")
);
--> statement-breakpoint
CREATE TABLE "redemptions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"holder" text NOT NULL,
	"offer_id" text NOT NULL,
	"quantity" integer NOT NULL,
	"business_id" uuid,
	"business" text NOT NULL,
	"status" "relayed_request_status" NOT NULL,
	"chain_id" integer NOT NULL,
	"forwarder" text,
	"nonce" bigint,
	"gas" text,
	"deadline" bigint,
	"data" text,
	"signature" text,
	"job_id" uuid,
	"transaction_hash" text,
	"onchain_redemption_id" text,
	"error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "transaction_requests" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"type" "transaction_request_type" NOT NULL,
	"requested_by" text NOT NULL,
	"user_id" uuid,
	"token" text NOT NULL,
	"token_id" text NOT NULL,
	"from_address" text,
	"to_address" text,
	"amount" text NOT NULL,
	"reference" text,
	"status" "relayed_request_status" NOT NULL,
	"chain_id" integer NOT NULL,
	"forwarder" text,
	"nonce" bigint,
	"gas" text,
	"deadline" bigint,
	"data" text,
	"signature" text,
	"job_id" uuid,
	"transaction_hash" text,
	"error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "redemptions" ADD CONSTRAINT "redemptions_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "redemptions" ADD CONSTRAINT "redemptions_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "redemptions" ADD CONSTRAINT "redemptions_business_id_businesses_id_fk" FOREIGN KEY ("business_id") REFERENCES "public"."businesses"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "redemptions" ADD CONSTRAINT "redemptions_job_id_relay_jobs_id_fk" FOREIGN KEY ("job_id") REFERENCES "public"."relay_jobs"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "transaction_requests" ADD CONSTRAINT "transaction_requests_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "transaction_requests" ADD CONSTRAINT "transaction_requests_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "transaction_requests" ADD CONSTRAINT "transaction_requests_job_id_relay_jobs_id_fk" FOREIGN KEY ("job_id") REFERENCES "public"."relay_jobs"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "redemptions_tenant_created" ON "redemptions" USING btree ("tenant_id","created_at");--> statement-breakpoint
CREATE INDEX "redemptions_user_created" ON "redemptions" USING btree ("user_id","created_at");--> statement-breakpoint
CREATE INDEX "transaction_requests_tenant_created" ON "transaction_requests" USING btree ("tenant_id","created_at");--> statement-breakpoint
CREATE INDEX "transaction_requests_from" ON "transaction_requests" USING btree ("tenant_id","from_address");--> statement-breakpoint
CREATE INDEX "transaction_requests_to" ON "transaction_requests" USING btree ("tenant_id","to_address");