ALTER TABLE auth_throttle DROP COLUMN streak_started_at;
ALTER TABLE client_clearings DROP COLUMN origins_swept_at;
DROP INDEX auth_events_open_user_origin;
ALTER TABLE auth_events DROP COLUMN sealed_origin;
ALTER TABLE users DROP COLUMN origin_key;
