-- Optimistic concurrency: an update names the version it read, succeeds only if the row
-- still has it, and bumps it. Rows that exist now start at 1, like new ones.
ALTER TABLE providers ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE clients ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE users ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE employees ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
