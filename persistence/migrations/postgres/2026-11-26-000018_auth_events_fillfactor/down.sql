ALTER TABLE auth_events RESET (fillfactor);
ALTER TABLE consent_records RESET (fillfactor);
