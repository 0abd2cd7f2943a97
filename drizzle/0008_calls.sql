CREATE TABLE "calls" (
	"id" text PRIMARY KEY NOT NULL,
	"account_id" text NOT NULL,
	"agent_id" text NOT NULL,
	"agent_version" integer NOT NULL,
	"contact_id" text,
	"campaign_id" text,
	"to" text NOT NULL,
	"from" text NOT NULL,
	"direction" text DEFAULT 'outbound' NOT NULL,
	"status" text NOT NULL,
	"end_reason" text,
	"answered_by" text,
	"holds_slot" boolean DEFAULT false NOT NULL,
	"on_capacity" text DEFAULT 'reject' NOT NULL,
	"max_duration_seconds" integer NOT NULL,
	"rate" integer NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL,
	"scheduled_at" timestamp (3) with time zone,
	"ringing_at" timestamp (3) with time zone,
	"answered_at" timestamp (3) with time zone,
	"ended_at" timestamp (3) with time zone,
	"duration_seconds" integer,
	"billable_seconds" integer,
	"cost" integer,
	"transcript" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"analysis" jsonb,
	"variables" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"metadata" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"sequence" integer DEFAULT 0 NOT NULL,
	"elapsed_seconds" integer DEFAULT 0 NOT NULL,
	"pending" jsonb,
	"due_at" timestamp (3) with time zone,
	"updated_at" timestamp (3) with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "credit_transactions" DROP CONSTRAINT "credit_transactions_type_check";--> statement-breakpoint
ALTER TABLE "accounts" ADD COLUMN "call_rate" integer;--> statement-breakpoint
ALTER TABLE "accounts" ADD COLUMN "concurrent_call_limit" integer;--> statement-breakpoint
ALTER TABLE "credit_transactions" ADD COLUMN "call_id" text;--> statement-breakpoint
ALTER TABLE "calls" ADD CONSTRAINT "calls_account_id_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."accounts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "calls_account_created_idx" ON "calls" USING btree ("account_id","created_at" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "calls_account_status_created_idx" ON "calls" USING btree ("account_id","status","created_at" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "calls_account_agent_created_idx" ON "calls" USING btree ("account_id","agent_id","created_at" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "calls_account_contact_created_idx" ON "calls" USING btree ("account_id","contact_id","created_at" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "calls_account_campaign_created_idx" ON "calls" USING btree ("account_id","campaign_id","created_at" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "calls_account_to_created_idx" ON "calls" USING btree ("account_id","to","created_at" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "calls_due_idx" ON "calls" USING btree ("due_at") WHERE "calls"."due_at" is not null;--> statement-breakpoint
CREATE INDEX "calls_live_idx" ON "calls" USING btree ("account_id","agent_id") WHERE "calls"."status" in ('scheduled', 'queued', 'ringing', 'in_progress');--> statement-breakpoint
CREATE UNIQUE INDEX "credit_transactions_call_unique" ON "credit_transactions" USING btree ("call_id") WHERE "credit_transactions"."call_id" is not null;--> statement-breakpoint
ALTER TABLE "accounts" ADD CONSTRAINT "accounts_call_settings_positive" CHECK (coalesce("accounts"."call_rate", 1) > 0 and coalesce("accounts"."concurrent_call_limit", 1) > 0);--> statement-breakpoint
ALTER TABLE "credit_transactions" ADD CONSTRAINT "credit_transactions_type_check" CHECK ("credit_transactions"."type" in ('grant', 'purchase', 'usage', 'refund', 'adjustment', 'call_charge'));