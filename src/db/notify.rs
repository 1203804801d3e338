//! Cache purges across instances on PostgreSQL (PRODUCT.md §9): a write's stale surrogate keys
//! go out with `pg_notify` inside its transaction (so they are delivered exactly when it
//! commits, and never for a rollback), and every instance keeps one connection listening on the
//! channel and purges its own response cache from what arrives. An instance skips its own
//! notices (it purged as it committed). A listener that loses its connection reconnects and
//! purges everything, since it may have missed notices meanwhile.

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

/// Starts the listener of this instance on its own thread and connection. `purge` is called
/// for each notice from another instance; when it returns `false` (the cache it fed is gone:
/// the server stopped) the thread ends and closes its connection.
pub fn listen(url: String, instance: String, purge: Box<dyn Fn(Purge) -> bool + Send>) {
    let spawned = std::thread::Builder::new()
        .name("masthead-purge-listener".into())
        .spawn(move || {
            let mut backoff = POLL;
            let mut connected_before = false;
            loop {
                match PgConnection::establish(&url).and_then(|mut conn| {
                    conn.batch_execute(&format!("LISTEN {CHANNEL}"))
                        .map(|_| conn)
                        .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))
                }) {
                    Ok(mut conn) => {
                        backoff = POLL;
                        // Notices sent while no connection listened are lost.
                        if connected_before && !purge(Purge::Everything) {
                            return;
                        }
                        connected_before = true;
                        if !drain(&mut conn, &instance, &purge) {
                            return;
                        }
                        tracing::warn!("the cache purge listener lost its connection; reconnecting");
                    }
                    Err(e) => {
                        // Still wanted? (A stopped server's listener must not retry forever,
                        // nor one whose database was dropped.)
                        if !purge(Purge::Keys(Vec::new())) || e.to_string().contains("does not exist") {
                            return;
                        }
                        tracing::debug!(error = %e, "the cache purge listener cannot connect yet");
                        std::thread::sleep(backoff);
                        backoff = (backoff * 2).min(Duration::from_secs(5));
                    }
                }
            }
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot start the cache purge listener: other instances' writes show after the cache TTL");
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
