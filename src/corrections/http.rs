//! The corrections routes: an editor appends one to an article (`POST
//! /api/v1/admin/articles/{id}/corrections`), and readers list the site's recent ones
//! (`GET /api/v1/corrections`, the newsroom's transparency page). No route edits or deletes one.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::articles::changes::event_keys;
use crate::articles::domain::ArticleError;
use crate::articles::view::build_one;
use crate::auth::{Auth, EditorRole};
use crate::corrections::model::{Correction, CorrectionKind, NewCorrection};
use crate::corrections::store;
use crate::error::{ApiError, Problem};
use crate::events::{self, EventType, NewEvent};
use crate::http::caching::{self, CacheInfo, Fresh};
use crate::http::json::Valid;
use crate::pagination::{Page, PageQuery, paginate};
use crate::state::AppState;
use crate::time::{now, utc};

/// Append a correction, clarification, update or editor's note to an article (editors and
/// admins). It is public with the article at once (its `ETag` and `Last-Modified` move) and can
/// never be edited or deleted: a mistaken note is followed by another. Records
/// `article.corrected`.
#[utoipa::path(
    tag = "editorial",
    security(("bearerAuth" = ["editor"])),
    params(("id" = String, Path, description = "Article id")),
    request_body = NewCorrection,
    responses(
        (status = 201, body = Correction),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Below editor", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown `kind` or blank `text`", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/admin/articles/{id}/corrections")]
pub async fn add_correction(
    state: web::Data<AppState>,
    auth: Auth<EditorRole>,
    id: web::Path<String>,
    body: Valid<NewCorrection>,
) -> Result<HttpResponse, ApiError> {
    let (kind, text) = body.parse().map_err(ApiError::validation)?;
    let id = id.into_inner();
    let by = auth.principal.user_id.clone();
    let settings = state.settings.clone();
    let correction = state
        .db
        .write(move |conn| -> Result<_, ArticleError> {
            crate::scheduler::fire_due_in(conn, &settings, Some(&id))?;
            let at = now();
            let row = crate::articles::store::touch(conn, &id, at)?;
            let correction = store::insert(conn, &id, kind, &text, by.as_deref(), at)?;
            let dto = build_one(conn, &settings, row)?;
            let mut keys = event_keys(&[EventType::ArticleUpdated], &dto);
            keys.push("corrections".to_owned());
            let event = NewEvent::new(EventType::ArticleCorrected, format!("article:{id}"), &dto, keys)?;
            events::record(conn, [event])?;
            Ok(correction.public())
        })
        .await?;
    Ok(HttpResponse::Created().json(correction))
}

/// A correction in the site-wide list, with the article it belongs to.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecentCorrection {
    pub id: String,
    pub kind: CorrectionKind,
    pub text: String,
    pub published_at: DateTime<Utc>,
    /// The corrected article.
    pub article_id: String,
    #[schema(example = "harbour-bridge-reopens-after-storm-repairs")]
    pub slug: String,
    #[schema(example = "Harbour bridge reopens after storm repairs")]
    pub headline: String,
}

/// Recent corrections across the site, newest first (public): the newsroom's transparency
/// page. Only articles readers can see now are listed. Cached like every public list.
#[utoipa::path(
    tag = "public",
    params(PageQuery),
    responses(
        (status = 200, body = Page<RecentCorrection>, headers(
            ("ETag" = String, description = "Strong ETag of the body"),
            ("Cache-Control" = String, description = "public, max-age=<MASTHEAD_CACHE_MAX_AGE>, stale-while-revalidate=<…>"),
            ("Surrogate-Key" = String, description = "corrections article:<id> … for CDN purges"))),
        (status = 304, description = "Not modified: the client's copy is current"),
        (status = 400, description = "Bad limit or cursor", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/corrections")]
pub async fn list_corrections(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = query.parse::<(NaiveDateTime, String)>(&state.cursors)?;
    let limit = page.limit;
    caching::cached(&req, &state.settings, &state.cache, &state.db, || async {
        let rows = state
            .db
            .run(move |conn| store::recent(conn, now(), page.after, limit + 1))
            .await?;
        let body = paginate(
            rows,
            limit,
            &state.cursors,
            |(c, _, _)| (c.published_at, c.id.clone()),
            |(c, slug, headline)| RecentCorrection {
                article_id: c.article_id.clone(),
                slug,
                headline,
                id: c.id.clone(),
                kind: CorrectionKind::parse(&c.kind).unwrap_or(CorrectionKind::Correction),
                text: c.text,
                published_at: utc(c.published_at),
            },
        );
        let keys = std::iter::once("corrections".to_owned())
            .chain(body.data.iter().map(|c| format!("article:{}", c.article_id)));
        let info = CacheInfo::new(keys).modified(body.data.iter().map(|c| c.published_at));
        Ok(Fresh::Cacheable(body, info))
    })
    .await
}
