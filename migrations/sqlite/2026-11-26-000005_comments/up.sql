-- Reader comments and the record of used challenge tokens.
CREATE TABLE comments (
    id TEXT PRIMARY KEY NOT NULL,
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    parent_id TEXT REFERENCES comments(id) ON DELETE CASCADE,
    -- The top-level comment of the thread (itself for a top-level comment).
    root_id TEXT NOT NULL,
    depth INTEGER NOT NULL,
    author_name TEXT NOT NULL,
    author_email TEXT,
    body TEXT NOT NULL,
    status TEXT NOT NULL,
    -- HMAC of the poster's network address (never the address itself).
    address_hash TEXT NOT NULL,
    -- Deleted while it had replies: kept so the thread stays readable, body removed.
    removed BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX comments_public ON comments (article_id, depth, status, created_at, id);
CREATE INDEX comments_thread ON comments (root_id);
CREATE INDEX comments_moderation ON comments (status, created_at, id);
CREATE INDEX comments_parent ON comments (parent_id);

-- Nonces of challenge tokens already used; kept until the token would have expired anyway.
CREATE TABLE comment_challenges_used (
    nonce TEXT PRIMARY KEY NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX comment_challenges_used_expiry ON comment_challenges_used (expires_at);

-- When the article's public comments last changed (approval, removal, deletion): the
-- Last-Modified of its comment list.
ALTER TABLE articles ADD COLUMN comments_changed_at TIMESTAMP;
