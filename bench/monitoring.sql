-- The monitoring scenario's data (bench/monitoring.sh): 1M projects in every
-- stage with the dates the lights read, and 200k investors with follow-ups,
-- in the three parks. Deterministic: each value is a hash of the row number.
-- Only what the lights and the lists read is written (no funds rows: the sum
-- of verified funds is the project's `actual_investment_usd`; no stage
-- history rows: the project's read copy of it is written).
--   psql -v projects=1000000 -v investors=200000 -f bench/monitoring.sql DB
\set ON_ERROR_STOP on

-- h(n, salt): a stable pseudo-random integer in [0, 2^31).
CREATE OR REPLACE FUNCTION pg_temp.h(n bigint, salt int) RETURNS bigint LANGUAGE sql IMMUTABLE AS
$$ SELECT ('x' || substr(md5(n::text || ':' || salt::text), 1, 8))::bit(32)::bigint & 2147483647 $$;

-- Investors; half followed up in the last two years.
INSERT INTO investors (id, park_code, kind, name, origin, region, taiwan_top100, industries, status,
                       search_text, name_key, created_at, updated_at, created_by, updated_by, version, last_follow_up_on)
SELECT format('00000000-0000-7000-9000-%s', lpad(n::text, 12, '0')),
       (ARRAY['yueyang', 'xiangtan', 'chenzhou'])[1 + n % 3],
       'company', '台资企业' || n, 'taiwan', '台湾', FALSE, '[]', 'negotiating',
       '台资企业' || n, 'bench' || n, now(), now(), 'bench', 'bench', 1,
       CASE WHEN pg_temp.h(n, 1) % 2 = 0 THEN DATE '2026-11-28' - (pg_temp.h(n, 2) % 730)::int END
FROM generate_series(1, :investors) n;

-- Projects: 25 % lead, 20 % negotiating, 15 % signed, 10 % registered, 10 %
-- under construction, 15 % operating, 5 % dropped; two in five created this
-- year, the rest since 2018; milestones a few months apart, never after
-- 2026-11-28; a planned start on a third, a contract on every signed one
-- with funds in place below a quarter on three in ten.
CREATE TEMP TABLE bench_p AS
SELECT p,
       format('00000000-0000-7000-8000-%s', lpad(p::text, 12, '0')) AS id,
       (ARRAY['yueyang', 'xiangtan', 'chenzhou'])[1 + p % 3] AS park,
       CASE WHEN s < 5 THEN 'lead' WHEN s < 9 THEN 'negotiating' WHEN s < 12 THEN 'signed' WHEN s < 14 THEN 'registered'
            WHEN s < 16 THEN 'under_construction' WHEN s < 19 THEN 'operating' ELSE 'dropped' END AS stage,
       s, created
FROM generate_series(1, :projects) p
CROSS JOIN LATERAL (SELECT pg_temp.h(p, 3) % 20 AS s,
                           CASE WHEN pg_temp.h(p, 4) % 5 < 2 THEN DATE '2026-01-01' + (pg_temp.h(p, 5) % 330)::int
                                ELSE DATE '2018-01-01' + (pg_temp.h(p, 5) % 2920)::int END AS created) c;

CREATE TEMP TABLE bench_m AS
SELECT b.*,
       CASE WHEN s >= 9 AND s < 19 THEN signed END AS signed_on,
       CASE WHEN s >= 12 AND s < 19 THEN registered END AS registered_on,
       CASE WHEN s >= 14 AND s < 19 THEN started END AS started_on,
       CASE WHEN s >= 16 AND s < 19 THEN LEAST(started + (pg_temp.h(p, 9) % 700)::int, DATE '2026-11-28') END AS operating_on
FROM bench_p b
CROSS JOIN LATERAL (SELECT LEAST(created + (pg_temp.h(p, 6) % 200)::int, DATE '2026-11-28') AS signed) x
CROSS JOIN LATERAL (SELECT LEAST(signed + (pg_temp.h(p, 7) % 120)::int, DATE '2026-11-28') AS registered) y
CROSS JOIN LATERAL (SELECT LEAST(registered + (pg_temp.h(p, 8) % 220)::int, DATE '2026-11-28') AS started) z;

INSERT INTO projects (id, park_code, name, industry, attraction_mode, stage, planned_investment_usd, high_tech, tags,
                      search_text, created_at, updated_at, created_by, updated_by, version,
                      signed_on, registered_on, started_on, operating_on, planned_start_on,
                      contracted_investment_usd, actual_investment_usd, investor_ids_json, stage_history_json)
SELECT id, park, '监测项目' || p, 'other', 'targeted', stage, 10000000, FALSE, '[]', '监测项目' || p,
       created, created, 'bench', 'bench', 1,
       signed_on, registered_on, started_on, operating_on,
       CASE WHEN s < 14 AND pg_temp.h(p, 10) % 3 = 0 THEN created + (pg_temp.h(p, 11) % 500)::int END,
       CASE WHEN signed_on IS NOT NULL THEN 10000000 END,
       CASE WHEN signed_on IS NOT NULL THEN CASE WHEN pg_temp.h(p, 12) % 10 < 3 THEN 1000000 ELSE 5000000 END END,
       CASE WHEN pg_temp.h(p, 13) % 10 < 6
            THEN format('["00000000-0000-7000-9000-%s"]', lpad((1 + (pg_temp.h(p, 14) % (:investors / 3)) * 3 + (p % 3 + 2) % 3)::text, 12, '0'))
            ELSE '[]' END,
       json_build_array(json_build_object('stage', stage, 'by', 'bench',
           'on', COALESCE(operating_on, started_on, registered_on, signed_on, created),
           'recorded_at', to_char(COALESCE(operating_on, started_on, registered_on, signed_on, created), 'YYYY-MM-DD"T"00:00:00"Z"')))::text
FROM bench_m;

-- The links the read copies name.
INSERT INTO project_investors (project_id, investor_id, position)
SELECT id, investor_ids_json::json ->> 0, 0 FROM projects WHERE investor_ids_json <> '[]';
