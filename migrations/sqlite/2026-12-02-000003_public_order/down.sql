DROP INDEX articles_public_at;
ALTER TABLE articles DROP COLUMN public_at;
