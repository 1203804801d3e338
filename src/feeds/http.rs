//! Feed and sitemap endpoints: `/feeds/rss.xml`, `/feeds/atom.xml`, `/feeds/feed.json`,
//! `/sitemap.xml`, `/sitemaps/articles-{yyyy}-{mm}.xml` and `/sitemaps/news.xml`. Each is a
//! public GET through the response cache (`http::caching::cached`), carrying the surrogate keys
//! of what it shows so that a publish, edit or unpublish drops it at once.

use std::collections::BTreeSet;

use actix_web::{HttpRequest, HttpResponse, get, web};
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, Utc};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::articles::model::Block;
use crate::articles::{ArticleDto, build, canonical_url};
use crate::error::{ApiError, Problem};
use crate::feeds::render::{self, FeedMeta};
use crate::feeds::sitemap::{self, NewsEntry, Publication, SitemapEntry, UrlEntry};
use crate::feeds::store::{self, FeedFilter, SitemapRow};
use crate::http::caching::{self, CacheInfo, Fresh};
use crate::state::AppState;
use crate::time::{now, utc};

const RSS: &str = "application/rss+xml; charset=utf-8";
const ATOM: &str = "application/atom+xml; charset=utf-8";
const JSON_FEED: &str = "application/feed+json; charset=utf-8";
const XML: &str = "application/xml; charset=utf-8";

/// Most URLs one sitemap may list (sitemaps.org); a month beyond it lists its newest 50,000.
pub const SITEMAP_MAX_URLS: i64 = 50_000;
/// Most articles the Google News sitemap lists, and how far back it looks.
pub const NEWS_MAX_URLS: i64 = 1_000;
pub const NEWS_WINDOW_HOURS: i64 = 48;

/// Filters of a feed.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FeedQuery {
    /// Tag slug: only articles with this tag (an unknown tag is 404).
    pub tag: Option<String>,
    /// Author user id: only articles by this author (an unknown user is 404).
    pub author: Option<String>,
}

#[derive(Clone, Copy)]
enum Format {
    Rss,
    Atom,
    JsonFeed,
}

/// The feed's own URL, from the public URL and the filters (not the query as sent, so the Atom
/// id is the same however a reader spells it).
fn self_url(public_url: &str, path: &str, f: &FeedFilter) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    if let Some(tag) = &f.tag {
        query.append_pair("tag", tag);
    }
    if let Some(author) = &f.author {
        query.append_pair("author", author);
    }
    let query = query.finish();
    let base = public_url.trim_end_matches('/');
    if query.is_empty() {
        format!("{base}{path}")
    } else {
        format!("{base}{path}?{query}")
    }
}

/// What a feed item depends on: the article, its tags' and authors' names, its images.
fn item_keys(a: &ArticleDto, keys: &mut BTreeSet<String>) {
    keys.insert(format!("article:{}", a.id));
    keys.extend(a.tags.iter().map(|t| format!("tag:{}", t.slug)));
    keys.extend(a.authors.iter().map(|u| format!("author:{}", u.id)));
    keys.extend(a.hero.iter().map(|h| format!("image:{}", h.image_id)));
    keys.extend(a.body.iter().filter_map(|b| match b {
        Block::Image { image_id, .. } => Some(format!("image:{image_id}")),
        _ => None,
    }));
}

