-- What the backend did for each streamed request.

ALTER TABLE requests ADD COLUMN backend_first_item_s REAL;   -- from the stream's start to the backend's first item
ALTER TABLE requests ADD COLUMN backend_items_per_s REAL;    -- items per second, first item to last
ALTER TABLE requests ADD COLUMN prompt_tokens INTEGER;       -- when the server reports usage
ALTER TABLE requests ADD COLUMN completion_tokens INTEGER;
