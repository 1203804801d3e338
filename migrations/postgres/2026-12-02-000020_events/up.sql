-- The outbox: every change a reader or an integrator could notice (PRODUCT.md §7), written in
-- the same transaction as the change itself, so an event exists exactly when its change does.
-- Webhook delivery and cache invalidation read it; `dispatched_at` marks what was handed on.
CREATE TABLE events (
    seq BIGSERIAL PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    event_type TEXT NOT NULL,
    -- What changed, as `<resource>:<id>` (e.g. `article:0193…`).
    subject TEXT NOT NULL,
    -- The resource as the API shows it, JSON.
    data TEXT NOT NULL,
    -- Space-separated Surrogate-Key values a CDN should purge.
    surrogate_keys TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    dispatched_at TIMESTAMP
);
CREATE INDEX events_subject ON events (subject, seq);
CREATE INDEX events_undispatched ON events (seq) WHERE dispatched_at IS NULL;
