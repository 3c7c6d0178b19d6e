-- A read copy, on each live project, of the latest follow-up day of its live
-- investors: the monitoring rules count it as the project's progress, so
-- every read of a project needs it for the light. Kept by the writes that
-- keep the light days (`projects::lights`); reading it with the row saves
-- every read a statement of its own over the investors.
ALTER TABLE projects ADD COLUMN last_follow_up_on DATE;

-- The service fills it at its next start with the light days' own code
-- (`lights::ensure_built` recomputes what differs when the rules' version
-- the days were built for is unknown), so `monitoring check` covers it.
UPDATE monitoring_rules SET dates_version = NULL;
