DROP TABLE target_summary_state;
DROP TABLE target_totals;
DROP TABLE target_members;
DROP TABLE target_units;
