-- The delivery log keeps coarse error classes (timeout, connect, tls, http_status, redirect,
-- body, request, forbidden_address); the full connection errors kept before would let a park's
-- administrator probe which inside hosts and ports answer. Older rows are coarsened alike.
UPDATE webhook_deliveries
   SET error = CASE WHEN status_code IS NULL THEN 'request'
                    WHEN status_code BETWEEN 300 AND 399 THEN 'redirect'
                    ELSE 'http_status' END
 WHERE error IS NOT NULL;
UPDATE webhooks
   SET last_error = CASE WHEN last_error LIKE 'the receiver answered%' THEN 'http_status' ELSE 'request' END
 WHERE last_error IS NOT NULL;

-- The last day the daily pass of lights covered (project.light_changed as days pass): one row,
-- locked by the pass on PostgreSQL so two instances never pass the same day.
CREATE TABLE light_days_passed (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    last_day DATE
);
INSERT INTO light_days_passed (id, last_day) VALUES (1, NULL);
