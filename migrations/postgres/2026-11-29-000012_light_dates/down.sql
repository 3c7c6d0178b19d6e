DROP TABLE light_counts;
DROP INDEX projects_watched_red;
DROP INDEX projects_watched;
ALTER TABLE monitoring_rules DROP COLUMN dates_version;
ALTER TABLE projects DROP COLUMN watched_stage;
ALTER TABLE projects DROP COLUMN red_on;
ALTER TABLE projects DROP COLUMN amber_on;
