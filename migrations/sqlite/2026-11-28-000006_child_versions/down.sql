DROP INDEX investors_park_ubn;
DROP INDEX investors_park_uscc;
ALTER TABLE investor_figures DROP COLUMN version;
ALTER TABLE investor_follow_ups DROP COLUMN updated_by;
ALTER TABLE investor_follow_ups DROP COLUMN version;
ALTER TABLE investor_contacts DROP COLUMN version;
