CREATE TABLE "tenant_deployments" (
	"external_id" text PRIMARY KEY NOT NULL,
	"tenant_id" uuid NOT NULL,
	"chain_id" integer NOT NULL,
	"admin_address" text NOT NULL,
	"admin_key_ciphertext" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
