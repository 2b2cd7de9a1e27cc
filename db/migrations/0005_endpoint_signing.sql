ALTER TABLE "endpoints" ADD COLUMN "signing" text DEFAULT 'hmac' NOT NULL;--> statement-breakpoint
ALTER TABLE "endpoints" ADD COLUMN "public_key" text;