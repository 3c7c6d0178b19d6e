-- Every pair of adjacent characters of a text, for the search index (see
-- src/db/search.rs). Pairs, not trigrams: two characters make a word in
-- Chinese. PostgreSQL only; SQLite searches by scanning.
CREATE FUNCTION search_bigrams(t text) RETURNS text[]
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN ARRAY(SELECT DISTINCT substr(t, i, 2) FROM generate_series(1, char_length(t) - 1) AS i);

CREATE INDEX projects_search_bigrams ON projects USING gin (search_bigrams(search_text)) WHERE deleted_at IS NULL;
