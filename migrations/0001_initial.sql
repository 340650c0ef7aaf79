-- The request log of miner workers: one row per request, one per streamed batch, one per timeout.
-- Times are Unix seconds (REAL); offsets and durations are seconds.

CREATE TABLE requests (
    id                INTEGER PRIMARY KEY,
    worker            TEXT    NOT NULL,             -- the miner's name in the config
    miner_hotkey      TEXT    NOT NULL,
    synapse           TEXT    NOT NULL,
    backend           TEXT    NOT NULL,             -- backend kind: mock, openai, tgi
    batch_size        INTEGER NOT NULL,             -- streaming_batch_size in force
    validator_hotkey  TEXT,                         -- bt_header_dendrite_hotkey
    dendrite_ip       TEXT,
    dendrite_version  INTEGER,
    uuid              TEXT,                         -- the dendrite's uuid
    nonce             INTEGER,                      -- the dendrite's time.time_ns()
    timeout           REAL,                         -- seconds the worker allowed the stream
    received_at       REAL    NOT NULL,
    first_batch_at    REAL,                         -- when the first batch reached the socket
    finished_at       REAL    NOT NULL,
    outcome           TEXT    NOT NULL CHECK (outcome IN (
                          'complete', 'partial_timeout', 'empty_timeout', 'empty',
                          'stream_error', 'client_disconnect', 'rejected')),
    status            INTEGER NOT NULL,             -- HTTP status sent
    reason            TEXT,                         -- rejection code or error text
    batches           INTEGER NOT NULL DEFAULT 0,   -- batches written to the socket
    items_sent        INTEGER NOT NULL DEFAULT 0,
    bytes_sent        INTEGER NOT NULL DEFAULT 0,
    items_generated   INTEGER NOT NULL DEFAULT 0,
    items_unsent      INTEGER NOT NULL DEFAULT 0,   -- generated but never sent
    final_answer_sent INTEGER NOT NULL DEFAULT 0    -- 'the final answer is:' reached the wire
);
CREATE INDEX requests_by_time ON requests (received_at);
CREATE INDEX requests_by_worker ON requests (worker, received_at);
CREATE INDEX requests_by_validator ON requests (validator_hotkey, received_at);

CREATE TABLE batches (
    request_id INTEGER NOT NULL REFERENCES requests (id) ON DELETE CASCADE,
    seq        INTEGER NOT NULL,                    -- 0-based position in the response
    offset_s   REAL    NOT NULL,                    -- written this long after received_at
    items      INTEGER NOT NULL,
    bytes      INTEGER NOT NULL,
    final      INTEGER NOT NULL,                    -- the remainder sent at the end
    PRIMARY KEY (request_id, seq)
) WITHOUT ROWID;

CREATE TABLE timeouts (
    id            INTEGER PRIMARY KEY,
    request_id    INTEGER NOT NULL REFERENCES requests (id) ON DELETE CASCADE,
    at            REAL    NOT NULL,
    limit_s       REAL    NOT NULL,                 -- the timeout in force
    elapsed_s     REAL    NOT NULL,                 -- time from receipt to the stop
    batches_sent  INTEGER NOT NULL,
    items_dropped INTEGER NOT NULL                  -- generated, not sent
);
CREATE INDEX timeouts_by_request ON timeouts (request_id);
