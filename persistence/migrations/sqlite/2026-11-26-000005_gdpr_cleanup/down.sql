DROP TABLE client_clearings;
DROP TABLE modules;
