-- The supervisor's record of its workers: every start, exit, backoff and crash-loop decision.

CREATE TABLE lifecycle (
    id        INTEGER PRIMARY KEY,
    at        REAL    NOT NULL,                 -- Unix seconds
    miner     TEXT,                             -- NULL for the supervisor's own events
    event     TEXT    NOT NULL CHECK (event IN (
                  'supervisor_start', 'supervisor_stop', 'reload',
                  'start', 'running', 'exit', 'backoff', 'crash_loop', 'stop')),
    pid       INTEGER,
    exit_code INTEGER,                          -- exit: the worker's status, when it exited
    signal    INTEGER,                          -- exit: the signal that ended it
    uptime_s  REAL,                             -- exit: how long it ran
    backoff_s REAL,                             -- backoff: the delay before the next start
    detail    TEXT                              -- why: stop_on_forward_exception, config change, ...
);
CREATE INDEX lifecycle_by_miner ON lifecycle (miner, at);
