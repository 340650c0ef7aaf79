-- Each configured hotkey's standing on its subnet, recorded at every metagraph refresh: the
-- history behind `miners status` (incentive, emission per day, deregistered) and the report.

CREATE TABLE standing (
    id                 INTEGER PRIMARY KEY,
    at                 REAL    NOT NULL,    -- Unix seconds of the refresh
    miner              TEXT    NOT NULL,    -- the miner's name in the config
    hotkey             TEXT    NOT NULL,
    network            TEXT    NOT NULL,
    netuid             INTEGER NOT NULL,
    block              INTEGER NOT NULL,    -- the block the metagraph was read at
    tempo              INTEGER NOT NULL,    -- blocks per epoch, for emission per day
    registered         INTEGER NOT NULL,    -- 0: the hotkey was not among the subnet's neurons
    uid                INTEGER,
    stake              REAL,                -- TAO
    rank               REAL,                -- 0..1
    trust              REAL,                -- 0..1
    incentive          REAL,                -- 0..1
    emission           REAL,                -- per epoch, as metagraph.E
    last_update        INTEGER,             -- block of the neuron's last update
    registration_block INTEGER,
    immunity_left      INTEGER              -- blocks of immunity left, 0 once over
);
CREATE INDEX standing_by_miner ON standing (miner, at);
