DROP TABLE phone_codes;
DROP INDEX users_verified_phone_key;
ALTER TABLE users DROP COLUMN phone_verified_at;
