ALTER TABLE projects DROP COLUMN stage_history_json;
ALTER TABLE projects DROP COLUMN investor_ids_json;
