-- The live-session cache (persistence/src/store/live_cache.rs) keeps what authenticating an
-- access token reads until something it depends on changes. Each instance listens on
-- channel `live_sessions`; these triggers notify it with every commit that changed a table
-- the read may depend on. Identical notifications of one transaction are sent once.
--
-- Every table notifies except those in `live_cache::NOT_WATCHED` (written at a high rate,
-- never read to authenticate an access token); a test fails when a table is in neither
-- group, so a new table must be added to one of them. `sessions` gets a trigger of its own:
-- a refresh writes `last_seen_at` at every rotation, which the cache does not depend on.
CREATE FUNCTION notify_live_sessions() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('live_sessions', '');
  RETURN NULL;
END
$$;

DO $$
DECLARE
  watched text;
BEGIN
  FOREACH watched IN ARRAY ARRAY[
    'providers', 'clients', 'users', 'employees', 'employee_roles', 'employee_providers',
    'signing_keys', 'temporary_keys', 'sms_gateways', 'modules', 'client_clearings',
    'processors', 'totp_factors', 'recovery_codes', 'staff_identity_providers',
    'user_identity_links', 'employee_identity_links', 'consent_documents',
    'consent_document_versions', 'consent_records'
  ] LOOP
    EXECUTE format(
      'CREATE TRIGGER live_sessions_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE '
      'ON %I FOR EACH STATEMENT EXECUTE FUNCTION notify_live_sessions()', watched);
  END LOOP;
END
$$;

CREATE TRIGGER live_sessions_changed AFTER UPDATE ON sessions FOR EACH ROW
  WHEN ((to_jsonb(OLD) - 'last_seen_at') IS DISTINCT FROM (to_jsonb(NEW) - 'last_seen_at'))
  EXECUTE FUNCTION notify_live_sessions();
CREATE TRIGGER live_sessions_removed AFTER DELETE OR TRUNCATE ON sessions FOR EACH STATEMENT
  EXECUTE FUNCTION notify_live_sessions();
