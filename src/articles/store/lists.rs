//! The article lists: the shared filters (tag, author, dates, status) and the public and
//! editorial lists with their keyset pages.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::articles::domain::Hero;
use crate::articles::model::Status;
use crate::articles::store::ArticleRow;
use crate::db::schema::{article_authors, article_tags, articles, tags};
use crate::db::{DbConn, StoreError};
use crate::time::now;

/// The public filter: published, or scheduled with its time come (no background job needed).
macro_rules! public_at {
    ($at:expr) => {
        articles::status
            .eq_any(["published", "scheduled"])
            .and(articles::published_at.le($at))
            .and(
                articles::embargo_until
                    .is_null()
                    .or(articles::embargo_until.le($at)),
            )
            .and(
                articles::unpublish_at
                    .is_null()
                    .or(articles::unpublish_at.gt($at)),
            )
    };
}

/// [`public_now`] as an expression over `articles`, for queries that join it.
macro_rules! public_now_expr {
    ($at:expr) => {
        crate::db::schema::articles::public_at
            .le($at)
            .and(
                crate::db::schema::articles::embargo_until
                    .is_null()
                    .or(crate::db::schema::articles::embargo_until.le($at)),
            )
            .and(
                crate::db::schema::articles::unpublish_at
                    .is_null()
                    .or(crate::db::schema::articles::unpublish_at.gt($at)),
            )
    };
}
pub(crate) use public_now_expr;

/// THE rule for what readers may see at `at`, for every public surface (lists, search,
/// feeds, sitemaps, comments, corrections): published, or scheduled with its time come (the
/// generated `public_at`, whose partial index gives the order), past any embargo and before any
/// scheduled unpublish (PRODUCT.md §10).
pub fn public_now<'a>(q: Boxed<'a>, at: NaiveDateTime) -> Boxed<'a> {
    q.filter(public_now_expr!(at))
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

pub type Boxed<'a> = articles::BoxedQuery<'a, <DbConn as diesel::Connection>::Backend>;

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
    pub embargo_until: Option<NaiveDateTime>,
    pub unpublish_at: Option<NaiveDateTime>,
}

impl SummaryRow {
    /// The status as readers see it now (see [`ArticleRow::effective_status`]).
    pub fn effective_status(&self, at: NaiveDateTime) -> Status {
        crate::articles::domain::effective_status(
            Status::parse(&self.status).unwrap_or(Status::Draft),
            self.published_at,
            self.embargo_until,
            self.unpublish_at,
            at,
        )
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
    let mut q = public_now(apply_filter(articles::table.into_boxed(), &shared, at), at);
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
