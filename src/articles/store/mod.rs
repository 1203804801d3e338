//! Diesel queries on articles, their slug history, authors, tags and revisions. Every write goes
//! through `create` or `mutate`, which bump the version (the ETag), keep the slug history and
//! write a revision in the same transaction.
//!
//! The lists (`lists.rs`) and full-text search (`search.rs`) are submodules sharing the row
//! types defined here. What is left passes 600 lines with one job: persisting the aggregate
//! (its row, author and tag links, slug history, revisions and image checks).

use std::collections::HashMap;

mod lists;
mod search;

pub(crate) use lists::public_now_expr;
pub use lists::{Boxed, ListFilter, SummaryRow, list_admin, list_public, public_now};
pub use search::{SEARCH_LIMIT, SEARCH_WINDOW, ScoredSummary, search, search_public};

use chrono::NaiveDateTime;
use diesel::prelude::*;

use sha2::{Digest, Sha256};

use crate::articles::domain::{ArticleError, Current, Hero, Seo, Snapshot};
use crate::articles::model::{self, Block, Status};
use crate::db::schema::{
    article_authors, article_revisions, article_slugs, article_tags, articles, tags, users,
};
use crate::db::{DbConn, StoreError};
use crate::error::FieldError;
use crate::time::{new_id, now};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = articles)]
pub struct ArticleRow {
    pub id: String,
    pub slug: String,
    pub headline: String,
    pub standfirst: String,
    pub dateline: Option<String>,
    pub kicker: Option<String>,
    pub body: String,
    pub body_html: String,
    pub body_text: String,
    pub hero: Option<String>,
    pub status: String,
    pub publish_at: Option<NaiveDateTime>,
    pub published_at: Option<NaiveDateTime>,
    pub comments_enabled: bool,
    pub seo_meta_title: Option<String>,
    pub seo_meta_description: Option<String>,
    pub seo_og_image: Option<String>,
    pub seo_canonical_url: Option<String>,
    pub word_count: i32,
    pub comment_count: i32,
    pub version: i32,
    pub created_by: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub embargo_until: Option<NaiveDateTime>,
    pub unpublish_at: Option<NaiveDateTime>,
}

impl ArticleRow {
    /// The status as readers see it now ([`crate::articles::domain::effective_status`]).
    pub fn effective_status(&self, at: NaiveDateTime) -> Status {
        crate::articles::domain::effective_status(
            Status::parse(&self.status).unwrap_or(Status::Draft),
            self.published_at,
            self.embargo_until,
            self.unpublish_at,
            at,
        )
    }

    /// What readers see of this version at `at`.
    pub fn visibility(&self, at: NaiveDateTime) -> crate::articles::domain::Visibility {
        crate::articles::domain::Visibility {
            status: self.effective_status(at),
            publish_at: self.publish_at,
        }
    }

    pub fn is_public(&self, at: NaiveDateTime) -> bool {
        self.effective_status(at) == Status::Published
    }

    /// The strong ETag of this version of the article (admin API, If-Match).
    pub fn etag(&self) -> String {
        let digest = Sha256::digest(format!("{}:{}", self.id, self.version).as_bytes());
        format!("\"{}\"", &hex::encode(digest)[..24])
    }

    pub fn blocks(&self) -> Vec<Block> {
        serde_json::from_str(&self.body).unwrap_or_default()
    }

    pub fn hero(&self) -> Option<Hero> {
        self.hero.as_deref().and_then(|h| serde_json::from_str(h).ok())
    }
}

fn snapshot_of(conn: &mut DbConn, row: &ArticleRow) -> Result<Snapshot, StoreError> {
    Ok(Snapshot {
        slug: row.slug.clone(),
        headline: row.headline.clone(),
        standfirst: row.standfirst.clone(),
        dateline: row.dateline.clone(),
        kicker: row.kicker.clone(),
        body: row.blocks(),
        hero: row.hero(),
        status: Status::parse(&row.status).unwrap_or(Status::Draft),
        publish_at: row.publish_at,
        published_at: row.published_at,
        embargo_until: row.embargo_until,
        unpublish_at: row.unpublish_at,
        comments_enabled: row.comments_enabled,
        seo: Seo {
            meta_title: row.seo_meta_title.clone(),
            meta_description: row.seo_meta_description.clone(),
            og_image: row.seo_og_image.clone(),
            canonical_url: row.seo_canonical_url.clone(),
        },
        authors: author_ids(conn, &row.id)?,
        tags: tag_ids(conn, &row.id)?,
    })
}

