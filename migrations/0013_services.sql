-- Services (model servers run beside the miners): their lifecycle rows name the service in a
-- column of its own (miner stays NULL, so per-miner queries are unchanged), and a failed health
-- check is an event of its own. SQLite cannot change a CHECK constraint: the table is rebuilt.

CREATE TABLE lifecycle_new (
    id        INTEGER PRIMARY KEY,
    at        REAL    NOT NULL,                 -- Unix seconds
    miner     TEXT,                             -- NULL for the supervisor's own events and for services
    service   TEXT,                             -- the service's name, for its events
    event     TEXT    NOT NULL CHECK (event IN (
                  'supervisor_start', 'supervisor_stop', 'reload',
                  'start', 'running', 'exit', 'backoff', 'crash_loop', 'stop', 'unhealthy')),
    pid       INTEGER,
    exit_code INTEGER,
    signal    INTEGER,
    uptime_s  REAL,
    backoff_s REAL,
    detail    TEXT
);
INSERT INTO lifecycle_new (id, at, miner, event, pid, exit_code, signal, uptime_s, backoff_s, detail)
    SELECT id, at, miner, event, pid, exit_code, signal, uptime_s, backoff_s, detail FROM lifecycle;
DROP TABLE lifecycle;
ALTER TABLE lifecycle_new RENAME TO lifecycle;
CREATE INDEX lifecycle_by_miner ON lifecycle (miner, at);
CREATE INDEX lifecycle_by_service ON lifecycle (service, at) WHERE service IS NOT NULL;
