DROP TABLE external_refs;
