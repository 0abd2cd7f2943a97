DROP INDEX "contacts_account_first_name_idx";--> statement-breakpoint
DROP INDEX "contacts_account_last_name_idx";--> statement-breakpoint
DROP INDEX "contacts_account_email_idx";--> statement-breakpoint
CREATE INDEX "contacts_search_idx" ON "contacts" USING gin (array_to_tsvector(array_remove(array["account_id" || ' ' || lower("first_name"), "account_id" || ' ' || lower("last_name"), "account_id" || ' ' || lower("email")], null)));