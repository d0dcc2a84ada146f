DROP TABLE employee_identity_links;
DROP TABLE user_identity_links;
DROP TABLE oidc_transactions;
DROP TABLE staff_identity_providers;
