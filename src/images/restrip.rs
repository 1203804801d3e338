//! `masthead images restrip`: brings originals stored before the metadata allowlist (issue #19)
//! in line with it. Each stored original is read again through the same walk an upload takes
//! today (`container::sanitize` under the configured limits, then `embedded::keep_rights`), and
//! rewritten when that changes it: EXIF with GPS, XMP, IPTC, text chunks and the rest go; the
//! licence fields stay as a fresh XMP packet, exactly as for a new upload of the same file.
//!
//! What stays valid: storage keys are made from the image id (`originals/<id>.<ext>`), not
//! from the content, so the original is replaced in place (an atomic put) and every URL keeps
//! working. Renditions are re-encoded pixels without metadata, so they stay as they are. The
//! row's `sha256` and `bytes` follow the new file (its strong ETag changes with its bytes), and
//! an `image.updated` event in the same transaction purges the `image:<id>` surrogate key
//! (other instances' response caches, and a CDN through webhooks) since the URLs say
//! `immutable`.
//!
//! Bounded: one image at a time, read whole only after its share of
//! `MASTHEAD_IMAGE_MEMORY_BUDGET` is reserved, rows paged by id. Idempotent: an original that
//! is already what an upload stores today is left alone, so a second run changes nothing.

use sha2::{Digest, Sha256};

use crate::config::Settings;
use crate::db::{Db, StoreError};
use crate::events::{self, EventType, NewEvent};
use crate::images::container::{self, AncillaryLimits};
use crate::images::kind::{ImageKind, ImageProblem};
use crate::images::storage::StorageKey;
use crate::images::store::{self, ImageRow};
use crate::images::{Media, embedded};

/// Rows read per query.
const PAGE: i64 = 100;

/// What a run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Images looked at.
    pub checked: u64,
    /// Originals rewritten (or, in a dry run, that would be).
    pub rewritten: u64,
    /// Originals already as an upload stores them today.
    pub unchanged: u64,
    /// Images that could not be brought in line: (id, why). Left as they were.
    pub failed: Vec<(String, String)>,
}

/// The original as an upload stores it today, or `None` when `original` already is that.
pub fn restripped(
    original: &[u8],
    kind: ImageKind,
    limits: AncillaryLimits,
) -> Result<Option<Vec<u8>>, ImageProblem> {
    let sanitized = container::sanitize(original, kind, limits)?;
    let read = embedded::read(&sanitized.metadata);
    let stored = embedded::keep_rights(sanitized.bytes, kind, &read);
    Ok((stored != original).then_some(stored))
}

/// Memory one image's restrip holds at most: the original, the reduced copy and the copy with
/// the licence packet written back (the walk inflates compressed chunks into a counter only).
fn cost(len: u64) -> u64 {
    len.saturating_mul(3).saturating_add(1024 * 1024)
}

/// Restrips every stored original, one at a time, calling `report` with a line per image that
/// changed or failed. With `dry_run`, nothing is written.
pub async fn run(
    db: &Db,
    media: &Media,
    settings: &Settings,
    dry_run: bool,
    mut report: impl FnMut(&str),
) -> anyhow::Result<Summary> {
    let limits = AncillaryLimits::from_settings(settings);
    let mut summary = Summary::default();
    let mut after: Option<String> = None;
    loop {
        let from = after.clone();
        let rows: Vec<ImageRow> = db
            .run(move |conn| store::page_by_id(conn, from.as_deref(), PAGE))
            .await?;
        let Some(last) = rows.last() else { break };
        after = Some(last.id.clone());
        for row in rows {
            summary.checked += 1;
            match restrip_one(db, media, settings, &row, limits, dry_run).await {
                Ok(Outcome::Unchanged) => summary.unchanged += 1,
                Ok(Outcome::Rewritten { from, to }) => {
                    summary.rewritten += 1;
                    let verb = if dry_run { "would rewrite" } else { "rewrote" };
                    report(&format!("{verb} {}: {from} → {to} bytes", row.id));
                }
                Err(why) => {
                    report(&format!("left {} as it is: {why}", row.id));
                    summary.failed.push((row.id.clone(), why));
                }
            }
        }
    }
    Ok(summary)
}

