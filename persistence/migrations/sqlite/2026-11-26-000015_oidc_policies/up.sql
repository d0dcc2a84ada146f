-- Whether a staff identity provider's `amr`/`acr` counts as a second factor (issue 8).
ALTER TABLE staff_identity_providers ADD COLUMN accept_idp_mfa BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE staff_identity_providers ADD COLUMN idp_mfa_acr_values TEXT NOT NULL DEFAULT '[]';
