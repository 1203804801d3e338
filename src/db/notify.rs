//! Cache purges across instances on PostgreSQL (PRODUCT.md §9): a write's stale surrogate keys
//! go out with `pg_notify` inside its transaction (so they are delivered exactly when it
//! commits, and never for a rollback), and every instance keeps one connection listening on the
//! channel and purges its own response cache from what arrives. An instance skips its own
//! notices (it purged as it committed). A listener that loses its connection reconnects and
//! purges everything, since it may have missed notices meanwhile.
//!
//! The listener's connection may have a URL of its own (`MASTHEAD_LISTEN_DATABASE_URL`): behind a
//! transaction-mode pooler `LISTEN` needs a session connection. Its first connection is checked
//! at start ([`connect_checked`]): a notice sent through the pool must reach it, which proves
//! both URLs reach the same database however they are spelled, and that notices are delivered
//! (a transaction-mode pooler would swallow them). A failure stops the start, naming the setting.

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;

use crate::db::StoreError;

/// The channel every instance listens on.
pub const CHANNEL: &str = "masthead_purge";

/// PostgreSQL refuses payloads of 8000 bytes or more; beyond this, "everything" is sent.
const MAX_PAYLOAD: usize = 7900;

/// How often the listener looks for notices: the bound on how long another instance's cache
/// may answer with what a write replaced (plus delivery, a millisecond on a LAN).
pub const POLL: Duration = Duration::from_millis(50);

/// What a notice asks: drop the entries carrying these keys, or drop everything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Purge {
    Keys(Vec<String>),
    Everything,
}

/// The payload: the sending instance, then the keys (or `*`), space-separated.
fn payload(instance: &str, keys: &[String]) -> String {
    let joined = keys.join(" ");
    if joined.len() + instance.len() + 1 > MAX_PAYLOAD {
        format!("{instance} *")
    } else {
        format!("{instance} {joined}")
    }
}

/// Reads a payload; `None` for this instance's own notices.
fn parse(own: &str, payload: &str) -> Option<Purge> {
    let (sender, rest) = payload.split_once(' ').unwrap_or((payload, ""));
    if sender == own {
        return None;
    }
    if rest == "*" {
        return Some(Purge::Everything);
    }
    Some(Purge::Keys(
        rest.split(' ')
            .filter(|k| !k.is_empty())
            .map(str::to_owned)
            .collect(),
    ))
}

/// Sends the keys a write made stale to the other instances, inside its transaction.
pub fn send(conn: &mut PgConnection, instance: &str, keys: &[String]) -> Result<(), StoreError> {
    diesel::sql_query("SELECT pg_notify($1, $2)")
        .bind::<diesel::sql_types::Text, _>(CHANNEL)
        .bind::<diesel::sql_types::Text, _>(payload(instance, keys))
        .execute(conn)?;
    Ok(())
}

/// How long the start-up check waits for its test notice (delivery takes a millisecond; the
/// rest is room for a loaded machine).
const PROBE_WAIT: Duration = Duration::from_secs(5);

/// Why the listener's first connection is refused; the message names the setting to fix.
#[derive(Debug, thiserror::Error)]
#[error("{setting}: {reason}")]
pub struct ListenError {
    setting: &'static str,
    reason: String,
}

