-- Rate limits shared by every instance on this database (PRODUCT.md §9, src/ratelimit.rs):
-- per limited key, the time (microseconds since the epoch, the database's clock) at which the
-- key is back to its full burst. Rows past that time are swept now and then.
CREATE TABLE rate_limits (
    key TEXT PRIMARY KEY,
    tat BIGINT NOT NULL
);
