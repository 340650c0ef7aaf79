-- Batch figures kept on the request row, so analysis over millions of requests need not read
-- the batch table: the largest batch and the time from the first batch to the last.

ALTER TABLE requests ADD COLUMN largest_batch INTEGER NOT NULL DEFAULT 0;
ALTER TABLE requests ADD COLUMN batch_span_s REAL;

UPDATE requests SET
    largest_batch = coalesce((SELECT max(items) FROM batches WHERE request_id = requests.id), 0),
    batch_span_s = (SELECT max(offset_s) - min(offset_s) FROM batches WHERE request_id = requests.id);

-- Covering the analysis's window scan.
CREATE INDEX requests_by_time_outcome ON requests (received_at, outcome);
-- Requests with a batch over a size limit are rare: found without a scan.
CREATE INDEX requests_by_largest_batch ON requests (largest_batch);
