-- The change feed (GET /changes) reads audit events in commit order.
-- An event's position is (tx, seq): the transaction that wrote it and its
-- place in the sequence. A reader only takes events of transactions older
-- than the oldest one still running (pg_snapshot_xmin), so a slow
-- transaction's events are never passed over by a cursor that moved past a
-- faster one's. Events written before this migration all committed long ago:
-- they sit at tx 0, in the order of their ids (UUID v7, time-ordered).
CREATE SEQUENCE audit_events_seq;
ALTER TABLE audit_events ADD COLUMN tx BIGINT NOT NULL DEFAULT 0;
ALTER TABLE audit_events ADD COLUMN seq BIGINT;
UPDATE audit_events SET seq = ordered.n
    FROM (SELECT id, nextval('audit_events_seq') AS n FROM (SELECT id FROM audit_events ORDER BY id) AS by_id) AS ordered
    WHERE audit_events.id = ordered.id;
ALTER TABLE audit_events ALTER COLUMN seq SET DEFAULT nextval('audit_events_seq');
ALTER TABLE audit_events ALTER COLUMN seq SET NOT NULL;
ALTER TABLE audit_events ALTER COLUMN tx SET DEFAULT (pg_current_xact_id()::text::bigint);
CREATE INDEX audit_events_feed ON audit_events (tx, seq);
CREATE INDEX audit_events_park_feed ON audit_events (park_code, tx, seq);
