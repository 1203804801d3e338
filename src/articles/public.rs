//! The public article API (`/api/v1/articles…`): the list with keyset pagination, tag,
//! author and date filters and full-text search, and one article by slug (with redirects from
//! former slugs), all through the response cache with their validators and surrogate keys.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, web};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::articles::model::Block;
use crate::articles::store::{self, ListFilter};
use crate::articles::view::{ArticleDto, ArticleSummary, build_one, build_summaries};
use crate::db::StoreError;
use crate::error::{ApiError, Problem};
use crate::http::caching::{self, CacheInfo, Fresh};
use crate::pagination::{Page, PageQuery, paginate};
use crate::state::AppState;
use crate::time::{naive, now, utc};

/// Filters of the public list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PublicListQuery {
    /// Tag slug; an unknown tag gives an empty list.
    pub tag: Option<String>,
    /// Author user id.
    pub author: Option<String>,
    /// Full-text search over headline, standfirst and body; results are ranked best first
    /// (at most the 1 000 best matches).
    pub q: Option<String>,
    /// RFC 3339; only articles published after this instant.
    #[param(format = DateTime, example = "2026-01-31T00:00:00Z")]
    pub published_after: Option<String>,
    /// RFC 3339; only articles published before this instant.
    #[param(format = DateTime, example = "2026-02-28T00:00:00Z")]
    pub published_before: Option<String>,
}

fn parse_time(raw: Option<&str>, name: &str) -> Result<Option<NaiveDateTime>, ApiError> {
    match raw {
        None => Ok(None),
        Some(s) => DateTime::parse_from_rfc3339(s)
            .map(|t| Some(naive(t.with_timezone(&Utc))))
            .map_err(|_| {
                ApiError::BadRequest(format!(
                    "{name} must be an RFC 3339 time such as 2026-01-31T00:00:00Z"
                ))
            }),
    }
}

fn last_modified(a: &ArticleDto) -> DateTime<Utc> {
    a.published_at.map_or(a.updated_at, |p| p.max(a.updated_at))
}

/// What a public article response depends on: the article, its tags (their names), its
/// authors (their display names) and its images (captions, credits, renditions).
fn surrogate_keys(a: &ArticleDto) -> Vec<String> {
    let mut keys = vec![format!("article:{}", a.id)];
    keys.extend(a.tags.iter().map(|t| format!("tag:{}", t.slug)));
    keys.extend(a.authors.iter().map(|u| format!("author:{}", u.id)));
    keys.extend(a.hero.iter().map(|h| format!("image:{}", h.image_id)));
    // The share image too: its withdrawal changes `seo.og_image_url`.
    keys.extend(a.seo.og_image.iter().map(|id| format!("image:{id}")));
    keys.extend(a.body.iter().filter_map(|b| match b {
        Block::Image { image_id, .. } => Some(format!("image:{image_id}")),
        _ => None,
    }));
    keys
}

/// What a list item depends on, as [`surrogate_keys`] (a summary has no body).
fn summary_keys(s: &ArticleSummary) -> impl Iterator<Item = String> + '_ {
    std::iter::once(format!("article:{}", s.id))
        .chain(s.tags.iter().map(|t| format!("tag:{}", t.slug)))
        .chain(s.authors.iter().map(|u| format!("author:{}", u.id)))
        .chain(s.hero.iter().map(|h| format!("image:{}", h.image_id)))
}

