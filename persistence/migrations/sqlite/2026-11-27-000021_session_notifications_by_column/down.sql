-- PostgreSQL only (the live-session cache's trigger on sessions); SQLite's cache asks
-- `PRAGMA data_version` instead. The version exists on both backends so that they stay in
-- step.
SELECT 1;
