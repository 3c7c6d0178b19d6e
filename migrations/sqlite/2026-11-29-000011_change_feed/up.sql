-- The change feed (GET /changes) reads audit events in commit order. SQLite
-- has one writer at a time and a writer holds the lock from its first write
-- to its commit, so the rowid order of inserts is the commit order: seq
-- copies the rowid, and tx stays 0 (PostgreSQL needs it; see its migration).
ALTER TABLE audit_events ADD COLUMN tx INTEGER NOT NULL DEFAULT 0;
ALTER TABLE audit_events ADD COLUMN seq INTEGER;
UPDATE audit_events SET seq = rowid;
CREATE TRIGGER audit_events_seq AFTER INSERT ON audit_events
BEGIN
    UPDATE audit_events SET seq = NEW.rowid WHERE rowid = NEW.rowid;
END;
CREATE INDEX audit_events_feed ON audit_events (tx, seq);
CREATE INDEX audit_events_park_feed ON audit_events (park_code, tx, seq);
