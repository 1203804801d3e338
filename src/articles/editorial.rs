//! The editorial article API (`/api/v1/admin/articles…`): create, list, read, save with
//! `If-Match`, delete, the status transitions and revisions. Handlers extract, call the
//! domain's rules inside one write transaction, map `ArticleError` to a problem and respond.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use chrono::NaiveDateTime;
use serde::Deserialize;
use serde_json::Value;
use utoipa::IntoParams;

use crate::articles::changes::{article_events, deleted_events};
use crate::articles::domain::{self, ArticleError, Current, Snapshot};
use crate::articles::input::{ArticleInput, NewArticle, PublishInput, ScheduleInput, apply_input};
use crate::articles::model::Status;
use crate::articles::store::{self, ListFilter};
use crate::articles::view::{ArticleDto, ArticleSummary, Revision, build, build_one};
use crate::auth::{Auth, AuthorRole, ContributorRole, Principal};
use crate::db::{DbConn, StoreError};
use crate::error::{ApiError, Problem};
use crate::events;
use crate::fields::Time;
use crate::http::conditional::IfMatch;
use crate::http::json::Valid;
use crate::pagination::{Page, PageQuery, paginate};
use crate::state::AppState;
use crate::time::{now, utc};

/// The one place an article failure becomes a problem response.
impl From<ArticleError> for ApiError {
    fn from(err: ArticleError) -> Self {
        match err {
            ArticleError::NotFound => ApiError::not_found("article"),
            ArticleError::RevisionNotFound => ApiError::not_found("revision"),
            ArticleError::SlugTaken => {
                ApiError::Conflict("Conflicts with an existing record (another article has this slug)".into())
            }
            ArticleError::Stale(detail) => ApiError::PreconditionFailed(detail.into()),
            ArticleError::Embargoed(detail) => ApiError::Conflict(detail),
            ArticleError::Forbidden(detail) => ApiError::Forbidden(detail),
            ArticleError::Invalid(errors) => ApiError::validation(errors),
            ArticleError::Store(e) => ApiError::from(e),
        }
    }
}

fn admin_response(status: StatusCode, etag: String, dto: &ArticleDto) -> HttpResponse {
    let mut res = HttpResponse::build(status);
    res.insert_header((header::ETAG, etag));
    if status == StatusCode::CREATED {
        res.insert_header((header::LOCATION, format!("/api/v1/admin/articles/{}", dto.id)));
    }
    res.json(dto)
}

/// A save of an existing article: under its row lock, `allow` checks the caller's rights,
/// then `If-Match`; `change` edits the working copy; the store writes the new version and a
/// revision, and the events the save caused go to the outbox in the same transaction.
async fn run_mutation(
    state: &AppState,
    req: &HttpRequest,
    id: String,
    principal: Principal,
    allow: fn(&Principal, &Current) -> Result<(), ArticleError>,
    change: impl Fn(&mut DbConn, &Current, &mut Snapshot) -> Result<(), ArticleError> + Send + 'static,
) -> Result<HttpResponse, ApiError> {
    let settings = state.settings.clone();
    let if_match = IfMatch::of(req);
    let (etag, dto) = state
        .db
        .write(move |conn| -> Result<_, ArticleError> {
            // A scheduled article whose time has come says so before this save's own events.
            crate::scheduler::fire_due_in(conn, &settings, Some(&id))?;
            let (before, row) = store::mutate(
                conn,
                &id,
                principal.user_id.as_deref(),
                |cur| {
                    allow(&principal, cur)?;
                    cur.check(if_match.as_ref())
                },
                |conn, cur, s| change(conn, cur, s),
            )?;
            let at = now();
            let caused = domain::save_events(before.visibility(at), row.visibility(at));
            let etag = row.etag();
            let dto = build_one(conn, &settings, row)?;
            events::record(conn, article_events(&caused, &dto)?)?;
            Ok((etag, dto))
        })
        .await?;
    Ok(admin_response(StatusCode::OK, etag, &dto))
}

/// Create an article (contributor+). It starts as a draft; the caller is its author unless
/// `authors` says otherwise.
#[utoipa::path(
    tag = "editorial",
    security(("bearerAuth" = ["contributor"])),
    request_body = NewArticle,
    responses(
        (status = 201, body = ArticleDto, headers(
            ("ETag" = String, description = "Version tag for If-Match"),
            ("Location" = String, description = "The new article's admin URL"))),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The slug is taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, e.g. `body[3].level`", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/admin/articles")]
