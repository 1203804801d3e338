-- Uploaded images: what was stored (type, size, dimensions as displayed, sha256 of the stored
-- original, which also deduplicates identical uploads) and the newsroom's metadata.
CREATE TABLE images (
    id TEXT PRIMARY KEY NOT NULL,
    content_type TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    bytes BIGINT NOT NULL,
    sha256 TEXT NOT NULL UNIQUE,
    -- Where the original lives in the media store (e.g. originals/<id>.jpg).
    storage_key TEXT NOT NULL,
    caption TEXT,
    credit TEXT,
    source TEXT,
    alt_text TEXT,
    copyright TEXT,
    focal_x REAL NOT NULL DEFAULT 0.5,
    focal_y REAL NOT NULL DEFAULT 0.5,
    created_by TEXT REFERENCES users(id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX images_created ON images (created_at, id);
