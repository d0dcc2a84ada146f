-- PostgreSQL only (notifications for the live-session cache); SQLite's cache asks
-- `PRAGMA data_version` instead. The version exists on both backends so that they stay in
-- step.
SELECT 1;
