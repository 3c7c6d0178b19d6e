DROP INDEX projects_search_bigrams;
DROP FUNCTION search_bigrams(text);
