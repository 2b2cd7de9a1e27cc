CREATE TABLE "endpoint_rate_slots" (
	"endpoint_id" text PRIMARY KEY NOT NULL,
	"next_at" timestamp with time zone NOT NULL,
	"last_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "endpoints" ADD COLUMN "rate_limit" integer;--> statement-breakpoint
ALTER TABLE "endpoint_rate_slots" ADD CONSTRAINT "endpoint_rate_slots_endpoint_id_endpoints_id_fk" FOREIGN KEY ("endpoint_id") REFERENCES "public"."endpoints"("id") ON DELETE cascade ON UPDATE no action;