//! Conditional and range requests (RFC 9110 §13, §14), in one place for every handler:
//! `If-Match` with the strong comparison (a weak tag never matches), `If-None-Match` with the
//! weak comparison, `If-Modified-Since`, and single byte ranges with `If-Range`.

use std::str::FromStr;
use std::time::SystemTime;

use actix_web::HttpRequest;
use actix_web::http::header::{self, HttpDate};
use chrono::{DateTime, Utc};

fn header_text(req: &HttpRequest, name: header::HeaderName) -> Option<&str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// The entity tags of a header, `*` included, as sent.
fn tags(value: &str) -> impl Iterator<Item = &str> {
    value.split(',').map(str::trim).filter(|t| !t.is_empty())
}

/// The `If-Match` precondition of a write: the client's idea of the current version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfMatch(String);

impl IfMatch {
    /// The request's `If-Match`, if it sent one.
    pub fn of(req: &HttpRequest) -> Option<IfMatch> {
        header_text(req, header::IF_MATCH).map(|v| IfMatch(v.to_owned()))
    }

    /// Whether the precondition holds for a resource whose strong tag is `current`: `*`, or
    /// one listed tag equal to it. The comparison is strong (RFC 9110 §13.1.1): `W/"…"` never
    /// matches, even when its opaque part is the current one.
    pub fn holds_for(&self, current: &str) -> bool {
        tags(&self.0).any(|t| t == "*" || t == current)
    }
}

/// Whether a GET may be answered 304 for a resource with the (strong) tag `etag` and the given
/// modification time: `If-None-Match` with the weak comparison (`W/"x"` matches `"x"`, `*`
/// matches anything) takes precedence over `If-Modified-Since` (RFC 9110 §13.2.2).
pub fn not_modified(req: &HttpRequest, etag: &str, last_modified: Option<DateTime<Utc>>) -> bool {
    if let Some(inm) = header_text(req, header::IF_NONE_MATCH) {
        return tags(inm).any(|t| t == "*" || t.strip_prefix("W/").unwrap_or(t) == etag);
    }
    let (Some(lm), Some(since)) = (
        last_modified,
        header_text(req, header::IF_MODIFIED_SINCE).and_then(|v| HttpDate::from_str(v).ok()),
    ) else {
        return false;
    };
    let since: SystemTime = since.into();
    DateTime::<Utc>::from(since).timestamp() >= lm.timestamp()
}

/// What a `Range` header asks of a body of `len` bytes whose strong tag is `etag`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeRequest {
    /// No range (or one we answer with the whole body: several ranges, another unit, an
    /// `If-Range` naming another version).
    Whole,
    /// One satisfiable range, inclusive.
    Part { start: usize, end: usize },
    /// A range outside the body: 416.
    Unsatisfiable,
}

impl RangeRequest {
    pub fn of(req: &HttpRequest, etag: &str, len: usize) -> RangeRequest {
        let Some(range) = header_text(req, header::RANGE) else {
            return RangeRequest::Whole;
        };
        // If-Range with another validator: send the whole, current body.
        if header_text(req, header::IF_RANGE).is_some_and(|v| v != etag) {
            return RangeRequest::Whole;
        }
        parse_range(range, len)
    }
}

/// A single `bytes=a-b` / `bytes=a-` / `bytes=-n` range within `len`. Several ranges are
/// answered with the whole body (allowed by RFC 9110 §14.2).
fn parse_range(value: &str, len: usize) -> RangeRequest {
    parse_range_spec(value, len).unwrap_or(RangeRequest::Whole)
}

fn parse_range_spec(value: &str, len: usize) -> Option<RangeRequest> {
    let spec = value.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (start, end) = spec.split_once('-')?;
    let (start, end) = (start.trim(), end.trim());
    if start.is_empty() {
        let n: usize = end.parse().ok()?;
        if n == 0 || len == 0 {
            return Some(RangeRequest::Unsatisfiable);
        }
        return Some(RangeRequest::Part {
            start: len.saturating_sub(n),
            end: len - 1,
        });
    }
    let s: usize = start.parse().ok()?;
    let e: usize = if end.is_empty() {
        len.saturating_sub(1)
    } else {
        end.parse::<usize>().ok()?.min(len.saturating_sub(1))
    };
    if s >= len || e < s {
        return Some(RangeRequest::Unsatisfiable);
    }
    Some(RangeRequest::Part { start: s, end: e })
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn if_match_is_strong_and_takes_lists_and_star() {
        let req = TestRequest::default()
            .insert_header((header::IF_MATCH, "\"a\", W/\"b\""))
            .to_http_request();
        let if_match = IfMatch::of(&req).unwrap();
        assert!(if_match.holds_for("\"a\""));
        assert!(!if_match.holds_for("\"b\""), "a weak tag never matches");
        let star = TestRequest::default()
            .insert_header((header::IF_MATCH, "*"))
            .to_http_request();
        assert!(IfMatch::of(&star).unwrap().holds_for("\"z\""));
    }

    #[test]
    fn if_none_match_is_weak_and_wins_over_if_modified_since() {
        let req = TestRequest::default()
            .insert_header((header::IF_NONE_MATCH, "W/\"a\""))
            .insert_header((header::IF_MODIFIED_SINCE, "Sun, 06 Nov 1994 08:49:37 GMT"))
            .to_http_request();
        assert!(not_modified(&req, "\"a\"", Some(Utc::now())));
        assert!(!not_modified(&req, "\"b\"", None));
        let since = TestRequest::default()
            .insert_header((header::IF_MODIFIED_SINCE, "Sun, 06 Nov 1994 08:49:37 GMT"))
            .to_http_request();
        let then = DateTime::parse_from_rfc3339("1994-11-06T08:49:37Z")
            .unwrap()
            .to_utc();
        assert!(not_modified(&since, "\"a\"", Some(then)));
        assert!(!not_modified(
            &since,
            "\"a\"",
            Some(then + chrono::Duration::seconds(1))
        ));
    }

    #[test]
    fn byte_ranges_are_parsed_within_the_length() {
        use RangeRequest::*;
        assert_eq!(parse_range("bytes=0-9", 100), Part { start: 0, end: 9 });
        assert_eq!(parse_range("bytes=90-", 100), Part { start: 90, end: 99 });
        assert_eq!(parse_range("bytes=-10", 100), Part { start: 90, end: 99 });
        assert_eq!(parse_range("bytes=50-500", 100), Part { start: 50, end: 99 });
        assert_eq!(parse_range("bytes=100-", 100), Unsatisfiable);
        assert_eq!(parse_range("bytes=-0", 100), Unsatisfiable);
        assert_eq!(parse_range("bytes=0-1,5-6", 100), Whole);
        assert_eq!(parse_range("items=0-1", 100), Whole);
    }

    #[test]
    fn if_range_with_another_tag_sends_the_whole_body() {
        let req = TestRequest::default()
            .insert_header((header::RANGE, "bytes=0-9"))
            .insert_header((header::IF_RANGE, "\"old\""))
            .to_http_request();
        assert_eq!(RangeRequest::of(&req, "\"new\"", 100), RangeRequest::Whole);
        assert_eq!(
            RangeRequest::of(&req, "\"old\"", 100),
            RangeRequest::Part { start: 0, end: 9 }
        );
    }
}
