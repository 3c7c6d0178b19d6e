DROP TABLE notices;
DROP TABLE monitoring_rules;
DROP TABLE claim_keys;
DROP TABLE claims;
ALTER TABLE investors DROP COLUMN merged_into;
