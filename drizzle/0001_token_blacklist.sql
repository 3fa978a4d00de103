CREATE TABLE "blacklisted_tokens" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "blacklisted_tokens_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"jti" varchar(255) NOT NULL,
	"reason" varchar(16) NOT NULL,
	"blacklisted_at" timestamp with time zone NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"ip" varchar(64),
	"user_agent" varchar(512),
	CONSTRAINT "blacklisted_tokens_jti_unique" UNIQUE("jti")
);
--> statement-breakpoint
CREATE TABLE "outstanding_tokens" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "outstanding_tokens_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"jti" varchar(255) NOT NULL,
	"user_id" integer,
	"family" varchar(255) NOT NULL,
	"parent_jti" varchar(255),
	"created_at" timestamp with time zone NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	CONSTRAINT "outstanding_tokens_jti_unique" UNIQUE("jti")
);
--> statement-breakpoint
CREATE TABLE "revoked_token_families" (
	"family" varchar(255) PRIMARY KEY NOT NULL,
	"user_id" integer,
	"revoked_at" timestamp with time zone NOT NULL,
	"expires_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "outstanding_tokens" ADD CONSTRAINT "outstanding_tokens_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "blacklisted_tokens_expires_at_idx" ON "blacklisted_tokens" USING btree ("expires_at");--> statement-breakpoint
CREATE INDEX "outstanding_tokens_user_id_idx" ON "outstanding_tokens" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "outstanding_tokens_family_idx" ON "outstanding_tokens" USING btree ("family");--> statement-breakpoint
CREATE INDEX "outstanding_tokens_expires_at_idx" ON "outstanding_tokens" USING btree ("expires_at");--> statement-breakpoint
CREATE INDEX "revoked_token_families_expires_at_idx" ON "revoked_token_families" USING btree ("expires_at");