#[derive(Insertable, AsChangeset)]
#[diesel(table_name = articles, treat_none_as_null = true)]
struct ArticleValues {
    slug: String,
    headline: String,
    standfirst: String,
    dateline: Option<String>,
    kicker: Option<String>,
    body: String,
    body_html: String,
    body_text: String,
    hero: Option<String>,
    status: String,
    publish_at: Option<NaiveDateTime>,
    published_at: Option<NaiveDateTime>,
    embargo_until: Option<NaiveDateTime>,
    unpublish_at: Option<NaiveDateTime>,
    comments_enabled: bool,
    seo_meta_title: Option<String>,
    seo_meta_description: Option<String>,
    seo_og_image: Option<String>,
    seo_canonical_url: Option<String>,
    word_count: i32,
    updated_at: NaiveDateTime,
}

fn values_of(s: &Snapshot, at: NaiveDateTime) -> ArticleValues {
    let text = model::body_text(&s.body);
    ArticleValues {
        slug: s.slug.clone(),
        headline: s.headline.clone(),
        standfirst: s.standfirst.clone(),
        dateline: s.dateline.clone(),
        kicker: s.kicker.clone(),
        body: serde_json::to_string(&s.body).unwrap_or_else(|_| "[]".into()),
        body_html: model::render_html(&s.body),
        word_count: model::word_count(&format!("{} {} {}", s.headline, s.standfirst, text)),
        body_text: text,
        hero: s.hero.as_ref().and_then(|h| serde_json::to_string(h).ok()),
        status: s.status.as_str().to_owned(),
        publish_at: s.publish_at,
        published_at: s.published_at,
        embargo_until: s.embargo_until,
        unpublish_at: s.unpublish_at,
        comments_enabled: s.comments_enabled,
        seo_meta_title: s.seo.meta_title.clone(),
        seo_meta_description: s.seo.meta_description.clone(),
        seo_og_image: s.seo.og_image.clone(),
        seo_canonical_url: s.seo.canonical_url.clone(),
        updated_at: at,
    }
}

pub fn find(conn: &mut DbConn, id: &str) -> Result<ArticleRow, StoreError> {
    Ok(articles::table
        .find(id)
        .select(ArticleRow::as_select())
        .first(conn)?)
}

/// The next moment what readers see changes by time alone, after `at`: a scheduled
/// `publish_at`, an embargo ending or a scheduled unpublish. One probe of each partial index.
pub fn next_public_change(conn: &mut DbConn, at: NaiveDateTime) -> Result<Option<NaiveDateTime>, StoreError> {
    let publish: Option<NaiveDateTime> = articles::table
        .filter(articles::public_at.gt(at))
        .select(diesel::dsl::min(articles::public_at))
        .first(conn)?;
    // An embargo ending or a scheduled unpublish changes what readers see too.
    let embargo: Option<NaiveDateTime> = articles::table
        .filter(articles::public_at.is_not_null())
        .filter(articles::embargo_until.gt(at))
        .select(diesel::dsl::min(articles::embargo_until))
        .first(conn)?;
    let unpublish: Option<NaiveDateTime> = articles::table
        .filter(articles::public_at.is_not_null())
        .filter(articles::unpublish_at.gt(at))
        .select(diesel::dsl::min(articles::unpublish_at))
        .first(conn)?;
    Ok([publish, embargo, unpublish].into_iter().flatten().min())
}

pub fn find_by_slug(conn: &mut DbConn, slug: &str) -> Result<Option<ArticleRow>, StoreError> {
    Ok(articles::table
        .filter(articles::slug.eq(slug))
        .select(ArticleRow::as_select())
        .first(conn)
        .optional()?)
}

