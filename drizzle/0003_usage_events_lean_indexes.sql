-- usage_events: two indexes to maintain per logged request instead of three. The key's log is
-- read through the primary key itself; time-range scans use BRIN (rows arrive in time order).
DROP INDEX "usage_events_key_created_idx";--> statement-breakpoint
DROP INDEX "usage_events_created_idx";--> statement-breakpoint
ALTER TABLE "usage_events" DROP CONSTRAINT "usage_events_pkey";--> statement-breakpoint
ALTER TABLE "usage_events" ADD CONSTRAINT "usage_events_pk" PRIMARY KEY("key_id","created_at","id");--> statement-breakpoint
CREATE INDEX "usage_events_created_brin" ON "usage_events" USING brin ("created_at");
