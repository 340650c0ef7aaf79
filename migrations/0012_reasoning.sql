-- A reasoning model's thinking, which `reasoning: drop` does not stream: how many pieces the
-- server sent and the seconds from the first to the last (NULL when the model did not think).
ALTER TABLE requests ADD COLUMN reasoning_items INTEGER NOT NULL DEFAULT 0;
ALTER TABLE requests ADD COLUMN reasoning_s REAL;
