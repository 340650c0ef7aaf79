-- Hourly summaries of the requests, made before retention deletes raw rows: per hour, miner,
-- validator and outcome (and the other keys `miners status --by` groups on). Sums and counts,
-- so that any window of hours adds up exactly; the time to first batch as exact per-row
-- percentiles and a histogram (`ttfb_histogram`) that windows of several hours merge.

CREATE TABLE request_rollups (
    hour               REAL    NOT NULL,            -- Unix seconds of the hour's start (received_at)
    worker             TEXT    NOT NULL,
    miner_hotkey       TEXT    NOT NULL,
    backend            TEXT    NOT NULL,
    batch_size         INTEGER NOT NULL,
    validator_hotkey   TEXT    NOT NULL,            -- '' when none, and for refusals (kept per reason: a
                                                    -- stranger's many hotkeys must not grow a table kept forever)
    outcome            TEXT    NOT NULL,
    reason             TEXT    NOT NULL,            -- refusals: the reason, '' otherwise
    status             INTEGER NOT NULL,
    requests           INTEGER NOT NULL,            -- rows' counts summed (a refusal row may stand for several)
    items_sent         INTEGER NOT NULL,
    items_unsent       INTEGER NOT NULL,
    items_generated    INTEGER NOT NULL,
    bytes_sent         INTEGER NOT NULL,
    batches            INTEGER NOT NULL,
    largest_batch      INTEGER NOT NULL,
    batches_over_200   INTEGER NOT NULL,            -- batches above SN1's 200-token chunk limit
    final_answers      INTEGER NOT NULL,            -- streamed answers with the final answer on the wire
    total_s_sum        REAL    NOT NULL,  total_n        INTEGER NOT NULL,
    arrival_lag_s_sum  REAL    NOT NULL,  arrival_lag_n  INTEGER NOT NULL,
    queue_wait_s_sum   REAL    NOT NULL,  queue_wait_n   INTEGER NOT NULL,
    timeout_s_sum      REAL    NOT NULL,  timeout_n      INTEGER NOT NULL,
    delivered_sum      REAL    NOT NULL,  delivered_n    INTEGER NOT NULL,
    batch_gap_s_sum    REAL    NOT NULL,  batch_gap_n    INTEGER NOT NULL,
    ttfb_n             INTEGER NOT NULL,
    ttfb_p50           REAL,
    ttfb_p95           REAL,
    ttfb_p99           REAL,
    ttfb_histogram     TEXT    NOT NULL,            -- "bucket:count,…", bucket = floor(log(ttfb ms) / log(1.02))
    PRIMARY KEY (hour, worker, miner_hotkey, backend, batch_size, validator_hotkey, outcome, reason, status)
) WITHOUT ROWID;

-- How far retention has gone: requests received before `rolled_until` are in the rollups (rows
-- written later than request id `rolled_id` for such hours are rolled up again); batches of
-- requests received before `batches_until` and requests received before `requests_until` are
-- deleted (`batches_id`: the last request whose batches went); rollups before `rollups_until`.
CREATE TABLE retention_state (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    rolled_until    REAL    NOT NULL DEFAULT 0,
    rolled_id       INTEGER NOT NULL DEFAULT 0,
    batches_until   REAL    NOT NULL DEFAULT 0,
    batches_id      INTEGER NOT NULL DEFAULT 0,
    requests_until  REAL    NOT NULL DEFAULT 0,
    rollups_until   REAL    NOT NULL DEFAULT 0
);
INSERT INTO retention_state (id) VALUES (1);
