-- The scheduled cleaning of inactive clients (issue 10) clears clients too: a clearing is
-- made by an employee or by the schedule.
ALTER TABLE client_clearings ADD COLUMN cleared_by TEXT NOT NULL DEFAULT 'employee';
ALTER TABLE client_clearings ALTER COLUMN employee_id DROP NOT NULL;
