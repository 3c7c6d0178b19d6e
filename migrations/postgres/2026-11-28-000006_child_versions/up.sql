-- Sub-resources get versions of their own (ETag / If-Match), and
-- follow-ups record who changed them last, like the other children.
ALTER TABLE investor_contacts ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE investor_follow_ups ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE investor_follow_ups ADD COLUMN updated_by TEXT NOT NULL DEFAULT '';
UPDATE investor_follow_ups SET updated_by = by_user;
ALTER TABLE investor_figures ADD COLUMN version INTEGER NOT NULL DEFAULT 1;

-- A park holds each identifier once. The rule is checked in the write
-- transaction; these indexes make two racing writers meet a 409 too.
CREATE UNIQUE INDEX investors_park_uscc ON investors (park_code, unified_social_credit_code)
    WHERE deleted_at IS NULL AND unified_social_credit_code IS NOT NULL;
CREATE UNIQUE INDEX investors_park_ubn ON investors (park_code, taiwan_business_id)
    WHERE deleted_at IS NULL AND taiwan_business_id IS NOT NULL;