enum Outcome {
    Unchanged,
    Rewritten { from: usize, to: usize },
}

async fn restrip_one(
    db: &Db,
    media: &Media,
    settings: &Settings,
    row: &ImageRow,
    limits: AncillaryLimits,
    dry_run: bool,
) -> Result<Outcome, String> {
    let key = StorageKey::parse(&row.storage_key)
        .ok_or_else(|| format!("bad storage key {:?}", row.storage_key))?;
    let kind = ImageKind::from_content_type(&row.content_type)
        .ok_or_else(|| format!("unknown content type {}", row.content_type))?;
    // Waits for its share like any image job; a server on the same machine has its own budget.
    let reservation = media
        .budget
        .reserve(cost(u64::try_from(row.bytes).unwrap_or(0)))
        .await
        .map_err(|_| "the image memory budget stayed spent".to_owned())?;
    let store = media.store.clone();
    let read_key = key.clone();
    let work = actix_web::web::block(move || -> Result<(Vec<u8>, Option<Vec<u8>>), String> {
        let _reservation = reservation;
        let original = store
            .get(&read_key)
            .map_err(|e| format!("the media storage failed: {e}"))?
            .ok_or("its original is missing from the media storage")?;
        let stripped = restripped(&original, kind, limits)
            .map_err(|e| format!("{e} (today's limits refuse it; delete it or upload it again)"))?;
        Ok((original, stripped))
    });
    let (original, new) = work.await.map_err(|e| e.to_string())??;
    let new = match new {
        Some(new) => new,
        // Already in line; but a run stopped between writing the file and the row leaves a
        // row that does not describe its file: make it do so.
        None if hex::encode(Sha256::digest(&original)) == row.sha256 => return Ok(Outcome::Unchanged),
        None if dry_run => return Ok(Outcome::Unchanged),
        None => original.clone(),
    };
    let outcome = Outcome::Rewritten {
        from: usize::try_from(row.bytes).unwrap_or(0),
        to: new.len(),
    };
    if dry_run {
        return Ok(outcome);
    }
    let sha256 = hex::encode(Sha256::digest(&new));
    let (id, sha) = (row.id.clone(), sha256.clone());
    // Another image may already hold exactly these bytes (the same photo uploaded again after
    // the allowlist): `sha256` is unique, so that one stays the copy and this is reported.
    let twin = db
        .run(move |conn| store::find_by_sha256(conn, &sha))
        .await
        .map_err(|e: StoreError| e.to_string())?;
    if let Some(twin) = twin.filter(|t| t.id != id) {
        return Err(format!(
            "once stripped it is the same file as image {}; delete one of them",
            twin.id
        ));
    }
    // The file first, then the row. A database failure puts the old file back; a run killed in
    // between leaves the new file with the old row, which the next run puts right (above).
    let store = media.store.clone();
    let (put_key, bytes) = (key.clone(), new.clone());
    actix_web::web::block(move || store.put(&put_key, &bytes))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("the media storage failed: {e}"))?;
    let (id, len, settings) = (row.id.clone(), new.len(), settings.clone());
    let saved = db
        .write(move |conn| {
            let row = store::set_file(
                conn,
                &id,
                &sha256,
                i64::try_from(len).map_err(StoreError::internal)?,
            )?;
            let keys = vec![format!("image:{}", row.id)];
            let image = crate::images::dto::to_admin(&row, &settings);
            let event = NewEvent::new(EventType::ImageUpdated, format!("image:{}", row.id), &image, keys)?;
            events::record(conn, [event])
        })
        .await;
    if let Err(e) = saved {
        // Put the old file back so file and row agree again.
        let store = media.store.clone();
        let _ = actix_web::web::block(move || store.put(&key, &original)).await;
        return Err(format!("the database failed: {e}"));
    }
    Ok(outcome)
}
