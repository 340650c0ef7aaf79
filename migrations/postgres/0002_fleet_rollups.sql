-- Fleet analysis (`miners status --db postgres://…`, Sources/Fleet/FleetAnalysis.swift): the
-- requests of every host summed per hour AND per day (UTC), maintained by statement triggers
-- as rows arrive, so that a window of 30 days reads about 30 day rows and at most 46 hour rows
-- per group, plus the raw rows of the partial hours at its edges.
--
-- `fleet_rollups`: one row per period and key (host and the keys of SQLite's request_rollups:
-- worker, miner_hotkey, backend, batch_size, validator_hotkey, outcome, reason, status) with
-- sums and counts, so any set of periods adds up exactly to what the raw rows say. Unlike
-- request_rollups, refusals keep their validator ('' only when the row has none), so that
-- `--by validator` over rollups equals the raw rows; `reason` is the refusal reason
-- (coalesce(reason, '-')) for outcome 'rejected', '' otherwise.
-- `fleet_ttfb`: the time to first batch of the streamed (not refused) requests as a histogram,
-- one row per period, key (without outcome, reason and status: never grouped on) and bucket,
-- bucket = floor(ln(ms) / ln(1.02)) as TTFBHistogram: percentiles within 1% over any periods.
--
-- Idempotence: the replicator inserts with ON CONFLICT DO NOTHING (or DO UPDATE for requests):
-- the transition tables hold only the rows inserted (or updated), so a row sent twice is
-- counted once. A correction (UPDATE of a request) subtracts the old row and adds the new one;
-- `largest_batch` is a maximum and is not lowered by one. Batches over 200 items are counted
-- when the later of a request and its batch arrives (either table may come first): the requests
-- trigger counts the batches already there, the batches trigger those whose request is there.
-- (Both arriving in two concurrent transactions, each not seeing the other, would miss them:
-- each host's replicator writes its tables one after another on one connection.)

CREATE TABLE fleet_rollups (
    span              bigint           NOT NULL CHECK (span IN (3600, 86400)),
    period_start      double precision NOT NULL,    -- Unix seconds, a multiple of span
    host              text             NOT NULL,
    worker            text             NOT NULL,
    miner_hotkey      text             NOT NULL,
    backend           text             NOT NULL,
    batch_size        bigint           NOT NULL,
    validator_hotkey  text             NOT NULL,    -- '' when none
    outcome           text             NOT NULL,
    reason            text             NOT NULL,    -- refusals: the reason; '' otherwise
    status            bigint           NOT NULL,
    requests          bigint           NOT NULL DEFAULT 0,
    items_sent        bigint           NOT NULL DEFAULT 0,
    items_unsent      bigint           NOT NULL DEFAULT 0,
    items_generated   bigint           NOT NULL DEFAULT 0,
    bytes_sent        bigint           NOT NULL DEFAULT 0,
    batches           bigint           NOT NULL DEFAULT 0,
    largest_batch     bigint           NOT NULL DEFAULT 0,
    batches_over_200  bigint           NOT NULL DEFAULT 0,
    final_answers     bigint           NOT NULL DEFAULT 0,
    total_s_sum       double precision NOT NULL DEFAULT 0, total_n       bigint NOT NULL DEFAULT 0,
    arrival_lag_s_sum double precision NOT NULL DEFAULT 0, arrival_lag_n bigint NOT NULL DEFAULT 0,
    queue_wait_s_sum  double precision NOT NULL DEFAULT 0, queue_wait_n  bigint NOT NULL DEFAULT 0,
    timeout_s_sum     double precision NOT NULL DEFAULT 0, timeout_n     bigint NOT NULL DEFAULT 0,
    delivered_sum     double precision NOT NULL DEFAULT 0, delivered_n   bigint NOT NULL DEFAULT 0,
    batch_gap_s_sum   double precision NOT NULL DEFAULT 0, batch_gap_n   bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (span, period_start, host, worker, miner_hotkey, backend, batch_size, validator_hotkey, outcome, reason, status)
);

CREATE TABLE fleet_ttfb (
    span             bigint           NOT NULL CHECK (span IN (3600, 86400)),
    period_start     double precision NOT NULL,
    host             text             NOT NULL,
    worker           text             NOT NULL,
    miner_hotkey     text             NOT NULL,
    backend          text             NOT NULL,
    batch_size       bigint           NOT NULL,
    validator_hotkey text             NOT NULL,
    bucket           integer          NOT NULL,
    n                bigint           NOT NULL,
    PRIMARY KEY (span, period_start, host, worker, miner_hotkey, backend, batch_size, validator_hotkey, bucket)
);

-- TTFBHistogram.bucket: 2% wide on a log scale, from a microsecond (-349) to bucket 2000.
CREATE FUNCTION fleet_ttfb_bucket(seconds double precision) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT least(greatest(floor(ln(greatest(seconds * 1000, 0.001)) / ln(1.02)), -349), 2000)::integer
$$;

-- The statement that adds the rows of `source` (a query over requests' columns plus `sign`: 1 to
-- add, -1 to subtract) to fleet_rollups. Run by the trigger functions themselves: a transition
-- table is visible only to the trigger function's own statements.
CREATE FUNCTION fleet_rollups_sql(source text) RETURNS text LANGUAGE sql IMMUTABLE AS $fn$
    SELECT format($q$
        INSERT INTO fleet_rollups AS f (span, period_start, host, worker, miner_hotkey, backend, batch_size, validator_hotkey,
            outcome, reason, status, requests, items_sent, items_unsent, items_generated, bytes_sent, batches, largest_batch,
            batches_over_200, final_answers, total_s_sum, total_n, arrival_lag_s_sum, arrival_lag_n, queue_wait_s_sum,
            queue_wait_n, timeout_s_sum, timeout_n, delivered_sum, delivered_n, batch_gap_s_sum, batch_gap_n)
        SELECT s.span, floor(r.received_at / s.span) * s.span, r.host, r.worker, r.miner_hotkey, r.backend, r.batch_size,
            coalesce(r.validator_hotkey, ''), r.outcome, CASE WHEN r.outcome = 'rejected' THEN coalesce(r.reason, '-') ELSE '' END,
            r.status,
            sum(r.sign * greatest(r.count, 1)),
            coalesce(sum(r.sign * r.items_sent) FILTER (WHERE r.streamed), 0),
            coalesce(sum(r.sign * r.items_unsent) FILTER (WHERE r.streamed), 0),
            coalesce(sum(r.sign * r.items_generated) FILTER (WHERE r.streamed), 0),
            coalesce(sum(r.sign * r.bytes_sent) FILTER (WHERE r.streamed), 0),
            coalesce(sum(r.sign * r.batches) FILTER (WHERE r.streamed), 0),
            coalesce(max(r.largest_batch) FILTER (WHERE r.streamed AND r.sign > 0), 0),
            coalesce(sum(r.sign * (SELECT count(*) FROM batches b WHERE b.host = r.host AND b.request_id = r.local_id AND b.items > 200))
                FILTER (WHERE r.streamed AND r.largest_batch > 200), 0),
            coalesce(sum(r.sign * (r.final_answer_sent <> 0)::int) FILTER (WHERE r.streamed), 0),
            coalesce(sum(r.sign * (r.finished_at - r.received_at)) FILTER (WHERE r.streamed), 0),
            coalesce(sum(r.sign) FILTER (WHERE r.streamed), 0),
            coalesce(sum(r.sign * (r.received_at - r.nonce::float8 / 1e9::float8)) FILTER (WHERE r.streamed AND r.nonce IS NOT NULL), 0),
            coalesce(sum(r.sign) FILTER (WHERE r.streamed AND r.nonce IS NOT NULL), 0),
            coalesce(sum(r.sign * r.queue_wait_s) FILTER (WHERE r.streamed AND r.queue_wait_s IS NOT NULL), 0),
            coalesce(sum(r.sign) FILTER (WHERE r.streamed AND r.queue_wait_s IS NOT NULL), 0),
            coalesce(sum(r.sign * r.timeout) FILTER (WHERE r.streamed AND r.timeout IS NOT NULL), 0),
            coalesce(sum(r.sign) FILTER (WHERE r.streamed AND r.timeout IS NOT NULL), 0),
            coalesce(sum(r.sign * r.items_sent::float8 / r.items_generated) FILTER (WHERE r.streamed AND r.items_generated > 0), 0),
            coalesce(sum(r.sign) FILTER (WHERE r.streamed AND r.items_generated > 0), 0),
            coalesce(sum(r.sign * r.batch_span_s / (r.batches - 1)) FILTER (WHERE r.streamed AND r.batches > 1 AND r.batch_span_s IS NOT NULL), 0),
            coalesce(sum(r.sign) FILTER (WHERE r.streamed AND r.batches > 1 AND r.batch_span_s IS NOT NULL), 0)
        FROM (SELECT q.*, q.outcome <> 'rejected' AS streamed FROM (%1$s) q
              WHERE q.outcome IN ('complete', 'partial_timeout', 'empty_timeout', 'empty', 'stream_error', 'client_disconnect', 'rejected')) r
        CROSS JOIN (VALUES (3600::bigint), (86400::bigint)) s (span)
        GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
        ON CONFLICT (span, period_start, host, worker, miner_hotkey, backend, batch_size, validator_hotkey, outcome, reason, status)
        DO UPDATE SET requests = f.requests + excluded.requests, items_sent = f.items_sent + excluded.items_sent,
            items_unsent = f.items_unsent + excluded.items_unsent, items_generated = f.items_generated + excluded.items_generated,
            bytes_sent = f.bytes_sent + excluded.bytes_sent, batches = f.batches + excluded.batches,
            largest_batch = greatest(f.largest_batch, excluded.largest_batch),
            batches_over_200 = f.batches_over_200 + excluded.batches_over_200, final_answers = f.final_answers + excluded.final_answers,
            total_s_sum = f.total_s_sum + excluded.total_s_sum, total_n = f.total_n + excluded.total_n,
            arrival_lag_s_sum = f.arrival_lag_s_sum + excluded.arrival_lag_s_sum, arrival_lag_n = f.arrival_lag_n + excluded.arrival_lag_n,
            queue_wait_s_sum = f.queue_wait_s_sum + excluded.queue_wait_s_sum, queue_wait_n = f.queue_wait_n + excluded.queue_wait_n,
            timeout_s_sum = f.timeout_s_sum + excluded.timeout_s_sum, timeout_n = f.timeout_n + excluded.timeout_n,
            delivered_sum = f.delivered_sum + excluded.delivered_sum, delivered_n = f.delivered_n + excluded.delivered_n,
            batch_gap_s_sum = f.batch_gap_s_sum + excluded.batch_gap_s_sum, batch_gap_n = f.batch_gap_n + excluded.batch_gap_n
    $q$, source)
$fn$;

-- The same for fleet_ttfb.
CREATE FUNCTION fleet_ttfb_sql(source text) RETURNS text LANGUAGE sql IMMUTABLE AS $fn$
    SELECT format($q$
        INSERT INTO fleet_ttfb AS t (span, period_start, host, worker, miner_hotkey, backend, batch_size, validator_hotkey, bucket, n)
        SELECT s.span, floor(r.received_at / s.span) * s.span, r.host, r.worker, r.miner_hotkey, r.backend, r.batch_size,
            coalesce(r.validator_hotkey, ''), fleet_ttfb_bucket(r.first_batch_at - r.received_at), sum(r.sign)
        FROM (%1$s) r CROSS JOIN (VALUES (3600::bigint), (86400::bigint)) s (span)
        WHERE r.outcome IN ('complete', 'partial_timeout', 'empty_timeout', 'empty', 'stream_error', 'client_disconnect')
            AND r.first_batch_at IS NOT NULL
        GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9
        ON CONFLICT (span, period_start, host, worker, miner_hotkey, backend, batch_size, validator_hotkey, bucket)
        DO UPDATE SET n = t.n + excluded.n
    $q$, source)
$fn$;

CREATE FUNCTION fleet_requests_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE fleet_rollups_sql('SELECT n.*, 1 AS sign FROM fleet_new_requests n');
    EXECUTE fleet_ttfb_sql('SELECT n.*, 1 AS sign FROM fleet_new_requests n');
    RETURN NULL;
END
$$;

CREATE FUNCTION fleet_requests_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE fleet_rollups_sql('SELECT o.*, -1 AS sign FROM fleet_old_requests o UNION ALL SELECT n.*, 1 AS sign FROM fleet_new_requests n');
    EXECUTE fleet_ttfb_sql('SELECT o.*, -1 AS sign FROM fleet_old_requests o UNION ALL SELECT n.*, 1 AS sign FROM fleet_new_requests n');
    RETURN NULL;
END
$$;

CREATE TRIGGER fleet_requests_inserted AFTER INSERT ON requests
    REFERENCING NEW TABLE AS fleet_new_requests FOR EACH STATEMENT EXECUTE FUNCTION fleet_requests_inserted();
CREATE TRIGGER fleet_requests_updated AFTER UPDATE ON requests
    REFERENCING OLD TABLE AS fleet_old_requests NEW TABLE AS fleet_new_requests FOR EACH STATEMENT EXECUTE FUNCTION fleet_requests_updated();

-- Batches over SN1's 200 items whose request arrived first.
CREATE FUNCTION fleet_batches_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO fleet_rollups AS f (span, period_start, host, worker, miner_hotkey, backend, batch_size, validator_hotkey,
        outcome, reason, status, batches_over_200)
    SELECT s.span, floor(r.received_at / s.span) * s.span, r.host, r.worker, r.miner_hotkey, r.backend, r.batch_size,
        coalesce(r.validator_hotkey, ''), r.outcome, '', r.status, count(*)
    FROM fleet_new_batches b JOIN requests r ON r.host = b.host AND r.local_id = b.request_id
    CROSS JOIN (VALUES (3600::bigint), (86400::bigint)) s (span)
    WHERE b.items > 200 AND r.outcome IN ('complete', 'partial_timeout', 'empty_timeout', 'empty', 'stream_error', 'client_disconnect')
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
    ON CONFLICT (span, period_start, host, worker, miner_hotkey, backend, batch_size, validator_hotkey, outcome, reason, status)
    DO UPDATE SET batches_over_200 = f.batches_over_200 + excluded.batches_over_200;
    RETURN NULL;
END
$$;

CREATE TRIGGER fleet_batches_inserted AFTER INSERT ON batches
    REFERENCING NEW TABLE AS fleet_new_batches FOR EACH STATEMENT EXECUTE FUNCTION fleet_batches_inserted();

-- Rows already there when this migration runs.
DO $$
BEGIN
    EXECUTE fleet_rollups_sql('SELECT r.*, 1 AS sign FROM requests r');
    EXECUTE fleet_ttfb_sql('SELECT r.*, 1 AS sign FROM requests r');
END
$$;
