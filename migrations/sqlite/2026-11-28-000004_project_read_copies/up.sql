-- Read copies of a project's investor links and stage history, kept in its
-- row so that a read is one statement. project_investors and
-- project_stage_history stay the record; every write that changes them
-- rewrites these columns in the same transaction.
ALTER TABLE projects ADD COLUMN investor_ids_json TEXT NOT NULL DEFAULT '[]';
ALTER TABLE projects ADD COLUMN stage_history_json TEXT NOT NULL DEFAULT '[]';

UPDATE projects SET
    investor_ids_json = coalesce((
        SELECT json_group_array(pi.investor_id ORDER BY pi.position)
        FROM project_investors pi JOIN investors i ON i.id = pi.investor_id AND i.deleted_at IS NULL
        WHERE pi.project_id = projects.id), '[]'),
    stage_history_json = coalesce((
        SELECT json_group_array(json_object(
            'stage', h.stage, 'on', h.on_date, 'by', h.by_user,
            'recorded_at', replace(h.recorded_at, ' ', 'T') || 'Z') ORDER BY h.recorded_at, h.id)
        FROM project_stage_history h WHERE h.project_id = projects.id), '[]');
