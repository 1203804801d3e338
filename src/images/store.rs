//! Diesel queries on `images`: the only place that touches the table.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::images;
use crate::db::{DbConn, StoreError};
use crate::time::now;

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);

/// One stored image.
#[derive(Debug, Clone, Queryable, PartialEq)]
pub struct ImageRow {
    pub id: String,
    pub content_type: String,
    pub width: i32,
    pub height: i32,
    pub bytes: i64,
    pub sha256: String,
    pub storage_key: String,
    pub caption: Option<String>,
    pub credit: Option<String>,
    pub source: Option<String>,
    pub alt_text: Option<String>,
    pub copyright: Option<String>,
    pub focal_x: f64,
    pub focal_y: f64,
    pub created_by: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// The photographer (PRODUCT.md §3a).
    pub creator: Option<String>,
    pub usage_terms: Option<String>,
    /// An IPTC NewsCodes digital source type URI.
    pub digital_source_type: Option<String>,
    pub taken_at: Option<NaiveDateTime>,
    /// From this time the image is withdrawn from public reads.
    pub rights_expire_at: Option<NaiveDateTime>,
    /// What was read from the file at upload (JSON of `embedded::Embedded`).
    pub embedded: Option<String>,
    /// When the withdrawal at `rights_expire_at` was last recorded as an event.
    pub withdrawal_recorded_at: Option<NaiveDateTime>,
}

impl ImageRow {
    /// Whether the image's rights have expired at `at` (it is then withdrawn from public reads).
    pub fn is_withdrawn(&self, at: NaiveDateTime) -> bool {
        self.rights_expire_at.is_some_and(|end| end <= at)
    }
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = images)]
pub struct NewImage {
    pub id: String,
    pub content_type: String,
    pub width: i32,
    pub height: i32,
    pub bytes: i64,
    pub sha256: String,
    pub storage_key: String,
    pub caption: Option<String>,
    pub credit: Option<String>,
    pub source: Option<String>,
    pub alt_text: Option<String>,
    pub copyright: Option<String>,
    pub focal_x: f64,
    pub focal_y: f64,
    pub created_by: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// The photographer (PRODUCT.md §3a).
    pub creator: Option<String>,
    pub usage_terms: Option<String>,
    /// An IPTC NewsCodes digital source type URI.
    pub digital_source_type: Option<String>,
    pub taken_at: Option<NaiveDateTime>,
    /// From this time the image is withdrawn from public reads.
    pub rights_expire_at: Option<NaiveDateTime>,
    /// What was read from the file at upload (JSON of `embedded::Embedded`).
    pub embedded: Option<String>,
}

/// Metadata changes: `None` leaves a field alone, `Some(None)` clears it.
#[derive(Debug, Default, Clone, AsChangeset)]
#[diesel(table_name = images)]
pub struct ImageChanges {
    pub caption: Option<Option<String>>,
    pub credit: Option<Option<String>>,
    pub source: Option<Option<String>>,
    pub alt_text: Option<Option<String>>,
    pub copyright: Option<Option<String>>,
    pub creator: Option<Option<String>>,
    pub usage_terms: Option<Option<String>>,
    pub digital_source_type: Option<Option<String>>,
    pub taken_at: Option<Option<NaiveDateTime>>,
    pub rights_expire_at: Option<Option<NaiveDateTime>>,
    pub withdrawal_recorded_at: Option<Option<NaiveDateTime>>,
    pub focal_x: Option<f64>,
    pub focal_y: Option<f64>,
    pub updated_at: Option<NaiveDateTime>,
}

/// Inserts a new image. A concurrent upload of the same bytes loses the race on the unique
/// `sha256` and gets `Conflict`; the caller then returns the winner.
pub fn insert(conn: &mut DbConn, image: &NewImage) -> Result<ImageRow, StoreError> {
    diesel::insert_into(images::table).values(image).execute(conn)?;
    find(conn, &image.id)
}

pub fn find(conn: &mut DbConn, id: &str) -> Result<ImageRow, StoreError> {
    Ok(images::table.find(id).first(conn)?)
}

pub fn find_by_sha256(conn: &mut DbConn, sha256: &str) -> Result<Option<ImageRow>, StoreError> {
    Ok(images::table
        .filter(images::sha256.eq(sha256))
        .first(conn)
        .optional()?)
}

/// Whether a row stores its bytes under `key` (before an unneeded object is deleted).
pub fn key_in_use(conn: &mut DbConn, key: &str) -> Result<bool, StoreError> {
    let found: Option<String> = images::table
        .filter(images::storage_key.eq(key))
        .select(images::id)
        .first(conn)
        .optional()?;
    Ok(found.is_some())
}

