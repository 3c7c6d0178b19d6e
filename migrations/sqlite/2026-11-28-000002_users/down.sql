DROP TABLE login_failures;
DROP TABLE revoked_tokens;
DROP TABLE refresh_tokens;
DROP TABLE users;