pub async fn create_article(
    state: web::Data<AppState>,
    auth: Auth<ContributorRole>,
    body: Valid<ArticleInput>,
) -> Result<HttpResponse, ApiError> {
    let principal = auth.principal.clone();
    let settings = state.settings.clone();
    let Valid(input) = body;
    let (etag, dto) = state
        .db
        .write(move |conn| -> Result<_, ArticleError> {
            let mut s = Snapshot::draft(principal.user_id.iter().cloned().collect());
            let slug_derived = input.slug.is_none();
            apply_input(conn, input.clone(), &mut s, &principal, true, None, None)?;
            let row = store::create(conn, s, principal.user_id.as_deref(), slug_derived)?;
            let etag = row.etag();
            Ok((etag, build_one(conn, &settings, row)?))
        })
        .await?;
    Ok(admin_response(StatusCode::CREATED, etag, &dto))
}

/// Filters of the editorial list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AdminListQuery {
    /// `draft`, `scheduled` (not yet due), `published` (including due scheduled ones) or `archived`.
    #[param(value_type = Option<Status>)]
    pub status: Option<String>,
    /// Tag slug or id.
    pub tag: Option<String>,
    /// Author user id.
    pub author: Option<String>,
    /// Full-text search over headline, standfirst and body.
    pub q: Option<String>,
}

