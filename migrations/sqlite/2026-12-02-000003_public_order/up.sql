-- The public filter as one column: `published_at` of a published or scheduled article, NULL for
-- every other status. Public reads ask `public_at <= now ORDER BY public_at DESC, id DESC`, and
-- the partial index below is the only index that matches that predicate and it already gives
-- the order: no planner, with or without statistics, is left a plan that sorts every public row
-- (without ANALYZE, `status IN (…)` made SQLite pick `articles_status` and a temporary B-tree).
-- Virtual: computed when read or indexed, nothing stored twice.
ALTER TABLE articles ADD COLUMN public_at TIMESTAMP
    GENERATED ALWAYS AS (CASE WHEN status IN ('published', 'scheduled') THEN published_at END) VIRTUAL;
CREATE INDEX articles_public_at ON articles (public_at DESC, id DESC) WHERE public_at IS NOT NULL;