async fn feed(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<FeedQuery>,
    format: Format,
) -> Result<HttpResponse, ApiError> {
    let filter = FeedFilter {
        tag: query.tag.clone().filter(|t| !t.is_empty()),
        author: query.author.clone().filter(|a| !a.is_empty()),
    };
    caching::cached(&req, &state.settings, &state.cache, &state.db, || async {
        if let Some(tag) = filter.tag.clone() {
            state
                .db
                .run(move |conn| crate::tags::store::find_by_slug(conn, &tag).map(drop))
                .await
                .map_err(ApiError::not_found_as("tag"))?;
        }
        if let Some(author) = filter.author.clone() {
            state
                .db
                .run(move |conn| crate::users::store::find(conn, &author).map(drop))
                .await
                .map_err(ApiError::not_found_as("author"))?;
        }
        let settings = state.settings.clone();
        let f = filter.clone();
        let (articles, site, site_changed) = state
            .db
            .run(move |conn| -> Result<_, ApiError> {
                let rows = store::latest(conn, &f, now(), settings.feed_size.into())?;
                let articles = build(conn, &settings, rows)?;
                let (site, changed) = crate::site::read(conn, &settings)?;
                Ok((articles, site, changed))
            })
            .await?;
        let mut keys = BTreeSet::from(["articles".to_owned(), "site".to_owned()]);
        if let Some(tag) = &filter.tag {
            keys.insert(format!("articles:tag:{tag}"));
        }
        if let Some(author) = &filter.author {
            keys.insert(format!("articles:author:{author}"));
        }
        let mut modified: Vec<DateTime<Utc>> = site_changed.map(utc).into_iter().collect();
        for a in &articles {
            item_keys(a, &mut keys);
            modified.push(a.published_at.map_or(a.updated_at, |p| p.max(a.updated_at)));
        }
        let meta = FeedMeta {
            title: site.name.clone(),
            // RSS requires a channel description; an unset one says what the feed is.
            description: if site.description.trim().is_empty() {
                format!("The latest articles from {}", site.name)
            } else {
                site.description.clone()
            },
            home_url: site.public_url.clone(),
            self_url: self_url(&site.public_url, req.path(), &filter),
            language: site.locale.clone(),
            updated: modified.iter().copied().max().unwrap_or_else(|| utc(now())),
        };
        let (body, content_type) = match format {
            Format::Rss => (render::rss(&meta, &articles)?, RSS),
            Format::Atom => (render::atom(&meta, &articles)?, ATOM),
            Format::JsonFeed => (render::json_feed(&meta, &articles)?, JSON_FEED),
        };
        Ok(Fresh::<()>::Rendered(
            body,
            content_type,
            CacheInfo::new(keys).modified(modified),
        ))
    })
    .await
}

