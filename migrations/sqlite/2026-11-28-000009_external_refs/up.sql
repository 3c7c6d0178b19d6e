-- Idempotent imports (DESIGN.md, "Exchange with spreadsheets"): the key a
-- park's own ledger gives a record (its 台账编号), so that importing the same
-- ledger again updates the record instead of adding a second one.
--
-- A side table rather than a column per library: `projects` is at diesel's
-- 32-column limit, and one table serves every importable library alike.
-- A ref is unique per library and park (top-100 entries, which belong to no
-- park, use the park ''); a record has at most one ref.
CREATE TABLE external_refs (
    entity_type  TEXT NOT NULL,
    park_code    TEXT NOT NULL,
    external_ref TEXT NOT NULL,
    record_id    TEXT NOT NULL,
    PRIMARY KEY (entity_type, park_code, external_ref)
);

CREATE UNIQUE INDEX external_refs_record ON external_refs (entity_type, record_id);
