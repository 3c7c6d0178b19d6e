DROP INDEX audit_events_park_feed;
DROP INDEX audit_events_feed;
ALTER TABLE audit_events DROP COLUMN seq;
ALTER TABLE audit_events DROP COLUMN tx;
DROP SEQUENCE audit_events_seq;
