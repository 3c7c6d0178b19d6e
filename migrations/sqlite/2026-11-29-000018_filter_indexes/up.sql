-- List filters on their own index (issue 16, item 2). A value that few rows hold (or none: a
-- park without associations, `chain_role` left unset, nobody overdue) made the newest-first
-- page walk the whole order index, or read the whole table, to find its rows: up to seconds at
-- 1M projects. Each index below holds one filter's rows in the list's order (`created_at, id`),
-- or, for ranges, the rows the range can match.
CREATE INDEX projects_stage_created ON projects (stage, created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX projects_industry_created ON projects (industry, created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX projects_attraction_created ON projects (attraction_mode, created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX projects_chain_role_created ON projects (chain_role, created_at, id)
    WHERE deleted_at IS NULL AND chain_role IS NOT NULL;

CREATE INDEX investors_kind_created ON investors (kind, created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX investors_origin_created ON investors (origin, created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX investors_status_created ON investors (status, created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX investors_region_created ON investors (region, created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX investors_settled_on ON investors (settled_on) WHERE deleted_at IS NULL AND settled_on IS NOT NULL;
CREATE INDEX investors_follow_up_due ON investors (follow_up_due_on)
    WHERE deleted_at IS NULL AND follow_up_due_on IS NOT NULL;

CREATE INDEX talents_status_created ON talents (status, created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX talents_specialty_created ON talents (specialty, created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX talents_education_created ON talents (education, created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX talents_origin_created ON talents (origin_region, created_at, id) WHERE deleted_at IS NULL;
