//! Comment endpoints: the public challenge, posting and threaded list, and moderation.

use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Auth, EditorRole};
use crate::comments::challenge::ChallengeError;
use crate::comments::model::{CommentError, CommentStatus, NewCommentInput, address_hash};
use crate::comments::store::{self, CommentRow};
use crate::db::{DbConn, StoreError};
use crate::error::{ApiError, FieldError, Problem};
use crate::events::{self, EventType, NewEvent};
use crate::http::caching::{self, CacheInfo, Fresh};
use crate::http::client_ip::client_ip;
use crate::http::json::Valid;
use crate::pagination::{Page, PageQuery, paginate};
use crate::state::AppState;
use crate::time::{naive, utc};

/// A challenge for the comment form.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct Challenge {
    /// Send back as `challenge_token`.
    pub token: String,
    /// Show to the reader; send their answer as `challenge_answer`. A sum or a difference of
    /// two small whole numbers, `a + b = ?` or `a - b = ?`; the answer is never negative.
    #[schema(examples("3 + 9 = ?", "11 - 4 = ?"))]
    pub question: String,
    pub expires_at: DateTime<Utc>,
}

/// A reader's comment.
#[derive(Deserialize, ToSchema)]
pub struct PostComment {
    /// 1–80 characters as sent, not blank.
    #[schema(
        example = "Ana",
        max_length = 80,
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"
    )]
    pub author_name: String,
    /// Never shown publicly.
    #[schema(format = Email, max_length = 254)]
    pub author_email: Option<String>,
    /// Plain text, 1–5 000 characters as sent, not blank.
    #[schema(
        example = "Thanks for the clear explanation of the budget vote.",
        max_length = 5000,
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"
    )]
    pub body: String,
    /// Reply to this comment (same article, at most 3 levels deep).
    pub parent_id: Option<String>,
    pub challenge_token: String,
    /// The answer to the challenge's question as a whole number, e.g. `12` for "3 + 9 = ?" or
    /// `7` for "11 - 4 = ?". (A string of digits, `"12"`, is accepted too.)
    #[schema(value_type = i32, minimum = 0, example = 12)]
    pub challenge_answer: serde_json::Value,
    /// Leave empty: a field hidden from people, filled in by bots.
    #[serde(default)]
    pub website: Option<String>,
}

impl crate::fields::Input for PostComment {}

/// A comment as the public sees it (never the email or the address hash).
#[derive(Serialize, Deserialize, ToSchema)]
pub struct PublicComment {
    pub id: String,
    /// The article's id.
    pub article: String,
    pub parent_id: Option<String>,
    /// Null when the comment was removed.
    pub author_name: Option<String>,
    /// Plain text; escape it when rendering. Null when the comment was removed.
    pub body: Option<String>,
    pub status: CommentStatus,
    /// True when a moderator deleted the comment but its replies remain.
    pub removed: bool,
    pub created_at: DateTime<Utc>,
    /// Approved replies, oldest first.
    #[schema(no_recursion)]
    pub replies: Vec<PublicComment>,
}

/// A comment as moderators see it.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct ModeratedComment {
    pub id: String,
    pub article: String,
    pub parent_id: Option<String>,
    pub depth: i32,
    pub author_name: String,
    pub author_email: Option<String>,
    pub body: String,
    pub status: CommentStatus,
    pub removed: bool,
    /// Keyed hash of the poster's address: equal hashes mean the same origin.
    pub address_hash: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<CommentRow> for ModeratedComment {
    fn from(row: CommentRow) -> Self {
        ModeratedComment {
            status: row.status(),
            id: row.id,
            article: row.article_id,
            parent_id: row.parent_id,
            depth: row.depth,
            author_name: row.author_name,
            author_email: row.author_email,
            body: row.body,
            removed: row.removed,
            address_hash: row.address_hash,
            created_at: utc(row.created_at),
            updated_at: utc(row.updated_at),
        }
    }
}

fn public(row: &CommentRow) -> PublicComment {
    PublicComment {
        id: row.id.clone(),
        article: row.article_id.clone(),
        parent_id: row.parent_id.clone(),
        author_name: (!row.removed).then(|| row.author_name.clone()),
        body: (!row.removed).then(|| row.body.clone()),
        status: row.status(),
        removed: row.removed,
        created_at: utc(row.created_at),
        replies: Vec::new(),
    }
}

