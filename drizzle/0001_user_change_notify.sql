-- Every change to a user that authentication depends on is announced on the channel
-- fsj_user_changed with the user's id, so that every instance drops its cached copy
-- (whoever made the change: this service, the CLI, an import, or plain SQL).
CREATE OR REPLACE FUNCTION "simplejwt".notify_user_changed() RETURNS trigger AS $$
BEGIN
  PERFORM pg_notify('fsj_user_changed', COALESCE(NEW.id, OLD.id)::text);
  RETURN NULL;
END
$$ LANGUAGE plpgsql;
--> statement-breakpoint
CREATE TRIGGER users_notify_changed
  AFTER INSERT OR DELETE OR UPDATE OF username, first_name, last_name, email, is_active, is_staff, is_superuser, tokens_valid_after
  ON "simplejwt"."users" FOR EACH ROW EXECUTE FUNCTION "simplejwt".notify_user_changed();
--> statement-breakpoint
-- A TRUNCATE fires no row triggers: it announces "*", every user.
CREATE OR REPLACE FUNCTION "simplejwt".notify_users_truncated() RETURNS trigger AS $$
BEGIN
  PERFORM pg_notify('fsj_user_changed', '*');
  RETURN NULL;
END
$$ LANGUAGE plpgsql;
--> statement-breakpoint
CREATE TRIGGER users_notify_truncated AFTER TRUNCATE ON "simplejwt"."users" FOR EACH STATEMENT EXECUTE FUNCTION "simplejwt".notify_users_truncated();
