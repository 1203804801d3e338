//! Full-text search over headline, standfirst and body: FTS5 with bm25 on SQLite, a weighted
//! tsvector with ts_rank on PostgreSQL; ranking, filters and paging all in SQL.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::articles::store::{ListFilter, SummaryRow};
use crate::db::{DbConn, StoreError};
use crate::time::now;

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
         a.published_at, a.word_count, a.comment_count, a.updated_at, a.embargo_until, a.unpublish_at, \
         h.score FROM hits h JOIN articles a ON a.id = h.id WHERE a.public_at <= {} \
         AND (a.embargo_until IS NULL OR a.embargo_until <= {}) AND (a.unpublish_at IS NULL OR a.unpublish_at > {})",
        param(Arg::Time(now())),
        param(Arg::Time(now())),
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