/// Nests `replies` under their parents; replies whose parent is not visible are left out.
fn thread(root: &CommentRow, replies: &[CommentRow]) -> PublicComment {
    let mut node = public(root);
    node.replies = replies
        .iter()
        .filter(|r| r.parent_id.as_deref() == Some(root.id.as_str()))
        .map(|r| thread(r, replies))
        .collect();
    node
}

/// The newest creation time in a thread (for Last-Modified; a deletion changes the ETag).
fn latest_in_thread(node: &PublicComment) -> Vec<DateTime<Utc>> {
    let mut times = vec![node.created_at];
    for reply in &node.replies {
        times.extend(latest_in_thread(reply));
    }
    times
}

/// Get an arithmetic challenge for the comment form.
///
/// The token is signed, expires (default 10 minutes) and works once.
#[utoipa::path(
    tag = "public",
    responses((status = 200, body = Challenge, headers(("Cache-Control" = String, description = "no-store"))))
)]
#[get("/comments/challenge")]
pub async fn challenge(state: web::Data<AppState>) -> HttpResponse {
    let (token, claims) = state.challenges.issue();
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(Challenge {
            token,
            question: claims.question(),
            expires_at: claims.expires_at(),
        })
}

fn answer_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

/// Post a comment on a published article.
///
/// New comments are `pending` until a moderator approves them (unless auto-approval is on).
/// A filled-in `website` honeypot is answered like any pending comment but stored as spam.
#[utoipa::path(
    tag = "public",
    params(("slug" = String, Path, description = "The article's slug")),
    request_body = PostComment,
    responses(
        (status = 201, body = PublicComment),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Comments are closed on this article", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, or a wrong, expired or reused challenge", body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait")))
    )
)]
#[post("/articles/{slug}/comments")]
pub async fn post_comment(
    req: HttpRequest,
    state: web::Data<AppState>,
    slug: web::Path<String>,
    body: Valid<PostComment>,
) -> Result<HttpResponse, ApiError> {
    let slug = slug.into_inner();
    let article = state
        .db
        .run(move |conn| store::public_article(conn, &slug))
        .await?
        .ok_or_else(|| ApiError::not_found("article"))?;
    if !article.comments_enabled {
        return Err(ApiError::Forbidden("Comments are closed on this article".into()));
    }
    let ip = client_ip(&req, &state.settings.trusted_proxies);
    state
        .comment_limiter
        .check(&ip)
        .await
        .map_err(|retry_after_secs| ApiError::TooManyRequests {
            detail: "Too many comments from your address; wait a little".into(),
            retry_after_secs,
        })?;

    let form = body.into_inner();
    let input = NewCommentInput::parse(
        &form.author_name,
        form.author_email.as_deref(),
        &form.body,
        form.parent_id.as_deref(),
    )?;
    let claims = state
        .challenges
        .verify(&form.challenge_token, &answer_text(&form.challenge_answer))
        .map_err(|e: ChallengeError| {
            let (field, message) = e.field_and_message();
            ApiError::validation(vec![FieldError::new(field, message)])
        })?;
    let is_bot = form.website.as_deref().is_some_and(|w| !w.trim().is_empty());
    let status = if is_bot {
        CommentStatus::Spam
    } else if state.settings.comments_auto_approve {
        CommentStatus::Approved
    } else {
        CommentStatus::Pending
    };
    let hash = address_hash(state.settings.jwt_secret_bytes(), &ip);
    let article_id = article.id.clone();
    let expires = naive(claims.expires_at());
    let row = state
        .db
        .write(move |conn| -> Result<_, CommentError> {
            store::use_challenge(conn, &claims.n, expires)?;
            let row = store::insert(conn, &article_id, input.clone(), status, hash.clone())?;
            events::record(conn, [comment_event(EventType::CommentCreated, row.clone())?])?;
            Ok(row)
        })
        .await?;
    let mut shown = public(&row);
    if is_bot {
        // Bots learn nothing: the answer looks like any pending comment's.
        shown.status = CommentStatus::Pending;
    }
    Ok(HttpResponse::Created().json(shown))
}

