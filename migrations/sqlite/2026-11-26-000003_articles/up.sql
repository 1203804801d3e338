-- Articles, their slug history, authors, tags and revisions.
CREATE TABLE articles (
    id TEXT PRIMARY KEY NOT NULL,
    slug TEXT NOT NULL UNIQUE,
    headline TEXT NOT NULL,
    standfirst TEXT NOT NULL DEFAULT '',
    dateline TEXT,
    -- The validated blocks as JSON text, the rendered HTML and the plain text (for search).
    body TEXT NOT NULL DEFAULT '[]',
    body_html TEXT NOT NULL DEFAULT '',
    body_text TEXT NOT NULL DEFAULT '',
    -- {"image_id": "...", "caption": "..."} as JSON text, or NULL.
    hero TEXT,
    status TEXT NOT NULL DEFAULT 'draft',
    publish_at TIMESTAMP,
    -- Public when status is published or scheduled AND published_at <= now (read-time scheduling).
    published_at TIMESTAMP,
    comments_enabled BOOLEAN NOT NULL DEFAULT TRUE,
    seo_meta_title TEXT,
    seo_meta_description TEXT,
    seo_og_image TEXT,
    seo_canonical_url TEXT,
    word_count INTEGER NOT NULL DEFAULT 0,
    -- Kept up to date by the comments module (approved comments).
    comment_count INTEGER NOT NULL DEFAULT 0,
    -- Bumped on every save; the ETag is derived from it (If-Match / 412).
    version INTEGER NOT NULL DEFAULT 1,
    created_by TEXT REFERENCES users(id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX articles_public_order ON articles (published_at DESC, id DESC);
CREATE INDEX articles_status ON articles (status, updated_at);

-- Slugs an article had before; the public API answers them with 301 to the current slug.
CREATE TABLE article_slugs (
    slug TEXT PRIMARY KEY NOT NULL,
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX article_slugs_article ON article_slugs (article_id);

CREATE TABLE article_authors (
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    position INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (article_id, user_id)
);
CREATE INDEX article_authors_user ON article_authors (user_id);

CREATE TABLE tags (
    id TEXT PRIMARY KEY NOT NULL,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE article_tags (
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    tag_id TEXT NOT NULL REFERENCES tags(id) ON DELETE CASCADE,
    position INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (article_id, tag_id)
);
CREATE INDEX article_tags_tag ON article_tags (tag_id);

-- Every save of an article: a JSON snapshot of its editable fields.
CREATE TABLE article_revisions (
    id TEXT PRIMARY KEY NOT NULL,
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    snapshot TEXT NOT NULL,
    created_by TEXT,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (article_id, number)
);

-- Full-text search (FTS5), kept in step with articles by triggers; bm25() ranks matches.
-- FTS rows are addressed by an integer rowid mapped to the article id, so a save replaces its
-- row by key instead of scanning the whole index.
CREATE TABLE articles_fts_ids (
    fts_rowid INTEGER PRIMARY KEY,
    article_id TEXT NOT NULL UNIQUE
);
CREATE VIRTUAL TABLE articles_fts USING fts5(
    headline, standfirst, body, tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER articles_fts_insert AFTER INSERT ON articles BEGIN
    INSERT INTO articles_fts_ids (article_id) VALUES (new.id);
    INSERT INTO articles_fts (rowid, headline, standfirst, body)
    VALUES ((SELECT fts_rowid FROM articles_fts_ids WHERE article_id = new.id),
            new.headline, new.standfirst, new.body_text);
END;
CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN
    DELETE FROM articles_fts
    WHERE rowid = (SELECT fts_rowid FROM articles_fts_ids WHERE article_id = old.id);
    DELETE FROM articles_fts_ids WHERE article_id = old.id;
END;
CREATE TRIGGER articles_fts_update AFTER UPDATE OF headline, standfirst, body_text ON articles BEGIN
    DELETE FROM articles_fts
    WHERE rowid = (SELECT fts_rowid FROM articles_fts_ids WHERE article_id = old.id);
    INSERT INTO articles_fts (rowid, headline, standfirst, body)
    VALUES ((SELECT fts_rowid FROM articles_fts_ids WHERE article_id = new.id),
            new.headline, new.standfirst, new.body_text);
END;
