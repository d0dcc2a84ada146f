UPDATE client_clearings SET employee_id = '00000000-0000-0000-0000-000000000000'
    WHERE employee_id IS NULL;
ALTER TABLE client_clearings ALTER COLUMN employee_id SET NOT NULL;
ALTER TABLE client_clearings DROP COLUMN cleared_by;
