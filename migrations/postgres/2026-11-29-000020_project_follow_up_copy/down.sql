ALTER TABLE projects DROP COLUMN last_follow_up_on;
