-- The targets scenario's data (bench/targets.sh): 1M projects, 200k
-- investors, 2M funds and 270k output figures in the three parks, made with
-- generate_series in a few minutes. Deterministic (no random()): each value
-- is a hash of the row number, so two runs load the same rows.
--   psql -v projects=1000000 -v investors=200000 -f bench/targets.sql DB
\set ON_ERROR_STOP on

-- h(n, salt): a stable pseudo-random integer in [0, 2^31).
CREATE OR REPLACE FUNCTION pg_temp.h(n bigint, salt int) RETURNS bigint LANGUAGE sql IMMUTABLE AS
$$ SELECT ('x' || substr(md5(n::text || ':' || salt::text), 1, 8))::bit(32)::bigint & 2147483647 $$;

-- A day between 2015-01-01 and 2026-06-30.
CREATE OR REPLACE FUNCTION pg_temp.day(n bigint, salt int) RETURNS date LANGUAGE sql IMMUTABLE AS
$$ SELECT DATE '2015-01-01' + (pg_temp.h(n, salt) % 4198)::int $$;

INSERT INTO top100 (id, rank, group_name, member_names, list_source, list_year, created_at, updated_at, created_by, updated_by, version)
SELECT format('00000000-0000-7000-a000-%s', lpad(g::text, 12, '0')), g, '基准集团' || g || '（演示数据）', '[]', 'bench', 2024,
       now(), now(), 'bench', 'bench', 1
FROM generate_series(1, 100) g;

-- Investors: 90 % companies; 60 % taiwan, 10 % mainland_taiwan_funded,
-- 10 % third_place (seven in ten recognised), 20 % other; half settled.
-- Names repeat every 149,999 rows, so a name turns up in two parks: the
-- same enterprise counted once in the zone.
INSERT INTO investors (id, park_code, kind, name, origin, region, taiwan_top100, industries, status, settled_on,
                       search_text, name_key, created_at, updated_at, created_by, updated_by, version,
                       third_place_recognised_on, top100_id)
SELECT format('00000000-0000-7000-9000-%s', lpad(n::text, 12, '0')),
       (ARRAY['yueyang', 'xiangtan', 'chenzhou'])[1 + n % 3],
       CASE WHEN pg_temp.h(n, 1) % 10 = 0 THEN 'individual' ELSE 'company' END,
       '台资企业' || (n % 149999),
       o.origin, '台湾', FALSE, '[]',
       CASE WHEN pg_temp.h(n, 3) % 2 = 0 THEN 'settled' ELSE 'negotiating' END,
       CASE WHEN pg_temp.h(n, 3) % 2 = 0 THEN pg_temp.day(n, 4) END,
       '台资企业' || (n % 149999), 'bench' || (n % 149999),
       now(), now(), 'bench', 'bench', 1,
       CASE WHEN o.origin = 'third_place' AND pg_temp.h(n, 5) % 10 < 7 THEN pg_temp.day(n, 6) END,
       CASE WHEN pg_temp.h(n, 7) % 500 = 0 THEN format('00000000-0000-7000-a000-%s', lpad((1 + pg_temp.h(n, 8) % 100)::text, 12, '0')) END
FROM generate_series(1, :investors) n
CROSS JOIN LATERAL (SELECT CASE WHEN pg_temp.h(n, 2) % 10 < 6 THEN 'taiwan'
                                WHEN pg_temp.h(n, 2) % 10 = 6 THEN 'mainland_taiwan_funded'
                                WHEN pg_temp.h(n, 2) % 10 = 7 THEN 'third_place'
                                ELSE 'other' END AS origin) o;

-- Projects: two in five signed (2018–2026) with a contract; the rest leads.
INSERT INTO projects (id, park_code, name, industry, attraction_mode, stage, planned_investment_usd, high_tech, tags,
                      search_text, created_at, updated_at, created_by, updated_by, version, signed_on, contracted_investment_usd)
