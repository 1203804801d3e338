//! Keyset pagination shared by every list: `limit` (1–100, default 20) and an opaque `cursor`
//! that carries the sort key of the last item, signed so a tampered cursor is refused (400).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiError;

pub const DEFAULT_LIMIT: i64 = 20;
pub const MAX_LIMIT: i64 = 100;

/// `?limit=&cursor=` of every list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page, 1–100 (default 20).
    #[param(minimum = 1, maximum = 100, example = 20)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A page of items.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub data: Vec<T>,
    /// Pass as `cursor` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// Signs and reads cursors with a key derived from the server secret.
#[derive(Clone)]
pub struct CursorCodec {
    key: Vec<u8>,
}

impl CursorCodec {
    pub fn new(secret: &[u8]) -> Self {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).unwrap_or_else(|_| {
            <Hmac<Sha256> as Mac>::new_from_slice(b"masthead").unwrap_or_else(|_| unreachable!())
        });
        mac.update(b"masthead cursor key");
        CursorCodec {
            key: mac.finalize().into_bytes().to_vec(),
        }
    }

    fn mac(&self, payload: &[u8]) -> Vec<u8> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key).unwrap_or_else(|_| unreachable!());
        mac.update(payload);
        mac.finalize().into_bytes()[..16].to_vec()
    }

    pub fn encode<K: Serialize>(&self, key: &K) -> String {
        let payload = serde_json::to_vec(key).unwrap_or_default();
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&payload),
            URL_SAFE_NO_PAD.encode(self.mac(&payload))
        )
    }

    pub fn decode<K: DeserializeOwned>(&self, cursor: &str) -> Result<K, ApiError> {
        let bad = || ApiError::BadRequest("The cursor is not valid; start again from the first page".into());
        let (payload, mac) = cursor.split_once('.').ok_or_else(bad)?;
        let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| bad())?;
        let mac = URL_SAFE_NO_PAD.decode(mac).map_err(|_| bad())?;
        if mac.len() != 16 || !constant_time_eq(&mac, &self.mac(&payload)) {
            return Err(bad());
        }
        serde_json::from_slice(&payload).map_err(|_| bad())
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A validated page request.
#[derive(Debug, Clone)]
pub struct PageRequest<K> {
    pub limit: i64,
    pub after: Option<K>,
}

impl PageQuery {
    pub fn parse<K: DeserializeOwned>(&self, codec: &CursorCodec) -> Result<PageRequest<K>, ApiError> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ApiError::BadRequest(format!(
                "limit must be between 1 and {MAX_LIMIT}, not {limit}"
            )));
        }
        let after = match self.cursor.as_deref().filter(|c| !c.is_empty()) {
            Some(cursor) => Some(codec.decode(cursor)?),
            None => None,
        };
        Ok(PageRequest { limit, after })
    }
}

/// Builds a page from `limit + 1` fetched rows: the extra row proves there is a next page.
pub fn paginate<R, T, K: Serialize>(
    mut rows: Vec<R>,
    limit: i64,
    codec: &CursorCodec,
    key_of: impl Fn(&R) -> K,
    map: impl FnMut(R) -> T,
) -> Page<T> {
    let has_more = rows.len() as i64 > limit;
    rows.truncate(limit.max(0) as usize);
    let next_cursor = if has_more {
        rows.last().map(|last| codec.encode(&key_of(last)))
    } else {
        None
    };
    Page {
        data: rows.into_iter().map(map).collect(),
        next_cursor,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_tampering_is_refused() {
        let codec = CursorCodec::new(b"secret");
        let cursor = codec.encode(&("2026-01-01T00:00:00Z", "abc"));
        let back: (String, String) = codec.decode(&cursor).unwrap();
        assert_eq!(back.1, "abc");
        let mut tampered = cursor.clone();
        tampered.insert(2, 'x');
        assert!(codec.decode::<(String, String)>(&tampered).is_err());
        assert!(codec.decode::<(String, String)>("garbage").is_err());
        let other = CursorCodec::new(b"other secret");
        assert!(other.decode::<(String, String)>(&cursor).is_err());
    }
}
