//! Saving a new image: the object is written first, outside any database transaction, then the
//! row in a short transaction of its own; an object no row ended up using is deleted again.
//!
//! Why this order: the object write may take seconds (an S3 PUT of a large original), and on
//! SQLite a write transaction holds the database's one write lock for as long as it lasts, so
//! a PUT inside it would stall every other writer. Written first, a failed PUT leaves nothing
//! at all (503, no row), and a failed transaction leaves at worst an unreferenced object, which
//! is deleted here; a row never points at a missing object.
//!
//! Keys are not content-addressed (`originals/{new id}.{ext}`, a fresh id per upload), so the
//! object of a losing upload of the same bytes is a different key from the winner's; it is
//! still only deleted after the database says no row uses it, because a commit whose answer
//! was lost (the connection died after `COMMIT`) may have stored our row after all.

use crate::db::{Db, DbConn, StoreError};
use crate::images::storage::{MediaStore, StorageKey};
use crate::images::store::{self, ImageRow, NewImage};

/// Stores the bytes and the row, or returns the image that already has these bytes
/// (`false` = not created). Blocking, on one connection: the demo loader's path.
pub fn save_new_image(
    conn: &mut DbConn,
    media: &dyn MediaStore,
    key: &StorageKey,
    stored: &[u8],
    new: NewImage,
) -> Result<(ImageRow, bool), StoreError> {
    if let Some(existing) = store::find_by_sha256(conn, &new.sha256)? {
        return Ok((existing, false));
    }
    put(media, key, stored)?;
    let outcome = insert_or_existing(conn, &new);
    if !matches!(outcome, Ok((_, true))) {
        discard_unless_used(conn, media, key);
    }
    outcome
}

/// [`save_new_image`] for a request: each step on the blocking pool, and only the insert inside
/// a write transaction (`Db::write`), so the object write never holds the write lock.
pub async fn save_upload(
    db: &Db,
    media: std::sync::Arc<dyn MediaStore>,
    key: StorageKey,
    stored: Vec<u8>,
    new: NewImage,
) -> Result<(ImageRow, bool), StoreError> {
    // Bytes uploaded before need no second object.
    let sha256 = new.sha256.clone();
    if let Some(existing) = db.run(move |conn| store::find_by_sha256(conn, &sha256)).await? {
        return Ok((existing, false));
    }
    let (put_media, put_key) = (media.clone(), key.clone());
    actix_web::web::block(move || put(put_media.as_ref(), &put_key, &stored))
        .await
        .map_err(|e| StoreError::Internal(e.to_string()))??;
    let outcome = db.write(move |conn| insert_or_existing(conn, &new)).await;
    if !matches!(outcome, Ok((_, true))) {
        // Another upload of the same bytes won, or the transaction failed: ours is not needed
        // unless the database says otherwise. A check that fails keeps the object (an orphan
        // object costs bytes; a row without its object would cost a broken image).
        let _ = db
            .run(move |conn| {
                discard_unless_used(conn, media.as_ref(), &key);
                Ok::<_, StoreError>(())
            })
            .await;
    }
    outcome
}

fn put(media: &dyn MediaStore, key: &StorageKey, bytes: &[u8]) -> Result<(), StoreError> {
    media
        .put(key, bytes)
        .map_err(|e| StoreError::MediaUnavailable(e.to_string()))
}

/// Inserts the row, or finds the row another upload of the same bytes committed first. The
/// insert runs in a savepoint: on PostgreSQL a unique violation aborts the transaction it
/// happens in, and the lookup after it must still run.
fn insert_or_existing(conn: &mut DbConn, new: &NewImage) -> Result<(ImageRow, bool), StoreError> {
    use diesel::Connection;
    if let Some(existing) = store::find_by_sha256(conn, &new.sha256)? {
        return Ok((existing, false));
    }
    match conn.transaction(|conn| store::insert(conn, new)) {
        Ok(row) => Ok((row, true)),
        Err(StoreError::Conflict(_)) => {
            let existing = store::find_by_sha256(conn, &new.sha256)?.ok_or(StoreError::NotFound)?;
            Ok((existing, false))
        }
        Err(other) => Err(other),
    }
}

/// Deletes the object under `key` unless a row refers to it.
fn discard_unless_used(conn: &mut DbConn, media: &dyn MediaStore, key: &StorageKey) {
    match store::key_in_use(conn, key.as_str()) {
        Ok(false) => {
            if let Err(e) = media.delete(key) {
                tracing::warn!(%key, error = %e, "could not delete an upload's unneeded object");
            }
        }
        Ok(true) => {}
        Err(e) => {
            tracing::warn!(%key, error = %e, "kept an upload's object: cannot tell whether a row uses it")
        }
    }
}
