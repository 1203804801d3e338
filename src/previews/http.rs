//! Preview link routes: editorial create, list and revoke under
//! `/api/v1/admin/articles/{id}/preview-links`, and the public `GET /api/v1/preview/{token}`,
//! which answers the saved article in any status with `Cache-Control: no-store` and
//! `X-Robots-Tag: noindex`, and one and the same 404 for a token that is unknown, tampered,
//! expired or revoked.

use actix_web::http::header;
use actix_web::{HttpResponse, delete, get, post, web};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::articles::domain::{self, ArticleError};
use crate::articles::view::{ArticleDto, build_one};
use crate::auth::tokens::{hash_secret, random_secret};
use crate::auth::{Auth, ContributorRole, Principal};
use crate::error::{ApiError, Problem};
use crate::http::json::Valid;
use crate::previews::store::{self, NewLink, PreviewLinkRow};
use crate::state::AppState;
use crate::time::{new_id, now, utc};

/// Default lifetime of a link, in seconds (a day).
pub const DEFAULT_EXPIRES_IN: i64 = 86_400;
/// Longest lifetime of a link, in seconds (a week).
pub const MAX_EXPIRES_IN: i64 = 604_800;
/// Shortest lifetime of a link, in seconds.
pub const MIN_EXPIRES_IN: i64 = 60;

/// A new preview link.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct NewPreviewLink {
    /// Seconds until the link stops working: 60–604,800 (a week); default 86,400 (a day).
    /// Read as a JSON number, so `3600.0` is 3600 as JSON Schema says; a fraction is 422.
    #[schema(value_type = Option<i64>, minimum = 60, maximum = 604800, example = 86400)]
    pub expires_in: Option<f64>,
}

impl crate::fields::Input for NewPreviewLink {}

