//! Diesel queries on `article_corrections`: append one, read an article's (oldest first), and
//! the site's recent ones on public articles (newest first). There is no update or delete.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::articles::store::public_now_expr;
use crate::corrections::model::{Correction, CorrectionKind};
use crate::db::schema::{article_corrections, articles};
use crate::db::{DbConn, StoreError};
use crate::time::{new_id, utc};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = article_corrections)]
pub struct CorrectionRow {
    pub id: String,
    pub article_id: String,
    pub kind: String,
    pub text: String,
    pub published_at: NaiveDateTime,
}

impl CorrectionRow {
    pub fn public(self) -> Correction {
        Correction {
            kind: CorrectionKind::parse(&self.kind).unwrap_or(CorrectionKind::Correction),
            id: self.id,
            text: self.text,
            published_at: utc(self.published_at),
        }
    }
}

/// Appends a correction to an article.
pub fn insert(
    conn: &mut DbConn,
    article_id: &str,
    kind: CorrectionKind,
    text: &str,
    by: Option<&str>,
    at: NaiveDateTime,
) -> Result<CorrectionRow, StoreError> {
    let id = new_id();
    diesel::insert_into(article_corrections::table)
        .values((
            article_corrections::id.eq(&id),
            article_corrections::article_id.eq(article_id),
            article_corrections::kind.eq(kind.as_str()),
            article_corrections::text.eq(text),
            article_corrections::published_at.eq(at),
            article_corrections::created_by.eq(by),
        ))
        .execute(conn)?;
    Ok(article_corrections::table
        .find(&id)
        .select(CorrectionRow::as_select())
        .first(conn)?)
}

/// The corrections of these articles, each article's oldest first.
pub fn of_articles(
    conn: &mut DbConn,
    ids: &[String],
) -> Result<HashMap<String, Vec<Correction>>, StoreError> {
    let rows: Vec<CorrectionRow> = article_corrections::table
        .filter(article_corrections::article_id.eq_any(ids))
        .order((
            article_corrections::published_at.asc(),
            article_corrections::id.asc(),
        ))
        .select(CorrectionRow::as_select())
        .load(conn)?;
    let mut out: HashMap<String, Vec<Correction>> = HashMap::new();
    for row in rows {
        out.entry(row.article_id.clone()).or_default().push(row.public());
    }
    Ok(out)
}

/// Recent corrections of articles readers can see now, newest first, after the keyset
/// `(published_at, id)`, each with its article's slug and headline.
pub fn recent(
    conn: &mut DbConn,
    at: NaiveDateTime,
    after: Option<(NaiveDateTime, String)>,
    limit: i64,
) -> Result<Vec<(CorrectionRow, String, String)>, StoreError> {
    let mut q = article_corrections::table
        .inner_join(articles::table)
        .filter(public_now_expr!(at))
        .into_boxed();
    if let Some((p, id)) = after {
        q = q.filter(
            article_corrections::published_at
                .lt(p)
                .or(article_corrections::published_at
                    .eq(p)
                    .and(article_corrections::id.lt(id))),
        );
    }
    Ok(q.order((
        article_corrections::published_at.desc(),
        article_corrections::id.desc(),
    ))
    .limit(limit)
    .select((CorrectionRow::as_select(), articles::slug, articles::headline))
    .load(conn)?)
}
