DROP TABLE consent_tickets;
DROP TABLE consent_records;
DROP TABLE consent_document_versions;
DROP TABLE consent_documents;