/// Opens the listener's connection on `url` and checks it: a notice sent through `db`'s pool
/// on a channel of this instance's own must arrive on it within [`PROBE_WAIT`]. `own_url` says
/// whether `url` came from `MASTHEAD_LISTEN_DATABASE_URL` (for the message).
pub fn connect_checked(url: &str, own_url: bool, db: &crate::db::Db) -> Result<PgConnection, ListenError> {
    let setting = if own_url {
        "MASTHEAD_LISTEN_DATABASE_URL"
    } else {
        "MASTHEAD_DATABASE_URL"
    };
    let fail = |reason: String| ListenError { setting, reason };
    let mut conn = PgConnection::establish(url).map_err(|e| {
        fail(format!(
            "the cache-purge listener cannot connect: {}",
            e.to_string().trim().replace('\n', " ")
        ))
    })?;
    let probe = format!("masthead_probe_{}", db.instance());
    conn.batch_execute(&format!("LISTEN {probe}"))
        .map_err(|e| fail(format!("the cache-purge listener cannot LISTEN: {e}")))?;
    let mut pooled = db
        .get()
        .map_err(|e| fail(format!("cannot send the listener's test notice: {e}")))?;
    if let crate::db::DbConn::Postgres(pg) = &mut *pooled {
        diesel::sql_query("SELECT pg_notify($1, 'probe')")
            .bind::<diesel::sql_types::Text, _>(&probe)
            .execute(pg)
            .map_err(|e| fail(format!("cannot send the listener's test notice: {e}")))?;
    }
    drop(pooled);
    let deadline = std::time::Instant::now() + PROBE_WAIT;
    'wait: loop {
        for notice in conn.notifications_iter() {
            match notice {
                Ok(n) if n.channel == probe => break 'wait,
                Ok(_) => {}
                Err(e) => return Err(fail(format!("the cache-purge listener lost its connection: {e}"))),
            }
        }
        if std::time::Instant::now() > deadline {
            return Err(fail(format!(
                "a test notice sent through MASTHEAD_DATABASE_URL did not reach the cache-purge \
                 listener within {} s: the two URLs reach different databases, or a \
                 transaction-mode pooler is in between (point MASTHEAD_LISTEN_DATABASE_URL at \
                 PostgreSQL itself or a session-mode pool)",
                PROBE_WAIT.as_secs()
            )));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    conn.batch_execute(&format!("UNLISTEN {probe}; LISTEN {CHANNEL}"))
        .map_err(|e| fail(format!("the cache-purge listener cannot LISTEN: {e}")))?;
    Ok(conn)
}

/// Starts the listener of this instance on its own thread, on `first` (from
/// [`connect_checked`]) and then on new connections to `url` whenever one is lost. `purge` is
/// called for each notice from another instance; when it returns `false` (the cache it fed is
/// gone: the server stopped) the thread ends and closes its connection.
pub fn listen(first: PgConnection, url: String, instance: String, purge: Box<dyn Fn(Purge) -> bool + Send>) {
    let spawned = std::thread::Builder::new()
        .name("masthead-purge-listener".into())
        .spawn(move || {
            let mut conn = first;
            loop {
                if !drain(&mut conn, &instance, &purge) {
                    return;
                }
                tracing::warn!("the cache purge listener lost its connection; reconnecting");
                let Some(again) = reconnect(&url, &purge) else {
                    return;
                };
                conn = again;
                // Notices sent while no connection listened are lost.
                if !purge(Purge::Everything) {
                    return;
                }
            }
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot start the cache purge listener: other instances' writes show after the cache TTL");
    }
}

/// A new listening connection, retried with a growing pause; `None` when it is no longer
/// wanted (a stopped server's listener must not retry forever, nor one whose database was
/// dropped).
fn reconnect(url: &str, purge: &dyn Fn(Purge) -> bool) -> Option<PgConnection> {
    let mut backoff = POLL;
    loop {
        match PgConnection::establish(url).and_then(|mut conn| {
            conn.batch_execute(&format!("LISTEN {CHANNEL}"))
                .map(|_| conn)
                .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))
        }) {
            Ok(conn) => return Some(conn),
            Err(e) => {
                if !purge(Purge::Keys(Vec::new())) || e.to_string().contains("does not exist") {
                    return None;
                }
                tracing::debug!(error = %e, "the cache purge listener cannot connect yet");
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// Passes notices on until the connection fails (`true`: reconnect) or `purge` says stop
/// (`false`).
fn drain(conn: &mut PgConnection, instance: &str, purge: &dyn Fn(Purge) -> bool) -> bool {
    loop {
        let mut wanted = true;
        for notice in conn.notifications_iter() {
            match notice {
                Ok(notice) => {
                    if let Some(what) = parse(instance, &notice.payload) {
                        wanted = purge(what);
                    }
                }
                Err(_) => return true,
            }
        }
        // An idle poll still asks whether the cache is alive.
        if !wanted || !purge(Purge::Keys(Vec::new())) {
            return false;
        }
        std::thread::sleep(POLL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_carry_the_keys_and_skip_the_sender() {
        let keys = vec!["article:1".to_owned(), "articles".to_owned()];
        let p = payload("a1", &keys);
        assert_eq!(parse("a1", &p), None);
        assert_eq!(parse("b2", &p), Some(Purge::Keys(keys)));
        let many: Vec<String> = (0..2000).map(|i| format!("article:{i:08}")).collect();
        let p = payload("a1", &many);
        assert!(p.len() < 8000);
        assert_eq!(parse("b2", &p), Some(Purge::Everything));
    }
}
