-- The days on which each watched project's light turns amber and red under
-- the current rules (NULL: never), and the stage it is watched at (NULL: not
-- watched: dropped, operating or deleted), written with every fact the light
-- reads, so that GET /monitoring compares days with today instead of judging
-- every project. `dates_version` is the rules' version they were computed
-- for: NULL until the service first computes them (at start, after this migration).
ALTER TABLE projects ADD COLUMN amber_on DATE;
ALTER TABLE projects ADD COLUMN red_on DATE;
ALTER TABLE projects ADD COLUMN watched_stage TEXT;
ALTER TABLE monitoring_rules ADD COLUMN dates_version INTEGER;

-- Pages of one light in list order.
CREATE INDEX projects_watched ON projects (park_code, id) WHERE watched_stage IS NOT NULL;
CREATE INDEX projects_watched_red ON projects (red_on, park_code, id) WHERE watched_stage IS NOT NULL;

-- The counts of GET /monitoring as of a day, by park and stage: filled from
-- the projects the first time a day is asked, then kept by every write that
-- changes a project's light days or stage in its transaction. `amber` counts
-- the projects amber or red on that day.
CREATE TABLE light_counts (
    as_of     DATE NOT NULL,
    park_code TEXT NOT NULL,
    stage     TEXT NOT NULL,
    watched   BIGINT NOT NULL,
    amber     BIGINT NOT NULL,
    red       BIGINT NOT NULL,
    PRIMARY KEY (as_of, park_code, stage)
);
