-- Rows a worker had to drop while the database could not be written (full or read-only disk),
-- reported once writing worked again; `miners status` shows them.

CREATE TABLE log_losses (
    id     INTEGER PRIMARY KEY,
    at     REAL    NOT NULL,                    -- when the loss was written
    worker TEXT,
    lost   INTEGER NOT NULL,                    -- rows dropped
    since  REAL,                                -- when writing started failing
    error  TEXT
);