SELECT format('00000000-0000-7000-8000-%s', lpad(p::text, 12, '0')),
       (ARRAY['yueyang', 'xiangtan', 'chenzhou'])[1 + p % 3],
       '基准项目' || p, 'other', 'targeted',
       CASE WHEN p % 5 < 2 THEN 'signed' ELSE 'lead' END,
       10000000, FALSE, '[]', '基准项目' || p, now(), now(), 'bench', 'bench', 1,
       CASE WHEN p % 5 < 2 THEN DATE '2018-01-01' + (pg_temp.h(p, 11) % 3100)::int END,
       CASE WHEN p % 5 < 2 THEN 10000000 END
FROM generate_series(1, :projects) p;

-- Each project linked to an investor of its park; one in five to a second.
INSERT INTO project_investors (project_id, investor_id, position)
SELECT format('00000000-0000-7000-8000-%s', lpad(p::text, 12, '0')),
       format('00000000-0000-7000-9000-%s', lpad((((pg_temp.h(p, 12) % (:investors / 3 - 1)) * 3) + p % 3 + (CASE WHEN p % 3 = 0 THEN 3 ELSE 0 END))::text, 12, '0')),
       0
FROM generate_series(1, :projects) p;
INSERT INTO project_investors (project_id, investor_id, position)
SELECT format('00000000-0000-7000-8000-%s', lpad(p::text, 12, '0')),
       format('00000000-0000-7000-9000-%s', lpad((((pg_temp.h(p, 13) % (:investors / 3 - 1)) * 3) + p % 3 + (CASE WHEN p % 3 = 0 THEN 3 ELSE 0 END))::text, 12, '0')),
       1
FROM generate_series(1, :projects) p
WHERE p % 5 = 1
ON CONFLICT DO NOTHING;

-- Five funds for each signed project (2M for 1M projects), a month apart
-- from signing and never after 2026-10-31: 70 % verified, 20 % pending,
-- 10 % rejected.
INSERT INTO funds (id, project_id, park_code, received_on, amount_usd, evidence, evidence_ref, status, version,
                   created_at, updated_at, created_by, updated_by)
SELECT format('00000000-0000-7000-b000-%s', lpad((p * 5 + k)::text, 12, '0')),
       format('00000000-0000-7000-8000-%s', lpad(p::text, 12, '0')),
       (ARRAY['yueyang', 'xiangtan', 'chenzhou'])[1 + p % 3],
       LEAST(DATE '2018-01-01' + (pg_temp.h(p, 11) % 3100)::int + 30 * (k + 1), DATE '2026-10-31'),
       100000 + pg_temp.h(p * 5 + k, 14) % 1900000,
       'bank_receipt', 'BR-' || p || '-' || k,
       CASE WHEN pg_temp.h(p * 5 + k, 15) % 10 < 7 THEN 'verified'
            WHEN pg_temp.h(p * 5 + k, 15) % 10 < 9 THEN 'pending' ELSE 'rejected' END,
       1, now(), now(), 'bench', 'bench'
FROM generate_series(1, :projects) p
CROSS JOIN generate_series(0, 4) k
WHERE p % 5 < 2;
UPDATE projects p SET actual_investment_usd = f.total
FROM (SELECT project_id, SUM(amount_usd) AS total FROM funds WHERE status = 'verified' GROUP BY project_id) f
WHERE p.id = f.project_id;

-- Output figures for 2020, 2024 and 2025 of every settled company.
INSERT INTO investor_figures (id, investor_id, year, output_value_cny, created_at, updated_at, updated_by)
SELECT format('00000000-0000-7000-c%s-%s', lpad((y % 1000)::text, 3, '0'), lpad(n::text, 12, '0')),
       format('00000000-0000-7000-9000-%s', lpad(n::text, 12, '0')), y,
       1000000 + pg_temp.h(n * 10 + y, 16) % 99000000, now(), now(), 'bench'
FROM generate_series(1, :investors) n
CROSS JOIN (VALUES (2020), (2024), (2025)) years(y)
WHERE pg_temp.h(n, 3) % 2 = 0 AND pg_temp.h(n, 1) % 10 <> 0;