/// How long a search waits for its turn before the client is told to retry (503).
const SEARCH_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Published articles, newest first (or best match first with `q`), keyset-paginated.
///
/// Cached: strong `ETag`, `Last-Modified`, 304 on `If-None-Match` / `If-Modified-Since`,
/// `Cache-Control: public, max-age=…, stale-while-revalidate=…`, `Surrogate-Key: articles
/// article:<id> tag:<slug> …`.
#[utoipa::path(
    tag = "public",
    params(PublicListQuery, PageQuery,
        ("If-None-Match" = Option<String>, Header, description = "A previous ETag; 304 if unchanged"),
        ("If-Modified-Since" = Option<String>, Header, description = "HTTP date; 304 if not modified since")),
    responses(
        (status = 200, body = Page<ArticleSummary>, headers(
            ("ETag" = String, description = "Strong ETag of the body"),
            ("Last-Modified" = String, description = "When the newest listed article changed"),
            ("Cache-Control" = String, description = "public, max-age=<MASTHEAD_CACHE_MAX_AGE>, stale-while-revalidate=<…>"),
            ("Surrogate-Key" = String, description = "articles article:<id> tag:<slug> … for CDN purges"))),
        (status = 304, description = "Not modified: the client's copy is current"),
        (status = 400, description = "Bad limit (1–100), cursor or time", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/articles")]
pub async fn list_articles(
    state: web::Data<AppState>,
    req: HttpRequest,
    filter: web::Query<PublicListQuery>,
    page: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let f = ListFilter {
        tag: filter.tag.clone().filter(|t| !t.is_empty()),
        author: filter.author.clone().filter(|a| !a.is_empty()),
        published_after: parse_time(filter.published_after.as_deref(), "published_after")?,
        published_before: parse_time(filter.published_before.as_deref(), "published_before")?,
        ..ListFilter::default()
    };
    caching::cached(&req, &state.settings, &state.cache, &state.db, || async {
        let q = filter.q.clone().filter(|q| !q.trim().is_empty());
        let settings = state.settings.clone();
        let page_out: Page<ArticleSummary>;
        let mut keys = vec!["articles".to_owned()];
        if let Some(tag) = &f.tag {
            keys.push(format!("articles:tag:{tag}"));
        }
        if let Some(author) = &f.author {
            keys.push(format!("articles:author:{author}"));
        }
        if q.is_some() {
            keys.push("search".to_owned());
        }
        let mut modified = Vec::new();
        let mut add_item = |s: &ArticleSummary| {
            keys.extend(summary_keys(s));
            modified.push(s.published_at.map_or(s.updated_at, |p| p.max(s.updated_at)));
        };
        if let Some(q) = q {
            let page = page.parse::<(f64, NaiveDateTime, String)>(&state.cursors)?;
            let limit = page.limit;
            // A search ranks up to 2,000 matches: only a few run at once, so distinct searches
            // cannot take memory and CPU in proportion to the archive times the clients.
            let _turn = tokio::time::timeout(SEARCH_WAIT, state.searches.clone().acquire_owned())
                .await
                .map_err(|_| ApiError::Busy {
                    detail: "Too many searches at once; try again shortly".into(),
                    retry_after_secs: 1,
                })?
                .map_err(ApiError::internal)?;
            let items = state
                .db
                .run(move |conn| -> Result<_, ApiError> {
                    let hits = store::search_public(conn, &q, &f, page.after, limit + 1)?;
                    let keys: Vec<_> = hits
                        .iter()
                        .map(|h| {
                            (
                                h.score,
                                h.summary.published_at.unwrap_or_default(),
                                h.summary.id.clone(),
                            )
                        })
                        .collect();
                    let rows = hits.into_iter().map(|h| h.summary).collect();
                    Ok(build_summaries(conn, &settings, rows)?
                        .into_iter()
                        .zip(keys)
                        .collect::<Vec<_>>())
                })
                .await?;
            page_out = paginate(
                items,
                limit,
                &state.cursors,
                |(_, k)| k.clone(),
                |(s, _)| {
                    add_item(&s);
                    s
                },
            );
        } else {
            let page = page.parse::<(NaiveDateTime, String)>(&state.cursors)?;
            let limit = page.limit;
            let items = state
                .db
                .run(move |conn| {
                    let rows = store::list_public(conn, &f, page.after, limit + 1)?;
                    build_summaries(conn, &settings, rows)
                })
                .await?;
            page_out = paginate(
                items,
                limit,
                &state.cursors,
                |s| (s.published_at.map(naive).unwrap_or_default(), s.id.clone()),
                |s| {
                    add_item(&s);
                    s
                },
            );
        }
        Ok(Fresh::Cacheable(
            page_out,
            CacheInfo::new(keys).modified(modified),
        ))
    })
    .await
}

/// One published article by slug, with everything a page needs. A former slug answers 301
/// with `Location` to the current URL.
#[utoipa::path(
    tag = "public",
    params(("slug" = String, Path, description = "Article slug"),
        ("If-None-Match" = Option<String>, Header, description = "A previous ETag; 304 if unchanged"),
        ("If-Modified-Since" = Option<String>, Header, description = "HTTP date; 304 if not modified since")),
    responses(
        (status = 200, body = ArticleDto, headers(
            ("ETag" = String, description = "Strong ETag of the body"),
            ("Last-Modified" = String, description = "When the article last changed"),
            ("Cache-Control" = String, description = "public, max-age=<MASTHEAD_CACHE_MAX_AGE>, stale-while-revalidate=<…>"),
            ("Surrogate-Key" = String, description = "article:<id> tag:<slug> … for CDN purges"))),
        (status = 301, description = "The slug changed", headers(("Location" = String, description = "/api/v1/articles/<current slug>"))),
        (status = 304, description = "Not modified: the client's copy is current")
    )
)]
#[get("/articles/{slug}")]
pub async fn get_article(
    state: web::Data<AppState>,
    req: HttpRequest,
    slug: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let slug = slug.into_inner();
    let settings = state.settings.clone();
    enum Found {
        Article(Box<ArticleDto>, Option<NaiveDateTime>),
        Moved(String, String),
    }
    caching::cached(&req, &state.settings, &state.cache, &state.db, || async {
        let found = state
            .db
            .run(move |conn| {
                let at = now();
                if let Some(row) = store::find_by_slug(conn, &slug)? {
                    return if row.is_public(at) {
                        let mut dto = build_one(conn, &settings, row)?;
                        let (site, site_changed) = crate::site::read(conn, &settings)?;
                        dto.structured_data = Some(crate::feeds::jsonld::news_article(&dto, &site));
                        Ok(Found::Article(Box::new(dto), site_changed))
                    } else {
                        Err(StoreError::NotFound)
                    };
                }
                match store::find_by_old_slug(conn, &slug)? {
                    Some(row) if row.is_public(at) => Ok(Found::Moved(row.id, row.slug)),
                    _ => Err(StoreError::NotFound),
                }
            })
            .await
            .map_err(ApiError::not_found_as("article"))?;
        Ok(match found {
            Found::Article(dto, site_changed) => {
                // `structured_data` names the site (publisher, language): `site` purges it too.
                let keys = surrogate_keys(&dto).into_iter().chain(["site".to_owned()]);
                let info = CacheInfo::new(keys)
                    .modified([last_modified(&dto)])
                    .modified(site_changed.map(utc));
                Fresh::Cacheable(dto, info)
            }
            Found::Moved(id, current) => Fresh::Uncached(
                HttpResponse::MovedPermanently()
                    .insert_header((header::LOCATION, format!("/api/v1/articles/{current}")))
                    .insert_header((header::CACHE_CONTROL, caching::cache_control(&state.settings)))
                    .insert_header(("Surrogate-Key", format!("article:{id}")))
                    .finish(),
            ),
        })
    })
    .await
}
