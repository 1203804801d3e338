ALTER TABLE articles DROP COLUMN kicker;
