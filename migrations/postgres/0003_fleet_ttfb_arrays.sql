-- The time-to-first-batch histograms of the fleet analysis as one row per period and key, the
-- bucket counts in an array, instead of one row per bucket (0002's fleet_ttfb). A 30-day window
-- over 100 M requests read ~1.9 M bucket rows; it now reads ~25 k arrays (one per key and
-- period), summed by `miners status` itself (Sources/Fleet/FleetAnalysis.swift).
--
-- `counts[i]` is the number of requests in bucket `first_bucket + i - 1` (fleet_ttfb_bucket:
-- -349 to 2000, so at most 2350 counts); the array spans the lowest to the highest bucket seen,
-- zeros between. The statement triggers of 0002 call fleet_ttfb_sql, replaced here: a
-- statement's rows are summed per key and bucket, made into one array per key, and merged into
-- the stored array (fleet_histogram_add), so resends (left out of the transition tables) and
-- corrections (subtracted, then added under their new key) stay exact as before.
--
-- While it runs no host writes requests (their statements wait for the lock below): a request
-- committed during the move would otherwise have its buckets written to fleet_ttfb after the
-- copy and dropped with it.
LOCK TABLE requests IN SHARE MODE;

CREATE TABLE fleet_ttfb_histograms (
    span             bigint           NOT NULL CHECK (span IN (3600, 86400)),
    period_start     double precision NOT NULL,
    host             text             NOT NULL,
    worker           text             NOT NULL,
    miner_hotkey     text             NOT NULL,
    backend          text             NOT NULL,
    batch_size       bigint           NOT NULL,
    validator_hotkey text             NOT NULL,
    first_bucket     integer          NOT NULL CHECK (first_bucket BETWEEN -349 AND 2000),
    -- One dimension from 1, no NULL, within the buckets: what `miners` decodes and sums.
    counts           bigint[]         NOT NULL CHECK (
        cardinality(counts) >= 1 AND array_ndims(counts) = 1 AND array_lower(counts, 1) = 1 AND array_position(counts, NULL) IS NULL
        AND first_bucket + cardinality(counts) - 1 <= 2000),
    PRIMARY KEY (span, period_start, host, worker, miner_hotkey, backend, batch_size, validator_hotkey)
);

-- Sorted buckets (no repeats) and their counts, as (first bucket, dense counts).
CREATE FUNCTION fleet_histogram(buckets integer[], ns bigint[], OUT first_bucket integer, OUT counts bigint[])
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    first_bucket := buckets[1];
    counts := array_fill(0::bigint, ARRAY[buckets[cardinality(buckets)] - first_bucket + 1]);
    FOR i IN 1 .. cardinality(buckets) LOOP
        counts[buckets[i] - first_bucket + 1] := counts[buckets[i] - first_bucket + 1] + ns[i];
    END LOOP;
END
$$;

-- Two histograms added, bucket by bucket; a sum beyond bigint stays at its bound (a stored row
-- edited by hand must not stop a host's replication with an overflow).
CREATE FUNCTION fleet_histogram_add(a_first integer, a bigint[], b_first integer, b bigint[], OUT first_bucket integer, OUT counts bigint[])
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    j integer;
BEGIN
    first_bucket := least(a_first, b_first);
    counts := array_fill(0::bigint, ARRAY[greatest(a_first + cardinality(a), b_first + cardinality(b)) - first_bucket]);
    FOR i IN 1 .. cardinality(a) LOOP
        counts[a_first - first_bucket + i] := a[i];
    END LOOP;
    FOR i IN 1 .. cardinality(b) LOOP
        j := b_first - first_bucket + i;
        counts[j] := CASE
            WHEN b[i] > 0 AND counts[j] > 9223372036854775807 - b[i] THEN 9223372036854775807
            WHEN b[i] < 0 AND counts[j] < -9223372036854775808 - b[i] THEN -9223372036854775808
            ELSE counts[j] + b[i] END;
    END LOOP;
END
$$;

CREATE OR REPLACE FUNCTION fleet_ttfb_sql(source text) RETURNS text LANGUAGE sql IMMUTABLE AS $fn$
    SELECT format($q$
        INSERT INTO fleet_ttfb_histograms AS t (span, period_start, host, worker, miner_hotkey, backend, batch_size, validator_hotkey,
            first_bucket, counts)
        SELECT span, period_start, host, worker, miner_hotkey, backend, batch_size, validator_hotkey, (h).first_bucket, (h).counts
        FROM (
            SELECT span, period_start, host, worker, miner_hotkey, backend, batch_size, validator_hotkey,
                fleet_histogram(array_agg(bucket ORDER BY bucket), array_agg(n ORDER BY bucket)) AS h
            FROM (
                SELECT s.span, floor(r.received_at / s.span) * s.span AS period_start, r.host, r.worker, r.miner_hotkey, r.backend,
                    r.batch_size, coalesce(r.validator_hotkey, '') AS validator_hotkey,
                    fleet_ttfb_bucket(r.first_batch_at - r.received_at) AS bucket, sum(r.sign)::bigint AS n
                FROM (%1$s) r CROSS JOIN (VALUES (3600::bigint), (86400::bigint)) s (span)
                WHERE r.outcome IN ('complete', 'partial_timeout', 'empty_timeout', 'empty', 'stream_error', 'client_disconnect')
                    AND r.first_batch_at IS NOT NULL
                GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9
            ) cells
            GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
        ) keyed
        ON CONFLICT (span, period_start, host, worker, miner_hotkey, backend, batch_size, validator_hotkey)
        DO UPDATE SET (first_bucket, counts) =
            (SELECT * FROM fleet_histogram_add(t.first_bucket, t.counts, excluded.first_bucket, excluded.counts))
    $q$, source)
$fn$;

-- 0002's rows, moved (a bucket outside fleet_ttfb_bucket's range was written by hand: left out).
INSERT INTO fleet_ttfb_histograms (span, period_start, host, worker, miner_hotkey, backend, batch_size, validator_hotkey, first_bucket, counts)
SELECT span, period_start, host, worker, miner_hotkey, backend, batch_size, validator_hotkey, (h).first_bucket, (h).counts
FROM (
    SELECT span, period_start, host, worker, miner_hotkey, backend, batch_size, validator_hotkey,
        fleet_histogram(array_agg(bucket ORDER BY bucket), array_agg(n ORDER BY bucket)) AS h
    FROM fleet_ttfb
    WHERE bucket BETWEEN -349 AND 2000
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
) keyed;

DROP TABLE fleet_ttfb;
