//! The queries behind feeds and sitemaps. [`distributable`] is the one rule for which articles
//! any distribution format may show; every query here starts from it.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::articles::store::ArticleRow;
use crate::db::schema::{article_authors, article_tags, articles, tags};
use crate::db::{DbConn, StoreError};

type Boxed<'a> = articles::BoxedQuery<'a, <DbConn as diesel::Connection>::Backend>;

/// THE rule for what a feed or sitemap may show at `at`: what the public API shows
/// (`articles::store::public_now`: published or due, past any embargo, before any scheduled
/// unpublish).
fn distributable<'a>(at: NaiveDateTime) -> Boxed<'a> {
    crate::articles::store::public_now(articles::table.into_boxed(), at)
}

/// Which articles a feed lists.
#[derive(Debug, Clone, Default)]
pub struct FeedFilter {
    /// Tag slug.
    pub tag: Option<String>,
    /// Author user id.
    pub author: Option<String>,
}

/// The latest `limit` articles a feed may show, newest first (the public index's order).
pub fn latest(
    conn: &mut DbConn,
    f: &FeedFilter,
    at: NaiveDateTime,
    limit: i64,
) -> Result<Vec<ArticleRow>, StoreError> {
    let mut q = distributable(at);
    if let Some(tag) = &f.tag {
        q = q.filter(diesel::dsl::exists(
            article_tags::table
                .inner_join(tags::table)
                .filter(article_tags::article_id.eq(articles::id))
                .filter(tags::slug.eq(tag.clone()))
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
    Ok(q.order((articles::public_at.desc(), articles::id.desc()))
        .limit(limit)
        .select(ArticleRow::as_select())
        .load(conn)?)
}

/// What a sitemap says of an article.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = articles)]
pub struct SitemapRow {
    pub id: String,
    pub slug: String,
    pub headline: String,
    pub published_at: Option<NaiveDateTime>,
    pub updated_at: NaiveDateTime,
    pub seo_canonical_url: Option<String>,
}

/// Articles a sitemap may show, published in `[from, to)`, newest first, at most `limit`.
pub fn published_between(
    conn: &mut DbConn,
    from: NaiveDateTime,
    to: NaiveDateTime,
    at: NaiveDateTime,
    limit: i64,
) -> Result<Vec<SitemapRow>, StoreError> {
    Ok(distributable(at)
        .filter(articles::public_at.ge(from))
        .filter(articles::public_at.lt(to))
        .order((articles::public_at.desc(), articles::id.desc()))
        .limit(limit)
        .select(SitemapRow::as_select())
        .load(conn)?)
}

/// The publication and update time of every article a sitemap may show, for the index (which
/// months have articles, and when each last changed). Two timestamps a row, read in the public
/// index's order.
pub fn all_times(
    conn: &mut DbConn,
    at: NaiveDateTime,
) -> Result<Vec<(NaiveDateTime, NaiveDateTime)>, StoreError> {
    let rows: Vec<(Option<NaiveDateTime>, NaiveDateTime)> = distributable(at)
        .order((articles::public_at.desc(), articles::id.desc()))
        .select((articles::public_at, articles::updated_at))
        .load(conn)?;
    Ok(rows.into_iter().filter_map(|(p, u)| Some((p?, u))).collect())
}
