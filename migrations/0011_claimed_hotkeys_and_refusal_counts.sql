-- Refusals of requests whose signature never verified: the hotkey they named is only a claim
-- (validator_hotkey stays NULL), and a flood of them is one row per source address, reason
-- and second, standing for `count` refusals.
ALTER TABLE requests ADD COLUMN claimed_hotkey TEXT;
ALTER TABLE requests ADD COLUMN count INTEGER NOT NULL DEFAULT 1;
