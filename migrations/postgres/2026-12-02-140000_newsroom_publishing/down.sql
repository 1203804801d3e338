DROP TABLE preview_links;
DROP TABLE article_corrections;
DROP INDEX articles_embargo_until;
DROP INDEX articles_unpublish_due;
ALTER TABLE articles DROP COLUMN unpublish_at;
ALTER TABLE articles DROP COLUMN embargo_until;
