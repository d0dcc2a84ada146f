-- A client's billing details (issue 10), written by the billing platform: kept under a legal
-- hold (tax law) after the client's data is cleared, until legal_hold_until.
ALTER TABLE clients ADD COLUMN legal_name TEXT;
ALTER TABLE clients ADD COLUMN tax_id TEXT;
ALTER TABLE clients ADD COLUMN billing_address TEXT;
ALTER TABLE clients ADD COLUMN legal_hold_until TIMESTAMP;
