DO $$
DECLARE
  watched record;
BEGIN
  FOR watched IN
    SELECT DISTINCT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
    WHERE t.tgname IN ('live_sessions_changed', 'live_sessions_removed')
      AND c.relnamespace = current_schema()::regnamespace
  LOOP
    EXECUTE format('DROP TRIGGER IF EXISTS live_sessions_changed ON %I', watched.relname);
    EXECUTE format('DROP TRIGGER IF EXISTS live_sessions_removed ON %I', watched.relname);
  END LOOP;
END
$$;
DROP FUNCTION notify_live_sessions();
