ALTER TABLE images DROP COLUMN withdrawal_recorded_at;
