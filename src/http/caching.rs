//! HTTP caching for public GETs, shared by every resource: a strong `ETag` (hash of the body),
//! `Last-Modified`, 304 on `If-None-Match` / `If-Modified-Since`, `Cache-Control` with the
//! configured max-age and stale-while-revalidate, and `Surrogate-Key` for exact CDN purges;
//! every such response goes through the in-process response cache (`http::response_cache`).

use std::future::Future;
use std::sync::Arc;

use actix_web::http::header::{self, HeaderValue};
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::config::Settings;
use crate::db::Db;
use crate::error::ApiError;
use crate::http::conditional;
use crate::http::response_cache::{CachedResponse, ResponseCache};
use crate::time::now;

/// What a public response depends on, for the caching headers.
#[derive(Debug, Default, Clone)]
pub struct CacheInfo {
    /// When the newest thing in the response last changed.
    pub last_modified: Option<DateTime<Utc>>,
    /// Surrogate keys such as `article:<id>`, `tag:<slug>`, `articles`, `site`.
    pub surrogate_keys: Vec<String>,
}

impl CacheInfo {
    pub fn new(keys: impl IntoIterator<Item = String>) -> Self {
        CacheInfo {
            last_modified: None,
            surrogate_keys: keys.into_iter().collect(),
        }
    }

    /// Keeps the latest of the given times as `Last-Modified`.
    pub fn modified(mut self, at: impl IntoIterator<Item = DateTime<Utc>>) -> Self {
        for t in at {
            if self.last_modified.is_none_or(|lm| t > lm) {
                self.last_modified = Some(t);
            }
        }
        self
    }
}

/// The strong ETag of a body.
pub fn etag_of(body: &[u8]) -> String {
    format!("\"{}\"", &hex::encode(Sha256::digest(body))[..32])
}

/// What a public handler computed on a miss: a response to cache, or one that is not cached
/// (a redirect).
pub enum Fresh<T> {
    /// A value sent as JSON.
    Cacheable(T, CacheInfo),
    /// Bytes already rendered (a feed, a sitemap), sent with their content type.
    Rendered(Vec<u8>, &'static str, CacheInfo),
    Uncached(HttpResponse),
}

/// Answers a public GET from the response cache when it can, and otherwise from `compute`,
/// storing what that returns. A hit, 304 included, touches neither the database nor serde.
/// The key is the path and the query string as sent.
pub async fn cached<T, F, Fut>(
    req: &HttpRequest,
    settings: &Settings,
    cache: &ResponseCache,
    db: &Db,
    compute: F,
) -> Result<HttpResponse, ApiError>
where
    T: Serialize,
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<Fresh<T>, ApiError>>,
{
    let key = cache_key(req);
    // After an article or image write, or once a scheduled moment has passed, the cache first
    // learns the next such moment; until it knows, it serves nothing.
    if cache.needs_due_time(Utc::now()) {
        let ticket = cache.ticket();
        let due = db.run(|conn| next_change_by_time(conn, now())).await?;
        cache.set_next_due(ticket, due, Utc::now());
    }
    if let Some(hit) = cache.get(&key, Utc::now()) {
        return Ok(answer(req, &hit));
    }
    let ticket = cache.ticket();
    match compute().await? {
        Fresh::Uncached(response) => Ok(response),
        Fresh::Cacheable(value, info) => {
            let body = serde_json::to_vec(&value).map_err(ApiError::internal)?;
            let entry = Arc::new(entry_of(body, "application/json", info, cache_control(settings))?);
            cache.insert(ticket, &key, entry.clone(), Utc::now());
            Ok(answer(req, &entry))
        }
        Fresh::Rendered(body, content_type, info) => {
            let entry = Arc::new(entry_of(body, content_type, info, cache_control(settings))?);
            cache.insert(ticket, &key, entry.clone(), Utc::now());
            Ok(answer(req, &entry))
        }
    }
}

/// The next moment public responses change by time alone, after `at`: an article becoming
/// public (its scheduled `publish_at`) or an image being withdrawn (its `rights_expire_at`: the
/// articles showing it change). Each is one index probe. A new kind of timed change (an
/// article's `unpublish_at`, an embargo lifting) joins here.
fn next_change_by_time(
    conn: &mut crate::db::DbConn,
    at: chrono::NaiveDateTime,
) -> Result<Option<DateTime<Utc>>, crate::db::StoreError> {
    let moments = [
        crate::articles::store::next_public_change(conn, at)?,
        crate::images::store::next_rights_expiry(conn, at)?,
    ];
    Ok(moments.into_iter().flatten().min().map(|t| t.and_utc()))
}

fn cache_key(req: &HttpRequest) -> String {
    let (path, query) = (req.path(), req.query_string());
    let mut key = String::with_capacity(path.len() + query.len() + 1);
    key.push_str(path);
    if !query.is_empty() {
        key.push('?');
        key.push_str(query);
    }
    key
}

/// The `Cache-Control` of public GETs (`MASTHEAD_CACHE_MAX_AGE`, `…_STALE_WHILE_REVALIDATE`).
pub fn cache_control(settings: &Settings) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "public, max-age={}, stale-while-revalidate={}",
        settings.cache_max_age, settings.cache_stale_while_revalidate
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("public"))
}

/// A response body serialized once, with its ETag and headers.
fn entry_of(
    body: Vec<u8>,
    content_type: &'static str,
    info: CacheInfo,
    cache_control: HeaderValue,
) -> Result<CachedResponse, ApiError> {
    let etag = HeaderValue::from_str(&etag_of(&body)).map_err(ApiError::internal)?;
    let last_modified = info.last_modified.and_then(|lm| {
        HeaderValue::from_str(&lm.format("%a, %d %b %Y %H:%M:%S GMT").to_string())
            .ok()
            .map(|v| (lm, v))
    });
    Ok(CachedResponse::new(
        Bytes::from(body),
        etag,
        last_modified,
        info.surrogate_keys,
        cache_control,
        HeaderValue::from_static(content_type),
    ))
}

/// A 200 with the body, or a 304 when the client's copy is current. `If-None-Match` wins over
/// `If-Modified-Since` (RFC 9110 §13.2.2).
fn answer(req: &HttpRequest, entry: &CachedResponse) -> HttpResponse {
    let etag = entry.etag.to_str().unwrap_or_default();
    let not_modified = conditional::not_modified(req, etag, entry.last_modified.as_ref().map(|(lm, _)| *lm));
    let mut res = if not_modified {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    res.insert_header((header::ETAG, entry.etag.clone()));
    if let Some((_, lm)) = &entry.last_modified {
        res.insert_header((header::LAST_MODIFIED, lm.clone()));
    }
    res.insert_header((header::CACHE_CONTROL, entry.cache_control.clone()));
    if let Some(keys) = &entry.surrogate_key {
        res.insert_header(("Surrogate-Key", keys.clone()));
    }
    if not_modified {
        res.finish()
    } else {
        res.insert_header((header::CONTENT_TYPE, entry.content_type.clone()));
        res.body(entry.body.clone())
    }
}
