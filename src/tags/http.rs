//! Tag endpoints: public `/api/v1/tags…` (cached, with published article counts) and admin
//! `/api/v1/admin/tags…` (editor+).

use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::articles::model;
use crate::auth::{Auth, EditorRole};
use crate::db::{DbConn, StoreError};
use crate::error::{ApiError, Problem};
use crate::events::{self, EventType, NewEvent};
use crate::fields::{NotBlank, PlainText, Slug};
use crate::http::caching::{self, CacheInfo, Fresh};
use crate::http::json::Valid;
use crate::pagination::{Page, PageQuery, paginate};
use crate::state::AppState;
use crate::tags::store::{self, TagChanges, TagRow};
use crate::time::{new_id, now, utc};

/// A tag.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Tag {
    pub id: String,
    #[schema(example = "climate")]
    pub slug: String,
    #[schema(example = "Climate")]
    pub name: String,
    pub description: String,
    /// Published articles with this tag.
    pub article_count: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn with_counts(conn: &mut DbConn, rows: Vec<TagRow>) -> Result<Vec<Tag>, StoreError> {
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let counts = store::published_counts(conn, &ids)?;
    Ok(rows
        .into_iter()
        .map(|r| Tag {
            article_count: counts.get(&r.id).copied().unwrap_or(0),
            id: r.id,
            slug: r.slug,
            name: r.name,
            description: r.description,
            created_at: utc(r.created_at),
            updated_at: utc(r.updated_at),
        })
        .collect())
}

/// A new tag; the slug is derived from the name when absent.
#[derive(Deserialize, ToSchema)]
pub struct CreateTag {
    /// 1–100 characters as sent; markup is stripped and some text must remain.
    #[schema(
        value_type = String,
        example = "Climate",
        max_length = 100,
        pattern = r"^[\s\S]*[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][\s\S]*$"
    )]
    pub name: NotBlank<100>,
    /// Lowercase letters, digits and single hyphens.
    #[schema(value_type = Option<String>, example = "climate", max_length = 200, pattern = r"^[a-z0-9]+(-[a-z0-9]+)*$")]
    pub slug: Option<Slug>,
    /// Plain text, at most 1 000 characters as sent.
    #[schema(value_type = Option<String>, max_length = 1000)]
    pub description: Option<PlainText<1000>>,
}

impl crate::fields::Input for CreateTag {}

/// Changes to a tag; absent fields stay.
#[derive(Deserialize, ToSchema, Default)]
pub struct UpdateTag {
    /// 1–100 characters as sent; markup is stripped and some text must remain.
    #[schema(
        value_type = Option<String>,
        max_length = 100,
        pattern = r"^[\s\S]*[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][\s\S]*$"
    )]
    pub name: Option<NotBlank<100>>,
    /// Lowercase letters, digits and single hyphens.
    #[schema(value_type = Option<String>, max_length = 200, pattern = r"^[a-z0-9]+(-[a-z0-9]+)*$")]
    pub slug: Option<Slug>,
    /// Plain text, at most 1 000 characters as sent.
    #[schema(value_type = Option<String>, max_length = 1000)]
    pub description: Option<PlainText<1000>>,
}

impl crate::fields::Input for UpdateTag {}

/// Tags in slug order, with published article counts (cached like every public GET).
#[utoipa::path(
    tag = "public",
    params(PageQuery,
        ("If-None-Match" = Option<String>, Header, description = "A previous ETag; 304 if unchanged")),
    responses(
        (status = 200, body = Page<Tag>, headers(
            ("ETag" = String, description = "Strong ETag of the body"),
            ("Cache-Control" = String, description = "public, max-age=…, stale-while-revalidate=…"),
            ("Surrogate-Key" = String, description = "tags tag:<slug> …"))),
        (status = 304, description = "Not modified"),
        (status = 400, body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/tags")]
pub async fn list_tags(
    state: web::Data<AppState>,
    req: HttpRequest,
    page: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = page.parse::<String>(&state.cursors)?;
    let limit = page.limit;
    caching::cached(&req, &state.settings, &state.cache, &state.db, || async {
        let tags = state
            .db
            .run(move |conn| {
                let rows = store::list(conn, page.after.as_deref(), limit)?;
                with_counts(conn, rows)
            })
            .await?;
        let mut keys = vec!["tags".to_owned()];
        keys.extend(tags.iter().map(|t| format!("tag:{}", t.slug)));
        let modified: Vec<_> = tags.iter().map(|t| t.updated_at).collect();
        let page = paginate(tags, limit, &state.cursors, |t| t.slug.clone(), |t| t);
        Ok(Fresh::Cacheable(page, CacheInfo::new(keys).modified(modified)))
    })
    .await
}

/// One tag by slug.
#[utoipa::path(
    tag = "public",
    params(("slug" = String, Path, description = "Tag slug"),
        ("If-None-Match" = Option<String>, Header, description = "A previous ETag; 304 if unchanged")),
    responses(
        (status = 200, body = Tag, headers(
            ("ETag" = String, description = "Strong ETag of the body"),
            ("Cache-Control" = String, description = "public, max-age=…, stale-while-revalidate=…"),
            ("Surrogate-Key" = String, description = "tag:<slug>"))),
        (status = 304, description = "Not modified")
    )
)]
#[get("/tags/{slug}")]
pub async fn get_tag(
    state: web::Data<AppState>,
    req: HttpRequest,
    slug: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let slug = slug.into_inner();
    caching::cached(&req, &state.settings, &state.cache, &state.db, || async {
        let mut tags = state
            .db
            .run(move |conn| {
                let row = store::find_by_slug(conn, &slug)?;
                with_counts(conn, vec![row])
            })
            .await
            .map_err(ApiError::not_found_as("tag"))?;
        let tag = tags.pop().ok_or_else(|| ApiError::not_found("tag"))?;
        // `tags` too: deleting an article changes counts without naming its tags.
        let info =
            CacheInfo::new(["tags".to_owned(), format!("tag:{}", tag.slug)]).modified([tag.updated_at]);
        Ok(Fresh::Cacheable(tag, info))
    })
    .await
}

