-- A read copy, on each live project, of the latest follow-up day of its live
-- investors: the monitoring rules count it as the project's progress, so
-- every read of a project needs it for the light. Kept by the writes that
-- keep the light days (`projects::lights`); reading it with the row saves
-- every read a statement of its own over the investors.
ALTER TABLE projects ADD COLUMN last_follow_up_on DATE;

UPDATE projects SET last_follow_up_on = (
    SELECT MAX(i.last_follow_up_on)
    FROM project_investors pi JOIN investors i ON i.id = pi.investor_id
    WHERE pi.project_id = projects.id AND i.deleted_at IS NULL
)
WHERE deleted_at IS NULL;
