-- Newsroom publishing (PRODUCT.md §10): embargoes, scheduled unpublishing, corrections that
-- cannot be erased, and preview links for front ends.

-- Before this time the article is not public in any form (previews excepted).
ALTER TABLE articles ADD COLUMN embargo_until TIMESTAMP;
-- From this time the article leaves every public surface (worked out at read time).
ALTER TABLE articles ADD COLUMN unpublish_at TIMESTAMP;
-- The scheduler's question: which public articles are due to leave?
CREATE INDEX articles_unpublish_due ON articles (unpublish_at) WHERE unpublish_at IS NOT NULL;
-- The response cache asks when the next embargo ends.
CREATE INDEX articles_embargo_until ON articles (embargo_until) WHERE embargo_until IS NOT NULL;

-- Append-only: no route edits or deletes a correction; they go only with their article.
CREATE TABLE article_corrections (
    id TEXT PRIMARY KEY NOT NULL,
    article_id TEXT NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    text TEXT NOT NULL,
    published_at TIMESTAMP NOT NULL,
    created_by TEXT REFERENCES users (id) ON DELETE SET NULL
);
CREATE INDEX article_corrections_article ON article_corrections (article_id, published_at, id);
CREATE INDEX article_corrections_recent ON article_corrections (published_at DESC, id DESC);

-- Only a hash of each token is kept; the token itself is shown once, at creation.
CREATE TABLE preview_links (
    id TEXT PRIMARY KEY NOT NULL,
    article_id TEXT NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    created_by TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);
CREATE INDEX preview_links_article ON preview_links (article_id, created_at);
