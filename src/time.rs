//! Time helpers: the server stores UTC `NaiveDateTime`s (microsecond precision, so both
//! backends round-trip them exactly) and speaks RFC 3339 UTC in the API.

use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};

/// Now, in UTC, truncated to microseconds.
pub fn now() -> NaiveDateTime {
    Utc::now().naive_utc().trunc_subsecs(6)
}

/// A stored time as an API time.
pub fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

/// An API time as a stored time.
pub fn naive(t: DateTime<Utc>) -> NaiveDateTime {
    t.naive_utc().trunc_subsecs(6)
}

/// A fresh opaque id (UUIDv7: unique, and roughly ordered by creation time).
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
