ALTER TABLE clients DROP COLUMN legal_hold_until;
ALTER TABLE clients DROP COLUMN billing_address;
ALTER TABLE clients DROP COLUMN tax_id;
ALTER TABLE clients DROP COLUMN legal_name;
