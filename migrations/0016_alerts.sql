-- Alerts posted to the webhooks of `alerts:`, one row per message (firing, again, resolved).
-- The newest row of each (kind, subject) says whether it still fires: `miners status` lists
-- those, and a restarted supervisor carries on from them rather than posting them again.

CREATE TABLE alerts (
    id      INTEGER PRIMARY KEY,
    at      REAL    NOT NULL,                   -- Unix seconds of the message
    kind    TEXT    NOT NULL,                   -- crash_loop, service_unhealthy, deregistered, no_requests, ...
    subject TEXT    NOT NULL,                   -- a miner's or service's name, a directory
    noun    TEXT    NOT NULL,                   -- how the message names the subject: miner, service, ...
    state   TEXT    NOT NULL CHECK (state IN ('firing', 'resolved')),
    since   REAL    NOT NULL,                   -- when the condition was first seen
    detail  TEXT    NOT NULL                    -- what was wrong, as of this message
);
CREATE INDEX alerts_by_subject ON alerts (kind, subject, id);