/// Create a tag (editor+).
#[utoipa::path(
    tag = "editorial",
    security(("bearerAuth" = ["editor"])),
    request_body = CreateTag,
    responses(
        (status = 201, body = Tag),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The slug is taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/admin/tags")]
pub async fn create_tag(
    state: web::Data<AppState>,
    _auth: Auth<EditorRole>,
    body: Valid<CreateTag>,
) -> Result<HttpResponse, ApiError> {
    let Valid(CreateTag {
        name: NotBlank(name),
        slug,
        description,
    }) = body;
    let slug = slug.map_or_else(|| model::slugify(&name), |Slug(s)| s);
    let description = description.map(|PlainText(d)| d).unwrap_or_default();
    let at = now();
    let row = TagRow {
        id: new_id(),
        slug,
        name,
        description,
        created_at: at,
        updated_at: at,
    };
    let tag = state
        .db
        .write(move |conn| {
            let row = store::insert(conn, &row)?;
            with_counts(conn, vec![row])
        })
        .await?
        .pop()
        .ok_or_else(|| ApiError::internal("tag vanished"))?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/tags/{}", tag.slug)))
        .json(tag))
}

/// Change a tag (editor+).
#[utoipa::path(
    tag = "editorial",
    security(("bearerAuth" = ["editor"])),
    params(("id" = String, Path, description = "Tag id")),
    request_body = UpdateTag,
    responses(
        (status = 200, body = Tag),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The slug is taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")
    )
)]
#[patch("/admin/tags/{id}")]
pub async fn update_tag(
    state: web::Data<AppState>,
    _auth: Auth<EditorRole>,
    id: web::Path<String>,
    body: Valid<UpdateTag>,
) -> Result<web::Json<Tag>, ApiError> {
    let Valid(input) = body;
    let changes = TagChanges {
        name: input.name.map(|NotBlank(n)| n),
        slug: input.slug.map(|Slug(s)| s),
        description: input.description.map(|PlainText(d)| d),
        updated_at: None,
    };
    let id = id.into_inner();
    let tag = state
        .db
        .write(move |conn| {
            let before = store::find(conn, &id)?;
            let row = store::update(conn, &id, changes.clone())?;
            let tags = with_counts(conn, vec![row])?;
            if let Some(tag) = tags.first() {
                // A renamed slug makes the old tag URL stale too.
                // (`articles:tag:<slug>`: the list filtered by the new slug, empty until now.)
                let mut keys = vec![
                    "tags".to_owned(),
                    format!("tag:{}", tag.slug),
                    format!("articles:tag:{}", tag.slug),
                ];
                if before.slug != tag.slug {
                    keys.push(format!("tag:{}", before.slug));
                    keys.push(format!("articles:tag:{}", before.slug));
                }
                let event = NewEvent::new(EventType::TagUpdated, format!("tag:{}", tag.id), tag, keys)?;
                events::record(conn, [event])?;
            }
            Ok(tags)
        })
        .await
        .map_err(ApiError::not_found_as("tag"))?
        .pop()
        .ok_or_else(|| ApiError::internal("tag vanished"))?;
    Ok(web::Json(tag))
}

/// Delete a tag (editor+); its articles are untagged, not deleted.
#[utoipa::path(
    tag = "editorial",
    security(("bearerAuth" = ["editor"])),
    params(("id" = String, Path, description = "Tag id")),
    responses(
        (status = 204, description = "Deleted")
    )
)]
#[delete("/admin/tags/{id}")]
pub async fn delete_tag(
    state: web::Data<AppState>,
    _auth: Auth<EditorRole>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    state
        .db
        .write(move |conn| {
            let tag = store::delete(conn, &id)?;
            let data = serde_json::json!({"id": tag.id, "slug": tag.slug});
            let keys = vec![
                "tags".to_owned(),
                format!("tag:{}", tag.slug),
                "articles".to_owned(),
            ];
            events::record(
                conn,
                [NewEvent::new(
                    EventType::TagDeleted,
                    format!("tag:{}", tag.id),
                    &data,
                    keys,
                )?],
            )
        })
        .await
        .map_err(ApiError::not_found_as("tag"))?;
    Ok(HttpResponse::NoContent().finish())
}
