-- The targets' summary (README, "How the province counts"): what each unit of
-- the registry adds to the four targets, as dated events, and their sums by
-- day, month and year, so that `GET /targets` reads a few hundred rows for any
-- date instead of every fund. Every write that changes a fact rewrites its
-- units in the same transaction (src/targets/summary). The service fills the
-- tables at start when `target_summary_state` says they were not built for
-- the period of the settings (so on the first start after this migration).

-- One row per unit (`p:<project>`, `i:<investor>`, `e:<enterprise>`, `g`):
-- its events as JSON, so that a rewrite can take back exactly what it added.
CREATE TABLE target_units (
    unit   TEXT PRIMARY KEY NOT NULL,
    events TEXT NOT NULL
);

-- Which enterprise unit each investor row belongs to (rows sharing a USCC,
-- 統一編號 or folded name are one enterprise).
CREATE TABLE target_members (
    investor_id TEXT PRIMARY KEY NOT NULL,
    cluster     TEXT NOT NULL
);
CREATE INDEX target_members_cluster ON target_members (cluster);

-- The events summed by grain (`y`, `m`, `d`) and the first day of the year,
-- month or the day itself: a figure on a date is the years before it, the
-- months of its year before it and the days of its month up to it.
CREATE TABLE target_totals (
    grain   TEXT NOT NULL,
    on_date DATE NOT NULL,
    metric  TEXT NOT NULL,
    scope   TEXT NOT NULL,
    amount  BIGINT NOT NULL,
    PRIMARY KEY (grain, on_date, metric, scope)
);

-- The period the summary was built for (null: not built yet).
CREATE TABLE target_summary_state (
    id          INTEGER PRIMARY KEY NOT NULL,
    period_from DATE,
    period_to   DATE
);
INSERT INTO target_summary_state (id) VALUES (1);
