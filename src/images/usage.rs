//! `GET /api/v1/admin/images/{id}/usage` (PRODUCT.md §3a): the articles that use an image, in
//! any status, and where (hero, body, share image), so the desk sees what a withdrawal or a
//! deletion touches.

use actix_web::{get, web};
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{Auth, ContributorRole};
use crate::error::{ApiError, Problem};
use crate::images::dto::parse_id;
use crate::images::store;
use crate::pagination::{Page, PageQuery, paginate};
use crate::state::AppState;

/// An article that uses an image.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ImageUsage {
    pub id: String,
    pub slug: String,
    pub headline: String,
    /// `draft`, `scheduled`, `published` or `archived` (a scheduled article whose time has come
    /// is `published`).
    #[schema(example = "published")]
    pub status: String,
    /// Where the article uses the image: `hero`, `body`, `seo` (its share image).
    #[schema(example = json!(["hero", "body"]))]
    pub used_in: Vec<String>,
}

/// The articles that use an image (contributors and up): in the hero, a body block or as the
/// share image, in any status, so the desk sees what a withdrawal or a deletion touches.
#[utoipa::path(
    tag = "editorial",
    security(("bearerAuth" = ["contributor"])),
    params(("id" = String, Path, description = "Image id"), PageQuery),
    responses(
        (status = 200, body = Page<ImageUsage>),
        (status = 400, description = "Bad limit or cursor", body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such image", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/admin/images/{id}/usage")]
pub async fn image_usage(
    state: web::Data<AppState>,
    _auth: Auth<ContributorRole>,
    id: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<web::Json<Page<ImageUsage>>, ApiError> {
    let id = parse_id(&id)?;
    let page = query.parse::<String>(&state.cursors)?;
    let limit = page.limit;
    let rows = state
        .db
        .run(move |conn| {
            store::find(conn, &id)?;
            let rows = store::usage(conn, &id, page.after, limit)?;
            Ok((id, rows))
        })
        .await
        .map_err(ApiError::not_found_as("image"))?;
    let (id, rows) = rows;
    let at = crate::time::now();
    Ok(web::Json(paginate(
        rows,
        limit,
        &state.cursors,
        |r| r.id.clone(),
        |r| usage_of(&id, r, at),
    )))
}

/// Where an article uses the image, from its parsed references (the query matched the id
/// anywhere in the text).
fn usage_of(image_id: &str, row: store::UsageRow, at: NaiveDateTime) -> ImageUsage {
    let mut used_in = Vec::new();
    let hero: Option<serde_json::Value> = row.hero.as_deref().and_then(|h| serde_json::from_str(h).ok());
    if hero.as_ref().and_then(|h| h["image_id"].as_str()) == Some(image_id) {
        used_in.push("hero".to_owned());
    }
    let body: Option<serde_json::Value> = serde_json::from_str(&row.body).ok();
    let in_body = body.as_ref().and_then(|b| b.as_array()).is_some_and(|blocks| {
        blocks
            .iter()
            .any(|b| b["type"] == "image" && b["image_id"].as_str() == Some(image_id))
    });
    if in_body {
        used_in.push("body".to_owned());
    }
    if row.seo_og_image.as_deref() == Some(image_id) {
        used_in.push("seo".to_owned());
    }
    let status = if row.status == "scheduled" && row.published_at.is_some_and(|p| p <= at) {
        "published".to_owned()
    } else {
        row.status
    };
    ImageUsage {
        id: row.id,
        slug: row.slug,
        headline: row.headline,
        status,
        used_in,
    }
}
