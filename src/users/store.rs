//! Diesel queries on `users`.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::auth::Role;
use crate::db::schema::{api_keys, refresh_tokens, users};
use crate::db::{DbConn, StoreError};
use crate::time::now;

#[derive(Debug, Clone, Queryable)]
pub struct UserRow {
    pub id: String,
    pub email: String,
    pub email_normalized: String,
    pub display_name: String,
    pub role: String,
    pub password_hash: String,
    pub disabled: bool,
    pub session_version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl UserRow {
    pub fn role(&self) -> Role {
        Role::parse(&self.role).unwrap_or(Role::Contributor)
    }
}

#[derive(Insertable)]
#[diesel(table_name = users)]
pub struct NewUser {
    pub id: String,
    pub email: String,
    pub email_normalized: String,
    pub display_name: String,
    pub role: String,
    pub password_hash: String,
    pub disabled: bool,
    pub session_version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// Fields an update may change (None leaves a field alone).
#[derive(Default, Clone, AsChangeset)]
#[diesel(table_name = users)]
pub struct UserChanges {
    pub email: Option<String>,
    pub email_normalized: Option<String>,
    pub display_name: Option<String>,
    pub role: Option<String>,
    pub password_hash: Option<String>,
    pub disabled: Option<bool>,
    pub updated_at: Option<NaiveDateTime>,
}

pub fn count(conn: &mut DbConn) -> Result<i64, StoreError> {
    Ok(users::table.count().get_result(conn)?)
}

pub fn insert(conn: &mut DbConn, user: &NewUser) -> Result<UserRow, StoreError> {
    diesel::insert_into(users::table)
        .values(user)
        .execute(conn)
        .map_err(|e| match StoreError::from(e) {
            StoreError::Conflict(_) => StoreError::Conflict("a user with this email already exists".into()),
            other => other,
        })?;
    find(conn, &user.id)
}

pub fn find(conn: &mut DbConn, id: &str) -> Result<UserRow, StoreError> {
    Ok(users::table.find(id).first(conn)?)
}

pub fn find_by_email(conn: &mut DbConn, normalized: &str) -> Result<Option<UserRow>, StoreError> {
    Ok(users::table
        .filter(users::email_normalized.eq(normalized))
        .first(conn)
        .optional()?)
}

/// Users ordered by id (creation order), after `after`.
pub fn list(conn: &mut DbConn, after: Option<&str>, limit: i64) -> Result<Vec<UserRow>, StoreError> {
    let mut query = users::table.order(users::id.asc()).limit(limit + 1).into_boxed();
    if let Some(after) = after {
        query = query.filter(users::id.gt(after.to_owned()));
    }
    Ok(query.load(conn)?)
}

/// Display names of the given users, in no particular order.
pub fn display_names(conn: &mut DbConn, ids: &[String]) -> Result<Vec<(String, String)>, StoreError> {
    Ok(users::table
        .filter(users::id.eq_any(ids))
        .select((users::id, users::display_name))
        .load(conn)?)
}

/// How many admin accounts exist, enabled or not.
pub fn count_admins(conn: &mut DbConn) -> Result<i64, StoreError> {
    Ok(users::table
        .filter(users::role.eq(Role::Admin.as_str()))
        .count()
        .get_result(conn)?)
}

fn enabled_admins(conn: &mut DbConn) -> Result<i64, StoreError> {
    Ok(users::table
        .filter(users::role.eq(Role::Admin.as_str()))
        .filter(users::disabled.eq(false))
        .count()
        .get_result(conn)?)
}

/// Applies `changes`; refuses (409) to leave the site without an enabled admin. Changing the
/// password or disabling the account ends its sessions.
pub fn update(conn: &mut DbConn, id: &str, changes: UserChanges) -> Result<UserRow, StoreError> {
    conn.transaction(|conn| {
        let before = find(conn, id)?;
        let loses_admin = before.role() == Role::Admin
            && !before.disabled
            && (changes.role.as_deref().is_some_and(|r| r != Role::Admin.as_str())
                || changes.disabled == Some(true));
        if loses_admin && enabled_admins(conn)? <= 1 {
            return Err(StoreError::Conflict("this is the last enabled admin".into()));
        }
        let ends_sessions = changes.password_hash.is_some() || changes.disabled == Some(true);
        diesel::update(users::table.find(id))
            .set(&UserChanges {
                updated_at: Some(now()),
                ..changes
            })
            .execute(conn)
            .map_err(|e| match StoreError::from(e) {
                StoreError::Conflict(_) => {
                    StoreError::Conflict("a user with this email already exists".into())
                }
                other => other,
            })?;
        if ends_sessions {
            end_sessions(conn, id)?;
        }
        find(conn, id)
    })
}

/// Revokes every refresh token of the user and invalidates their access tokens.
pub fn end_sessions(conn: &mut DbConn, id: &str) -> Result<(), StoreError> {
    diesel::update(users::table.find(id))
        .set(users::session_version.eq(users::session_version + 1))
        .execute(conn)?;
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::user_id.eq(id))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(Some(now())))
    .execute(conn)?;
    Ok(())
}

/// Deletes a user and revokes their API keys; refuses (409) to delete the last enabled admin.
pub fn delete(conn: &mut DbConn, id: &str) -> Result<(), StoreError> {
    conn.transaction(|conn| {
        let user = find(conn, id)?;
        if user.role() == Role::Admin && !user.disabled && enabled_admins(conn)? <= 1 {
            return Err(StoreError::Conflict("this is the last enabled admin".into()));
        }
        // Keys outlive nobody: the user's API keys are revoked with the account (the foreign
        // key only clears `created_by`, and a key without a creator is refused anyway).
        diesel::update(
            api_keys::table
                .filter(api_keys::created_by.eq(id))
                .filter(api_keys::revoked_at.is_null()),
        )
        .set(api_keys::revoked_at.eq(Some(now())))
        .execute(conn)?;
        diesel::delete(users::table.find(id)).execute(conn)?;
        Ok(())
    })
}
