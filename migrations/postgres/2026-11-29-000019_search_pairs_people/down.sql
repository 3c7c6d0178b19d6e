DROP INDEX talents_search_pairs;
DROP INDEX investors_search_pairs;
