-- The table of shared rate limits (src/ratelimit.rs). On SQLite, where one instance owns the
-- database, limits are kept in the process and this table stays empty; it exists so that both
-- backends have the same schema.
CREATE TABLE rate_limits (
    key TEXT PRIMARY KEY NOT NULL,
    tat BIGINT NOT NULL
);
