ALTER TABLE articles DROP COLUMN comments_changed_at;
DROP TABLE comment_challenges_used;
DROP TABLE comments;