/// The article that once had `slug`, if any.
pub fn find_by_old_slug(conn: &mut DbConn, slug: &str) -> Result<Option<ArticleRow>, StoreError> {
    let id: Option<String> = article_slugs::table
        .find(slug)
        .select(article_slugs::article_id)
        .first(conn)
        .optional()?;
    match id {
        Some(id) => Ok(Some(find(conn, &id)?)),
        None => Ok(None),
    }
}

pub fn author_ids(conn: &mut DbConn, article: &str) -> Result<Vec<String>, StoreError> {
    Ok(article_authors::table
        .filter(article_authors::article_id.eq(article))
        .order(article_authors::position.asc())
        .select(article_authors::user_id)
        .load(conn)?)
}

pub fn tag_ids(conn: &mut DbConn, article: &str) -> Result<Vec<String>, StoreError> {
    Ok(article_tags::table
        .filter(article_tags::article_id.eq(article))
        .order(article_tags::position.asc())
        .select(article_tags::tag_id)
        .load(conn)?)
}

/// Authors (id, display name) of each article, in byline order.
pub fn authors_of(
    conn: &mut DbConn,
    ids: &[String],
) -> Result<HashMap<String, Vec<(String, String)>>, StoreError> {
    let rows: Vec<(String, String, String)> = article_authors::table
        .inner_join(users::table)
        .filter(article_authors::article_id.eq_any(ids))
        .order((article_authors::article_id, article_authors::position.asc()))
        .select((article_authors::article_id, users::id, users::display_name))
        .load(conn)?;
    let mut map: HashMap<String, Vec<(String, String)>> = HashMap::new();
    for (article, id, name) in rows {
        map.entry(article).or_default().push((id, name));
    }
    Ok(map)
}

/// A tag as articles show it.
#[derive(Debug, Clone, Queryable)]
pub struct TagRef {
    pub id: String,
    pub slug: String,
    pub name: String,
}

/// Tags of each article, in order.
pub fn tags_of(conn: &mut DbConn, ids: &[String]) -> Result<HashMap<String, Vec<TagRef>>, StoreError> {
    let rows: Vec<(String, String, String, String)> = article_tags::table
        .inner_join(tags::table)
        .filter(article_tags::article_id.eq_any(ids))
        .order((article_tags::article_id, article_tags::position.asc()))
        .select((article_tags::article_id, tags::id, tags::slug, tags::name))
        .load(conn)?;
    let mut map: HashMap<String, Vec<TagRef>> = HashMap::new();
    for (article, id, slug, name) in rows {
        map.entry(article).or_default().push(TagRef { id, slug, name });
    }
    Ok(map)
}

/// Whether `slug` names (or named) an article other than `except`.
pub fn slug_in_use(conn: &mut DbConn, slug: &str, except: Option<&str>) -> Result<bool, StoreError> {
    let except = except.unwrap_or("");
    let current: i64 = articles::table
        .filter(articles::slug.eq(slug))
        .filter(articles::id.ne(except))
        .count()
        .get_result(conn)?;
    let old: i64 = article_slugs::table
        .filter(article_slugs::slug.eq(slug))
        .filter(article_slugs::article_id.ne(except))
        .count()
        .get_result(conn)?;
    Ok(current + old > 0)
}

/// `base`, or `base-2`, `base-3`… whichever is free.
pub fn unique_slug(conn: &mut DbConn, base: &str, except: Option<&str>) -> Result<String, StoreError> {
    if !slug_in_use(conn, base, except)? {
        return Ok(base.to_owned());
    }
    for n in 2..1000 {
        let candidate = format!("{base}-{n}");
        if !slug_in_use(conn, &candidate, except)? {
            return Ok(candidate);
        }
    }
    Ok(format!("{base}-{}", &new_id()[..8]))
}

