CREATE TABLE "trigger_proof_uses" (
	"trigger_source_id" uuid NOT NULL,
	"proof_hash" text NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	CONSTRAINT "trigger_proof_uses_trigger_source_id_proof_hash_pk" PRIMARY KEY("trigger_source_id","proof_hash")
);
--> statement-breakpoint
ALTER TABLE "trigger_proof_uses" ADD CONSTRAINT "trigger_proof_uses_trigger_source_id_trigger_sources_id_fk" FOREIGN KEY ("trigger_source_id") REFERENCES "public"."trigger_sources"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "trigger_proof_uses_expires" ON "trigger_proof_uses" USING btree ("expires_at");