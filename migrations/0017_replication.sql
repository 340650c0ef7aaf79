-- Replication of the log to the fleet's PostgreSQL (`fleet:`, Sources/Fleet/Replicator.swift):
-- per table, the last local id PostgreSQL has committed and how many rows went, moved only
-- after PostgreSQL committed them (at least once; the server side ignores a row sent twice).
-- `requests` stands also for the batches and timeouts of those requests (sent with them).
-- Retention never deletes a row above its table's `last_local_id` while `fleet:` is set.

CREATE TABLE replication_progress (
    table_name    TEXT    PRIMARY KEY,
    last_local_id INTEGER NOT NULL DEFAULT 0,
    rows          INTEGER NOT NULL DEFAULT 0,
    updated_at    REAL    NOT NULL              -- Unix seconds of the last commit that moved it
);

-- The replicator's state for `miners status`: the last success and the last error.
CREATE TABLE replication_state (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    host            TEXT,                       -- fleet.host the rows were sent as
    last_success_at REAL,
    last_error      TEXT,                       -- never holds the URL
    last_error_at   REAL,
    drain_rate      REAL                        -- rows/s of the last backlog drained
);

-- Requests changed after they were written (LogWriter's corrections: outcome and reason) and
-- already sent: sent again. Only recorded once replication has started on this database.
CREATE TABLE replication_updates (
    request_id INTEGER PRIMARY KEY,
    version    INTEGER NOT NULL DEFAULT 1
);
CREATE TRIGGER requests_replication_updates AFTER UPDATE ON requests
WHEN EXISTS (SELECT 1 FROM replication_progress WHERE table_name = 'requests')
BEGIN
    INSERT INTO replication_updates (request_id) VALUES (NEW.id)
        ON CONFLICT (request_id) DO UPDATE SET version = version + 1;
END;