/// Tag ids for references that are tag ids or slugs; unknown ones are 422 at `tags[i]`.
pub fn resolve_tags(conn: &mut DbConn, refs: &[String]) -> Result<Vec<String>, ArticleError> {
    let found: Vec<(String, String)> = tags::table
        .filter(tags::id.eq_any(refs).or(tags::slug.eq_any(refs)))
        .select((tags::id, tags::slug))
        .load(conn)
        .map_err(StoreError::from)?;
    let mut ids = Vec::new();
    let mut errors = Vec::new();
    for (i, r) in refs.iter().enumerate() {
        match found.iter().find(|(id, slug)| id == r || slug == r) {
            Some((id, _)) => {
                if !ids.contains(id) {
                    ids.push(id.clone());
                }
            }
            None => errors.push(FieldError::new(
                format!("tags[{i}]"),
                format!("no tag with id or slug `{r}`"),
            )),
        }
    }
    if errors.is_empty() {
        Ok(ids)
    } else {
        Err(ArticleError::Invalid(errors))
    }
}

/// Checks that every author id names a user; 422 at `authors[i]` otherwise.
pub fn check_authors(conn: &mut DbConn, ids: &[String]) -> Result<(), ArticleError> {
    let found: Vec<String> = users::table
        .filter(users::id.eq_any(ids))
        .select(users::id)
        .load(conn)
        .map_err(StoreError::from)?;
    let errors: Vec<FieldError> = ids
        .iter()
        .enumerate()
        .filter(|(_, id)| !found.contains(id))
        .map(|(i, id)| FieldError::new(format!("authors[{i}]"), format!("no user with id `{id}`")))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ArticleError::Invalid(errors))
    }
}

fn write_links(conn: &mut DbConn, article: &str, s: &Snapshot) -> Result<(), StoreError> {
    diesel::delete(article_authors::table.filter(article_authors::article_id.eq(article))).execute(conn)?;
    diesel::delete(article_tags::table.filter(article_tags::article_id.eq(article))).execute(conn)?;
    let authors: Vec<_> = s
        .authors
        .iter()
        .enumerate()
        .map(|(i, u)| {
            (
                article_authors::article_id.eq(article.to_owned()),
                article_authors::user_id.eq(u.clone()),
                article_authors::position.eq(i as i32),
            )
        })
        .collect();
    // One row per statement: batch inserts do not compile on the multi-backend connection.
    for row in authors {
        diesel::insert_into(article_authors::table)
            .values(row)
            .execute(conn)?;
    }
    let tag_rows: Vec<_> = s
        .tags
        .iter()
        .enumerate()
        .map(|(i, t)| {
            (
                article_tags::article_id.eq(article.to_owned()),
                article_tags::tag_id.eq(t.clone()),
                article_tags::position.eq(i as i32),
            )
        })
        .collect();
    for row in tag_rows {
        diesel::insert_into(article_tags::table)
            .values(row)
            .execute(conn)?;
    }
    Ok(())
}

