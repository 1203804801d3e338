-- When the withdrawal of an image (its rights_expire_at passing) was last recorded as an
-- `image.updated` event, so the scheduler records it once per expiry, with any number of
-- instances (a row is claimed by the UPDATE that sets it).
ALTER TABLE images ADD COLUMN withdrawal_recorded_at TIMESTAMP;
