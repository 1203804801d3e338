//! Diesel queries on `preview_links`. Only the SHA-256 of a token is stored; a link works while
//! it is unrevoked, unexpired, and its creator's account is enabled (and it goes with its
//! article or its creator, by foreign key).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{preview_links, users};
use crate::db::{DbConn, StoreError};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = preview_links)]
pub struct PreviewLinkRow {
    pub id: String,
    pub article_id: String,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
}

pub struct NewLink<'a> {
    pub id: &'a str,
    pub article_id: &'a str,
    pub token_hash: &'a str,
    pub created_by: &'a str,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConn, link: NewLink<'_>) -> Result<PreviewLinkRow, StoreError> {
    diesel::insert_into(preview_links::table)
        .values((
            preview_links::id.eq(link.id),
            preview_links::article_id.eq(link.article_id),
            preview_links::token_hash.eq(link.token_hash),
            preview_links::created_by.eq(link.created_by),
            preview_links::created_at.eq(link.created_at),
            preview_links::expires_at.eq(link.expires_at),
        ))
        .execute(conn)?;
    Ok(preview_links::table
        .find(link.id)
        .select(PreviewLinkRow::as_select())
        .first(conn)?)
}

/// An article's links, newest first (revoked and expired ones included, for the record).
pub fn of_article(conn: &mut DbConn, article_id: &str) -> Result<Vec<PreviewLinkRow>, StoreError> {
    Ok(preview_links::table
        .filter(preview_links::article_id.eq(article_id))
        .order((preview_links::created_at.desc(), preview_links::id.desc()))
        .limit(500)
        .select(PreviewLinkRow::as_select())
        .load(conn)?)
}

/// Revokes one link of an article (revoking twice keeps the first time); `NotFound` if the
/// article has no such link.
pub fn revoke(conn: &mut DbConn, article_id: &str, id: &str, at: NaiveDateTime) -> Result<(), StoreError> {
    let link = preview_links::table
        .filter(preview_links::id.eq(id))
        .filter(preview_links::article_id.eq(article_id));
    diesel::update(link.filter(preview_links::revoked_at.is_null()))
        .set(preview_links::revoked_at.eq(at))
        .execute(conn)?;
    link.select(preview_links::id).first::<String>(conn)?;
    Ok(())
}

/// The article a token opens at `at`: unrevoked, unexpired, made by an enabled user.
pub fn article_of_token(
    conn: &mut DbConn,
    token_hash: &str,
    at: NaiveDateTime,
) -> Result<Option<String>, StoreError> {
    Ok(preview_links::table
        .inner_join(users::table)
        .filter(preview_links::token_hash.eq(token_hash))
        .filter(preview_links::revoked_at.is_null())
        .filter(preview_links::expires_at.gt(at))
        .filter(users::disabled.eq(false))
        .select(preview_links::article_id)
        .first(conn)
        .optional()?)
}
