//! The state every request handler shares (settings, database, keys, limiters, caches), built
//! once at start-up. It sits below the handlers and above the parts it holds, so handlers
//! import it without importing the module that wires the routes.

use std::sync::Arc;

use crate::auth::password::Passwords;
use crate::auth::tokens::JwtKeys;
use crate::comments::challenge::Challenges;
use crate::config::Settings;
use crate::db::Db;
use crate::http::response_cache::ResponseCache;
use crate::pagination::CursorCodec;
use crate::ratelimit::KeyedLimiter;

/// State shared by every request handler.
pub struct AppState {
    pub settings: Arc<Settings>,
    pub db: Db,
    pub passwords: Arc<Passwords>,
    pub jwt: JwtKeys,
    pub cursors: CursorCodec,
    pub login_by_address: KeyedLimiter,
    pub login_by_account: KeyedLimiter,
    pub challenges: Challenges,
    pub comment_limiter: KeyedLimiter,
    /// Image bytes (originals and renditions) and the locks that generate each rendition once.
    pub media: Arc<crate::images::Media>,
    /// Wakes this process's webhook worker (a ping or a redelivery is sent at once).
    pub webhooks: crate::webhooks::Wakeup,
    /// Serialized public responses, purged by every committed write of this process.
    pub cache: Arc<ResponseCache>,
    /// Turns for full-text searches (`MASTHEAD_SEARCH_CONCURRENCY`).
    pub searches: Arc<tokio::sync::Semaphore>,
}

impl AppState {
    pub fn new(settings: Arc<Settings>, db: Db) -> anyhow::Result<Self> {
        let secret = settings.jwt_secret_bytes();
        let cache = Arc::new(ResponseCache::new(
            settings.response_cache_bytes,
            settings.response_cache_ttl,
        ));
        let purge = cache.clone();
        db.after_commit(Box::new(move |keys| purge.purge(keys)));
        // Other instances' writes, as they commit (PostgreSQL); the listener ends with the cache.
        if let Some(url) = settings
            .listen_url()
            .filter(|_| db.is_postgres() && cache.is_enabled())
        {
            let first = crate::db::notify::connect_checked(url, settings.listen_database_url.is_some(), &db)?;
            let cache = Arc::downgrade(&cache);
            crate::db::notify::listen(
                first,
                url.to_owned(),
                db.instance().to_owned(),
                Box::new(move |what| {
                    let Some(cache) = cache.upgrade() else {
                        return false;
                    };
                    match what {
                        crate::db::notify::Purge::Keys(keys) => cache.purge(&keys),
                        crate::db::notify::Purge::Everything => cache.purge_everything(),
                    }
                    true
                }),
            );
        }
        Ok(AppState {
            cache,
            searches: Arc::new(tokio::sync::Semaphore::new(settings.search_concurrency.max(1))),
            passwords: Arc::new(Passwords::new(settings.argon2_memory_kib)?),
            jwt: JwtKeys::new(secret, settings.access_token_ttl),
            cursors: CursorCodec::new(secret),
            login_by_address: KeyedLimiter::new(
                "login-address",
                settings.login_max_attempts,
                settings.login_window,
            )
            .shared_through(&db),
            login_by_account: KeyedLimiter::new(
                "login-account",
                settings.login_max_attempts,
                settings.login_window,
            )
            .shared_through(&db),
            challenges: Challenges::new(secret, settings.comment_challenge_ttl.as_secs()),
            comment_limiter: KeyedLimiter::new(
                "comment",
                settings.comments_per_minute,
                std::time::Duration::from_secs(60),
            )
            .shared_through(&db),
            media: Arc::new(crate::images::Media::from_settings(&settings)?),
            webhooks: crate::webhooks::Wakeup::default(),
            db,
            settings,
        })
    }
}
