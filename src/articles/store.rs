//! Diesel queries on articles, their slug history, authors, tags and revisions. Every write goes
//! through `create` or `mutate`, which bump the version (the ETag), keep the slug history and
//! write a revision in the same transaction.
//!
//! Over 700 lines: the read side (lists, summaries, search on both engines) and the write side
//! share the row types here; they split with the article domain layer (issue #11).

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::articles::model::{self, Block, Status};
use crate::db::schema::{
    article_authors, article_revisions, article_slugs, article_tags, articles, tags, users,
};
use crate::db::{DbConn, StoreError};
use crate::error::{ApiError, FieldError};
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
}

impl ArticleRow {
    /// The status as readers see it now: a scheduled article whose time has come is published.
    pub fn effective_status(&self, at: NaiveDateTime) -> Status {
        match Status::parse(&self.status).unwrap_or(Status::Draft) {
            Status::Scheduled if self.published_at.is_some_and(|p| p <= at) => Status::Published,
            other => other,
        }
    }

    /// What readers see of this version at `at`.
    pub fn visibility(&self, at: NaiveDateTime) -> crate::articles::model::Visibility {
        crate::articles::model::Visibility {
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

/// The hero image of an article.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hero {
    pub image_id: String,
    #[serde(default)]
    pub caption: Option<String>,
}

/// SEO fields; None means "derive a default".
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Seo {
    pub meta_title: Option<String>,
    pub meta_description: Option<String>,
    pub og_image: Option<String>,
    pub canonical_url: Option<String>,
}

/// Everything an editor can change, as a whole: the working copy of a save and the content of
/// a revision.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Snapshot {
    pub slug: String,
    pub headline: String,
    pub standfirst: String,
    pub dateline: Option<String>,
    /// Absent from revisions saved before kickers existed.
    #[serde(default)]
    pub kicker: Option<String>,
    pub body: Vec<Block>,
    pub hero: Option<Hero>,
    pub status: Status,
    pub publish_at: Option<NaiveDateTime>,
    pub published_at: Option<NaiveDateTime>,
    pub comments_enabled: bool,
    pub seo: Seo,
    /// User ids, in byline order.
    pub authors: Vec<String>,
    /// Tag ids, in order.
    pub tags: Vec<String>,
}

/// An article with its current authors and tags (ids), as loaded for a save.
pub struct Current {
    pub row: ArticleRow,
    pub authors: Vec<String>,
}

impl Current {
    /// Whether `user` wrote or created the article.
    pub fn is_owned_by(&self, user: Option<&str>) -> bool {
        user.is_some_and(|u| self.row.created_by.as_deref() == Some(u) || self.authors.iter().any(|a| a == u))
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

/// The next moment an article becomes public by time alone (a scheduled `publish_at`), after
/// `at`. Read through the public index from its end: one index probe.
pub fn next_public_change(conn: &mut DbConn, at: NaiveDateTime) -> Result<Option<NaiveDateTime>, StoreError> {
    Ok(articles::table
        .filter(articles::public_at.gt(at))
        .select(diesel::dsl::min(articles::public_at))
        .first(conn)?)
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

fn validation(errors: Vec<FieldError>) -> StoreError {
    ApiError::validation(errors).into()
}

/// Tag ids for references that are tag ids or slugs; unknown ones are 422 at `tags[i]`.
pub fn resolve_tags(conn: &mut DbConn, refs: &[String]) -> Result<Vec<String>, StoreError> {
    let found: Vec<(String, String)> = tags::table
        .filter(tags::id.eq_any(refs).or(tags::slug.eq_any(refs)))
        .select((tags::id, tags::slug))
        .load(conn)?;
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
        Err(validation(errors))
    }
}

/// Checks that every author id names a user; 422 at `authors[i]` otherwise.
pub fn check_authors(conn: &mut DbConn, ids: &[String]) -> Result<(), StoreError> {
    let found: Vec<String> = users::table
        .filter(users::id.eq_any(ids))
        .select(users::id)
        .load(conn)?;
    let errors: Vec<FieldError> = ids
        .iter()
        .enumerate()
        .filter(|(_, id)| !found.contains(id))
        .map(|(i, id)| FieldError::new(format!("authors[{i}]"), format!("no user with id `{id}`")))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(validation(errors))
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
            article_revisions::snapshot.eq(serde_json::to_string(s).map_err(ApiError::internal)?),
            article_revisions::created_by.eq(by),
            article_revisions::created_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

fn slug_conflict(e: diesel::result::Error) -> StoreError {
    match StoreError::from(e) {
        StoreError::Conflict(_) => StoreError::Conflict("another article has this slug".into()),
        other => other,
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
fn check_images(conn: &mut DbConn, s: &Snapshot, before: Option<&Snapshot>) -> Result<(), StoreError> {
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
        Err(ApiError::validation(errors).into())
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
) -> Result<ArticleRow, StoreError> {
    let mut attempts = 0;
    loop {
        match insert_article(conn, &s, by) {
            Err(StoreError::Conflict(_)) if slug_derived && attempts < 20 => {
                attempts += 1;
                s.slug = unique_slug(conn, &crate::articles::model::slugify(&s.headline), None)?;
            }
            other => return other,
        }
    }
}

/// Inserts a new article (version 1) with its links and first revision.
fn insert_article(conn: &mut DbConn, s: &Snapshot, by: Option<&str>) -> Result<ArticleRow, StoreError> {
    conn.transaction(|conn| {
        check_images(conn, s, None)?;
        if slug_in_use(conn, &s.slug, None)? {
            return Err(StoreError::Conflict("another article has this slug".into()));
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
        find(conn, &id)
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

/// 412 unless `if_match` (when given) names the current version. The comparison is strong
/// (RFC 9110 §13.1.1): a weak tag `W/"…"` never matches.
pub fn check_if_match(row: &ArticleRow, if_match: Option<&str>) -> Result<(), StoreError> {
    let Some(header) = if_match else { return Ok(()) };
    let current = row.etag();
    let matches = header
        .split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag == current);
    if matches {
        Ok(())
    } else {
        Err(ApiError::PreconditionFailed(
            "The article changed since you loaded it (If-Match does not match its ETag); reload and retry"
                .into(),
        )
        .into())
    }
}

/// Loads the article, checks `If-Match` and permissions (`authorize`), lets `change` edit the
/// working copy, then saves it as the next version with a revision. Nothing is written when
/// any step fails. Returns the article as it was before and as it is now.
pub fn mutate(
    conn: &mut DbConn,
    id: &str,
    if_match: Option<&str>,
    by: Option<&str>,
    authorize: impl FnOnce(&Current) -> Result<(), ApiError>,
    change: impl FnOnce(&mut DbConn, &Current, &mut Snapshot) -> Result<(), StoreError>,
) -> Result<(ArticleRow, ArticleRow), StoreError> {
    conn.transaction(|conn| {
        lock_article(conn, id)?;
        let row = find(conn, id)?;
        let current = Current {
            authors: author_ids(conn, id)?,
            row,
        };
        authorize(&current)?;
        check_if_match(&current.row, if_match)?;
        let mut s = snapshot_of(conn, &current.row)?;
        let old_slug = s.slug.clone();
        let before = s.clone();
        change(conn, &current, &mut s)?;
        check_images(conn, &s, Some(&before))?;
        if s.slug != old_slug {
            if slug_in_use(conn, &s.slug, Some(id))? {
                return Err(StoreError::Conflict("another article has this slug".into()));
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
        let version = current.row.version + 1;
        let updated = diesel::update(
            articles::table
                .find(id)
                .filter(articles::version.eq(current.row.version)),
        )
        .set((values_of(&s, at), articles::version.eq(version)))
        .execute(conn)
        .map_err(slug_conflict)?;
        if updated == 0 {
            return Err(ApiError::PreconditionFailed(
                "The article changed while saving; reload and retry".into(),
            )
            .into());
        }
        write_links(conn, id, &s)?;
        write_revision(conn, id, version, &s, by, at)?;
        Ok((current.row, find(conn, id)?))
    })
}

/// Deletes an article after the permission check.
pub fn delete(
    conn: &mut DbConn,
    id: &str,
    if_match: Option<&str>,
    authorize: impl FnOnce(&Current) -> Result<(), ApiError>,
) -> Result<ArticleRow, StoreError> {
    conn.transaction(|conn| {
        lock_article(conn, id)?;
        let row = find(conn, id)?;
        let current = Current {
            authors: author_ids(conn, id)?,
            row,
        };
        authorize(&current)?;
        check_if_match(&current.row, if_match)?;
        diesel::delete(articles::table.find(id)).execute(conn)?;
        Ok(current.row)
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

/// The public filter: published, or scheduled with its time come (no background job needed).
macro_rules! public_at {
    ($at:expr) => {
        articles::status
            .eq_any(["published", "scheduled"])
            .and(articles::published_at.le($at))
    };
}

/// Filters of article lists.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// Tag slug or id.
    pub tag: Option<String>,
    /// Author user id.
    pub author: Option<String>,
    pub published_after: Option<NaiveDateTime>,
    pub published_before: Option<NaiveDateTime>,
    /// Restrict to these ids (full-text matches).
    pub ids: Option<Vec<String>>,
    /// Admin: stored/effective status.
    pub status: Option<Status>,
}

type Boxed<'a> = articles::BoxedQuery<'a, <DbConn as diesel::Connection>::Backend>;

fn apply_filter<'a>(mut q: Boxed<'a>, f: &ListFilter, at: NaiveDateTime) -> Boxed<'a> {
    // EXISTS probes per row along the (published_at, id) index, so a page stops after `limit`
    // matches instead of collecting and sorting every article of a large tag.
    if let Some(tag) = &f.tag {
        q = q.filter(diesel::dsl::exists(
            article_tags::table
                .inner_join(tags::table)
                .filter(article_tags::article_id.eq(articles::id))
                .filter(tags::slug.eq(tag.clone()).or(tags::id.eq(tag.clone())))
                .select(article_tags::article_id),
        ));
    }
    if let Some(author) = &f.author {
        q = q.filter(diesel::dsl::exists(
            article_authors::table
                .filter(article_authors::article_id.eq(articles::id))
                .filter(article_authors::user_id.eq(author.clone())),
        ));
    }
    if let Some(after) = f.published_after {
        q = q.filter(articles::published_at.gt(after));
    }
    if let Some(before) = f.published_before {
        q = q.filter(articles::published_at.lt(before));
    }
    if let Some(ids) = &f.ids {
        q = q.filter(articles::id.eq_any(ids.clone()));
    }
    match f.status {
        Some(Status::Published) => q = q.filter(public_at!(at)),
        Some(Status::Scheduled) => {
            q = q.filter(
                articles::status
                    .eq("scheduled")
                    .and(articles::published_at.gt(at)),
            )
        }
        Some(other) => q = q.filter(articles::status.eq(other.as_str())),
        None => {}
    }
    q
}

/// What a list item shows of an article: no body, no HTML, no search text (a row of a page is
/// then ~0.5 KB instead of several).
#[derive(Debug, Clone, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = articles)]
pub struct SummaryRow {
    pub id: String,
    pub slug: String,
    pub headline: String,
    pub standfirst: String,
    pub dateline: Option<String>,
    pub kicker: Option<String>,
    pub hero: Option<String>,
    pub status: String,
    pub publish_at: Option<NaiveDateTime>,
    pub published_at: Option<NaiveDateTime>,
    pub word_count: i32,
    pub comment_count: i32,
    pub updated_at: NaiveDateTime,
}

impl SummaryRow {
    /// The status as readers see it now (see [`ArticleRow::effective_status`]).
    pub fn effective_status(&self, at: NaiveDateTime) -> Status {
        match Status::parse(&self.status).unwrap_or(Status::Draft) {
            Status::Scheduled if self.published_at.is_some_and(|p| p <= at) => Status::Published,
            other => other,
        }
    }

    pub fn hero(&self) -> Option<Hero> {
        self.hero.as_deref().and_then(|h| serde_json::from_str(h).ok())
    }
}

/// Public articles, newest first, after the keyset `(published_at, id)`.
///
/// The filter is the generated column `public_at` (published or scheduled, its time come), whose
/// partial index both matches the predicate and gives the order: the page is a range scan of that
/// index that stops after `limit` rows, whatever the statistics say and however deep the cursor.
pub fn list_public(
    conn: &mut DbConn,
    f: &ListFilter,
    after: Option<(NaiveDateTime, String)>,
    limit: i64,
) -> Result<Vec<SummaryRow>, StoreError> {
    let at = now();
    // Dates and status are asked of `public_at` (equal to `published_at` on public rows) so the
    // index range does the work; the other filters go through the shared ones.
    let shared = ListFilter {
        published_after: None,
        published_before: None,
        status: None,
        ..f.clone()
    };
    let mut q = apply_filter(articles::table.into_boxed(), &shared, at).filter(articles::public_at.le(at));
    if let Some(after) = f.published_after {
        q = q.filter(articles::public_at.gt(after));
    }
    if let Some(before) = f.published_before {
        q = q.filter(articles::public_at.lt(before));
    }
    if let Some((p, id)) = after {
        // The first term bounds the index range; the second resolves ties on the date.
        q = q
            .filter(articles::public_at.le(p))
            .filter(articles::public_at.lt(p).or(articles::id.lt(id)));
    }
    Ok(q.order((articles::public_at.desc(), articles::id.desc()))
        .limit(limit)
        .select(SummaryRow::as_select())
        .load(conn)?)
}

/// Articles in any status, most recently updated first, after the keyset `(updated_at, id)`.
pub fn list_admin(
    conn: &mut DbConn,
    f: &ListFilter,
    after: Option<(NaiveDateTime, String)>,
    limit: i64,
) -> Result<Vec<ArticleRow>, StoreError> {
    let at = now();
    let mut q = apply_filter(articles::table.into_boxed(), f, at);
    if let Some((u, id)) = after {
        q = q.filter(
            articles::updated_at
                .lt(u)
                .or(articles::updated_at.eq(u).and(articles::id.lt(id))),
        );
    }
    Ok(q.order((articles::updated_at.desc(), articles::id.desc()))
        .limit(limit)
        .select(ArticleRow::as_select())
        .load(conn)?)
}

/// At most this many ranked matches are considered for one search.
pub const SEARCH_LIMIT: i64 = 1000;

/// Only the newest this many matches are ranked: ranking costs one score per match, so a word
/// found in every article of a 100,000-article archive would otherwise score them all on every
/// search. News readers want the recent stories; older ones are found with `published_before`.
pub const SEARCH_WINDOW: i64 = 2_000;

#[derive(QueryableByName)]
struct Hit {
    #[diesel(sql_type = diesel::sql_types::Text)]
    id: String,
    #[diesel(sql_type = diesel::sql_types::Double)]
    score: f64,
}

/// A value bound into the hand-written search SQL.
enum Arg {
    Text(String),
    Time(NaiveDateTime),
    Double(f64),
    Int(i64),
}

/// A public list item with its search score.
#[derive(QueryableByName)]
pub struct ScoredSummary {
    #[diesel(embed)]
    pub summary: SummaryRow,
    #[diesel(sql_type = diesel::sql_types::Double)]
    pub score: f64,
}

/// The words of a search, lowercased; user input never reaches the query syntax of either engine.
fn search_words(q: &str) -> Vec<String> {
    q.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(16)
        .map(str::to_lowercase)
        .collect()
}

/// Search terms as typed into a search box: whole words, and the last one also as the start of
/// a word ("harbour fer" finds "ferry"). A prefix costs a merge of every word it starts, over
/// the whole archive: measured on 100,000 articles, every word a prefix took 118 ms a search,
/// only the last 23 ms.
fn typeahead(
    words: &[String],
    whole: impl Fn(&str) -> String,
    prefix: impl Fn(&str) -> String,
) -> Vec<String> {
    let last = words.len().saturating_sub(1);
    words
        .iter()
        .enumerate()
        .map(|(i, w)| if i == last { prefix(w) } else { whole(w) })
        .collect()
}

/// One page of public full-text matches, best first, ties newest first, after the keyset
/// `(score, published_at, id)`: ranking, filters and paging all happen in SQL, so a page reads
/// `limit` summary rows whatever the number of matches (of which the best [`SEARCH_LIMIT`] count).
pub fn search_public(
    conn: &mut DbConn,
    q: &str,
    f: &ListFilter,
    after: Option<(f64, NaiveDateTime, String)>,
    limit: i64,
) -> Result<Vec<ScoredSummary>, StoreError> {
    use diesel::sql_types::{BigInt, Double, Text, Timestamp};
    let words = search_words(q);
    if words.is_empty() {
        return Ok(Vec::new());
    }
    let postgres = conn.is_postgres();
    let mut args: Vec<Arg> = Vec::new();
    // `?` on SQLite, `$n` on PostgreSQL.
    let mut param = |arg: Arg| {
        args.push(arg);
        if postgres {
            format!("${}", args.len())
        } else {
            "?".to_owned()
        }
    };
    let hits = if postgres {
        let tsq = typeahead(&words, |w| w.to_owned(), |w| format!("{w}:*")).join(" & ");
        let p = param(Arg::Text(tsq));
        let at = param(Arg::Time(now()));
        // The newest public matches, read down the public index (stopping after the window
        // for a common word) or from the GIN index (for a rare one), as the planner judges.
        format!(
            "SELECT id, ts_rank(search, to_tsquery('english', {p}))::float8 AS score FROM \
             (SELECT id, search FROM articles WHERE search @@ to_tsquery('english', {p}) \
             AND public_at <= {at} ORDER BY public_at DESC LIMIT {SEARCH_WINDOW}) recent \
             ORDER BY score DESC LIMIT {SEARCH_LIMIT}"
        )
    } else {
        let fts = typeahead(&words, |w| format!("\"{w}\""), |w| format!("\"{w}\"*")).join(" ");
        let p = param(Arg::Text(fts.clone()));
        let newest = param(Arg::Text(fts));
        // FTS rowids follow creation: the window is the newest matches, found by walking the
        // match list backwards; bm25 then scores only rows at or above its lowest rowid.
        format!(
            "SELECT m.article_id AS id, -bm25(articles_fts, 10.0, 4.0, 1.0) AS score \
             FROM articles_fts JOIN articles_fts_ids m ON m.fts_rowid = articles_fts.rowid \
             WHERE articles_fts MATCH {p} AND articles_fts.rowid >= (SELECT coalesce(min(rowid), 0) FROM \
             (SELECT rowid FROM articles_fts WHERE articles_fts MATCH {newest} \
             ORDER BY rowid DESC LIMIT {SEARCH_WINDOW})) \
             ORDER BY score DESC LIMIT {SEARCH_LIMIT}"
        )
    };
    let mut sql = format!(
        "WITH hits AS ({hits}) \
         SELECT a.id, a.slug, a.headline, a.standfirst, a.dateline, a.kicker, a.hero, a.status, a.publish_at, \
         a.published_at, a.word_count, a.comment_count, a.updated_at, h.score \
         FROM hits h JOIN articles a ON a.id = h.id WHERE a.public_at <= {}",
        param(Arg::Time(now()))
    );
    if let Some(tag) = &f.tag {
        let (a, b) = (param(Arg::Text(tag.clone())), param(Arg::Text(tag.clone())));
        sql.push_str(&format!(
            " AND EXISTS (SELECT 1 FROM article_tags t JOIN tags g ON g.id = t.tag_id \
             WHERE t.article_id = a.id AND (g.slug = {a} OR g.id = {b}))"
        ));
    }
    if let Some(author) = &f.author {
        let a = param(Arg::Text(author.clone()));
        sql.push_str(&format!(
            " AND EXISTS (SELECT 1 FROM article_authors w WHERE w.article_id = a.id AND w.user_id = {a})"
        ));
    }
    if let Some(after) = f.published_after {
        sql.push_str(&format!(" AND a.public_at > {}", param(Arg::Time(after))));
    }
    if let Some(before) = f.published_before {
        sql.push_str(&format!(" AND a.public_at < {}", param(Arg::Time(before))));
    }
    if let Some((score, p, id)) = after {
        let (s1, s2) = (param(Arg::Double(score)), param(Arg::Double(score)));
        let (p1, p2) = (param(Arg::Time(p)), param(Arg::Time(p)));
        let i = param(Arg::Text(id));
        sql.push_str(&format!(
            " AND (h.score < {s1} OR (h.score = {s2} AND (a.public_at < {p1} OR (a.public_at = {p2} AND a.id < {i}))))"
        ));
    }
    sql.push_str(&format!(
        " ORDER BY h.score DESC, a.public_at DESC, a.id DESC LIMIT {}",
        param(Arg::Int(limit))
    ));
    macro_rules! run {
        ($c:expr) => {{
            let mut query = diesel::sql_query(sql).into_boxed();
            for arg in args {
                query = match arg {
                    Arg::Text(v) => query.bind::<Text, _>(v),
                    Arg::Time(v) => query.bind::<Timestamp, _>(v),
                    Arg::Double(v) => query.bind::<Double, _>(v),
                    Arg::Int(v) => query.bind::<BigInt, _>(v),
                };
            }
            query.load::<ScoredSummary>($c)?
        }};
    }
    Ok(match conn {
        DbConn::Sqlite(c) => run!(c),
        DbConn::Postgres(c) => run!(c),
    })
}

/// Full-text matches (article id, score; higher is better) over headline, standfirst and body:
/// FTS5 with bm25 on SQLite, a weighted tsvector with ts_rank on PostgreSQL.
pub fn search(conn: &mut DbConn, q: &str) -> Result<Vec<(String, f64)>, StoreError> {
    use diesel::sql_types::{BigInt, Text};
    let words = search_words(q);
    if words.is_empty() {
        return Ok(Vec::new());
    }
    let hits: Vec<Hit> = match conn {
        DbConn::Sqlite(c) => {
            let fts = words
                .iter()
                .map(|w| format!("\"{w}\"*"))
                .collect::<Vec<_>>()
                .join(" ");
            diesel::sql_query(
                "SELECT m.article_id AS id, -bm25(articles_fts, 10.0, 4.0, 1.0) AS score \
                 FROM articles_fts JOIN articles_fts_ids m ON m.fts_rowid = articles_fts.rowid \
                 WHERE articles_fts MATCH ? ORDER BY score DESC LIMIT ?",
            )
            .bind::<Text, _>(fts)
            .bind::<BigInt, _>(SEARCH_LIMIT)
            .load(c)?
        }
        DbConn::Postgres(c) => {
            let tsq = words
                .iter()
                .map(|w| format!("{w}:*"))
                .collect::<Vec<_>>()
                .join(" & ");
            diesel::sql_query(
                "SELECT id, ts_rank(search, to_tsquery('english', $1))::float8 AS score \
                 FROM articles WHERE search @@ to_tsquery('english', $1) ORDER BY score DESC LIMIT $2",
            )
            .bind::<Text, _>(tsq)
            .bind::<BigInt, _>(SEARCH_LIMIT)
            .load(c)?
        }
    };
    Ok(hits.into_iter().map(|h| (h.id, h.score)).collect())
}