/// The images with the given ids, by id; unknown ids are simply absent from the map
/// (articles use this to expand hero and body images in one query).
pub fn load_many(conn: &mut DbConn, ids: &[String]) -> Result<HashMap<String, ImageRow>, StoreError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<ImageRow> = images::table.filter(images::id.eq_any(ids)).load(conn)?;
    Ok(rows.into_iter().map(|r| (r.id.clone(), r)).collect())
}

/// Escapes `%`, `_` and `\` so a search term matches literally inside a LIKE pattern.
fn like_pattern(q: &str) -> String {
    let mut p = String::with_capacity(q.len() + 2);
    p.push('%');
    for c in q.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// What the admin image list is asked for.
#[derive(Debug, Default, Clone)]
pub struct ListFilter {
    /// Words in caption, credit, source, creator, copyright, usage terms or digital source type.
    pub q: Option<String>,
    /// Only images whose rights end before this time (already withdrawn ones included),
    /// soonest first.
    pub expiring_before: Option<NaiveDateTime>,
}

/// Keyset-paginated: newest first on `(created_at, id)`, or with `expiring_before` soonest
/// expiry first on `(rights_expire_at, id)` (the cursor then holds that pair). `q` matches the
/// text fields case-insensitively.
pub fn list(
    conn: &mut DbConn,
    filter: &ListFilter,
    after: Option<(NaiveDateTime, String)>,
    limit: i64,
) -> Result<Vec<ImageRow>, StoreError> {
    let mut query = images::table.limit(limit + 1).into_boxed();
    if let Some(q) = filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        let p = like_pattern(q);
        query = query.filter(
            lower(images::caption.assume_not_null())
                .like(p.clone())
                .escape('\\')
                .or(lower(images::credit.assume_not_null())
                    .like(p.clone())
                    .escape('\\'))
                .or(lower(images::source.assume_not_null())
                    .like(p.clone())
                    .escape('\\'))
                .or(lower(images::creator.assume_not_null())
                    .like(p.clone())
                    .escape('\\'))
                .or(lower(images::copyright.assume_not_null())
                    .like(p.clone())
                    .escape('\\'))
                .or(lower(images::usage_terms.assume_not_null())
                    .like(p.clone())
                    .escape('\\'))
                .or(lower(images::digital_source_type.assume_not_null())
                    .like(p)
                    .escape('\\')),
        );
    }
    if let Some(before) = filter.expiring_before {
        query = query
            .filter(images::rights_expire_at.lt(before))
            .order((images::rights_expire_at.asc(), images::id.asc()));
        if let Some((at, id)) = after {
            query = query.filter(
                images::rights_expire_at
                    .gt(at)
                    .or(images::rights_expire_at.eq(at).and(images::id.gt(id))),
            );
        }
    } else {
        query = query.order((images::created_at.desc(), images::id.desc()));
        if let Some((at, id)) = after {
            query = query.filter(
                images::created_at
                    .lt(at)
                    .or(images::created_at.eq(at).and(images::id.lt(id))),
            );
        }
    }
    Ok(query.load(conn)?)
}

/// The earliest `rights_expire_at` after `after`: the next moment an image is withdrawn, when
/// public responses that show it (its metadata, its files, articles embedding it) change
/// without any write. A response cache should expire its entries by then.
pub fn next_rights_expiry(
    conn: &mut DbConn,
    after: NaiveDateTime,
) -> Result<Option<NaiveDateTime>, StoreError> {
    Ok(images::table
        .filter(images::rights_expire_at.gt(after))
        .select(diesel::dsl::min(images::rights_expire_at))
        .first::<Option<NaiveDateTime>>(conn)?)
}

/// Images whose rights expired by `now` and whose withdrawal has not been recorded since they
/// last expired, oldest expiry first, at most `limit`.
pub fn unrecorded_withdrawals(
    conn: &mut DbConn,
    now: NaiveDateTime,
    limit: i64,
) -> Result<Vec<ImageRow>, StoreError> {
    Ok(images::table
        .filter(images::rights_expire_at.le(now))
        .filter(
            images::withdrawal_recorded_at
                .is_null()
                .or(images::withdrawal_recorded_at.lt(images::rights_expire_at)),
        )
        .order((images::rights_expire_at.asc(), images::id.asc()))
        .limit(limit)
        .load(conn)?)
}

