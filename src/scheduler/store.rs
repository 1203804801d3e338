//! The scheduler's queries on `articles`: find articles due to be published or unpublished by
//! time (locking them, skipping those another instance or a save holds) and mark them so.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamp};

use crate::articles::store::ArticleRow;
use crate::db::schema::articles;
use crate::db::{DbConn, StoreError};

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = Text)]
    id: String,
}

/// What has come due by time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// A scheduled article whose `publish_at` has passed.
    Publish,
    /// A public article whose `unpublish_at` has passed.
    Unpublish,
}

/// Ids of articles due at `at` (only `only`, when given), oldest due first. On PostgreSQL they
/// stay locked until the transaction ends; the batch skips rows locked by others, a single
/// article waits for its lock.
pub fn claim_due(
    conn: &mut DbConn,
    due: Due,
    at: NaiveDateTime,
    only: Option<&str>,
    limit: i64,
) -> Result<Vec<String>, StoreError> {
    let (condition, order) = match due {
        Due::Publish => ("status = 'scheduled' AND published_at <= $1", "published_at"),
        Due::Unpublish => (
            "status IN ('published', 'scheduled') AND unpublish_at <= $1",
            "unpublish_at",
        ),
    };
    // Two statements rather than `($2 = '' OR id = $2)`, which a generic plan cannot use the
    // primary key for: a save asks about its own article, by id.
    let (sql, only) = match only {
        Some(id) => (
            format!("SELECT id FROM articles WHERE id = $2 AND {condition} LIMIT $3"),
            id.to_owned(),
        ),
        None => (
            format!("SELECT id FROM articles WHERE {condition} AND $2 = '' ORDER BY {order} LIMIT $3"),
            String::new(),
        ),
    };
    let ids: Vec<Id> = match conn {
        DbConn::Postgres(c) => {
            // A save waits for its article's lock; the scheduler's batch skips what others hold.
            let lock = if only.is_empty() {
                "FOR UPDATE SKIP LOCKED"
            } else {
                "FOR UPDATE"
            };
            diesel::sql_query(format!("{sql} {lock}"))
                .bind::<Timestamp, _>(at)
                .bind::<Text, _>(only)
                .bind::<BigInt, _>(limit)
                .load(c)?
        }
        DbConn::Sqlite(c) => diesel::sql_query(sql.replace('$', "?"))
            .bind::<Timestamp, _>(at)
            .bind::<Text, _>(only)
            .bind::<BigInt, _>(limit)
            .load(c)?,
    };
    Ok(ids.into_iter().map(|r| r.id).collect())
}

/// Marks an article whose `unpublish_at` passed as a draft (what readers already see: it left
/// every public surface then), as the unpublish action would, and returns it.
pub fn mark_unpublished(conn: &mut DbConn, id: &str) -> Result<ArticleRow, StoreError> {
    diesel::update(articles::table.find(id))
        .set((
            articles::status.eq("draft"),
            articles::publish_at.eq(None::<NaiveDateTime>),
            articles::published_at.eq(None::<NaiveDateTime>),
            articles::unpublish_at.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
    Ok(articles::table
        .find(id)
        .select(ArticleRow::as_select())
        .first(conn)?)
}

/// Marks a due scheduled article published (what readers already see), and returns it.
pub fn mark_published(conn: &mut DbConn, id: &str) -> Result<ArticleRow, StoreError> {
    diesel::update(articles::table.find(id).filter(articles::status.eq("scheduled")))
        .set(articles::status.eq("published"))
        .execute(conn)?;
    Ok(articles::table
        .find(id)
        .select(ArticleRow::as_select())
        .first(conn)?)
}

/// The type of the newest going-public or leaving event about `subject` (published,
/// unpublished, scheduled), if any.
pub fn last_transition(conn: &mut DbConn, subject: &str) -> Result<Option<String>, StoreError> {
    use crate::db::schema::events;
    Ok(events::table
        .filter(events::subject.eq(subject))
        .filter(events::event_type.eq_any(["article.published", "article.unpublished", "article.scheduled"]))
        .order(events::seq.desc())
        .select(events::event_type)
        .first(conn)
        .optional()?)
}
