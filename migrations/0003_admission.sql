-- Admission: why a request was refused, in words, and how long it waited for a stream slot.

ALTER TABLE requests ADD COLUMN detail TEXT;          -- the refusal message the client received
ALTER TABLE requests ADD COLUMN queue_wait_s REAL;    -- time spent waiting for a stream slot
CREATE INDEX requests_by_reason ON requests (outcome, reason);
