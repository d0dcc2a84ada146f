-- PostgreSQL only (page fill factor for HOT updates); SQLite has no such setting. The
-- version exists on both backends so that they stay in step.
SELECT 1;