/// List articles in any status, most recently updated first (contributor+).
#[utoipa::path(
    tag = "editorial",
    security(("bearerAuth" = ["contributor"])),
    params(AdminListQuery, PageQuery),
    responses(
        (status = 200, body = Page<ArticleSummary>),
        (status = 400, description = "Bad limit, cursor or status", body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/admin/articles")]
pub async fn list_admin_articles(
    state: web::Data<AppState>,
    _auth: Auth<ContributorRole>,
    filter: web::Query<AdminListQuery>,
    page: web::Query<PageQuery>,
) -> Result<web::Json<Page<ArticleSummary>>, ApiError> {
    let page = page.parse::<(NaiveDateTime, String)>(&state.cursors)?;
    let status = match filter.status.as_deref() {
        Some(s) => Some(Status::parse(s).ok_or_else(|| {
            ApiError::BadRequest("status must be draft, scheduled, published or archived".into())
        })?),
        None => None,
    };
    let filter = filter.into_inner();
    let settings = state.settings.clone();
    let limit = page.limit;
    let rows = state
        .db
        .run(move |conn| -> Result<_, ApiError> {
            let ids = match filter.q.as_deref().filter(|q| !q.trim().is_empty()) {
                Some(q) => Some(store::search(conn, q)?.into_iter().map(|(id, _)| id).collect()),
                None => None,
            };
            let f = ListFilter {
                tag: filter.tag,
                author: filter.author,
                ids,
                status,
                ..ListFilter::default()
            };
            let rows = store::list_admin(conn, &f, page.after, limit + 1)?;
            let keys: Vec<(NaiveDateTime, String)> =
                rows.iter().map(|r| (r.updated_at, r.id.clone())).collect();
            Ok((build(conn, &settings, rows)?, keys))
        })
        .await?;
    let (dtos, keys) = rows;
    let pairs: Vec<_> = dtos.into_iter().zip(keys).collect();
    Ok(web::Json(paginate(
        pairs,
        limit,
        &state.cursors,
        |(_, k)| k.clone(),
        |(d, _)| ArticleSummary::from(d),
    )))
}

/// One article in any status (contributor+), with its `ETag` for `If-Match`.
#[utoipa::path(
    tag = "editorial",
    security(("bearerAuth" = ["contributor"])),
    params(("id" = String, Path, description = "Article id")),
    responses(
        (status = 200, body = ArticleDto, headers(("ETag" = String, description = "Send back as If-Match when saving"))),
        (status = 403, body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/admin/articles/{id}")]
pub async fn get_admin_article(
    state: web::Data<AppState>,
    _auth: Auth<ContributorRole>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let settings = state.settings.clone();
    let (etag, dto) = state
        .db
        .run(move |conn| -> Result<_, ArticleError> {
            let row = store::find(conn, &id)?;
            let etag = row.etag();
            Ok((etag, build_one(conn, &settings, row)?))
        })
        .await?;
    Ok(admin_response(StatusCode::OK, etag, &dto))
}

/// Change an article (contributors their own drafts, authors their own articles, editors any).
/// Every save writes a revision. Send `If-Match` with the ETag you loaded: a stale one is 412
/// and nothing changes.
#[utoipa::path(
    tag = "editorial",
    security(("bearerAuth" = ["contributor"])),
    params(
        ("id" = String, Path, description = "Article id"),
        ("If-Match" = Option<String>, Header, description = "The article's ETag; stale → 412")
    ),
    request_body = ArticleInput,
    responses(
        (status = 200, body = ArticleDto, headers(("ETag" = String, description = "The new version's tag"))),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The slug is taken", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "If-Match is not the article's current ETag (it changed since you loaded it); nothing was changed", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")
    )
)]
#[patch("/admin/articles/{id}")]
pub async fn update_article(
    state: web::Data<AppState>,
    auth: Auth<ContributorRole>,
    req: HttpRequest,
    id: web::Path<String>,
    body: Valid<ArticleInput>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let Valid(input) = body;
    let article_id = id.clone();
    let principal = auth.principal.clone();
    run_mutation(
        &state,
        &req,
        id,
        auth.principal.clone(),
        domain::may_edit,
        move |conn, cur, s| {
            apply_input(
                conn,
                input.clone(),
                s,
                &principal,
                false,
                Some(&article_id),
                Some(cur),
            )
        },
    )
    .await
}

/// Delete an article (same rights as editing). Honours `If-Match`.
#[utoipa::path(
    tag = "editorial",
    security(("bearerAuth" = ["contributor"])),
    params(
        ("id" = String, Path, description = "Article id"),
        ("If-Match" = Option<String>, Header, description = "The article's ETag; stale → 412")
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "If-Match is not the article's current ETag (it changed since you loaded it); nothing was changed", body = Problem, content_type = "application/problem+json")
    )
)]
#[delete("/admin/articles/{id}")]
pub async fn delete_article(
    state: web::Data<AppState>,
    auth: Auth<ContributorRole>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let principal = auth.principal.clone();
    let if_match = IfMatch::of(&req);
    let settings = state.settings.clone();
    state
        .db
        .write(move |conn| -> Result<_, ArticleError> {
            crate::scheduler::fire_due_in(conn, &settings, Some(&id))?;
            let gone = store::delete(conn, &id, |cur| {
                domain::may_edit(&principal, cur)?;
                cur.check(if_match.as_ref())
            })?;
            Ok(events::record(conn, deleted_events(&gone)?)?)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Publish now (authors their own, editors any). An empty body is 422.
#[utoipa::path(
    tag = "editorial",
    security(("bearerAuth" = ["author"])),
    params(
        ("id" = String, Path, description = "Article id"),
        ("If-Match" = Option<String>, Header, description = "The article's ETag; stale → 412")
    ),
    request_body(content = PublishInput, description = "`{}` publishes now; `published_at` backdates the publication (editors and admins). The server also takes an empty body as `{}`."),
    responses(
        (status = 200, body = ArticleDto, headers(("ETag" = String, description = "The new version's tag"))),
        (status = 400, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A backdate by an author, or another author's article", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The article is embargoed (`embargo_until` has not passed)", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "If-Match is not the article's current ETag (it changed since you loaded it); nothing was changed", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The body of the article is empty, or `published_at` is not a past RFC 3339 time", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/admin/articles/{id}/publish")]
pub async fn publish_article(
    state: web::Data<AppState>,
    auth: Auth<AuthorRole>,
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let backdate = PublishInput::from_body(&body)?.published_at.map(|Time(t)| t);
    let principal = auth.principal.clone();
    run_mutation(
        &state,
        &req,
        id.into_inner(),
        auth.principal.clone(),
        domain::may_publish,
        move |_, cur, s| domain::publish(s, cur, &principal, backdate, now()),
    )
    .await
}

/// Take an article back to draft (authors their own, editors any).
#[utoipa::path(
    tag = "editorial",
    security(("bearerAuth" = ["author"])),
    params(
        ("id" = String, Path, description = "Article id"),
        ("If-Match" = Option<String>, Header, description = "The article's ETag; stale → 412")
    ),
    responses(
        (status = 200, body = ArticleDto, headers(("ETag" = String, description = "The new version's tag"))),
        (status = 412, description = "If-Match is not the article's current ETag (it changed since you loaded it); nothing was changed", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/admin/articles/{id}/unpublish")]
pub async fn unpublish_article(
    state: web::Data<AppState>,
    auth: Auth<AuthorRole>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    run_mutation(
        &state,
        &req,
        id.into_inner(),
        auth.principal.clone(),
        domain::may_publish,
        |_, _, s| {
            domain::unpublish(s);
            Ok(())
        },
    )
    .await
}

/// Archive an article: it leaves the public API but is kept (authors their own, editors any).
#[utoipa::path(
    tag = "editorial",
    security(("bearerAuth" = ["author"])),
    params(
        ("id" = String, Path, description = "Article id"),
        ("If-Match" = Option<String>, Header, description = "The article's ETag; stale → 412")
    ),
    responses(
        (status = 200, body = ArticleDto, headers(("ETag" = String, description = "The new version's tag"))),
        (status = 412, description = "If-Match is not the article's current ETag (it changed since you loaded it); nothing was changed", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/admin/articles/{id}/archive")]
pub async fn archive_article(
    state: web::Data<AppState>,
    auth: Auth<AuthorRole>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    run_mutation(
        &state,
        &req,
        id.into_inner(),
        auth.principal.clone(),
        domain::may_publish,
        |_, _, s| {
            domain::archive(s);
            Ok(())
        },
    )
    .await
}

/// Schedule publication at `publish_at` (authors their own, editors any). The article becomes
/// public exactly then, computed at read time; no background job is involved.
#[utoipa::path(
    tag = "editorial",
    security(("bearerAuth" = ["author"])),
    params(
        ("id" = String, Path, description = "Article id"),
        ("If-Match" = Option<String>, Header, description = "The article's ETag; stale → 412")
    ),
    request_body = ScheduleInput,
    responses(
        (status = 200, body = ArticleDto, headers(("ETag" = String, description = "The new version's tag"))),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "If-Match is not the article's current ETag (it changed since you loaded it); nothing was changed", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "publish_at is missing or not RFC 3339, or the body is empty", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/admin/articles/{id}/schedule")]
pub async fn schedule_article(
    state: web::Data<AppState>,
    auth: Auth<AuthorRole>,
    req: HttpRequest,
    id: web::Path<String>,
    body: Valid<ScheduleInput>,
) -> Result<HttpResponse, ApiError> {
    let Valid(ScheduleInput { publish_at: Time(at) }) = body;
    run_mutation(
        &state,
        &req,
        id.into_inner(),
        auth.principal.clone(),
        domain::may_publish,
        move |_, _, s| domain::schedule(s, at, now()),
    )
    .await
}

/// An article's revisions, newest first (contributor+).
#[utoipa::path(
    tag = "editorial",
    security(("bearerAuth" = ["contributor"])),
    params(("id" = String, Path, description = "Article id"), PageQuery),
    responses(
        (status = 200, body = Page<Revision>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/admin/articles/{id}/revisions")]
pub async fn list_revisions(
    state: web::Data<AppState>,
    _auth: Auth<ContributorRole>,
    id: web::Path<String>,
    page: web::Query<PageQuery>,
) -> Result<web::Json<Page<Revision>>, ApiError> {
    let page = page.parse::<i32>(&state.cursors)?;
    let id = id.into_inner();
    let limit = page.limit;
    let rows = state
        .db
        .run(move |conn| store::revisions(conn, &id, page.after, limit))
        .await
        .map_err(ApiError::not_found_as("article"))?;
    Ok(web::Json(paginate(
        rows,
        limit,
        &state.cursors,
        |r| r.number,
        |r| Revision {
            id: r.id,
            number: r.number,
            created_by: r.created_by,
            created_at: utc(r.created_at),
            content: serde_json::from_str(&r.snapshot).unwrap_or(Value::Null),
        },
    )))
}

/// Restore a revision's content (headline, standfirst, dateline, kicker, body, hero, SEO, tags,
/// authors) as a new save; status and slug stay as they are. Same rights as editing.
#[utoipa::path(
    tag = "editorial",
    security(("bearerAuth" = ["contributor"])),
    params(
        ("id" = String, Path, description = "Article id"),
        ("rev" = String, Path, description = "Revision number or id"),
        ("If-Match" = Option<String>, Header, description = "The article's ETag; stale → 412")
    ),
    responses(
        (status = 200, body = ArticleDto, headers(("ETag" = String, description = "The new version's tag"))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "If-Match is not the article's current ETag (it changed since you loaded it); nothing was changed", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/admin/articles/{id}/revisions/{rev}/restore")]
pub async fn restore_revision(
    state: web::Data<AppState>,
    auth: Auth<ContributorRole>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, rev) = path.into_inner();
    let article_id = id.clone();
    run_mutation(
        &state,
        &req,
        id,
        auth.principal.clone(),
        domain::may_edit,
        move |conn, _, s| {
            let row = store::revision(conn, &article_id, &rev).map_err(|e| match e {
                StoreError::NotFound => ArticleError::RevisionNotFound,
                other => ArticleError::from(other),
            })?;
            let old: Snapshot = serde_json::from_str(&row.snapshot)
                .map_err(|e| StoreError::Internal(format!("revision {}: {e}", row.id)))?;
            // Tags or authors deleted since are dropped rather than failing the restore.
            let tags = store::resolve_tags(conn, &old.tags)
                .ok()
                .filter(|t| t.len() == old.tags.len());
            let authors = store::check_authors(conn, &old.authors)
                .is_ok()
                .then(|| old.authors.clone());
            domain::restore(s, old, tags, authors);
            Ok(())
        },
    )
    .await
}
