CREATE TABLE client_clearings_old (
    client_id TEXT PRIMARY KEY NOT NULL REFERENCES clients (id),
    employee_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    report TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
INSERT INTO client_clearings_old (client_id, employee_id, reason, report, created_at)
    SELECT client_id, COALESCE(employee_id, '00000000-0000-0000-0000-000000000000'), reason,
        report, created_at
    FROM client_clearings;
DROP TABLE client_clearings;
ALTER TABLE client_clearings_old RENAME TO client_clearings;
