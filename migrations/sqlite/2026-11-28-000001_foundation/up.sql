-- Parks, the major-project library (重大项目库), its links and stage history,
-- and the audit trail shared by every library.
-- Timestamps are UTC without zone; ids are UUIDv7 strings; enums are text.

CREATE TABLE parks (
    code             TEXT PRIMARY KEY NOT NULL,
    name             TEXT NOT NULL,
    name_en          TEXT NOT NULL,
    focus_industries TEXT NOT NULL, -- JSON array of industry values
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL
);

INSERT INTO parks (code, name, name_en, focus_industries, created_at, updated_at) VALUES
  ('yueyang', '岳阳产业园（湖南城陵矶新港区）', 'Yueyang Industrial Park (Chenglingji New Port Area, Hunan)',
   '["electronic_information","new_energy","new_materials","modern_agriculture"]',
   '2021-12-01 00:00:00', '2021-12-01 00:00:00'),
  ('xiangtan', '湘潭产业园（湘潭经济技术开发区）', 'Xiangtan Industrial Park (Xiangtan Economic and Technological Development Zone)',
   '["intelligent_manufacturing","medical_devices"]',
   '2021-12-01 00:00:00', '2021-12-01 00:00:00'),
  ('chenzhou', '郴州产业园（郴州高新技术产业开发区）', 'Chenzhou Industrial Park (Chenzhou High-tech Industrial Development Zone)',
   '["nonferrous_metals","electronic_information","equipment_manufacturing","modern_services"]',
   '2021-12-01 00:00:00', '2021-12-01 00:00:00');

CREATE TABLE projects (
    id                     TEXT PRIMARY KEY NOT NULL,
    park_code              TEXT NOT NULL REFERENCES parks (code),
    name                   TEXT NOT NULL,
    summary                TEXT,
    industry               TEXT NOT NULL,
    chain_role             TEXT,
    attraction_mode        TEXT NOT NULL,
    stage                  TEXT NOT NULL,
    planned_investment_usd BIGINT NOT NULL,
    actual_investment_usd  BIGINT,
    hq_type                TEXT,
    high_tech              BOOLEAN NOT NULL,
    land_area_mu           REAL,
    first_contact_on       DATE,
    signed_on              DATE,
    started_on             DATE,
    operating_on           DATE,
    owner_id               TEXT,
    tags                   TEXT NOT NULL, -- JSON array of strings
    notes                  TEXT,
    -- name, summary and tags folded to Simplified script, half-width, lower case
    search_text            TEXT NOT NULL,
    created_at             TIMESTAMP NOT NULL,
    updated_at             TIMESTAMP NOT NULL,
    created_by             TEXT NOT NULL,
    updated_by             TEXT NOT NULL,
    version                INTEGER NOT NULL,
    deleted_at             TIMESTAMP
);

CREATE INDEX projects_park_created ON projects (park_code, created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX projects_park_updated ON projects (park_code, updated_at, id) WHERE deleted_at IS NULL;
CREATE INDEX projects_created ON projects (created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX projects_updated ON projects (updated_at, id) WHERE deleted_at IS NULL;

CREATE TABLE project_investors (
    project_id  TEXT NOT NULL REFERENCES projects (id),
    investor_id TEXT NOT NULL,
    position    INTEGER NOT NULL,
    PRIMARY KEY (project_id, investor_id)
);
CREATE INDEX project_investors_investor ON project_investors (investor_id);

CREATE TABLE project_stage_history (
    id          TEXT PRIMARY KEY NOT NULL,
    project_id  TEXT NOT NULL REFERENCES projects (id),
    stage       TEXT NOT NULL,
    on_date     DATE NOT NULL,
    by_user     TEXT NOT NULL,
    recorded_at TIMESTAMP NOT NULL
);
CREATE INDEX project_stage_history_project ON project_stage_history (project_id, recorded_at);

CREATE TABLE audit_events (
    id          TEXT PRIMARY KEY NOT NULL,
    at          TIMESTAMP NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    park_code   TEXT,
    changes     TEXT NOT NULL -- JSON array of {field, old, new}
);
CREATE INDEX audit_events_entity ON audit_events (entity_type, entity_id, at, id);
