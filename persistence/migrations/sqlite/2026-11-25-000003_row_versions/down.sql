ALTER TABLE employees DROP COLUMN version;
ALTER TABLE users DROP COLUMN version;
ALTER TABLE clients DROP COLUMN version;
ALTER TABLE providers DROP COLUMN version;
