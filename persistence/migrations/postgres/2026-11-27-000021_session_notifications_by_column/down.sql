DROP TRIGGER live_sessions_changed ON sessions;
CREATE TRIGGER live_sessions_changed AFTER UPDATE ON sessions FOR EACH ROW
  WHEN ((to_jsonb(OLD) - 'last_seen_at') IS DISTINCT FROM (to_jsonb(NEW) - 'last_seen_at'))
  EXECUTE FUNCTION notify_live_sessions();
