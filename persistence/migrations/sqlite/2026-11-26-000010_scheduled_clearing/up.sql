-- The scheduled cleaning of inactive clients (issue 10) clears clients too: a clearing is
-- made by an employee or by the schedule. SQLite cannot drop a NOT NULL: the table is rebuilt.
CREATE TABLE client_clearings_new (
    client_id TEXT PRIMARY KEY NOT NULL REFERENCES clients (id),
    cleared_by TEXT NOT NULL DEFAULT 'employee',
    employee_id TEXT,
    reason TEXT NOT NULL,
    report TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
INSERT INTO client_clearings_new (client_id, cleared_by, employee_id, reason, report, created_at)
    SELECT client_id, 'employee', employee_id, reason, report, created_at FROM client_clearings;
DROP TABLE client_clearings;
ALTER TABLE client_clearings_new RENAME TO client_clearings;
