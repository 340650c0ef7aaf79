-- What the supervisor and `miners chain` did on chain: every serve_axon attempt (and every
-- "already served" check) and every metagraph snapshot refresh; `miners status` shows the last
-- of each.

CREATE TABLE chain_events (
    id       INTEGER PRIMARY KEY,
    at       REAL    NOT NULL,          -- Unix seconds
    kind     TEXT    NOT NULL,          -- serve | metagraph
    miner    TEXT,                      -- serve: the miner; metagraph: the first miner using the file
    network  TEXT    NOT NULL,
    netuid   INTEGER NOT NULL,
    outcome  TEXT    NOT NULL,          -- serve: served | already_served | rate_limited | failed | dry_run
                                        -- metagraph: written | failed (the last good file is kept)
    block    INTEGER,                   -- the chain's block when known
    path     TEXT,                      -- metagraph: the snapshot file
    detail   TEXT
);
CREATE INDEX chain_events_kind_at ON chain_events (kind, at);
