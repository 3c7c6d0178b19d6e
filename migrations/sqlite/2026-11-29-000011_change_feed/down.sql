DROP INDEX audit_events_park_feed;
DROP INDEX audit_events_feed;
DROP TRIGGER audit_events_seq;
ALTER TABLE audit_events DROP COLUMN seq;
ALTER TABLE audit_events DROP COLUMN tx;
