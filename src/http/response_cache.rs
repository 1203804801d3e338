//! The response cache: serialized public responses with their ETag, `Last-Modified` and
//! `Surrogate-Key`, kept in memory under a size bound and answered (304s included) without the
//! database. Entries are purged precisely: every write names the surrogate keys it makes stale
//! (the keys of the events it records, `db::mark_stale`), and `Db::write` hands them to
//! [`ResponseCache::purge`] right after the commit, before the write's response is sent. Time
//! makes content stale too (a scheduled article's `publish_at` passing): the cache knows the next
//! such moment and, once it has passed, starts again from empty.
//!
//! Why an answer can never be staler than the write that preceded it: a miss takes a
//! [`Ticket`] (the purge count) before it reads the database, and its response is stored only if
//! no purge since then named one of its keys. See docs/architecture.md, "The response cache".

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use actix_web::http::header::HeaderValue;
use actix_web::web::Bytes;
use chrono::{DateTime, Utc};

/// One cached response: the body and the header values it is sent with, formatted once.
pub struct CachedResponse {
    pub body: Bytes,
    pub etag: HeaderValue,
    pub last_modified: Option<(DateTime<Utc>, HeaderValue)>,
    pub surrogate_key: Option<HeaderValue>,
    /// `Cache-Control`, formatted once from the settings.
    pub cache_control: HeaderValue,
    pub content_type: HeaderValue,
    /// The surrogate keys, each once: what purges this entry.
    keys: Vec<String>,
}

impl CachedResponse {
    pub fn new(
        body: Bytes,
        etag: HeaderValue,
        last_modified: Option<(DateTime<Utc>, HeaderValue)>,
        keys: Vec<String>,
        cache_control: HeaderValue,
        content_type: HeaderValue,
    ) -> Self {
        // The header keeps the handler's order (collection first), each key once.
        let mut seen = HashSet::new();
        let in_order: Vec<&str> = keys
            .iter()
            .map(String::as_str)
            .filter(|k| seen.insert(*k))
            .collect();
        let surrogate_key = HeaderValue::from_str(&in_order.join(" ")).ok();
        let mut keys = keys;
        keys.sort_unstable();
        keys.dedup();
        CachedResponse {
            body,
            etag,
            last_modified,
            surrogate_key,
            cache_control,
            content_type,
            keys,
        }
    }

    fn weight(&self) -> u32 {
        let keys: usize = self.keys.iter().map(|k| k.len() + 24).sum();
        u32::try_from(self.body.len() + keys + 256).unwrap_or(u32::MAX)
    }
}

/// The purge count when a miss started reading; see the module comment.
#[derive(Debug, Clone, Copy)]
pub struct Ticket(u64);

/// What one purge named.
enum Purged {
    Keys(Vec<String>),
    Everything,
}

/// Purges remembered so that a miss that overlapped one can tell whether it read stale data.
/// A miss older than this history is simply not stored.
const PURGE_HISTORY: usize = 4096;

/// `next_due` when it must be asked of the database again (after a write that may have changed
/// a scheduled time); no hit is served until then.
const DUE_UNKNOWN: i64 = i64::MIN;
/// `next_due` when nothing is scheduled.
const NOTHING_DUE: i64 = i64::MAX;

struct Index {
    /// Surrogate key → cache keys of entries carrying it. May name entries that were evicted
    /// since; [`Index::compact`] rebuilds it when it grows well beyond the cache.
    by_key: HashMap<String, HashSet<Arc<str>>>,
    /// Number of purges so far.
    purges: u64,
    /// The latest purges, newest last, with their number.
    history: VecDeque<(u64, Purged)>,
    /// Cache keys recorded in `by_key`, counted with repeats, to know when to compact.
    indexed: usize,
    /// The next scheduled moment known to have passed by the time `next_due` was set: once it is
    /// reached, every entry may be stale.
    due_known: i64,
}

/// The cache of public responses, shared by every worker of a server.
pub struct ResponseCache {
    entries: Option<moka::sync::Cache<Arc<str>, Arc<CachedResponse>>>,
    index: Mutex<Index>,
    /// Milliseconds since the epoch of the next moment a scheduled change becomes due
    /// ([`DUE_UNKNOWN`], [`NOTHING_DUE`]); hits are served only before it.
    next_due: AtomicI64,
    /// Requests answered from the cache, and answered from the database (for `/metrics`).
    hits: AtomicU64,
    misses: AtomicU64,
    /// Entries dropped by purges.
    purged: AtomicU64,
}

