-- The fleet log: every host's SQLite log tables, replicated by each host's supervisor
-- (Sources/Fleet/Replicator.swift). The contract for later migrations (0002+, the analysis):
--   * each table has the SAME name and the SAME column names as its SQLite table;
--   * `host text NOT NULL` comes first: the `fleet.host` of the machine that wrote the row;
--   * SQLite's `id` is `local_id` (unique per host only): PRIMARY KEY (host, local_id);
--     batches: PRIMARY KEY (host, request_id, seq); request_id columns are local ids;
--   * REAL -> double precision, INTEGER -> bigint (booleans stay 0/1), TEXT -> text;
--   * no foreign keys (rows of one host arrive table by table, at least once, in id order);
--   * rows are inserted, and requests rows may be updated (a row corrected after insert is
--     upserted again); nothing is deleted by replication.

CREATE TABLE requests (
    host                 text             NOT NULL,
    local_id             bigint           NOT NULL,
    worker               text             NOT NULL,
    miner_hotkey         text             NOT NULL,
    synapse              text             NOT NULL,
    backend              text             NOT NULL,
    batch_size           bigint           NOT NULL,
    validator_hotkey     text,
    dendrite_ip          text,
    dendrite_version     bigint,
    uuid                 text,
    nonce                bigint,
    timeout              double precision,
    received_at          double precision NOT NULL,
    first_batch_at       double precision,
    finished_at          double precision NOT NULL,
    outcome              text             NOT NULL,
    status               bigint           NOT NULL,
    reason               text,
    batches              bigint           NOT NULL DEFAULT 0,
    items_sent           bigint           NOT NULL DEFAULT 0,
    bytes_sent           bigint           NOT NULL DEFAULT 0,
    items_generated      bigint           NOT NULL DEFAULT 0,
    items_unsent         bigint           NOT NULL DEFAULT 0,
    final_answer_sent    bigint           NOT NULL DEFAULT 0,
    detail               text,
    queue_wait_s         double precision,
    backend_first_item_s double precision,
    backend_items_per_s  double precision,
    prompt_tokens        bigint,
    completion_tokens    bigint,
    largest_batch        bigint           NOT NULL DEFAULT 0,
    batch_span_s         double precision,
    claimed_hotkey       text,
    count                bigint           NOT NULL DEFAULT 1,
    reasoning_items      bigint           NOT NULL DEFAULT 0,
    reasoning_s          double precision,
    PRIMARY KEY (host, local_id)
);
CREATE INDEX requests_by_time ON requests (received_at);
CREATE INDEX requests_by_host_time ON requests (host, received_at);

CREATE TABLE batches (
    host       text             NOT NULL,
    request_id bigint           NOT NULL,           -- the host's local requests.id
    seq        bigint           NOT NULL,
    offset_s   double precision NOT NULL,
    items      bigint           NOT NULL,
    bytes      bigint           NOT NULL,
    final      bigint           NOT NULL,
    PRIMARY KEY (host, request_id, seq)
);

CREATE TABLE timeouts (
    host          text             NOT NULL,
    local_id      bigint           NOT NULL,
    request_id    bigint           NOT NULL,        -- the host's local requests.id
    at            double precision NOT NULL,
    limit_s       double precision NOT NULL,
    elapsed_s     double precision NOT NULL,
    batches_sent  bigint           NOT NULL,
    items_dropped bigint           NOT NULL,
    PRIMARY KEY (host, local_id)
);
CREATE INDEX timeouts_by_request ON timeouts (host, request_id);

CREATE TABLE lifecycle (
    host      text             NOT NULL,
    local_id  bigint           NOT NULL,
    at        double precision NOT NULL,
    miner     text,
    service   text,
    event     text             NOT NULL,
    pid       bigint,
    exit_code bigint,
    signal    bigint,
    uptime_s  double precision,
    backoff_s double precision,
    detail    text,
    PRIMARY KEY (host, local_id)
);
CREATE INDEX lifecycle_by_time ON lifecycle (at);

CREATE TABLE chain_events (
    host     text             NOT NULL,
    local_id bigint           NOT NULL,
    at       double precision NOT NULL,
    kind     text             NOT NULL,
    miner    text,
    network  text             NOT NULL,
    netuid   bigint           NOT NULL,
    outcome  text             NOT NULL,
    block    bigint,
    path     text,
    detail   text,
    PRIMARY KEY (host, local_id)
);

CREATE TABLE log_losses (
    host     text             NOT NULL,
    local_id bigint           NOT NULL,
    at       double precision NOT NULL,
    worker   text,
    lost     bigint           NOT NULL,
    since    double precision,
    error    text,
    PRIMARY KEY (host, local_id)
);

CREATE TABLE standing (
    host               text             NOT NULL,
    local_id           bigint           NOT NULL,
    at                 double precision NOT NULL,
    miner              text             NOT NULL,
    hotkey             text             NOT NULL,
    network            text             NOT NULL,
    netuid             bigint           NOT NULL,
    block              bigint           NOT NULL,
    tempo              bigint           NOT NULL,
    registered         bigint           NOT NULL,
    uid                bigint,
    stake              double precision,
    rank               double precision,
    trust              double precision,
    incentive          double precision,
    emission           double precision,
    last_update        bigint,
    registration_block bigint,
    immunity_left      bigint,
    PRIMARY KEY (host, local_id)
);
CREATE INDEX standing_by_time ON standing (at);

CREATE TABLE alerts (
    host     text             NOT NULL,
    local_id bigint           NOT NULL,
    at       double precision NOT NULL,
    kind     text             NOT NULL,
    subject  text             NOT NULL,
    noun     text             NOT NULL,
    state    text             NOT NULL,
    since    double precision NOT NULL,
    detail   text             NOT NULL,
    PRIMARY KEY (host, local_id)
);

-- Each host's replication progress as PostgreSQL saw it committed (the host's own copy in
-- SQLite `replication_progress` is authoritative for resuming; this one is for fleet views).
CREATE TABLE replication (
    host          text             NOT NULL,
    table_name    text             NOT NULL,
    last_local_id bigint           NOT NULL,
    rows          bigint           NOT NULL,
    updated_at    double precision NOT NULL,       -- Unix seconds
    PRIMARY KEY (host, table_name)
);