/// RSS 2.0 of the latest `MASTHEAD_FEED_SIZE` public articles, newest first, optionally of one
/// tag or author: `content:encoded` (the full `body_html`), `media:content` with `media:credit`
/// (the hero), `dc:creator`, `category`, a `guid` that survives slug changes.
///
/// Cached like every public GET: `ETag`, `Last-Modified`, 304, `Cache-Control`,
/// `Surrogate-Key: articles site article:<id> …`.
#[utoipa::path(
    tag = "distribution",
    params(FeedQuery,
        ("If-None-Match" = Option<String>, Header, description = "A previous ETag; 304 if unchanged")),
    responses(
        (status = 200, description = "RSS 2.0", content_type = "application/rss+xml", body = String, headers(
            ("ETag" = String, description = "Strong ETag of the body"),
            ("Surrogate-Key" = String, description = "articles site article:<id> … for CDN purges"))),
        (status = 304, description = "Not modified: the client's copy is current"),
        (status = 404, description = "Unknown tag or author", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/feeds/rss.xml")]
pub async fn rss_feed(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<FeedQuery>,
) -> Result<HttpResponse, ApiError> {
    feed(state, req, query, Format::Rss).await
}

/// Atom 1.0 of the latest public articles, as the RSS feed (same filters, same caching).
#[utoipa::path(
    tag = "distribution",
    params(FeedQuery,
        ("If-None-Match" = Option<String>, Header, description = "A previous ETag; 304 if unchanged")),
    responses(
        (status = 200, description = "Atom 1.0", content_type = "application/atom+xml", body = String, headers(
            ("ETag" = String, description = "Strong ETag of the body"),
            ("Surrogate-Key" = String, description = "articles site article:<id> … for CDN purges"))),
        (status = 304, description = "Not modified: the client's copy is current"),
        (status = 404, description = "Unknown tag or author", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/feeds/atom.xml")]
pub async fn atom_feed(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<FeedQuery>,
) -> Result<HttpResponse, ApiError> {
    feed(state, req, query, Format::Atom).await
}

/// JSON Feed 1.1 of the latest public articles, as the RSS feed (same filters, same caching).
#[utoipa::path(
    tag = "distribution",
    params(FeedQuery,
        ("If-None-Match" = Option<String>, Header, description = "A previous ETag; 304 if unchanged")),
    responses(
        (status = 200, description = "JSON Feed 1.1", content_type = "application/feed+json", body = Object, headers(
            ("ETag" = String, description = "Strong ETag of the body"),
            ("Surrogate-Key" = String, description = "articles site article:<id> … for CDN purges"))),
        (status = 304, description = "Not modified: the client's copy is current"),
        (status = 404, description = "Unknown tag or author", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/feeds/feed.json")]
pub async fn json_feed(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<FeedQuery>,
) -> Result<HttpResponse, ApiError> {
    feed(state, req, query, Format::JsonFeed).await
}

/// The canonical URL a sitemap lists for an article.
fn loc(settings: &crate::config::Settings, row: &SitemapRow) -> String {
    row.seo_canonical_url
        .clone()
        .unwrap_or_else(|| canonical_url(settings, &row.slug, row.published_at.unwrap_or(row.updated_at)))
}

fn lastmod(published: NaiveDateTime, updated: NaiveDateTime) -> DateTime<Utc> {
    utc(published.max(updated))
}

/// Sitemaps list too many articles to name each in `Surrogate-Key`; they carry `articles`
/// (what is public changed) and `search` (a public article's text, slug or dates changed),
/// which between them every change a sitemap shows purges.
fn sitemap_keys() -> Vec<String> {
    vec!["articles".into(), "search".into()]
}

/// The first instant of a month, if the month exists.
fn month_start(year: i32, month: u32) -> Option<NaiveDateTime> {
    NaiveDate::from_ymd_opt(year, month, 1)?.and_hms_opt(0, 0, 0)
}

/// The sitemap index: one sitemap per month that has public articles (newest first, each with
/// the latest change among its articles), then the Google News sitemap.
#[utoipa::path(
    tag = "distribution",
    params(("If-None-Match" = Option<String>, Header, description = "A previous ETag; 304 if unchanged")),
    responses(
        (status = 200, description = "A sitemaps.org sitemap index", content_type = "application/xml", body = String, headers(
            ("ETag" = String, description = "Strong ETag of the body"),
            ("Surrogate-Key" = String, description = "articles search"))),
        (status = 304, description = "Not modified: the client's copy is current")
    )
)]
#[get("/sitemap.xml")]
pub async fn sitemap_index(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    caching::cached(&req, &state.settings, &state.cache, &state.db, || async {
        let times = state.db.run(|conn| store::all_times(conn, now())).await?;
        let mut months: Vec<((i32, u32), DateTime<Utc>)> = Vec::new();
        for (published, updated) in times {
            let month = (published.year(), published.month());
            let changed = lastmod(published, updated);
            match months.last_mut() {
                Some((m, latest)) if *m == month => *latest = (*latest).max(changed),
                _ => months.push((month, changed)),
            }
        }
        let base = state.settings.public_url.trim_end_matches('/');
        let mut entries: Vec<SitemapEntry> = months
            .iter()
            .map(|((y, m), latest)| SitemapEntry {
                loc: format!("{base}/sitemaps/articles-{y:04}-{m:02}.xml"),
                lastmod: Some(*latest),
            })
            .collect();
        entries.push(SitemapEntry {
            loc: format!("{base}/sitemaps/news.xml"),
            lastmod: None,
        });
        let info = CacheInfo::new(sitemap_keys()).modified(months.iter().map(|(_, t)| *t));
        Ok(Fresh::<()>::Rendered(sitemap::index(&entries)?, XML, info))
    })
    .await
}

/// Every public article published in one month (UTC), newest first, with `lastmod`. A month
/// that does not exist (`2026-13`) is 404; a month without articles is an empty `urlset`.
#[utoipa::path(
    tag = "distribution",
    params(
        ("yyyy" = String, Path, description = "Four-digit year", example = "2026"),
        ("mm" = String, Path, description = "Two-digit month, 01–12", example = "03"),
        ("If-None-Match" = Option<String>, Header, description = "A previous ETag; 304 if unchanged")),
    responses(
        (status = 200, description = "A sitemaps.org urlset", content_type = "application/xml", body = String, headers(
            ("ETag" = String, description = "Strong ETag of the body"),
            ("Surrogate-Key" = String, description = "articles search"))),
        (status = 304, description = "Not modified: the client's copy is current"),
        (status = 404, description = "No such month", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/sitemaps/articles-{yyyy}-{mm}.xml")]
pub async fn sitemap_month(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (yyyy, mm) = path.into_inner();
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    let start = (digits(&yyyy, 4) && digits(&mm, 2))
        .then(|| month_start(yyyy.parse().ok()?, mm.parse().ok()?))
        .flatten()
        .ok_or_else(|| ApiError::not_found(format!("month {yyyy}-{mm}")))?;
    let end = if start.month() == 12 {
        month_start(start.year() + 1, 1)
    } else {
        month_start(start.year(), start.month() + 1)
    }
    .ok_or_else(|| ApiError::not_found(format!("month {yyyy}-{mm}")))?;
    caching::cached(&req, &state.settings, &state.cache, &state.db, || async {
        let rows = state
            .db
            .run(move |conn| store::published_between(conn, start, end, now(), SITEMAP_MAX_URLS))
            .await?;
        let entries: Vec<UrlEntry> = rows
            .iter()
            .map(|r| UrlEntry {
                loc: loc(&state.settings, r),
                lastmod: lastmod(r.published_at.unwrap_or(r.updated_at), r.updated_at),
            })
            .collect();
        let info = CacheInfo::new(sitemap_keys()).modified(entries.iter().map(|e| e.lastmod));
        Ok(Fresh::<()>::Rendered(sitemap::urls(&entries)?, XML, info))
    })
    .await
}

/// The Google News sitemap: public articles published in the last 48 hours (at most 1,000,
/// newest first), with `news:publication` (site name and language), `news:publication_date`
/// and `news:title`.
#[utoipa::path(
    tag = "distribution",
    params(("If-None-Match" = Option<String>, Header, description = "A previous ETag; 304 if unchanged")),
    responses(
        (status = 200, description = "A Google News sitemap", content_type = "application/xml", body = String, headers(
            ("ETag" = String, description = "Strong ETag of the body"),
            ("Surrogate-Key" = String, description = "articles search site"))),
        (status = 304, description = "Not modified: the client's copy is current")
    )
)]
#[get("/sitemaps/news.xml")]
pub async fn sitemap_news(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    caching::cached(&req, &state.settings, &state.cache, &state.db, || async {
        let settings = state.settings.clone();
        let (rows, site, site_changed) = state
            .db
            .run(move |conn| -> Result<_, ApiError> {
                let at = now();
                let from = at - Duration::hours(NEWS_WINDOW_HOURS);
                let rows =
                    store::published_between(conn, from, at + Duration::seconds(1), at, NEWS_MAX_URLS)?;
                let (site, changed) = crate::site::read(conn, &settings)?;
                Ok((rows, site, changed))
            })
            .await?;
        let publication = Publication {
            name: site.name.clone(),
            language: sitemap::news_language(&site.locale),
        };
        let entries: Vec<NewsEntry> = rows
            .iter()
            .map(|r| NewsEntry {
                loc: loc(&state.settings, r),
                published: utc(r.published_at.unwrap_or(r.updated_at)),
                title: r.headline.clone(),
            })
            .collect();
        let mut keys = sitemap_keys();
        keys.push("site".into());
        let info = CacheInfo::new(keys)
            .modified(
                rows.iter()
                    .map(|r| lastmod(r.published_at.unwrap_or(r.updated_at), r.updated_at)),
            )
            .modified(site_changed.map(utc));
        Ok(Fresh::<()>::Rendered(
            sitemap::news(&publication, &entries)?,
            XML,
            info,
        ))
    })
    .await
}