fn write_revision(
    conn: &mut DbConn,
    article: &str,
    number: i32,
    s: &Snapshot,
    by: Option<&str>,
    at: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::insert_into(article_revisions::table)
        .values((
            article_revisions::id.eq(new_id()),
            article_revisions::article_id.eq(article),
            article_revisions::number.eq(number),
            article_revisions::snapshot
                .eq(serde_json::to_string(s).map_err(|e| StoreError::Internal(e.to_string()))?),
            article_revisions::created_by.eq(by),
            article_revisions::created_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

fn slug_conflict(e: diesel::result::Error) -> ArticleError {
    match StoreError::from(e) {
        StoreError::Conflict(_) => ArticleError::SlugTaken,
        other => ArticleError::from(other),
    }
}

/// Image ids an article refers to, each with the field path of the reference.
fn image_refs(s: &Snapshot) -> Vec<(String, String)> {
    let mut refs = Vec::new();
    if let Some(hero) = &s.hero {
        refs.push(("hero.image_id".to_owned(), hero.image_id.clone()));
    }
    for (i, block) in s.body.iter().enumerate() {
        if let Block::Image { image_id, .. } = block {
            refs.push((format!("body[{i}].image_id"), image_id.clone()));
        }
    }
    if let Some(og) = &s.seo.og_image {
        refs.push(("seo.og_image".to_owned(), og.clone()));
    }
    refs
}

/// 422 for references to images that do not exist: new references always, and every reference
/// when the article is (or becomes) public, so no reader meets a missing picture.
fn check_images(conn: &mut DbConn, s: &Snapshot, before: Option<&Snapshot>) -> Result<(), ArticleError> {
    let public = matches!(s.status, Status::Published | Status::Scheduled);
    let old: std::collections::HashSet<String> = before
        .map(|b| image_refs(b).into_iter().map(|(_, id)| id).collect())
        .unwrap_or_default();
    let refs: Vec<(String, String)> = image_refs(s)
        .into_iter()
        .filter(|(_, id)| public || !old.contains(id))
        .collect();
    if refs.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = refs.iter().map(|(_, id)| id.clone()).collect();
    let found = crate::images::load_many(conn, &ids)?;
    let errors: Vec<FieldError> = refs
        .iter()
        .filter(|(_, id)| !found.contains_key(id))
        .map(|(field, _)| FieldError::new(field.clone(), "no image with this id"))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ArticleError::Invalid(errors))
    }
}

/// Inserts a new article. When the slug was derived from the headline (`slug_derived`), a
/// slug taken meanwhile by a concurrent create is not the client's conflict: the next free
/// suffix is tried instead (`…-2`, `…-3`), each attempt in its own savepoint.
pub fn create(
    conn: &mut DbConn,
    mut s: Snapshot,
    by: Option<&str>,
    slug_derived: bool,
) -> Result<ArticleRow, ArticleError> {
    let mut attempts = 0;
    loop {
        match insert_article(conn, &s, by) {
            Err(ArticleError::SlugTaken) if slug_derived && attempts < 20 => {
                attempts += 1;
                s.slug = unique_slug(conn, &crate::articles::model::slugify(&s.headline), None)?;
            }
            other => return other,
        }
    }
}

/// Inserts a new article (version 1) with its links and first revision.
fn insert_article(conn: &mut DbConn, s: &Snapshot, by: Option<&str>) -> Result<ArticleRow, ArticleError> {
    conn.transaction(|conn| {
        check_images(conn, s, None)?;
        if slug_in_use(conn, &s.slug, None)? {
            return Err(ArticleError::SlugTaken);
        }
        let id = new_id();
        let at = now();
        diesel::insert_into(articles::table)
            .values((
                values_of(s, at),
                articles::id.eq(&id),
                articles::version.eq(1),
                articles::comment_count.eq(0),
                articles::created_by.eq(by),
                articles::created_at.eq(at),
            ))
            .execute(conn)
            .map_err(slug_conflict)?;
        write_links(conn, &id, s)?;
        write_revision(conn, &id, 1, s, by, at)?;
        Ok(find(conn, &id)?)
    })
}

/// Takes the article's row lock before anything is read, so concurrent saves of one article
/// queue instead of reading the same version and failing each other's version check (a
/// no-op UPDATE locks the row on PostgreSQL; SQLite's write lock is already held).
fn lock_article(conn: &mut DbConn, id: &str) -> Result<(), StoreError> {
    let locked = diesel::update(articles::table.find(id))
        .set(articles::version.eq(articles::version))
        .execute(conn)?;
    if locked == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

/// Marks a change that is not a revision (a correction appended): under the row lock, the
/// version (admin ETag) and `updated_at` (public `Last-Modified`) move. Returns the article.
pub fn touch(conn: &mut DbConn, id: &str, at: NaiveDateTime) -> Result<ArticleRow, StoreError> {
    lock_article(conn, id)?;
    diesel::update(articles::table.find(id))
        .set((
            articles::version.eq(articles::version + 1),
            articles::updated_at.eq(at),
        ))
        .execute(conn)?;
    find(conn, id)
}

/// Lets article transactions (`conn.transaction`) fail with the domain's error.
impl From<diesel::result::Error> for ArticleError {
    fn from(err: diesel::result::Error) -> Self {
        ArticleError::from(StoreError::from(err))
    }
}

/// The rules' view of an article (for a permission check outside a save).
pub fn current(conn: &mut DbConn, id: &str) -> Result<Current, StoreError> {
    load_current(conn, id).map(|(_, current)| current)
}

/// The article as a save sees it before changing it (its row and the rules' view of it).
fn load_current(conn: &mut DbConn, id: &str) -> Result<(ArticleRow, Current), StoreError> {
    let row = find(conn, id)?;
    let current = Current {
        etag: row.etag(),
        status: row.effective_status(now()),
        created_by: row.created_by.clone(),
        authors: author_ids(conn, id)?,
    };
    Ok((row, current))
}

/// Loads the article under its row lock, lets `allow` check it (permissions, `If-Match`) and
/// `change` edit the working copy, then saves it as the next version with a revision. Nothing
/// is written when any step fails. Returns the article as it was before and as it is now.
pub fn mutate(
    conn: &mut DbConn,
    id: &str,
    by: Option<&str>,
    allow: impl FnOnce(&Current) -> Result<(), ArticleError>,
    change: impl FnOnce(&mut DbConn, &Current, &mut Snapshot) -> Result<(), ArticleError>,
) -> Result<(ArticleRow, ArticleRow), ArticleError> {
    conn.transaction(|conn| {
        lock_article(conn, id)?;
        let (row, current) = load_current(conn, id)?;
        allow(&current)?;
        let mut s = snapshot_of(conn, &row)?;
        let old_slug = s.slug.clone();
        let before = s.clone();
        change(conn, &current, &mut s)?;
        check_images(conn, &s, Some(&before))?;
        if s.slug != old_slug {
            if slug_in_use(conn, &s.slug, Some(id))? {
                return Err(ArticleError::SlugTaken);
            }
            diesel::delete(article_slugs::table.filter(article_slugs::slug.eq(&s.slug))).execute(conn)?;
            diesel::insert_into(article_slugs::table)
                .values((
                    article_slugs::slug.eq(&old_slug),
                    article_slugs::article_id.eq(id),
                    article_slugs::created_at.eq(now()),
                ))
                .execute(conn)?;
        }
        let at = now();
        let version = row.version + 1;
        let updated = diesel::update(articles::table.find(id).filter(articles::version.eq(row.version)))
            .set((values_of(&s, at), articles::version.eq(version)))
            .execute(conn)
            .map_err(slug_conflict)?;
        if updated == 0 {
            return Err(ArticleError::Stale(
                "The article changed while saving; reload and retry",
            ));
        }
        write_links(conn, id, &s)?;
        write_revision(conn, id, version, &s, by, at)?;
        Ok((row, find(conn, id)?))
    })
}

/// Deletes an article once `allow` accepts it (permissions, `If-Match`).
pub fn delete(
    conn: &mut DbConn,
    id: &str,
    allow: impl FnOnce(&Current) -> Result<(), ArticleError>,
) -> Result<ArticleRow, ArticleError> {
    conn.transaction(|conn| {
        lock_article(conn, id)?;
        let (row, current) = load_current(conn, id)?;
        allow(&current)?;
        diesel::delete(articles::table.find(id))
            .execute(conn)
            .map_err(StoreError::from)?;
        Ok(row)
    })
}

#[derive(Debug, Clone, Queryable)]
pub struct RevisionRow {
    pub id: String,
    pub article_id: String,
    pub number: i32,
    pub snapshot: String,
    pub created_by: Option<String>,
    pub created_at: NaiveDateTime,
}

/// Revisions of an article, newest first, after revision number `before`.
pub fn revisions(
    conn: &mut DbConn,
    article: &str,
    before: Option<i32>,
    limit: i64,
) -> Result<Vec<RevisionRow>, StoreError> {
    find(conn, article)?;
    let mut q = article_revisions::table
        .filter(article_revisions::article_id.eq(article))
        .order(article_revisions::number.desc())
        .limit(limit + 1)
        .into_boxed();
    if let Some(before) = before {
        q = q.filter(article_revisions::number.lt(before));
    }
    Ok(q.load(conn)?)
}

pub fn revision(conn: &mut DbConn, article: &str, rev: &str) -> Result<RevisionRow, StoreError> {
    let number: Option<i32> = rev.parse().ok();
    let mut q = article_revisions::table
        .filter(article_revisions::article_id.eq(article))
        .into_boxed();
    q = match number {
        Some(n) => q.filter(
            article_revisions::number
                .eq(n)
                .or(article_revisions::id.eq(rev.to_owned())),
        ),
        None => q.filter(article_revisions::id.eq(rev.to_owned())),
    };
    Ok(q.first(conn)?)
}