impl ResponseCache {
    /// A cache holding at most `max_bytes` of responses for at most `ttl` each; `max_bytes == 0`
    /// makes a cache that stores nothing.
    pub fn new(max_bytes: u64, ttl: Duration) -> Self {
        let entries = (max_bytes > 0 && !ttl.is_zero()).then(|| {
            moka::sync::Cache::builder()
                .max_capacity(max_bytes)
                .weigher(|_key: &Arc<str>, value: &Arc<CachedResponse>| value.weight())
                .time_to_live(ttl)
                .build()
        });
        ResponseCache {
            entries,
            index: Mutex::new(Index {
                by_key: HashMap::new(),
                purges: 0,
                history: VecDeque::new(),
                indexed: 0,
                due_known: DUE_UNKNOWN,
            }),
            next_due: AtomicI64::new(DUE_UNKNOWN),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            purged: AtomicU64::new(0),
        }
    }

    pub fn is_enabled(&self) -> bool {
        self.entries.is_some()
    }

    /// The cached response for `key`, if there is one and no scheduled change has come due.
    pub fn get(&self, key: &str, now: DateTime<Utc>) -> Option<Arc<CachedResponse>> {
        let entries = self.entries.as_ref()?;
        let hit = if now.timestamp_millis() >= self.next_due.load(Ordering::Acquire) {
            None
        } else {
            entries.get(key)
        };
        let counter = if hit.is_some() { &self.hits } else { &self.misses };
        counter.fetch_add(1, Ordering::Relaxed);
        hit
    }

    /// Whether the next scheduled moment must be (re)read before responses can be stored: it is
    /// unknown, or it has passed.
    pub fn needs_due_time(&self, now: DateTime<Utc>) -> bool {
        self.entries.is_some() && now.timestamp_millis() >= self.next_due.load(Ordering::Acquire)
    }

    /// Takes a ticket before reading the database for a miss (or for the next due time).
    pub fn ticket(&self) -> Ticket {
        Ticket(self.lock().purges)
    }

    /// Sets the next moment a scheduled change comes due, as read from the database after
    /// `ticket`; `None` when nothing is scheduled. If the previously known moment has passed,
    /// everything cached before it is dropped first.
    pub fn set_next_due(&self, ticket: Ticket, due: Option<DateTime<Utc>>, now: DateTime<Utc>) {
        let Some(entries) = &self.entries else { return };
        let mut index = self.lock();
        let now_ms = now.timestamp_millis();
        if index.due_known != DUE_UNKNOWN && index.due_known <= now_ms {
            index.drop_everything(entries);
            index.due_known = DUE_UNKNOWN;
        }
        // A write that may have moved a scheduled time since the ticket makes this reading
        // unreliable; the next miss asks again.
        if index.touched_since(ticket, |keys| {
            keys.iter()
                .any(|k| k.starts_with("article:") || k.starts_with("image:"))
        }) {
            return;
        }
        let due_ms = due.map_or(NOTHING_DUE, |d| d.timestamp_millis());
        index.due_known = due_ms;
        self.next_due.store(due_ms, Ordering::Release);
    }

    /// Stores a response read after `ticket`, unless a purge since then named one of its keys
    /// (it may then hold what that write replaced) or a scheduled moment is due.
    pub fn insert(&self, ticket: Ticket, key: &str, response: Arc<CachedResponse>, now: DateTime<Utc>) {
        let Some(entries) = &self.entries else { return };
        if now.timestamp_millis() >= self.next_due.load(Ordering::Acquire) {
            return;
        }
        let mut index = self.lock();
        if index.touched_since(ticket, |purged| {
            purged.iter().any(|k| response.keys.binary_search(k).is_ok())
        }) {
            return;
        }
        let key: Arc<str> = Arc::from(key);
        for k in &response.keys {
            index.by_key.entry(k.clone()).or_default().insert(key.clone());
        }
        index.indexed += response.keys.len();
        entries.insert(key, response);
        if index.indexed > 64 * 1024 && index.indexed as u64 > 8 * entries.entry_count().max(1024) {
            index.compact(entries);
        }
    }

