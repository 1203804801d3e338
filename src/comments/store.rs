//! Diesel queries for comments, used challenge nonces and the articles' approved-comment counts.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::comments::model::{CommentError, CommentStatus, MAX_DEPTH, NewCommentInput};
use crate::db::schema::{articles, comment_challenges_used, comments};
use crate::db::{DbConn, StoreError};
use crate::time::{new_id, now};

#[derive(Debug, Clone, Queryable)]
pub struct CommentRow {
    pub id: String,
    pub article_id: String,
    pub parent_id: Option<String>,
    pub root_id: String,
    pub depth: i32,
    pub author_name: String,
    pub author_email: Option<String>,
    pub body: String,
    pub status: String,
    pub address_hash: String,
    pub removed: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl CommentRow {
    pub fn status(&self) -> CommentStatus {
        CommentStatus::parse(&self.status).unwrap_or(CommentStatus::Pending)
    }
}

#[derive(Insertable)]
#[diesel(table_name = comments)]
struct NewCommentRow {
    id: String,
    article_id: String,
    parent_id: Option<String>,
    root_id: String,
    depth: i32,
    author_name: String,
    author_email: Option<String>,
    body: String,
    status: String,
    address_hash: String,
    removed: bool,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

/// What commenting needs to know about a public article.
#[derive(Debug, Clone)]
pub struct CommentableArticle {
    pub id: String,
    pub slug: String,
    pub comments_enabled: bool,
    /// When its public comments last changed.
    pub comments_changed_at: Option<NaiveDateTime>,
}

/// The article with this slug if it is public now (published, or scheduled and due).
pub fn public_article(conn: &mut DbConn, slug: &str) -> Result<Option<CommentableArticle>, StoreError> {
    let public = crate::articles::store::public_now(articles::table.into_boxed(), now());
    let row: Option<(String, String, bool, Option<NaiveDateTime>)> = public
        .filter(articles::slug.eq(slug))
        .select((
            articles::id,
            articles::slug,
            articles::comments_enabled,
            articles::comments_changed_at,
        ))
        .first(conn)
        .optional()?;
    Ok(row.map(
        |(id, slug, comments_enabled, comments_changed_at)| CommentableArticle {
            id,
            slug,
            comments_enabled,
            comments_changed_at,
        },
    ))
}

impl From<diesel::result::Error> for CommentError {
    fn from(err: diesel::result::Error) -> Self {
        CommentError::Store(err.into())
    }
}

/// Records a challenge nonce as used; a second use is refused (422) — also across instances,
/// since the primary key lives in the shared database. Expired nonces are swept on the way.
pub fn use_challenge(conn: &mut DbConn, nonce: &str, expires_at: NaiveDateTime) -> Result<(), CommentError> {
    diesel::delete(comment_challenges_used::table.filter(comment_challenges_used::expires_at.lt(now())))
        .execute(conn)?;
    diesel::insert_into(comment_challenges_used::table)
        .values((
            comment_challenges_used::nonce.eq(nonce),
            comment_challenges_used::expires_at.eq(expires_at),
        ))
        .execute(conn)
        .map_err(|e| match StoreError::from(e) {
            StoreError::Conflict(_) => CommentError::challenge_used(),
            other => CommentError::Store(other),
        })?;
    Ok(())
}

/// Inserts a comment (checking its parent) and keeps the article's count current.
pub fn insert(
    conn: &mut DbConn,
    article_id: &str,
    input: NewCommentInput,
    status: CommentStatus,
    address_hash: String,
) -> Result<CommentRow, CommentError> {
    let (root_id, depth, parent_id) = match input.parent_id {
        None => (None, 1, None),
        Some(parent_id) => {
            let parent: Option<CommentRow> = comments::table
                .find(&parent_id)
                .first(conn)
                .optional()
                .map_err(StoreError::from)?;
            let parent = parent
                .filter(|p| p.article_id == article_id && !p.removed)
                .ok_or_else(CommentError::parent_elsewhere)?;
            if parent.depth >= MAX_DEPTH {
                return Err(CommentError::too_deep());
            }
            (Some(parent.root_id), parent.depth + 1, Some(parent_id))
        }
    };
    let id = new_id();
    let at = now();
    diesel::insert_into(comments::table)
        .values(NewCommentRow {
            root_id: root_id.unwrap_or_else(|| id.clone()),
            id: id.clone(),
            article_id: article_id.to_owned(),
            parent_id,
            depth,
            author_name: input.author_name,
            author_email: input.author_email,
            body: input.body,
            status: status.as_str().into(),
            address_hash,
            removed: false,
            created_at: at,
            updated_at: at,
        })
        .execute(conn)?;
    if status == CommentStatus::Approved {
        refresh_count(conn, article_id)?;
    }
    Ok(comments::table.find(&id).first(conn)?)
}

/// Recomputes `articles.comment_count` (approved, not removed) and stamps
/// `comments_changed_at`, the Last-Modified of the public comment list.
pub fn refresh_count(conn: &mut DbConn, article_id: &str) -> Result<(), StoreError> {
    // The public thread and the article's `comment_count` may change: their cached responses
    // go when this write commits (comment.approved names them too; a rejection or a deletion
    // has no event of its own).
    crate::db::mark_stale([format!("comments:{article_id}"), format!("article:{article_id}")]);
    // Lock the article row before counting: on PostgreSQL a concurrent moderation of the same
    // article then commits first and this count (a new statement) sees it; counting first
    // would let two moderations each write a count that misses the other.
    diesel::update(articles::table.find(article_id))
        .set(articles::comments_changed_at.eq(Some(now())))
        .execute(conn)?;
    let count: i64 = comments::table
        .filter(comments::article_id.eq(article_id))
        .filter(comments::status.eq(CommentStatus::Approved.as_str()))
        .filter(comments::removed.eq(false))
        .count()
        .get_result(conn)?;
    diesel::update(articles::table.find(article_id))
        .set((
            articles::comment_count.eq(count as i32),
            articles::comments_changed_at.eq(Some(now())),
        ))
        .execute(conn)?;
    Ok(())
}

/// One page of approved top-level comments (oldest first) after `after`.
pub fn public_roots(
    conn: &mut DbConn,
    article_id: &str,
    after: Option<(NaiveDateTime, String)>,
    limit: i64,
) -> Result<Vec<CommentRow>, StoreError> {
    let mut query = comments::table
        .filter(comments::article_id.eq(article_id))
        .filter(comments::depth.eq(1))
        .filter(comments::status.eq(CommentStatus::Approved.as_str()))
        .order((comments::created_at.asc(), comments::id.asc()))
        .limit(limit + 1)
        .into_boxed();
    if let Some((at, id)) = after {
        query = query.filter(
            comments::created_at
                .gt(at)
                .or(comments::created_at.eq(at).and(comments::id.gt(id))),
        );
    }
    Ok(query.load(conn)?)
}

/// Approved replies in the threads of `root_ids`, oldest first.
pub fn public_replies(conn: &mut DbConn, root_ids: &[String]) -> Result<Vec<CommentRow>, StoreError> {
    Ok(comments::table
        .filter(comments::root_id.eq_any(root_ids))
        .filter(comments::depth.gt(1))
        .filter(comments::status.eq(CommentStatus::Approved.as_str()))
        .order((comments::created_at.asc(), comments::id.asc()))
        .load(conn)?)
}

/// The latest change to the article's approved comments (for Last-Modified).
pub fn find(conn: &mut DbConn, id: &str) -> Result<CommentRow, StoreError> {
    Ok(comments::table.find(id).first(conn)?)
}

/// Moderation list: newest first, filtered by status and article.
pub fn moderation_list(
    conn: &mut DbConn,
    status: Option<CommentStatus>,
    article_id: Option<&str>,
    after: Option<(NaiveDateTime, String)>,
    limit: i64,
) -> Result<Vec<CommentRow>, StoreError> {
    let mut query = comments::table
        .order((comments::created_at.desc(), comments::id.desc()))
        .limit(limit + 1)
        .into_boxed();
    if let Some(status) = status {
        query = query.filter(comments::status.eq(status.as_str()));
    }
    if let Some(article_id) = article_id {
        query = query.filter(comments::article_id.eq(article_id.to_owned()));
    }
    if let Some((at, id)) = after {
        query = query.filter(
            comments::created_at
                .lt(at)
                .or(comments::created_at.eq(at).and(comments::id.lt(id))),
        );
    }
    Ok(query.load(conn)?)
}

/// What a moderation did: how many of the given comments exist, and which of them it moved
/// to the new status (the others already had it).
#[derive(Debug, Default)]
pub struct Moderated {
    pub matched: usize,
    pub changed: Vec<String>,
}

/// Sets the status of the given comments.
pub fn set_status(conn: &mut DbConn, ids: &[String], status: CommentStatus) -> Result<Moderated, StoreError> {
    conn.transaction(|conn| {
        // Articles' counters are updated in one order (by id) by every moderation, so two
        // concurrent bulk moderations never wait on each other in a circle (a deadlock).
        let article_ids: Vec<String> = comments::table
            .filter(comments::id.eq_any(ids))
            .select(comments::article_id)
            .distinct()
            .order(comments::article_id.asc())
            .load(conn)?;
        // Only rows whose status differs change, and the UPDATE says which: on PostgreSQL a
        // concurrent moderation of the same comment waits for this one and then finds nothing
        // to change, so "approved" is recorded once.
        let changed: Vec<String> = diesel::update(
            comments::table
                .filter(comments::id.eq_any(ids))
                .filter(comments::status.ne(status.as_str())),
        )
        .set((
            comments::status.eq(status.as_str()),
            comments::updated_at.eq(now()),
        ))
        .returning(comments::id)
        .get_results(conn)?;
        let matched: i64 = comments::table
            .filter(comments::id.eq_any(ids))
            .count()
            .get_result(conn)?;
        for article_id in &article_ids {
            refresh_count(conn, article_id)?;
        }
        Ok(Moderated {
            matched: matched as usize,
            changed,
        })
    })
}

/// Deletes a comment; one with replies is kept as "removed" so the thread stays readable.
pub fn delete(conn: &mut DbConn, id: &str) -> Result<(), StoreError> {
    conn.transaction(|conn| {
        let comment = find(conn, id)?;
        let replies: i64 = comments::table
            .filter(comments::parent_id.eq(id))
            .count()
            .get_result(conn)?;
        if replies > 0 {
            diesel::update(comments::table.find(id))
                .set((
                    comments::removed.eq(true),
                    comments::body.eq(""),
                    comments::author_name.eq(""),
                    comments::author_email.eq(None::<String>),
                    comments::updated_at.eq(now()),
                ))
                .execute(conn)?;
        } else {
            diesel::delete(comments::table.find(id)).execute(conn)?;
        }
        refresh_count(conn, &comment.article_id)
    })
}
