DROP TABLE IF EXISTS article_revisions;
DROP TABLE IF EXISTS article_tags;
DROP TABLE IF EXISTS tags;
DROP TABLE IF EXISTS article_authors;
DROP TABLE IF EXISTS article_slugs;
DROP TABLE IF EXISTS articles;
