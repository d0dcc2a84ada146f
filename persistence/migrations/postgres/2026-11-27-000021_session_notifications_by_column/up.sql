-- The sessions' trigger of the live-session cache, once per statement that sets any column
-- but `last_seen_at`, instead of once per row with a comparison of the whole old and new
-- rows as JSON: clearing 1,000 users revoked their sessions in 13.5 ms, of which about
-- 10 ms were that comparison (2,000 rows turned into JSON). A refresh sets only
-- `last_seen_at` and fires nothing. A statement that sets such a column to the value it had
-- notifies too (the cache is emptied once more than needed). A test fails when a column of
-- `sessions` other than `last_seen_at` is missing from the list.
DROP TRIGGER live_sessions_changed ON sessions;
CREATE TRIGGER live_sessions_changed
  AFTER UPDATE OF id, subject_kind, subject_id, provider_id, method, ip, user_agent,
    created_at, expires_at, revoked_at, amr
  ON sessions FOR EACH STATEMENT EXECUTE FUNCTION notify_live_sessions();
