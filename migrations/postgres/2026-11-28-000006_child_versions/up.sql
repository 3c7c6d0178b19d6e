-- Sub-resources get versions of their own (ETag / If-Match), and
-- follow-ups record who changed them last, like the other children.
ALTER TABLE investor_contacts ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE investor_follow_ups ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE investor_follow_ups ADD COLUMN updated_by TEXT NOT NULL DEFAULT '';
UPDATE investor_follow_ups SET updated_by = by_user;
ALTER TABLE investor_figures ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