/// Claims the recording of one image's withdrawal: `true` for the one caller whose UPDATE
/// found it still unrecorded (another instance that got there first makes this `false`).
pub fn claim_withdrawal(conn: &mut DbConn, id: &str, now: NaiveDateTime) -> Result<bool, StoreError> {
    let claimed = diesel::update(
        images::table
            .find(id)
            .filter(images::rights_expire_at.le(now))
            .filter(
                images::withdrawal_recorded_at
                    .is_null()
                    .or(images::withdrawal_recorded_at.lt(images::rights_expire_at)),
            ),
    )
    .set(images::withdrawal_recorded_at.eq(now))
    .execute(conn)?;
    Ok(claimed == 1)
}

/// An article that uses an image, as the usage list shows it.
#[derive(Debug, Clone, Queryable)]
pub struct UsageRow {
    pub id: String,
    pub slug: String,
    pub headline: String,
    pub status: String,
    pub published_at: Option<NaiveDateTime>,
    pub hero: Option<String>,
    pub body: String,
    pub seo_og_image: Option<String>,
}

/// Every article (any status) that refers to the image from its hero, a body block or its share
/// image, by id; keyset-paginated on the article id.
pub fn usage(
    conn: &mut DbConn,
    id: &str,
    after: Option<String>,
    limit: i64,
) -> Result<Vec<UsageRow>, StoreError> {
    use crate::db::schema::articles;
    // Ids are UUIDs (checked before any query), so they hold no LIKE wildcards; the match is
    // confirmed on the parsed references by the caller.
    let pattern = format!("%{id}%");
    let mut query = articles::table
        .filter(
            articles::hero
                .like(pattern.clone())
                .or(articles::body.like(pattern))
                .or(articles::seo_og_image.eq(id.to_owned())),
        )
        .select((
            articles::id,
            articles::slug,
            articles::headline,
            articles::status,
            articles::published_at,
            articles::hero,
            articles::body,
            articles::seo_og_image,
        ))
        .order(articles::id.asc())
        .limit(limit + 1)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(articles::id.gt(after));
    }
    Ok(query.load(conn)?)
}

/// Up to `limit` images in id order, after `after` (`images restrip` pages through them all).
pub fn page_by_id(conn: &mut DbConn, after: Option<&str>, limit: i64) -> Result<Vec<ImageRow>, StoreError> {
    let mut query = images::table.order(images::id.asc()).limit(limit).into_boxed();
    if let Some(after) = after {
        query = query.filter(images::id.gt(after.to_owned()));
    }
    Ok(query.load(conn)?)
}

/// Records that the original's file changed (`images restrip`): its SHA-256 and size.
pub fn set_file(conn: &mut DbConn, id: &str, sha256: &str, bytes: i64) -> Result<ImageRow, StoreError> {
    let changed = diesel::update(images::table.find(id))
        .set((
            images::sha256.eq(sha256),
            images::bytes.eq(bytes),
            images::updated_at.eq(now()),
        ))
        .execute(conn)?;
    if changed == 0 {
        return Err(StoreError::NotFound);
    }
    find(conn, id)
}

pub fn update(conn: &mut DbConn, id: &str, changes: ImageChanges) -> Result<ImageRow, StoreError> {
    let changed = diesel::update(images::table.find(id))
        .set(&ImageChanges {
            updated_at: Some(now()),
            ..changes
        })
        .execute(conn)?;
    if changed == 0 {
        return Err(StoreError::NotFound);
    }
    find(conn, id)
}

/// Whether a published article uses the image (hero or body block), which forbids deleting it.
///
/// Images are built before articles, so this answers `false` for now; the articles module
/// replaces the body with a query over its tables, and `DELETE /api/v1/admin/images/{id}`
/// already turns `true` into 409 Conflict.
pub fn image_in_use(conn: &mut DbConn, id: &str) -> Result<bool, StoreError> {
    use crate::db::schema::articles;
    // Ids are UUIDs (checked before any query), so they hold no LIKE wildcards; a published or
    // scheduled article refers to the image from its hero, a body block or its share image.
    let pattern = format!("%{id}%");
    let users: i64 = articles::table
        .filter(articles::status.eq_any(["published", "scheduled"]))
        .filter(
            articles::hero
                .like(pattern.clone())
                .or(articles::body.like(pattern))
                .or(articles::seo_og_image.eq(id)),
        )
        .count()
        .get_result(conn)?;
    Ok(users > 0)
}

/// Deletes the row unless a published article uses the image: `Ok(Some(row))` once gone (so
/// the caller can remove the files), `Ok(None)` when it is in use and was kept.
pub fn delete(conn: &mut DbConn, id: &str) -> Result<Option<ImageRow>, StoreError> {
    conn.transaction(|conn| {
        let row = find(conn, id)?;
        if image_in_use(conn, id)? {
            return Ok(None);
        }
        diesel::delete(images::table.find(id)).execute(conn)?;
        Ok(Some(row))
    })
}
