-- Every index is paid for on each insert, on the request path's writer. These two are covered
-- by others: (received_at) by requests_by_time_outcome (received_at, outcome), and the
-- refusals of a recent window are found faster through the time than through (outcome, reason).

DROP INDEX requests_by_time;
DROP INDEX requests_by_reason;
