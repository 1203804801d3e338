//! The development token secret. Without `MASTHEAD_JWT_SECRET`, development mode generates a
//! secret on its first start and keeps it in the database (table `local_secrets`), so access
//! tokens, cursors and comment challenges stay valid across restarts, and several processes on
//! one database agree on it. Production never gets here: it refuses to start without
//! `MASTHEAD_JWT_SECRET` (see `config`).

use diesel::prelude::*;
use secrecy::SecretString;

use crate::config::{Environment, Settings};
use crate::db::schema::local_secrets;
use crate::db::{Db, DbConn, StoreError};

/// The row that holds the development token secret.
pub const NAME: &str = "development_jwt_secret";

/// Whether the kept secret was written now or found from an earlier start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kept {
    Created,
    Found,
}

/// The kept secret named `name`, storing `candidate` first if there is none yet. When two
/// processes start at once, the one whose insert loses reads the winner's secret.
pub fn keep(conn: &mut DbConn, name: &str, candidate: &str) -> Result<(String, Kept), StoreError> {
    if let Some(value) = find(conn, name)? {
        return Ok((value, Kept::Found));
    }
    let inserted = diesel::insert_into(local_secrets::table)
        .values((
            local_secrets::name.eq(name),
            local_secrets::value.eq(candidate),
            local_secrets::created_at.eq(crate::time::now()),
        ))
        .execute(conn);
    match inserted.map_err(StoreError::from) {
        Ok(_) => Ok((candidate.to_owned(), Kept::Created)),
        Err(StoreError::Conflict(_)) => find(conn, name)?
            .map(|value| (value, Kept::Found))
            .ok_or(StoreError::NotFound),
        Err(other) => Err(other),
    }
}

fn find(conn: &mut DbConn, name: &str) -> Result<Option<String>, StoreError> {
    Ok(local_secrets::table
        .find(name)
        .select(local_secrets::value)
        .first::<String>(conn)
        .optional()?
        .filter(|value| !value.is_empty()))
}

/// In development without a configured secret, replaces the per-process secret of `settings`
/// with the one kept in the database, and says where it is. Otherwise changes nothing.
pub fn apply(mut settings: Settings, db: &Db) -> anyhow::Result<Settings> {
    if settings.environment != Environment::Development || !settings.jwt_secret_generated {
        return Ok(settings);
    }
    let candidate = secrecy::ExposeSecret::expose_secret(&settings.jwt_secret).to_owned();
    let (secret, kept) = db
        .get()
        .and_then(|mut conn| keep(&mut conn, NAME, &candidate))
        .map_err(|e| {
            anyhow::anyhow!(
                "MASTHEAD_JWT_SECRET is not set and the development secret cannot be kept in the \
                 database ({e}); run `masthead migrate` or set MASTHEAD_JWT_SECRET"
            )
        })?;
    let database = db.url().redacted();
    match kept {
        Kept::Created => tracing::warn!(
            %database,
            "MASTHEAD_JWT_SECRET is not set: generated a development token secret and kept it in \
             the table local_secrets of the database, so logins survive restarts; set \
             MASTHEAD_JWT_SECRET to use your own (production requires it)"
        ),
        Kept::Found => tracing::info!(
            %database,
            "MASTHEAD_JWT_SECRET is not set: using the development token secret kept in the table \
             local_secrets of the database"
        ),
    }
    settings.jwt_secret = SecretString::from(secret);
    Ok(settings)
}