/// Approved comments of a published article, threaded (replies nested), oldest first.
///
/// Pages are of top-level comments; each carries all its approved replies.
#[utoipa::path(
    tag = "public",
    params(("slug" = String, Path, description = "The article's slug"), PageQuery),
    responses(
        (status = 200, body = Page<PublicComment>, headers(
            ("ETag" = String, description = "Strong validator of this page"),
            ("Cache-Control" = String, description = "public, max-age, stale-while-revalidate"),
            ("Surrogate-Key" = String, description = "`comments:<article id>`")
        )),
        (status = 304, description = "Not modified (If-None-Match matched)"),
        (status = 400, body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/articles/{slug}/comments")]
pub async fn list_public(
    req: HttpRequest,
    state: web::Data<AppState>,
    slug: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = query.parse::<(NaiveDateTime, String)>(&state.cursors)?;
    let slug = slug.into_inner();
    let limit = page.limit;
    caching::cached(&req, &state.settings, &state.cache, &state.db, || async {
        let (article, roots, replies) = state
            .db
            .run(move |conn| -> Result<_, ApiError> {
                let Some(article) = store::public_article(conn, &slug)? else {
                    return Ok(None);
                };
                let roots = store::public_roots(conn, &article.id, page.after, limit)?;
                let ids: Vec<String> = roots.iter().map(|r| r.id.clone()).collect();
                let replies = store::public_replies(conn, &ids)?;
                Ok(Some((article, roots, replies)))
            })
            .await?
            .ok_or_else(|| ApiError::not_found("article"))?;
        let body = paginate(
            roots,
            limit,
            &state.cursors,
            |r| (r.created_at, r.id.clone()),
            |root| thread(&root, &replies),
        );
        let info = CacheInfo::new([
            format!("comments:{}", article.id),
            format!("article:{}", article.id),
        ])
        .modified(body.data.iter().flat_map(latest_in_thread))
        .modified(article.comments_changed_at.map(utc));
        Ok(Fresh::Cacheable(body, info))
    })
    .await
}

/// Moderation filters.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ModerationQuery {
    /// pending, approved, rejected or spam.
    #[param(value_type = Option<CommentStatus>)]
    pub status: Option<String>,
    /// An article id.
    pub article: Option<String>,
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

fn parse_status(raw: &str) -> Result<CommentStatus, ApiError> {
    CommentStatus::parse(raw)
        .ok_or_else(|| ApiError::invalid("status", "must be pending, approved, rejected or spam"))
}

/// Comments for moderation (editors), newest first.
#[utoipa::path(
    tag = "editorial",
    security(("bearerAuth" = ["editor"])),
    params(ModerationQuery),
    responses(
        (status = 200, body = Page<ModeratedComment>),
        (status = 400, body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/admin/comments")]
pub async fn moderation_list(
    state: web::Data<AppState>,
    _auth: Auth<EditorRole>,
    query: web::Query<ModerationQuery>,
) -> Result<web::Json<Page<ModeratedComment>>, ApiError> {
    let query = query.into_inner();
    let status = match query.status.as_deref() {
        Some(raw) => Some(CommentStatus::parse(raw).ok_or_else(|| {
            ApiError::BadRequest("status must be pending, approved, rejected or spam".into())
        })?),
        None => None,
    };
    let page = PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    }
    .parse::<(NaiveDateTime, String)>(&state.cursors)?;
    let limit = page.limit;
    let article = query.article;
    let rows = state
        .db
        .run(move |conn| store::moderation_list(conn, status, article.as_deref(), page.after, limit))
        .await?;
    Ok(web::Json(paginate(
        rows,
        limit,
        &state.cursors,
        |r| (r.created_at, r.id.clone()),
        ModeratedComment::from,
    )))
}

/// A moderation decision.
#[derive(Deserialize, ToSchema)]
pub struct Moderate {
    /// pending, approved, rejected or spam.
    #[schema(value_type = CommentStatus, example = "approved")]
    pub status: String,
}

impl crate::fields::Input for Moderate {}

/// Moderate one comment (editors).
#[utoipa::path(
    tag = "editorial",
    security(("bearerAuth" = ["editor"])),
    params(("id" = String, Path, description = "Comment id")),
    request_body = Moderate,
    responses(
        (status = 200, body = ModeratedComment),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")
    )
)]
#[patch("/admin/comments/{id}")]
pub async fn moderate(
    state: web::Data<AppState>,
    _auth: Auth<EditorRole>,
    id: web::Path<String>,
    body: Valid<Moderate>,
) -> Result<web::Json<ModeratedComment>, ApiError> {
    let status = parse_status(&body.status)?;
    let id = id.into_inner();
    let row = state
        .db
        .write(move |conn| -> Result<_, ApiError> {
            let moderated = store::set_status(conn, std::slice::from_ref(&id), status)?;
            if moderated.matched == 0 {
                return Err(ApiError::not_found("comment"));
            }
            approval_events(conn, status, &moderated.changed)?;
            Ok(store::find(conn, &id)?)
        })
        .await?;
    Ok(web::Json(row.into()))
}

/// Several comments at once.
#[derive(Deserialize, ToSchema)]
pub struct BulkModerate {
    /// 1–100 comment ids.
    #[schema(min_items = 1, max_items = 100)]
    pub ids: Vec<String>,
    #[schema(value_type = CommentStatus, example = "spam")]
    pub status: String,
}

impl crate::fields::Input for BulkModerate {}

/// How many comments changed.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct BulkResult {
    pub updated: usize,
}

