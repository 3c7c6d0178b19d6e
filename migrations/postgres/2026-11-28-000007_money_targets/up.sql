-- Money that can be trusted and the 2025 targets (DESIGN.md, "Money, the
-- 2025 targets and how they are credited"): funds in place (到位资金) with
-- evidence and a provincial verification; the top-100 reference list
-- (台湾地区前百大企业); the target settings; and the dated facts the targets
-- are computed from (registration, planned dates, third-place recognition,
-- the parks' official 2020 output).

-- Parks become records the province manages.
ALTER TABLE parks ADD COLUMN active BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE parks ADD COLUMN baseline_output_2020_cny BIGINT;
ALTER TABLE parks ADD COLUMN created_by TEXT NOT NULL DEFAULT 'system';
ALTER TABLE parks ADD COLUMN updated_by TEXT NOT NULL DEFAULT 'system';
ALTER TABLE parks ADD COLUMN version INTEGER NOT NULL DEFAULT 1;

ALTER TABLE projects ADD COLUMN contracted_investment_usd BIGINT;
ALTER TABLE projects ADD COLUMN registered_on DATE;
ALTER TABLE projects ADD COLUMN planned_start_on DATE;
ALTER TABLE projects ADD COLUMN planned_operating_on DATE;

CREATE TABLE top100 (
    id                 TEXT PRIMARY KEY NOT NULL,
    rank               INTEGER NOT NULL,
    group_name         TEXT NOT NULL,
    group_name_en      TEXT,
    taiwan_business_id TEXT,
    member_names       TEXT NOT NULL, -- JSON array of company names
    list_source        TEXT NOT NULL,
    list_year          INTEGER NOT NULL,
    created_at         TIMESTAMP NOT NULL,
    updated_at         TIMESTAMP NOT NULL,
    created_by         TEXT NOT NULL,
    updated_by         TEXT NOT NULL,
    version            INTEGER NOT NULL,
    deleted_at         TIMESTAMP
);
CREATE INDEX top100_rank ON top100 (list_year, rank, id) WHERE deleted_at IS NULL;

ALTER TABLE investors ADD COLUMN third_place_recognised_on DATE;
ALTER TABLE investors ADD COLUMN top100_id TEXT REFERENCES top100 (id);

-- 到位资金: money that has arrived, counted only once verified on evidence.
CREATE TABLE funds (
    id           TEXT PRIMARY KEY NOT NULL,
    project_id   TEXT NOT NULL REFERENCES projects (id),
    park_code    TEXT NOT NULL REFERENCES parks (code), -- the project's park
    received_on  DATE NOT NULL,
    amount_usd   BIGINT NOT NULL,
    evidence     TEXT NOT NULL,
    evidence_ref TEXT NOT NULL,
    note         TEXT,
    status       TEXT NOT NULL, -- pending, verified, rejected
    decided_by   TEXT,
    decided_on   DATE,
    reason       TEXT,
    version      INTEGER NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL,
    created_by   TEXT NOT NULL,
    updated_by   TEXT NOT NULL,
    deleted_at   TIMESTAMP
);
CREATE INDEX funds_project ON funds (project_id, received_on, id) WHERE deleted_at IS NULL;
-- The investment target reads verified and pending funds by date.
CREATE INDEX funds_counted ON funds (received_on, project_id, amount_usd)
    WHERE deleted_at IS NULL AND status <> 'rejected';

-- One row: the targets of the policy, the period, optional per-park shares.
CREATE TABLE target_settings (
    id                         INTEGER PRIMARY KEY NOT NULL, -- always 1
    period_from                DATE NOT NULL,
    period_to                  DATE NOT NULL,
    new_taiwan_investment_usd  BIGINT NOT NULL,
    taiwan_funded_enterprises  BIGINT NOT NULL,
    taiwan_top100_present      BIGINT NOT NULL,
    taiwan_funded_output_ratio DOUBLE PRECISION NOT NULL,
    park_shares                TEXT NOT NULL, -- JSON {park: {target key: fraction}}
    version                    INTEGER NOT NULL,
    updated_at                 TIMESTAMP NOT NULL,
    updated_by                 TEXT NOT NULL
);
-- 湘政办发〔2021〕58号: by 2025, USD 3 billion of new Taiwanese investment,
-- 300 Taiwan-funded enterprises, 20 of Taiwan's top-100, output doubled over 2020.
INSERT INTO target_settings VALUES
  (1, '2021-01-01', '2025-12-31', 3000000000, 300, 20, 2.0, '{}', 1, (now() AT TIME ZONE 'UTC'), 'system');

-- The facts the targets read, by date.
CREATE INDEX investors_settled ON investors (settled_on, park_code)
    WHERE deleted_at IS NULL AND status = 'settled';
CREATE INDEX investors_top100 ON investors (top100_id) WHERE deleted_at IS NULL AND top100_id IS NOT NULL;
CREATE INDEX investor_figures_year ON investor_figures (year, investor_id);
CREATE INDEX projects_signed ON projects (signed_on, park_code)
    WHERE deleted_at IS NULL AND contracted_investment_usd IS NOT NULL;

-- An undated actual_investment_usd becomes one verified fund, dated the
-- signing day or, failing that, today, so the read-only sum is unchanged.
INSERT INTO funds (id, project_id, park_code, received_on, amount_usd, evidence, evidence_ref, note,
                   status, decided_by, decided_on, reason, version,
                   created_at, updated_at, created_by, updated_by, deleted_at)
SELECT gen_random_uuid()::text,
       p.id, p.park_code, coalesce(p.signed_on, (now() AT TIME ZONE 'UTC')::date), p.actual_investment_usd, 'other', 'migration',
       'migrated from the project''s former actual_investment_usd (2026-11-28-000007); no evidence was recorded with it',
       'verified', 'migration', (now() AT TIME ZONE 'UTC')::date, 'migrated value', 1,
       (now() AT TIME ZONE 'UTC'), (now() AT TIME ZONE 'UTC'), 'migration', 'migration', p.deleted_at
FROM projects p
WHERE p.actual_investment_usd IS NOT NULL AND p.actual_investment_usd > 0;
