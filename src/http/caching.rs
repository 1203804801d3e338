//! HTTP caching for public GETs, shared by every resource: a strong `ETag` (hash of the body),
//! `Last-Modified`, 304 on `If-None-Match` / `If-Modified-Since`, `Cache-Control` with the
//! configured max-age and stale-while-revalidate, and `Surrogate-Key` for exact CDN purges.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::config::Settings;
use crate::error::ApiError;

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

fn if_none_match_hits(req: &HttpRequest, etag: &str) -> Option<bool> {
    let value = req.headers().get(header::IF_NONE_MATCH)?.to_str().ok()?;
    Some(
        value
            .split(',')
            .map(str::trim)
            .any(|tag| tag == "*" || tag == etag || tag.strip_prefix("W/") == Some(etag)),
    )
}

fn not_modified_since(req: &HttpRequest, last_modified: Option<DateTime<Utc>>) -> bool {
    let (Some(lm), Some(value)) = (
        last_modified,
        req.headers()
            .get(header::IF_MODIFIED_SINCE)
            .and_then(|v| v.to_str().ok()),
    ) else {
        return false;
    };
    match DateTime::parse_from_rfc2822(value.trim().replace("GMT", "+0000").as_str()) {
        Ok(since) => lm.timestamp() <= since.timestamp(),
        Err(_) => false,
    }
}

/// A cacheable JSON 200, or a 304 when the client's copy is current. `If-None-Match` wins over
/// `If-Modified-Since` (RFC 9110 §13.2.2).
pub fn respond<T: Serialize>(
    req: &HttpRequest,
    settings: &Settings,
    value: &T,
    info: CacheInfo,
) -> Result<HttpResponse, ApiError> {
    let body = serde_json::to_vec(value).map_err(ApiError::internal)?;
    let etag = etag_of(&body);
    let not_modified = match if_none_match_hits(req, &etag) {
        Some(hit) => hit,
        None => not_modified_since(req, info.last_modified),
    };
    let mut res = if not_modified {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    res.insert_header((header::ETAG, etag));
    if let Some(lm) = info.last_modified {
        res.insert_header((
            header::LAST_MODIFIED,
            lm.format("%a, %d %b %Y %H:%M:%S GMT").to_string(),
        ));
    }
    res.insert_header((
        header::CACHE_CONTROL,
        format!(
            "public, max-age={}, stale-while-revalidate={}",
            settings.cache_max_age, settings.cache_stale_while_revalidate
        ),
    ));
    let mut keys = info.surrogate_keys;
    keys.dedup();
    if let Ok(v) = HeaderValue::from_str(&keys.join(" ")) {
        res.insert_header(("Surrogate-Key", v));
    }
    if not_modified {
        Ok(res.finish())
    } else {
        Ok(res.content_type("application/json").body(body))
    }
}