/// A link as made: the token is shown this once (only its hash is kept).
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedPreviewLink {
    pub id: String,
    /// The secret (256 random bits); send it as `GET /api/v1/preview/{token}`.
    pub token: String,
    /// The preview's API URL.
    #[schema(example = "https://news.example.com/api/v1/preview/3q2-…")]
    pub url: String,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

/// A link as listed (no token).
#[derive(Debug, Serialize, ToSchema)]
pub struct PreviewLink {
    pub id: String,
    /// The user who made it; the link stops working if that account is disabled.
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// Whether the link works now (not expired, not revoked).
    pub active: bool,
}

impl From<PreviewLinkRow> for PreviewLink {
    fn from(row: PreviewLinkRow) -> Self {
        PreviewLink {
            active: row.revoked_at.is_none() && row.expires_at > now(),
            id: row.id,
            created_by: row.created_by,
            created_at: utc(row.created_at),
            expires_at: utc(row.expires_at),
            revoked_at: row.revoked_at.map(utc),
        }
    }
}

/// Checks the caller may preview the article (editors any, others their own).
fn allowed(conn: &mut crate::db::DbConn, principal: &Principal, id: &str) -> Result<(), ArticleError> {
    let current = crate::articles::store::current(conn, id)?;
    domain::may_preview(principal, &current)
}

/// Make a preview link for an article (its authors, or editors and admins).
#[utoipa::path(
    tag = "editorial",
    security(("bearerAuth" = ["contributor"])),
    params(("id" = String, Path, description = "Article id")),
    request_body = NewPreviewLink,
    responses(
        (status = 201, body = CreatedPreviewLink),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not your article", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`expires_in` outside 60–604800", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/admin/articles/{id}/preview-links")]
pub async fn create_preview_link(
    state: web::Data<AppState>,
    auth: Auth<ContributorRole>,
    id: web::Path<String>,
    body: Valid<NewPreviewLink>,
) -> Result<HttpResponse, ApiError> {
    let expires_in = match body.expires_in {
        None => DEFAULT_EXPIRES_IN,
        Some(secs)
            if secs.fract() == 0.0 && (MIN_EXPIRES_IN as f64..=MAX_EXPIRES_IN as f64).contains(&secs) =>
        {
            secs as i64
        }
        Some(_) => {
            return Err(ApiError::invalid(
                "expires_in",
                format!("must be a whole number of seconds, {MIN_EXPIRES_IN}–{MAX_EXPIRES_IN}"),
            ));
        }
    };
    let principal = auth.principal.clone();
    let by = principal
        .user_id
        .clone()
        .ok_or_else(|| ApiError::Forbidden("Preview links are made by a user".into()))?;
    let token = random_secret(32);
    let hash = hash_secret(&token);
    let id = id.into_inner();
    let row = state
        .db
        .write(move |conn| -> Result<_, ArticleError> {
            allowed(conn, &principal, &id)?;
            let at = now();
            Ok(store::insert(
                conn,
                NewLink {
                    id: &new_id(),
                    article_id: &id,
                    token_hash: &hash,
                    created_by: &by,
                    created_at: at,
                    expires_at: at + Duration::seconds(expires_in),
                },
            )?)
        })
        .await?;
    let url = format!("{}/api/v1/preview/{token}", state.settings.public_url);
    Ok(HttpResponse::Created().json(CreatedPreviewLink {
        id: row.id,
        token,
        url,
        expires_at: utc(row.expires_at),
        created_at: utc(row.created_at),
    }))
}

/// An article's preview links, newest first, revoked and expired ones included.
#[utoipa::path(
    tag = "editorial",
    security(("bearerAuth" = ["contributor"])),
    params(("id" = String, Path, description = "Article id")),
    responses(
        (status = 200, body = Vec<PreviewLink>),
        (status = 403, description = "Not your article", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/admin/articles/{id}/preview-links")]
pub async fn list_preview_links(
    state: web::Data<AppState>,
    auth: Auth<ContributorRole>,
    id: web::Path<String>,
) -> Result<web::Json<Vec<PreviewLink>>, ApiError> {
    let principal = auth.principal.clone();
    let id = id.into_inner();
    let rows = state
        .db
        .run(move |conn| -> Result<_, ArticleError> {
            allowed(conn, &principal, &id)?;
            Ok(store::of_article(conn, &id)?)
        })
        .await?;
    Ok(web::Json(rows.into_iter().map(PreviewLink::from).collect()))
}

/// Revoke a preview link: it stops working at once.
#[utoipa::path(
    tag = "editorial",
    security(("bearerAuth" = ["contributor"])),
    params(
        ("id" = String, Path, description = "Article id"),
        ("link_id" = String, Path, description = "Preview link id")
    ),
    responses(
        (status = 204, description = "Revoked"),
        (status = 403, description = "Not your article", body = Problem, content_type = "application/problem+json")
    )
)]
#[delete("/admin/articles/{id}/preview-links/{link_id}")]
pub async fn revoke_preview_link(
    state: web::Data<AppState>,
    auth: Auth<ContributorRole>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let principal = auth.principal.clone();
    let (id, link_id) = path.into_inner();
    state
        .db
        .write(move |conn| -> Result<_, ApiError> {
            allowed(conn, &principal, &id)?;
            store::revoke(conn, &id, &link_id, now()).map_err(ApiError::not_found_as("preview link"))
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The article as it is saved now, whatever its status or embargo, for whoever holds the
/// token (no authentication). Never cached by a CDN (`no-store`), never indexed (`noindex`),
/// and never listed anywhere public. An unknown, tampered, expired or revoked token, or one
/// whose creator is disabled, is the same 404.
#[utoipa::path(
    tag = "public",
    params(("token" = String, Path, description = "The token of a preview link")),
    responses(
        (status = 200, body = ArticleDto, headers(
            ("Cache-Control" = String, description = "no-store"),
            ("X-Robots-Tag" = String, description = "noindex"))),
        (status = 404, description = "No working preview link has this token", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/preview/{token}")]
pub async fn get_preview(
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let hash = hash_secret(&token);
    let settings = state.settings.clone();
    let article = state
        .db
        .run(move |conn| -> Result<_, ApiError> {
            let Some(id) = store::article_of_token(conn, &hash, now())? else {
                return Ok(None);
            };
            let row = crate::articles::store::find(conn, &id)?;
            Ok(Some(build_one(conn, &settings, row)?))
        })
        .await?
        .ok_or_else(|| ApiError::not_found("preview link"))?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header(("X-Robots-Tag", "noindex"))
        .json(article))
}
