-- What a simulated validator ended up with (`miners simulate`, `miners matrix`): the client's
-- side of each request, next to the workers' own rows in `requests` (joined by uuid).

CREATE TABLE sim_runs (
    id          INTEGER PRIMARY KEY,
    kind        TEXT    NOT NULL CHECK (kind IN ('simulate', 'matrix')),
    started_at  REAL    NOT NULL,
    finished_at REAL,
    source      TEXT,                               -- the matrix file, or the simulate command line
    load        TEXT                                -- the load profile, as JSON
);

-- One configuration of a matrix (a single one for `simulate`).
CREATE TABLE sim_cells (
    id              INTEGER PRIMARY KEY,
    run_id          INTEGER NOT NULL REFERENCES sim_runs (id) ON DELETE CASCADE,
    seq             INTEGER NOT NULL,               -- position in the matrix
    name            TEXT    NOT NULL,               -- the worker's name in `requests`
    settings        TEXT    NOT NULL,               -- the cell's axes, as JSON
    target          TEXT    NOT NULL,               -- host:port
    started_at      REAL    NOT NULL,
    finished_at     REAL,
    worker_cpu_s    REAL,                           -- the worker's CPU time during the load
    UNIQUE (run_id, seq)
);

CREATE TABLE sim_requests (
    id                INTEGER PRIMARY KEY,
    cell_id           INTEGER NOT NULL REFERENCES sim_cells (id) ON DELETE CASCADE,
    validator_hotkey  TEXT    NOT NULL,
    uuid              TEXT    NOT NULL,
    nonce             INTEGER NOT NULL,
    timeout           REAL    NOT NULL,             -- the validator's total budget, seconds
    sent_at           REAL    NOT NULL,             -- Unix seconds
    status            INTEGER NOT NULL,             -- as the dendrite would report it
    status_message    TEXT,
    first_chunk_s     REAL,                         -- from sending to the first read
    total_s           REAL    NOT NULL,
    chunks            INTEGER NOT NULL,             -- reads, as the dendrite sees them
    bytes             INTEGER NOT NULL,
    oversize_chunks   INTEGER NOT NULL,             -- reads over the size limit (SN1's 200 tokens)
    final_answer      INTEGER NOT NULL,             -- 'the final answer is:' arrived
    reward            REAL,                         -- the subnet's score of the answer, when the reference is known
    reference         TEXT,
    completion        TEXT    NOT NULL
);
CREATE INDEX sim_requests_by_cell ON sim_requests (cell_id);
CREATE INDEX sim_requests_by_uuid ON sim_requests (uuid);

CREATE TABLE sim_chunks (
    request_id INTEGER NOT NULL REFERENCES sim_requests (id) ON DELETE CASCADE,
    seq        INTEGER NOT NULL,
    offset_s   REAL    NOT NULL,                    -- arrival, from sending
    bytes      INTEGER NOT NULL,
    PRIMARY KEY (request_id, seq)
) WITHOUT ROWID;
