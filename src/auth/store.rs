//! Diesel queries for refresh tokens and API keys.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{api_keys, refresh_tokens};
use crate::db::{DbConn, StoreError};
use crate::time::{new_id, now};

#[derive(Debug, Clone, Queryable)]
pub struct RefreshTokenRow {
    pub id: String,
    pub user_id: String,
    pub family_id: String,
    pub token_hash: String,
    pub expires_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = refresh_tokens)]
struct NewRefreshToken<'a> {
    id: String,
    user_id: &'a str,
    family_id: &'a str,
    token_hash: &'a str,
    expires_at: NaiveDateTime,
    created_at: NaiveDateTime,
}

pub fn insert_refresh_token(
    conn: &mut DbConn,
    user_id: &str,
    family_id: &str,
    token_hash: &str,
    expires_at: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::insert_into(refresh_tokens::table)
        .values(NewRefreshToken {
            id: new_id(),
            user_id,
            family_id,
            token_hash,
            expires_at,
            created_at: now(),
        })
        .execute(conn)?;
    Ok(())
}

pub fn find_refresh_token(
    conn: &mut DbConn,
    token_hash: &str,
) -> Result<Option<RefreshTokenRow>, StoreError> {
    Ok(refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(token_hash))
        .first(conn)
        .optional()?)
}

/// Marks the token used; false when another request used it first (so only one rotation wins).
pub fn claim_refresh_token(conn: &mut DbConn, id: &str) -> Result<bool, StoreError> {
    let updated = diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::id.eq(id))
            .filter(refresh_tokens::used_at.is_null())
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::used_at.eq(Some(now())))
    .execute(conn)?;
    Ok(updated == 1)
}

/// Revokes every token of a family (logout, or a reused token: likely theft).
pub fn revoke_family(conn: &mut DbConn, family_id: &str) -> Result<(), StoreError> {
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::family_id.eq(family_id))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(Some(now())))
    .execute(conn)?;
    Ok(())
}

#[derive(Debug, Clone, Queryable)]
pub struct ApiKeyRow {
    pub id: String,
    pub name: String,
    pub role: String,
    pub prefix: String,
    pub secret_hash: String,
    pub created_by: Option<String>,
    pub expires_at: Option<NaiveDateTime>,
    pub last_used_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = api_keys)]
pub struct NewApiKey {
    pub id: String,
    pub name: String,
    pub role: String,
    pub prefix: String,
    pub secret_hash: String,
    pub created_by: Option<String>,
    pub expires_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

pub fn insert_api_key(conn: &mut DbConn, key: &NewApiKey) -> Result<ApiKeyRow, StoreError> {
    diesel::insert_into(api_keys::table).values(key).execute(conn)?;
    Ok(api_keys::table.find(&key.id).first(conn)?)
}

pub fn list_api_keys(
    conn: &mut DbConn,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<ApiKeyRow>, StoreError> {
    let mut query = api_keys::table
        .order(api_keys::id.asc())
        .limit(limit + 1)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(api_keys::id.gt(after.to_owned()));
    }
    Ok(query.load(conn)?)
}

pub fn find_api_key_by_hash(conn: &mut DbConn, secret_hash: &str) -> Result<Option<ApiKeyRow>, StoreError> {
    Ok(api_keys::table
        .filter(api_keys::secret_hash.eq(secret_hash))
        .first(conn)
        .optional()?)
}

/// Records use, at most once a minute per key so reads do not turn into writes.
pub fn touch_api_key(conn: &mut DbConn, key: &ApiKeyRow) -> Result<(), StoreError> {
    let at = now();
    if key
        .last_used_at
        .is_none_or(|last| at - last > chrono::Duration::seconds(60))
    {
        diesel::update(api_keys::table.find(&key.id))
            .set(api_keys::last_used_at.eq(Some(at)))
            .execute(conn)?;
    }
    Ok(())
}

pub fn revoke_api_key(conn: &mut DbConn, id: &str) -> Result<(), StoreError> {
    let updated = diesel::update(api_keys::table.find(id))
        .set(api_keys::revoked_at.eq(Some(now())))
        .execute(conn)?;
    if updated == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}
