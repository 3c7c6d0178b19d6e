-- The search index keys each pair of adjacent characters as a number, the two code points side by
-- side (a code point fits in 21 bits), instead of the pair as text (migration 5). Measured on
-- 100,000 new projects (bench/RESULTS.md): the old SQL function took a sub-select through the
-- SQL-function executor per row and `substr` from the start of the text per pair (quadratic: a
-- third of a second for a 10,000-character text), and GIN compares text keys by collation; this
-- one walks the text once and GIN compares integers. Queries ask `search_pair_keys(term)` alike,
-- and keep their LIKE, so what a search answers does not change.
CREATE FUNCTION search_pair_keys(t text) RETURNS bigint[]
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
AS $$
DECLARE
    keys bigint[] := '{}';
    ch text;
    previous bigint;
    current bigint;
BEGIN
    FOREACH ch IN ARRAY string_to_array(t, NULL) LOOP
        current := ascii(ch);
        IF previous IS NOT NULL THEN
            keys := keys || (previous << 21 | current);
        END IF;
        previous := current;
    END LOOP;
    RETURN keys;
END
$$;

CREATE INDEX projects_search_pairs ON projects USING gin (search_pair_keys(search_text)) WHERE deleted_at IS NULL;
DROP INDEX projects_search_bigrams;
DROP FUNCTION search_bigrams(text);
