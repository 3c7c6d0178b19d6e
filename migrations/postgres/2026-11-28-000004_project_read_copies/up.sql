-- Read copies of a project's investor links and stage history, kept in its
-- row so that a read is one statement. project_investors and
-- project_stage_history stay the record; every write that changes them
-- rewrites these columns in the same transaction.
ALTER TABLE projects ADD COLUMN investor_ids_json TEXT NOT NULL DEFAULT '[]';
ALTER TABLE projects ADD COLUMN stage_history_json TEXT NOT NULL DEFAULT '[]';

UPDATE projects p SET
    investor_ids_json = coalesce((
        SELECT json_agg(pi.investor_id ORDER BY pi.position)::text
        FROM project_investors pi JOIN investors i ON i.id = pi.investor_id AND i.deleted_at IS NULL
        WHERE pi.project_id = p.id), '[]'),
    stage_history_json = coalesce((
        SELECT json_agg(json_build_object(
            'stage', h.stage, 'on', h.on_date, 'by', h.by_user,
            'recorded_at', to_char(h.recorded_at, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')) ORDER BY h.recorded_at, h.id)::text
        FROM project_stage_history h WHERE h.project_id = p.id), '[]');
