-- Secrets this installation generated for itself. Today one row: the development token secret,
-- kept so that logins survive a restart when MASTHEAD_JWT_SECRET is unset (development only;
-- production refuses to start without MASTHEAD_JWT_SECRET and never reads this table).
CREATE TABLE local_secrets (
    name TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
