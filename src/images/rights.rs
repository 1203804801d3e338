//! Withdrawal by the clock (PRODUCT.md §3a): an image is withdrawn from the moment its
//! `rights_expire_at` passes, computed on every read, so nothing has to run for readers to see
//! it. What does have to run is the news of it: [`record_due_withdrawals`] records one
//! `image.updated` event (surrogate key `image:<id>`) per expiry, for webhooks and CDN purges of
//! the pages that embed the image. The scheduler of issue 13 calls it inside `Db::write`. Also
//! the rules every public read applies (with `ImageRow::is_withdrawn`): its 410, and cache lifetimes that end
//! at the expiry.

use chrono::NaiveDateTime;

use crate::config::Settings;
use crate::db::{DbConn, StoreError};
use crate::error::ApiError;
use crate::events::{self, EventType, NewEvent};
use crate::images::dto::to_admin;
use crate::images::store::{self, ImageRow};

/// At most this many withdrawals are recorded per call; the next call takes the rest.
pub const BATCH: i64 = 100;

/// Records `image.updated` for every image whose rights expired by `now` and whose withdrawal
/// was not recorded since, once per expiry (extending the rights and letting them expire again
/// records it again), with any number of instances: each image is claimed by the UPDATE that
/// marks it. Run it inside a write transaction so the mark and the event commit together.
/// Returns how many were recorded.
pub fn record_due_withdrawals(
    conn: &mut DbConn,
    settings: &Settings,
    now: NaiveDateTime,
) -> Result<usize, StoreError> {
    let mut recorded = 0;
    for row in store::unrecorded_withdrawals(conn, now, BATCH)? {
        if !store::claim_withdrawal(conn, &row.id, now)? {
            continue;
        }
        let image = to_admin(&row, settings);
        let subject = format!("image:{}", row.id);
        let event = NewEvent::new(EventType::ImageUpdated, subject.clone(), &image, vec![subject])?;
        events::record(conn, [event])?;
        recorded += 1;
    }
    Ok(recorded)
}

/// The 410 of a withdrawn image (its rights expired), for its metadata and its files.
pub fn withdrawn_problem() -> ApiError {
    ApiError::Gone("The image is withdrawn: its rights expired (rights_expire_at)".into())
}

/// A cache lifetime that ends no later than the image's withdrawal, so no cache keeps serving
/// it after `rights_expire_at` even if a purge is missed.
pub fn max_age_until_withdrawn(row: &ImageRow, max_age: u64, now: NaiveDateTime) -> u64 {
    match row.rights_expire_at {
        Some(end) => u64::try_from((end - now).num_seconds()).unwrap_or(0).min(max_age),
        None => max_age,
    }
}
