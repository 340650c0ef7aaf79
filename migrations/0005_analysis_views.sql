-- Views for questions asked after the fact: `sqlite3 miners.sqlite 'select * from per_validator'`.

-- One row per request with the derived figures an operator asks about.
CREATE VIEW request_facts AS
SELECT r.*,
       r.first_batch_at - r.received_at                           AS ttfb_s,
       r.finished_at - r.received_at                              AS total_s,
       CASE WHEN r.nonce IS NOT NULL
            THEN r.received_at - r.nonce / 1e9 END                AS arrival_lag_s,
       CASE WHEN r.items_generated > 0
            THEN 1.0 * r.items_sent / r.items_generated END       AS delivered_share,
       (SELECT max(b.items) FROM batches b WHERE b.request_id = r.id) AS largest_batch,
       CASE WHEN r.batches > 1
            THEN ((SELECT max(b.offset_s) FROM batches b WHERE b.request_id = r.id)
                - (SELECT min(b.offset_s) FROM batches b WHERE b.request_id = r.id)) / (r.batches - 1)
       END                                                        AS mean_batch_gap_s
FROM requests r;

-- Outcomes per miner and backend setting.
CREATE VIEW request_outcomes AS
SELECT worker, backend, batch_size, outcome,
       count(*)                 AS requests,
       avg(ttfb_s)              AS mean_ttfb_s,
       avg(delivered_share)     AS mean_delivered_share,
       avg(final_answer_sent)   AS final_answer_rate
FROM request_facts
GROUP BY worker, backend, batch_size, outcome;

-- Answers cut by the worker's deadline: what reached the validator anyway.
CREATE VIEW partial_responses AS
SELECT id, worker, validator_hotkey, datetime(received_at, 'unixepoch') AS received, timeout,
       batches, items_sent, items_unsent, delivered_share, final_answer_sent, ttfb_s
FROM request_facts
WHERE outcome IN ('partial_timeout', 'empty_timeout');

-- Per validator: how often it asks, how often it is refused or timed out, what budget it gives.
CREATE VIEW per_validator AS
SELECT coalesce(validator_hotkey, '-')                                   AS validator_hotkey,
       count(*)                                                          AS requests,
       sum(outcome = 'rejected')                                         AS rejected,
       sum(outcome IN ('partial_timeout', 'empty_timeout'))              AS timeouts,
       sum(outcome = 'complete')                                         AS complete,
       avg(CASE WHEN outcome != 'rejected' THEN timeout END)             AS mean_timeout_s,
       min(received_at)                                                  AS first_seen,
       max(received_at)                                                  AS last_seen
FROM requests
GROUP BY validator_hotkey;
