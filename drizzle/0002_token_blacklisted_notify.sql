-- Every blacklisted refresh or sliding token is announced on the channel fsj_token_blacklisted with
-- its jti, so that every instance drops the token's cached status (plugins/blacklist.ts), whoever
-- blacklisted it: a logout, a rotation, a revoked family, log out everywhere, or plain SQL.
CREATE OR REPLACE FUNCTION "simplejwt".notify_token_blacklisted() RETURNS trigger AS $$
BEGIN
  PERFORM pg_notify('fsj_token_blacklisted', NEW.jti);
  RETURN NULL;
END
$$ LANGUAGE plpgsql;
--> statement-breakpoint
CREATE TRIGGER blacklisted_tokens_notify
  AFTER INSERT ON "simplejwt"."blacklisted_tokens" FOR EACH ROW EXECUTE FUNCTION "simplejwt".notify_token_blacklisted();
--> statement-breakpoint
-- A TRUNCATE (a reset) fires no row triggers and un-blacklists everything: every cached status goes.
-- Expired rows deleted by flushexpiredtokens need no announcement: their tokens are refused as expired.
CREATE OR REPLACE FUNCTION "simplejwt".notify_blacklist_emptied() RETURNS trigger AS $$
BEGIN
  PERFORM pg_notify('fsj_token_blacklisted', '*');
  RETURN NULL;
END
$$ LANGUAGE plpgsql;
--> statement-breakpoint
CREATE TRIGGER blacklisted_tokens_notify_truncated AFTER TRUNCATE ON "simplejwt"."blacklisted_tokens" FOR EACH STATEMENT EXECUTE FUNCTION "simplejwt".notify_blacklist_emptied();
--> statement-breakpoint
CREATE TRIGGER revoked_token_families_notify_truncated AFTER TRUNCATE ON "simplejwt"."revoked_token_families" FOR EACH STATEMENT EXECUTE FUNCTION "simplejwt".notify_blacklist_emptied();
