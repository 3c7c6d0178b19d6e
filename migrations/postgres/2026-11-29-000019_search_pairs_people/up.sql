-- Investors and talents search as projects do (src/db/search.rs): a window of the list first,
-- then this index for words the window cannot hold a page of. The same expression and partial
-- condition as projects' (migration 17), so the queries' `search_pair_keys(search_text) @> ...`
-- and `deleted_at IS NULL` match it. PostgreSQL only; SQLite scans.
CREATE INDEX investors_search_pairs ON investors USING gin (search_pair_keys(search_text)) WHERE deleted_at IS NULL;
CREATE INDEX talents_search_pairs ON talents USING gin (search_pair_keys(search_text)) WHERE deleted_at IS NULL;
