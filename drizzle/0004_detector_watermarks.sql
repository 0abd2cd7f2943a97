CREATE TABLE "detector_watermarks" (
	"detector" text PRIMARY KEY NOT NULL,
	"evaluated_until" timestamp (3) with time zone NOT NULL
);