    /// Drops every entry that carries one of `keys`. Called after a write committed, before its
    /// response is sent. A key naming an article or an image may also move a scheduled time, so
    /// the next due time is read again before the next hit.
    pub fn purge(&self, keys: &[String]) {
        let Some(entries) = &self.entries else { return };
        if keys.is_empty() {
            return;
        }
        let mut index = self.lock();
        index.purges += 1;
        let n = index.purges;
        for k in keys {
            if let Some(stale) = index.by_key.remove(k) {
                index.indexed = index.indexed.saturating_sub(stale.len());
                for key in stale {
                    if entries.remove(&key).is_some() {
                        self.purged.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }
        if keys
            .iter()
            .any(|k| k.starts_with("article:") || k.starts_with("image:"))
        {
            self.next_due.store(DUE_UNKNOWN, Ordering::Release);
        }
        index.remember(n, Purged::Keys(keys.to_vec()));
    }

    /// Drops every entry (another instance's notices may have been missed).
    pub fn purge_everything(&self) {
        let Some(entries) = &self.entries else { return };
        self.lock().drop_everything(entries);
        self.next_due.store(DUE_UNKNOWN, Ordering::Release);
    }

    /// The cache's counters in the Prometheus text format.
    pub fn render_metrics(&self) -> String {
        let (entries, bytes) = self
            .entries
            .as_ref()
            .map_or((0, 0), |e| (e.entry_count(), e.weighted_size()));
        format!(
            "# HELP masthead_response_cache_hits_total Public GETs answered from the response cache.\n\
             # TYPE masthead_response_cache_hits_total counter\n\
             masthead_response_cache_hits_total {}\n\
             # HELP masthead_response_cache_misses_total Public GETs answered from the database.\n\
             # TYPE masthead_response_cache_misses_total counter\n\
             masthead_response_cache_misses_total {}\n\
             # HELP masthead_response_cache_purged_total Cached responses dropped because a write made them stale.\n\
             # TYPE masthead_response_cache_purged_total counter\n\
             masthead_response_cache_purged_total {}\n\
             # HELP masthead_response_cache_entries Responses held (approximate).\n\
             # TYPE masthead_response_cache_entries gauge\n\
             masthead_response_cache_entries {entries}\n\
             # HELP masthead_response_cache_bytes Bytes held, as weighed (approximate).\n\
             # TYPE masthead_response_cache_bytes gauge\n\
             masthead_response_cache_bytes {bytes}\n",
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
            self.purged.load(Ordering::Relaxed),
        )
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Index> {
        // The index holds no invariant a panic could break halfway that matters more than
        // serving: take it even if a holder panicked.
        self.index.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Index {
    /// One purge of every entry, remembered as such so no miss that overlapped it is stored.
    fn drop_everything(&mut self, entries: &moka::sync::Cache<Arc<str>, Arc<CachedResponse>>) {
        self.purges += 1;
        let n = self.purges;
        self.remember(n, Purged::Everything);
        self.by_key.clear();
        self.indexed = 0;
        entries.invalidate_all();
    }

    fn remember(&mut self, n: u64, purged: Purged) {
        self.history.push_back((n, purged));
        while self.history.len() > PURGE_HISTORY {
            self.history.pop_front();
        }
    }

    /// Whether a purge after `ticket` matched `names` (or cleared everything), or whether the
    /// history no longer reaches back to it.
    fn touched_since(&self, ticket: Ticket, names: impl Fn(&[String]) -> bool) -> bool {
        if self.purges == ticket.0 {
            return false;
        }
        match self.history.front() {
            Some((oldest, _)) if *oldest <= ticket.0 + 1 => {}
            _ => return true,
        }
        self.history
            .iter()
            .filter(|(n, _)| *n > ticket.0)
            .any(|(_, purged)| match purged {
                Purged::Everything => true,
                Purged::Keys(keys) => names(keys),
            })
    }

    /// Rebuilds `by_key` from the entries the cache still holds.
    fn compact(&mut self, entries: &moka::sync::Cache<Arc<str>, Arc<CachedResponse>>) {
        self.by_key.clear();
        self.indexed = 0;
        for (key, response) in entries.iter() {
            for k in &response.keys {
                self.by_key.entry(k.clone()).or_default().insert(Arc::clone(&key));
            }
            self.indexed += response.keys.len();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(keys: &[&str]) -> Arc<CachedResponse> {
        Arc::new(CachedResponse::new(
            Bytes::from_static(b"{}"),
            HeaderValue::from_static("\"x\""),
            None,
            keys.iter().map(|k| (*k).to_owned()).collect(),
            HeaderValue::from_static("public"),
            HeaderValue::from_static("application/json"),
        ))
    }

    fn ready(cache: &ResponseCache, now: DateTime<Utc>) {
        let t = cache.ticket();
        cache.set_next_due(t, None, now);
    }

    #[test]
    fn a_purge_drops_only_the_entries_that_carry_its_keys() {
        let cache = ResponseCache::new(1 << 20, Duration::from_secs(60));
        let now = Utc::now();
        ready(&cache, now);
        let t = cache.ticket();
        cache.insert(t, "/a", response(&["article:1", "articles"]), now);
        cache.insert(t, "/b", response(&["article:2", "articles"]), now);
        cache.insert(t, "/site", response(&["site"]), now);
        cache.purge(&["article:1".to_owned()]);
        // An article's key may have moved a scheduled time: read it again before serving.
        assert!(cache.needs_due_time(now));
        ready(&cache, now);
        assert!(cache.get("/a", now).is_none());
        assert!(cache.get("/b", now).is_some());
        cache.purge(&["site".to_owned()]);
        assert!(cache.get("/site", now).is_none());
        assert!(cache.get("/b", now).is_some());
    }

    #[test]
    fn a_miss_that_overlapped_a_purge_of_its_keys_is_not_stored() {
        let cache = ResponseCache::new(1 << 20, Duration::from_secs(60));
        let now = Utc::now();
        ready(&cache, now);
        let before = cache.ticket();
        cache.purge(&["tag:harbour".to_owned()]);
        cache.insert(before, "/stale", response(&["tag:harbour"]), now);
        cache.insert(before, "/unrelated", response(&["tag:ferry"]), now);
        // The purge named a tag; no scheduled time moved, so hits are still allowed.
        assert!(cache.get("/stale", now).is_none());
        assert!(cache.get("/unrelated", now).is_some());
    }

    #[test]
    fn nothing_is_served_past_the_next_due_time_and_everything_older_is_dropped() {
        let cache = ResponseCache::new(1 << 20, Duration::from_secs(60));
        let now = Utc::now();
        let due = now + chrono::Duration::seconds(5);
        let t = cache.ticket();
        cache.set_next_due(t, Some(due), now);
        cache.insert(cache.ticket(), "/list", response(&["articles"]), now);
        assert!(cache.get("/list", now).is_some());
        let later = due + chrono::Duration::milliseconds(1);
        assert!(cache.get("/list", later).is_none());
        assert!(cache.needs_due_time(later));
        let t = cache.ticket();
        cache.set_next_due(t, None, later);
        assert!(
            cache.get("/list", later).is_none(),
            "entries from before the due time are gone"
        );
    }

    #[test]
    fn an_article_write_makes_the_due_time_unknown_until_read_again() {
        let cache = ResponseCache::new(1 << 20, Duration::from_secs(60));
        let now = Utc::now();
        ready(&cache, now);
        cache.insert(cache.ticket(), "/site", response(&["site"]), now);
        cache.purge(&["article:9".to_owned()]);
        assert!(cache.get("/site", now).is_none());
        assert!(cache.needs_due_time(now));
        ready(&cache, now);
        assert!(cache.get("/site", now).is_some());
    }

    #[test]
    fn a_disabled_cache_stores_nothing() {
        let cache = ResponseCache::new(0, Duration::from_secs(60));
        let now = Utc::now();
        ready(&cache, now);
        cache.insert(cache.ticket(), "/a", response(&["a"]), now);
        assert!(cache.get("/a", now).is_none());
        assert!(!cache.needs_due_time(now));
    }
}