/// Moderate many comments at once (editors), e.g. approve a batch or mark a flood as spam.
#[utoipa::path(
    tag = "editorial",
    security(("bearerAuth" = ["editor"])),
    request_body = BulkModerate,
    responses(
        (status = 200, body = BulkResult),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/admin/comments/bulk")]
pub async fn bulk_moderate(
    state: web::Data<AppState>,
    _auth: Auth<EditorRole>,
    body: Valid<BulkModerate>,
) -> Result<web::Json<BulkResult>, ApiError> {
    let BulkModerate { ids, status } = body.into_inner();
    let status = parse_status(&status)?;
    if ids.is_empty() || ids.len() > 100 {
        return Err(ApiError::invalid("ids", "must list 1 to 100 comment ids"));
    }
    let updated = state
        .db
        .write(move |conn| -> Result<_, ApiError> {
            let moderated = store::set_status(conn, &ids, status)?;
            approval_events(conn, status, &moderated.changed)?;
            Ok(moderated.matched)
        })
        .await?;
    Ok(web::Json(BulkResult { updated }))
}

/// `comment.approved` for each comment a moderation approved, in its transaction.
fn approval_events(conn: &mut DbConn, status: CommentStatus, changed: &[String]) -> Result<(), StoreError> {
    if status != CommentStatus::Approved {
        return Ok(());
    }
    let mut approved = Vec::with_capacity(changed.len());
    for id in changed {
        let row = store::find(conn, id)?;
        approved.push(comment_event(EventType::CommentApproved, row)?);
    }
    events::record(conn, approved)
}

/// An event about a comment: the comment as moderators see it; the keys of the article's
/// public comment list and of the article (its `comment_count`).
fn comment_event(event_type: EventType, row: CommentRow) -> Result<NewEvent, StoreError> {
    let keys = vec![
        format!("comments:{}", row.article_id),
        format!("article:{}", row.article_id),
    ];
    let subject = format!("comment:{}", row.id);
    NewEvent::new(event_type, subject, &ModeratedComment::from(row), keys)
}

/// Delete a comment (editors). One with replies stays in the thread marked as removed.
#[utoipa::path(
    tag = "editorial",
    security(("bearerAuth" = ["editor"])),
    params(("id" = String, Path, description = "Comment id")),
    responses(
        (status = 204, description = "Deleted")
    )
)]
#[delete("/admin/comments/{id}")]
pub async fn delete_comment(
    state: web::Data<AppState>,
    _auth: Auth<EditorRole>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    state
        .db
        .write(move |conn| store::delete(conn, &id))
        .await
        .map_err(ApiError::not_found_as("comment"))?;
    Ok(HttpResponse::NoContent().finish())
}
