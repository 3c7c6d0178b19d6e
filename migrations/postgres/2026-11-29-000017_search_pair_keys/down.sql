CREATE FUNCTION search_bigrams(t text) RETURNS text[]
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN ARRAY(SELECT DISTINCT substr(t, i, 2) FROM generate_series(1, char_length(t) - 1) AS i);
CREATE INDEX projects_search_bigrams ON projects USING gin (search_bigrams(search_text)) WHERE deleted_at IS NULL;
DROP INDEX projects_search_pairs;
DROP FUNCTION search_pair_keys(text);
