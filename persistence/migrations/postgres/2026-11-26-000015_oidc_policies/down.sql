ALTER TABLE staff_identity_providers DROP COLUMN idp_mfa_acr_values;
ALTER TABLE staff_identity_providers DROP COLUMN accept_idp_mfa;
