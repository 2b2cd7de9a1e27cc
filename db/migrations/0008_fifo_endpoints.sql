CREATE TABLE "fifo_heads" (
	"endpoint_id" text PRIMARY KEY NOT NULL,
	"delivery_id" text,
	"version" integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE TABLE "fifo_line" (
	"delivery_id" text PRIMARY KEY NOT NULL,
	"endpoint_id" text NOT NULL,
	"seq" text NOT NULL
);
--> statement-breakpoint
ALTER TABLE "endpoints" ADD COLUMN "ordering" text DEFAULT 'none' NOT NULL;--> statement-breakpoint
ALTER TABLE "fifo_heads" ADD CONSTRAINT "fifo_heads_endpoint_id_endpoints_id_fk" FOREIGN KEY ("endpoint_id") REFERENCES "public"."endpoints"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "fifo_line" ADD CONSTRAINT "fifo_line_delivery_id_deliveries_id_fk" FOREIGN KEY ("delivery_id") REFERENCES "public"."deliveries"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "fifo_line" ADD CONSTRAINT "fifo_line_endpoint_id_endpoints_id_fk" FOREIGN KEY ("endpoint_id") REFERENCES "public"."endpoints"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "fifo_line_endpoint_seq_idx" ON "fifo_line" USING btree ("endpoint_id","seq");--> statement-breakpoint
ALTER TABLE "endpoints" ADD CONSTRAINT "endpoints_ordering_check" CHECK ("endpoints"."ordering" in ('none', 'fifo'));