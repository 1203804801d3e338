-- Webhooks (PRODUCT.md §7): who wants which events, and the log of every delivery and attempt.
-- The worker fans each event of the `events` outbox out into one delivery per matching active
-- webhook, then sends, retries and records each delivery here; nothing lives only in memory.
CREATE TABLE webhooks (
    id TEXT PRIMARY KEY NOT NULL,
    url TEXT NOT NULL,
    -- Space-separated event names, or `*` for every event.
    events TEXT NOT NULL,
    -- The Standard Webhooks signing secret (`whsec_<base64>`). Kept as given because signing
    -- needs it; shown to the client only in the answer that created it.
    secret TEXT NOT NULL,
    description TEXT,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- One event to one webhook. Deleting the webhook deletes its deliveries: pending ones stop.
CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY NOT NULL,
    webhook_id TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    -- The outbox row (`events.seq`) and its id, type and subject, copied for the log.
    event_seq INTEGER NOT NULL,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    subject TEXT NOT NULL,
    -- pending | succeeded | failed
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_status_code INTEGER,
    last_error TEXT,
    -- When a pending delivery may be sent (again).
    next_attempt_at TIMESTAMP,
    -- A worker is sending it until then; after that (a crashed worker) anyone may take it.
    claimed_until TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    delivered_at TIMESTAMP
);
-- The delivery log of a webhook, newest first.
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (webhook_id, created_at, id);
-- What is due, per webhook (the claim goes webhook by webhook).
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (webhook_id, next_attempt_at)
    WHERE status = 'pending';
-- What each webhook has in flight (claimed rows are few: a claim is cleared by its attempt).
CREATE INDEX webhook_deliveries_claimed ON webhook_deliveries (webhook_id, claimed_until)
    WHERE claimed_until IS NOT NULL;
-- Order per subject: a delivery waits while an older one about the same subject is pending.
CREATE INDEX webhook_deliveries_subject ON webhook_deliveries (webhook_id, subject, event_seq)
    WHERE status = 'pending';

-- Every attempt of every delivery, as it happened.
CREATE TABLE webhook_attempts (
    id TEXT PRIMARY KEY NOT NULL,
    delivery_id TEXT NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
    attempt INTEGER NOT NULL,
    started_at TIMESTAMP NOT NULL,
    duration_ms INTEGER NOT NULL,
    status_code INTEGER,
    error TEXT
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, attempt);
