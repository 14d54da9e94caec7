CREATE TABLE "session_generations" (
	"tenant_id" uuid NOT NULL,
	"subject" text NOT NULL,
	"generation" integer NOT NULL,
	"raised_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "session_generations_tenant_id_subject_pk" PRIMARY KEY("tenant_id","subject")
);
--> statement-breakpoint
ALTER TABLE "session_generations" ADD CONSTRAINT "session_generations_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "session_generations_raised" ON "session_generations" USING btree ("raised_at");