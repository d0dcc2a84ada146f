-- Issue 10: where a user's auth event came from (address and user agent) is sealed with a
-- key of that user's own, `users.origin_key`: clearing a client destroys its users' keys
-- instead of rewriting every event (100,000 rows held SQLite's only writer for 60 ms).
-- NULL: no key yet (made with the user's first sealed event); '': destroyed by a clearing,
-- so no origin is recorded for that user again.
ALTER TABLE users ADD COLUMN origin_key TEXT;
UPDATE users SET origin_key = '' WHERE client_id IN (SELECT client_id FROM client_clearings);
-- XChaCha20-Poly1305 of the address and user agent under the subject's key.
ALTER TABLE auth_events ADD COLUMN sealed_origin TEXT;
-- Users' events written before sealing keep their origin in the open: a clearing finds
-- them through this index, which newer events (origin sealed) never enter.
CREATE INDEX auth_events_open_user_origin ON auth_events (subject_id)
    WHERE subject_kind = 'user' AND (ip IS NOT NULL OR user_agent IS NOT NULL);
-- After a clearing commits, its events' sealed origins (unreadable without the key) are
-- set to NULL in small batches; this marks a clearing whose events are done.
ALTER TABLE client_clearings ADD COLUMN origins_swept_at TIMESTAMP;
UPDATE client_clearings SET origins_swept_at = created_at;
-- When a budget's current run of counted attempts began (a budget that counted nothing
-- any more starts a new run): a clearing reads the sealed origins of its users' events
-- only as far back as the oldest run of a budget named by an address.
ALTER TABLE auth_throttle ADD COLUMN streak_started_at TIMESTAMP;
