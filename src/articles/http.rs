//! Article endpoints: the editorial API (`/api/v1/admin/articles…`) with roles, revisions and
//! `If-Match`, and the public delivery API (`/api/v1/articles…`) with keyset pagination,
//! full-text search and HTTP caching.
//!
//! Over 700 lines because it still holds several jobs (response types, response building,
//! input parsing, permission rules); splitting it into a domain module, response building and
//! public/editorial handlers is issue #11, left until the branches touching it had landed.

use std::collections::HashMap;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::Connection;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::articles::model::{self, Block, Errors, Status};
use crate::articles::store::{self, ArticleRow, Current, Hero, ListFilter, Seo, Snapshot};
use crate::auth::{Auth, AuthorRole, ContributorRole, Principal, Role};
use crate::config::Settings;
use crate::db::{DbConn, StoreError};
use crate::error::{ApiError, Problem};
use crate::events::{self, EventType, NewEvent};
use crate::http::caching::{self, CacheInfo, Fresh};
use crate::pagination::{Page, PageQuery, paginate};
use crate::startup::AppState;
use crate::time::{naive, now, utc};

/// An author as articles show them: display name (and id, for the `author` filter).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ArticleAuthor {
    pub id: String,
    #[schema(example = "María López")]
    pub display_name: String,
}

/// A tag as articles show it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ArticleTag {
    pub id: String,
    #[schema(example = "climate")]
    pub slug: String,
    #[schema(example = "Climate")]
    pub name: String,
}

/// The hero image: `image` carries the expanded image (its `caption` is the one to print);
/// null if the image no longer exists or is withdrawn.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct HeroDto {
    pub image_id: String,
    pub caption: Option<String>,
    #[schema(value_type = Option<crate::images::ImageDto>)]
    pub image: Option<Value>,
    /// True when the image is withdrawn (its rights expired, PRODUCT.md §3a); `image` is null.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub withdrawn: bool,
}

/// SEO fields, with defaults filled in (headline, standfirst, canonical URL from the
/// public URL and `MASTHEAD_ARTICLE_PATH`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SeoDto {
    pub meta_title: String,
    pub meta_description: String,
    /// Image id of the share image: the one set, else the hero image (unless withdrawn).
    pub og_image: Option<String>,
    /// The share image's largest rendition, for `<meta property="og:image">`.
    #[serde(default)]
    pub og_image_url: Option<String>,
    pub canonical_url: String,
}

/// A whole article: everything a page needs in one response.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ArticleDto {
    pub id: String,
    #[schema(example = "harbour-bridge-reopens-after-storm-repairs")]
    pub slug: String,
    #[schema(example = "Harbour bridge reopens after storm repairs")]
    pub headline: String,
    pub standfirst: String,
    /// Where the story was filed from.
    #[schema(example = "PORTSMOUTH")]
    pub dateline: Option<String>,
    /// The label over the headline ("Exclusive", "Analysis").
    #[schema(example = "Analysis")]
    pub kicker: Option<String>,
    pub body: Vec<Block>,
    /// The body rendered to HTML (read-only).
    pub body_html: String,
    pub hero: Option<HeroDto>,
    pub authors: Vec<ArticleAuthor>,
    pub tags: Vec<ArticleTag>,
    /// As readers see it now (a scheduled article whose time has come is `published`).
    pub status: Status,
    pub publish_at: Option<DateTime<Utc>>,
    pub published_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub word_count: i32,
    pub reading_minutes: i32,
    pub comment_count: i32,
    pub comments_enabled: bool,
    pub seo: SeoDto,
    /// Public article only: its schema.org `NewsArticle` JSON-LD, ready for a script element
    /// of type `application/ld+json` (PRODUCT.md §11; built by `feeds::jsonld`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub structured_data: Option<Value>,
}

/// An article as lists show it: what a front page needs, without the body.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ArticleSummary {
    pub id: String,
    pub slug: String,
    pub headline: String,
    pub standfirst: String,
    pub dateline: Option<String>,
    /// The label over the headline.
    pub kicker: Option<String>,
    pub hero: Option<HeroDto>,
    pub authors: Vec<ArticleAuthor>,
    pub tags: Vec<ArticleTag>,
    pub status: Status,
    pub publish_at: Option<DateTime<Utc>>,
    pub published_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    pub word_count: i32,
    pub reading_minutes: i32,
    pub comment_count: i32,
}

impl From<ArticleDto> for ArticleSummary {
    fn from(a: ArticleDto) -> Self {
        ArticleSummary {
            id: a.id,
            slug: a.slug,
            headline: a.headline,
            standfirst: a.standfirst,
            dateline: a.dateline,
            kicker: a.kicker,
            hero: a.hero,
            authors: a.authors,
            tags: a.tags,
            status: a.status,
            publish_at: a.publish_at,
            published_at: a.published_at,
            updated_at: a.updated_at,
            word_count: a.word_count,
            reading_minutes: a.reading_minutes,
            comment_count: a.comment_count,
        }
    }
}

/// The canonical URL of an article: `public_url` + `article_path` (`/{yyyy}/{mm}/{slug}`).
pub fn canonical_url(settings: &Settings, slug: &str, at: NaiveDateTime) -> String {
    let path = settings
        .article_path
        .replace("{yyyy}", &at.format("%Y").to_string())
        .replace("{mm}", &at.format("%m").to_string())
        .replace("{dd}", &at.format("%d").to_string())
        .replace("{slug}", slug)
        .replace("{id}", "");
    format!("{}{}", settings.public_url.trim_end_matches('/'), path)
}

/// One image as articles show it: its public metadata and renditions, with `caption` (the
/// block's or hero's override, when given) as the caption to print; `(None, true)` when the
/// image is withdrawn (its rights expired: computed now, so it holds without any write).
fn expanded_image(
    rows: &HashMap<String, crate::images::ImageRow>,
    settings: &Settings,
    id: &str,
    caption: Option<&str>,
) -> (Option<Value>, bool) {
    let Some(row) = rows.get(id) else {
        return (None, false);
    };
    if crate::images::rights::is_withdrawn(row, now()) {
        return (None, true);
    }
    let mut image = crate::images::to_public(row, settings);
    if let Some(caption) = caption.map(model::plain_text).filter(|c| !c.is_empty()) {
        image.caption = Some(caption);
    }
    (serde_json::to_value(image).ok(), false)
}

/// THE place where image references are expanded: the hero and every image block get their
/// `image` (full metadata and rendition URLs; its `caption` is the caption to print: the block's
/// or hero's override first, else the image's own), or `withdrawn: true` and no image once the
/// image's rights expired; `seo.og_image` defaults to the hero image and `seo.og_image_url` is
/// its largest rendition; and `body_html` is rendered with them. One query for all the
/// articles given.
pub fn expand_images(
    conn: &mut DbConn,
    settings: &Settings,
    articles: &mut [ArticleDto],
) -> Result<(), StoreError> {
    let mut ids: Vec<String> = Vec::new();
    for article in articles.iter() {
        ids.extend(article.hero.as_ref().map(|h| h.image_id.clone()));
        ids.extend(article.seo.og_image.clone());
        ids.extend(article.body.iter().filter_map(|b| match b {
            Block::Image { image_id, .. } => Some(image_id.clone()),
            _ => None,
        }));
    }
    ids.sort();
    ids.dedup();
    let rows = crate::images::load_many(conn, &ids)?;
    let expand = |id: &str, caption: Option<&str>| expanded_image(&rows, settings, id, caption);
    for article in articles.iter_mut() {
        if let Some(hero) = article.hero.as_mut() {
            (hero.image, hero.withdrawn) = expand(&hero.image_id, hero.caption.as_deref());
        }
        for block in &mut article.body {
            if let Block::Image {
                image_id,
                caption,
                image,
                withdrawn,
            } = block
            {
                (*image, *withdrawn) = expand(image_id, caption.as_deref());
            }
        }
        let seo = &mut article.seo;
        let share_id = seo
            .og_image
            .clone()
            .or_else(|| article.hero.as_ref().map(|h| h.image_id.clone()));
        seo.og_image_url = None;
        // A withdrawn or missing share image is not offered to social networks.
        if let Some((Some(image), _)) = share_id.as_deref().map(|id| expand(id, None)) {
            seo.og_image = share_id;
            seo.og_image_url = image["renditions"]["widths"]
                .as_array()
                .and_then(|w| w.last())
                .and_then(|w| w["url"].as_str())
                .map(str::to_owned);
        }
        article.body_html = model::render_html(&article.body);
    }
    Ok(())
}

/// Builds full DTOs (authors, tags, images) for rows, keeping their order.
pub fn build(
    conn: &mut DbConn,
    settings: &Settings,
    rows: Vec<ArticleRow>,
) -> Result<Vec<ArticleDto>, StoreError> {
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let mut authors = store::authors_of(conn, &ids)?;
    let mut tags = store::tags_of(conn, &ids)?;
    let at = now();
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let status = row.effective_status(at);
        let hero = row.hero().map(|h| HeroDto {
            image_id: h.image_id,
            caption: h.caption,
            image: None,
            withdrawn: false,
        });
        let canonical = row.seo_canonical_url.clone().unwrap_or_else(|| {
            canonical_url(
                settings,
                &row.slug,
                row.published_at.or(row.publish_at).unwrap_or(row.created_at),
            )
        });
        let dto = ArticleDto {
            body: row.blocks(),
            hero,
            authors: byline(&mut authors, &row.id),
            tags: tag_list(&mut tags, &row.id),
            status,
            publish_at: row.publish_at.map(utc),
            published_at: row.published_at.map(utc),
            updated_at: utc(row.updated_at),
            created_at: utc(row.created_at),
            word_count: row.word_count,
            reading_minutes: model::reading_minutes(row.word_count),
            comment_count: row.comment_count,
            comments_enabled: row.comments_enabled,
            seo: SeoDto {
                meta_title: row.seo_meta_title.clone().unwrap_or_else(|| row.headline.clone()),
                meta_description: row
                    .seo_meta_description
                    .clone()
                    .unwrap_or_else(|| row.standfirst.clone()),
                og_image: row.seo_og_image.clone(),
                og_image_url: None,
                canonical_url: canonical,
            },
            structured_data: None,
            id: row.id,
            slug: row.slug,
            headline: row.headline,
            standfirst: row.standfirst,
            dateline: row.dateline,
            kicker: row.kicker,
            body_html: row.body_html,
        };
        out.push(dto);
    }
    expand_images(conn, settings, &mut out)?;
    Ok(out)
}

fn build_one(conn: &mut DbConn, settings: &Settings, row: ArticleRow) -> Result<ArticleDto, StoreError> {
    build(conn, settings, vec![row])?
        .pop()
        .ok_or_else(|| ApiError::internal("article vanished").into())
}

/// Builds list items from summary rows, keeping their order: one query each for the authors, the
/// tags and the hero images of the whole page, and no body is read, parsed or rendered.
pub fn build_summaries(
    conn: &mut DbConn,
    settings: &Settings,
    rows: Vec<store::SummaryRow>,
) -> Result<Vec<ArticleSummary>, StoreError> {
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let mut authors = store::authors_of(conn, &ids)?;
    let mut tags = store::tags_of(conn, &ids)?;
    let heroes: Vec<Option<Hero>> = rows.iter().map(store::SummaryRow::hero).collect();
    let mut image_ids: Vec<String> = heroes.iter().flatten().map(|h| h.image_id.clone()).collect();
    image_ids.sort();
    image_ids.dedup();
    let images = crate::images::load_many(conn, &image_ids)?;
    let at = now();
    Ok(rows
        .into_iter()
        .zip(heroes)
        .map(|(row, hero)| ArticleSummary {
            hero: hero.map(|h| {
                let (image, withdrawn) = expanded_image(&images, settings, &h.image_id, h.caption.as_deref());
                HeroDto {
                    image,
                    withdrawn,
                    image_id: h.image_id,
                    caption: h.caption,
                }
            }),
            authors: byline(&mut authors, &row.id),
            tags: tag_list(&mut tags, &row.id),
            status: row.effective_status(at),
            publish_at: row.publish_at.map(utc),
            published_at: row.published_at.map(utc),
            updated_at: utc(row.updated_at),
            word_count: row.word_count,
            reading_minutes: model::reading_minutes(row.word_count),
            comment_count: row.comment_count,
            id: row.id,
            slug: row.slug,
            headline: row.headline,
            standfirst: row.standfirst,
            dateline: row.dateline,
            kicker: row.kicker,
        })
        .collect())
}

/// Distinguishes an absent field (None) from an explicit null (Some(Null)).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// The hero image in a write.
#[derive(Deserialize, ToSchema)]
pub struct HeroInput {
    #[schema(
        max_length = 100,
        pattern = r"^[\s\S]*[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][\s\S]*$"
    )]
    pub image_id: String,
    pub caption: Option<String>,
}

/// SEO fields in a write; a null clears a field back to its default.
#[derive(Deserialize, ToSchema, Default, Clone)]
pub struct SeoInput {
    /// At most 300 characters as sent; empty or null: the headline.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 300)]
    pub meta_title: Option<Value>,
    /// At most 1 000 characters as sent; empty or null: the standfirst.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 1000)]
    pub meta_description: Option<Value>,
    /// Image id of the share image (at most 100 characters).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 100)]
    pub og_image: Option<Value>,
    /// An absolute http(s) URL; null: the default from `MASTHEAD_PUBLIC_URL`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 2000, pattern = r"^https?://[A-Za-z0-9.-]+(:0*([0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])?)?([/?#][!-~]*)?$")]
    pub canonical_url: Option<Value>,
}

/// An article write (create or PATCH). On PATCH absent fields stay as they are; `null` clears
/// `dateline`, `kicker`, `hero` and SEO fields. Status changes go through the action endpoints.
#[derive(Deserialize, ToSchema, Default, Clone)]
pub struct ArticleInput {
    /// 1–300 characters as sent, markup stripped (required on create).
    #[schema(
        example = "Harbour bridge reopens after storm repairs",
        max_length = 300,
        pattern = r"^[\s\S]*[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][\s\S]*$"
    )]
    pub headline: Option<String>,
    /// Lowercase letters, digits and single hyphens. Derived from the headline when absent on
    /// create; a changed slug keeps the old one as a 301 redirect.
    #[schema(max_length = 200, pattern = r"^[a-z0-9]+(-[a-z0-9]+)*$")]
    pub slug: Option<String>,
    /// Plain text, at most 1 000 characters as sent.
    #[schema(max_length = 1000)]
    pub standfirst: Option<String>,
    /// At most 100 characters as sent; empty or null clears it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, example = "PORTSMOUTH", max_length = 100)]
    pub dateline: Option<Value>,
    /// The label over the headline ("Exclusive", "Analysis"): at most 60 characters as sent;
    /// empty or null clears it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, example = "Analysis", max_length = 60)]
    pub kicker: Option<Value>,
    /// Blocks: `paragraph {text}`, `heading {level 2–4, text}`, `image {image_id, caption?}`,
    /// `quote {text, attribution?}`, `embed {url, provider?}`, `list {ordered, items[]}`,
    /// `divider {}`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Vec<Block>>, max_items = 1000)]
    pub body: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<HeroInput>)]
    pub hero: Option<Value>,
    /// User ids, in byline order (defaults to the caller on create); at most 20.
    #[schema(max_items = 20)]
    pub authors: Option<Vec<String>>,
    /// Tag ids or slugs; at most 50.
    #[schema(max_items = 50)]
    pub tags: Option<Vec<String>>,
    pub comments_enabled: Option<bool>,
    pub seo: Option<SeoInput>,
}

/// The body of a create: an [`ArticleInput`] whose `headline` is required (a create without one
/// is 422). Only the spec uses this type; the handler reads an `ArticleInput`.
pub struct NewArticle;

impl utoipa::PartialSchema for NewArticle {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{Schema, Type};
        use utoipa::openapi::{RefOr, schema::SchemaType};
        let mut schema = <ArticleInput as utoipa::PartialSchema>::schema();
        if let RefOr::T(Schema::Object(object)) = &mut schema {
            object.description = Some(
                "A new article: `headline` is required; everything else as in `ArticleInput`.".to_owned(),
            );
            if let Some(RefOr::T(Schema::Object(headline))) = object.properties.get_mut("headline") {
                headline.schema_type = SchemaType::Type(Type::String);
            }
            object.required.insert(0, "headline".to_owned());
        }
        schema
    }
}

impl ToSchema for NewArticle {
    fn schemas(schemas: &mut Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>)>) {
        <ArticleInput as ToSchema>::schemas(schemas);
    }
}

fn nullable_text(value: &Value, field: &str, max: usize, errors: &mut Errors) -> Option<Option<String>> {
    match value {
        Value::Null => Some(None),
        Value::String(s) => {
            let text = model::plain_text(s).trim().to_owned();
            // The limit counts the text as sent, like the spec's maxLength.
            if s.chars().count() > max {
                errors.push(field, format!("must be at most {max} characters"));
                None
            } else if text.is_empty() {
                Some(None)
            } else {
                Some(Some(text))
            }
        }
        _ => {
            errors.push(field, "must be a string or null");
            None
        }
    }
}

fn parse_hero(value: &Value, errors: &mut Errors) -> Option<Option<Hero>> {
    match value {
        Value::Null => Some(None),
        Value::Object(obj) => {
            let image_id = match obj.get("image_id") {
                Some(Value::String(s)) if !s.trim().is_empty() && s.chars().count() <= 100 => {
                    Some(s.trim().to_owned())
                }
                _ => {
                    errors.push("hero.image_id", "is required: an image id");
                    None
                }
            };
            let caption = match obj.get("caption") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(model::sanitize_inline(s)).filter(|c| !c.is_empty()),
                Some(_) => {
                    errors.push("hero.caption", "must be a string");
                    None
                }
            };
            image_id.map(|image_id| Some(Hero { image_id, caption }))
        }
        _ => {
            errors.push("hero", "must be an object {image_id, caption?} or null");
            None
        }
    }
}

/// Applies a validated write to the working copy; 422 with every invalid field at once.
fn apply_input(
    conn: &mut DbConn,
    input: ArticleInput,
    s: &mut Snapshot,
    principal: &Principal,
    creating: bool,
    article_id: Option<&str>,
) -> Result<(), StoreError> {
    let mut errors = Errors::default();
    match &input.headline {
        Some(h) => {
            if let Some(h) = model::headline(h, &mut errors) {
                s.headline = h;
            }
        }
        None if creating => errors.push("headline", "is required"),
        None => {}
    }
    if let Some(sf) = &input.standfirst
        && let Some(sf) = model::standfirst(sf, &mut errors)
    {
        s.standfirst = sf;
    }
    if let Some(d) = &input.dateline
        && let Some(d) = nullable_text(d, "dateline", 100, &mut errors)
    {
        s.dateline = d;
    }
    if let Some(k) = &input.kicker
        && let Some(k) = nullable_text(k, "kicker", 60, &mut errors)
    {
        s.kicker = k;
    }
    if let Some(body) = &input.body {
        s.body = if body.is_null() {
            Vec::new()
        } else {
            model::parse_body(body, &mut errors)
        };
    }
    if let Some(hero) = &input.hero
        && let Some(hero) = parse_hero(hero, &mut errors)
    {
        s.hero = hero;
    }
    let slug = input
        .slug
        .as_deref()
        .and_then(|raw| model::parse_slug(raw, "slug", &mut errors));
    if let Some(c) = input.comments_enabled {
        s.comments_enabled = c;
    }
    if let Some(seo) = &input.seo {
        let fields: [(&Option<Value>, &str, usize, &mut Option<String>); 4] = [
            (&seo.meta_title, "seo.meta_title", 300, &mut s.seo.meta_title),
            (
                &seo.meta_description,
                "seo.meta_description",
                1000,
                &mut s.seo.meta_description,
            ),
            (&seo.og_image, "seo.og_image", 100, &mut s.seo.og_image),
            (
                &seo.canonical_url,
                "seo.canonical_url",
                2000,
                &mut s.seo.canonical_url,
            ),
        ];
        for (value, field, max, target) in fields {
            // An empty string is not a URL (null restores the default).
            if field == "seo.canonical_url"
                && let Some(Value::String(u)) = value
                && let Err(why) = model::check_http_url(u)
            {
                errors.push(field, why);
                continue;
            }
            if let Some(v) = value
                && let Some(v) = nullable_text(v, field, max, &mut errors)
            {
                if field == "seo.canonical_url"
                    && let Some(u) = &v
                    && let Err(why) = model::check_http_url(u)
                {
                    errors.push(field, why);
                    continue;
                }
                *target = v;
            }
        }
    }
    let tags = match &input.tags {
        Some(refs) if refs.len() > model::TAGS_MAX => {
            errors.push(
                "tags",
                format!("must list at most {} tags, not {}", model::TAGS_MAX, refs.len()),
            );
            None
        }
        Some(refs) => match store::resolve_tags(conn, refs) {
            Ok(ids) => Some(ids),
            Err(StoreError::Api(e)) => {
                if let ApiError::Validation { errors: e, .. } = *e {
                    errors.0.extend(e);
                }
                None
            }
            Err(other) => return Err(other),
        },
        None => None,
    };
    if let Some(authors) = input.authors.as_ref().filter(|a| a.len() > model::AUTHORS_MAX) {
        errors.push(
            "authors",
            format!(
                "must list at most {} authors, not {}",
                model::AUTHORS_MAX,
                authors.len()
            ),
        );
    } else if let Some(authors) = &input.authors {
        let mut ids: Vec<String> = Vec::new();
        for a in authors {
            if !ids.contains(a) {
                ids.push(a.clone());
            }
        }
        match store::check_authors(conn, &ids) {
            Ok(()) => {
                // Below editor, you cannot write yourself off your own article.
                if !principal.has(Role::Editor)
                    && let Some(me) = &principal.user_id
                    && !ids.contains(me)
                {
                    ids.insert(0, me.clone());
                }
                s.authors = ids;
            }
            Err(StoreError::Api(e)) => {
                if let ApiError::Validation { errors: e, .. } = *e {
                    errors.0.extend(e);
                }
            }
            Err(other) => return Err(other),
        }
    }
    if !errors.0.is_empty() {
        return Err(ApiError::validation(errors.0).into());
    }
    if let Some(tags) = tags {
        s.tags = tags;
    }
    match slug {
        Some(slug) => {
            if store::slug_in_use(conn, &slug, article_id)? {
                return Err(StoreError::Conflict("another article has this slug".into()));
            }
            s.slug = slug;
        }
        None if creating => s.slug = store::unique_slug(conn, &model::slugify(&s.headline), None)?,
        None => {}
    }
    Ok(())
}

fn if_match(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get(header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn forbidden(msg: &str) -> ApiError {
    ApiError::Forbidden(msg.to_owned())
}

/// Who may edit: editors any article; others their own; contributors only while it is a draft.
fn may_edit(principal: &Principal, current: &Current) -> Result<(), ApiError> {
    if principal.has(Role::Editor) {
        return Ok(());
    }
    if !current.is_owned_by(principal.user_id.as_deref()) {
        return Err(forbidden("You may only change your own articles"));
    }
    if principal.role == Role::Contributor && current.row.effective_status(now()) != Status::Draft {
        return Err(forbidden("Contributors may only change their own drafts"));
    }
    Ok(())
}

/// Who may publish, schedule, unpublish, archive: authors their own, editors any.
fn may_publish(principal: &Principal, current: &Current) -> Result<(), ApiError> {
    principal.require(Role::Author)?;
    if principal.has(Role::Editor) || current.is_owned_by(principal.user_id.as_deref()) {
        Ok(())
    } else {
        Err(forbidden("Authors may only publish their own articles"))
    }
}

/// An article's authors, in byline order, taken out of a page's batch-loaded map.
fn byline(authors: &mut HashMap<String, Vec<(String, String)>>, article: &str) -> Vec<ArticleAuthor> {
    authors
        .remove(article)
        .unwrap_or_default()
        .into_iter()
        .map(|(id, display_name)| ArticleAuthor { id, display_name })
        .collect()
}

/// An article's tags, in their order, taken out of a page's batch-loaded map.
fn tag_list(tags: &mut HashMap<String, Vec<store::TagRef>>, article: &str) -> Vec<ArticleTag> {
    tags.remove(article)
        .unwrap_or_default()
        .into_iter()
        .map(|t| ArticleTag {
            id: t.id,
            slug: t.slug,
            name: t.name,
        })
        .collect()
}

fn admin_response(status: actix_web::http::StatusCode, etag: String, dto: &ArticleDto) -> HttpResponse {
    let mut res = HttpResponse::build(status);
    res.insert_header((header::ETAG, etag));
    if status == actix_web::http::StatusCode::CREATED {
        res.insert_header((header::LOCATION, format!("/api/v1/admin/articles/{}", dto.id)));
    }
    res.json(dto)
}

async fn run_mutation(
    state: &AppState,
    req: &HttpRequest,
    id: String,
    principal: Principal,
    authorize: fn(&Principal, &Current) -> Result<(), ApiError>,
    change: impl Fn(&mut DbConn, &Current, &mut Snapshot, &Principal) -> Result<(), StoreError> + Send + 'static,
) -> Result<HttpResponse, ApiError> {
    let settings = state.settings.clone();
    let if_match = if_match(req);
    let (etag, dto) = state
        .db
        .write(move |conn| {
            // A scheduled article whose time has come says so before this save's own events.
            crate::scheduler::fire_due_in(conn, &settings, Some(&id))?;
            let by = principal.user_id.clone();
            let (before, row) = store::mutate(
                conn,
                &id,
                if_match.as_deref(),
                by.as_deref(),
                |cur| authorize(&principal, cur),
                |conn, cur, s| change(conn, cur, s, &principal),
            )?;
            let at = now();
            let caused = model::save_events(before.visibility(at), row.visibility(at));
            let etag = row.etag();
            let dto = build_one(conn, &settings, row)?;
            events::record(conn, article_events(&caused, &dto)?)?;
            Ok((etag, dto))
        })
        .await
        .map_err(ApiError::naming("article"))?;
    Ok(admin_response(actix_web::http::StatusCode::OK, etag, &dto))
}

/// The outbox entries for events an article's save caused, carrying the article as the admin
/// API shows it and the cache keys its change makes stale.
fn article_events(caused: &[EventType], dto: &ArticleDto) -> Result<Vec<NewEvent>, StoreError> {
    let keys = event_keys(caused, dto);
    caused
        .iter()
        .map(|t| NewEvent::new(*t, format!("article:{}", dto.id), dto, keys.clone()))
        .collect()
}

/// The `article.published` event of a scheduled article whose time has come, carrying the
/// article as the admin API shows it (the scheduler records it).
pub(crate) fn scheduled_publish_events(
    conn: &mut DbConn,
    settings: &Settings,
    row: ArticleRow,
) -> Result<Vec<NewEvent>, StoreError> {
    let dto = build_one(conn, settings, row)?;
    article_events(&[EventType::ArticlePublished], &dto)
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
    body: web::Json<ArticleInput>,
) -> Result<HttpResponse, ApiError> {
    let principal = auth.principal.clone();
    let settings = state.settings.clone();
    let input = body.into_inner();
    let (etag, dto) = state
        .db
        .write(move |conn| {
            conn.transaction(|conn| {
                let mut s = Snapshot {
                    slug: String::new(),
                    headline: String::new(),
                    standfirst: String::new(),
                    dateline: None,
                    kicker: None,
                    body: Vec::new(),
                    hero: None,
                    status: Status::Draft,
                    publish_at: None,
                    published_at: None,
                    comments_enabled: true,
                    seo: Seo::default(),
                    authors: principal.user_id.iter().cloned().collect(),
                    tags: Vec::new(),
                };
                let slug_derived = input.slug.is_none();
                apply_input(conn, input.clone(), &mut s, &principal, true, None)?;
                let row = store::create(conn, s, principal.user_id.as_deref(), slug_derived)?;
                let etag = row.etag();
                Ok((etag, build_one(conn, &settings, row)?))
            })
        })
        .await?;
    Ok(admin_response(actix_web::http::StatusCode::CREATED, etag, &dto))
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
        .run(move |conn| {
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
        .run(move |conn| {
            let row = store::find(conn, &id)?;
            let etag = row.etag();
            Ok((etag, build_one(conn, &settings, row)?))
        })
        .await
        .map_err(ApiError::naming("article"))?;
    Ok(admin_response(actix_web::http::StatusCode::OK, etag, &dto))
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
    body: web::Json<ArticleInput>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let input = body.into_inner();
    let article_id = id.clone();
    run_mutation(
        &state,
        &req,
        id,
        auth.principal.clone(),
        may_edit,
        move |conn, _, s, p| apply_input(conn, input.clone(), s, p, false, Some(&article_id)),
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
    let if_match = if_match(&req);
    let settings = state.settings.clone();
    state
        .db
        .write(move |conn| {
            crate::scheduler::fire_due_in(conn, &settings, Some(&id))?;
            let gone = store::delete(conn, &id, if_match.as_deref(), |cur| may_edit(&principal, cur))?;
            let data = serde_json::json!({"id": gone.id, "slug": gone.slug, "status": gone.status});
            // Every list, search and tag count may have shown it.
            let keys = ["articles", "search", "tags"]
                .into_iter()
                .map(str::to_owned)
                .chain([format!("article:{}", gone.id)])
                .collect();
            events::record(
                conn,
                [NewEvent::new(
                    EventType::ArticleDeleted,
                    format!("article:{}", gone.id),
                    &data,
                    keys,
                )?],
            )
        })
        .await
        .map_err(ApiError::naming("article"))?;
    Ok(HttpResponse::NoContent().finish())
}

fn require_body(s: &Snapshot) -> Result<(), StoreError> {
    if s.body.is_empty() {
        Err(ApiError::invalid("body", "an article needs a body before it can be published").into())
    } else {
        Ok(())
    }
}

/// Publish now (authors their own, editors any). An empty body is 422.
#[utoipa::path(
    tag = "editorial",
    security(("bearerAuth" = ["author"])),
    params(
        ("id" = String, Path, description = "Article id"),
        ("If-Match" = Option<String>, Header, description = "The article's ETag; stale → 412")
    ),
    responses(
        (status = 200, body = ArticleDto, headers(("ETag" = String, description = "The new version's tag"))),
        (status = 412, description = "If-Match is not the article's current ETag (it changed since you loaded it); nothing was changed", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The body is empty", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/admin/articles/{id}/publish")]
pub async fn publish_article(
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
        may_publish,
        |_, cur, s, _| {
            require_body(s)?;
            let at = now();
            if cur.row.effective_status(at) != Status::Published || s.published_at.is_none() {
                s.published_at = Some(at);
            }
            s.status = Status::Published;
            s.publish_at = None;
            Ok(())
        },
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
        may_publish,
        |_, _, s, _| {
            s.status = Status::Draft;
            s.publish_at = None;
            s.published_at = None;
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
        may_publish,
        |_, _, s, _| {
            s.status = Status::Archived;
            s.publish_at = None;
            Ok(())
        },
    )
    .await
}

/// When to publish.
#[derive(Deserialize, ToSchema)]
pub struct ScheduleInput {
    /// RFC 3339 time; the article is public from this instant (a past time publishes at once).
    #[schema(value_type = String, format = DateTime, required = true, example = "2026-12-01T06:00:00Z")]
    pub publish_at: Option<String>,
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
    body: web::Json<ScheduleInput>,
) -> Result<HttpResponse, ApiError> {
    let at = match body.publish_at.as_deref() {
        None => return Err(ApiError::invalid("publish_at", "is required (RFC 3339)")),
        Some(raw) => DateTime::parse_from_rfc3339(raw.trim())
            .map(|t| naive(t.with_timezone(&Utc)))
            .map_err(|_| {
                ApiError::invalid(
                    "publish_at",
                    "must be an RFC 3339 time such as 2026-12-01T06:00:00Z",
                )
            })?,
    };
    run_mutation(
        &state,
        &req,
        id.into_inner(),
        auth.principal.clone(),
        may_publish,
        move |_, _, s, _| {
            require_body(s)?;
            s.status = Status::Scheduled;
            s.publish_at = Some(at);
            s.published_at = Some(at);
            Ok(())
        },
    )
    .await
}

/// A saved version of an article.
#[derive(Debug, Serialize, ToSchema)]
pub struct Revision {
    pub id: String,
    /// 1 for the first save, then 2, 3…
    pub number: i32,
    /// Who saved it (user id), if known.
    pub created_by: Option<String>,
    pub created_at: DateTime<Utc>,
    /// The editable fields as saved (headline, slug, body, tags, authors, status…).
    #[schema(value_type = Object)]
    pub content: Value,
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
        .map_err(ApiError::naming("article"))?;
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
        may_edit,
        move |conn, _, s, _| {
            let row = store::revision(conn, &article_id, &rev).map_err(|e| match e {
                StoreError::NotFound => StoreError::Api(Box::new(ApiError::not_found("revision"))),
                other => other,
            })?;
            let old: Snapshot = serde_json::from_str(&row.snapshot).map_err(ApiError::internal)?;
            s.headline = old.headline;
            s.standfirst = old.standfirst;
            s.dateline = old.dateline;
            s.kicker = old.kicker;
            s.body = old.body;
            s.hero = old.hero;
            s.seo = old.seo;
            s.comments_enabled = old.comments_enabled;
            // Tags or authors deleted since are dropped rather than failing the restore.
            let tags = store::resolve_tags(conn, &old.tags).unwrap_or_default();
            s.tags = if tags.len() == old.tags.len() {
                tags
            } else {
                s.tags.clone()
            };
            if store::check_authors(conn, &old.authors).is_ok() {
                s.authors = old.authors;
            }
            Ok(())
        },
    )
    .await
}

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

/// The keys a save of an article makes stale, as precisely as the save allows: responses
/// showing the article (`article:<id>`), the tag and author lists it may enter
/// (`articles:tag:<slug>`, `articles:author:<id>` of its tags and authors now; lists it leaves
/// carry its `article:<id>`), and, if it is or was public, searches (its words may have
/// changed) and tag pages (their counts). Only a change of what is public at all (published,
/// unpublished) touches every list (`articles`). Drafts and scheduled articles change nothing
/// readers see, but their key moves the cache's next due time.
fn event_keys(caused: &[EventType], dto: &ArticleDto) -> Vec<String> {
    let mut keys = vec![format!("article:{}", dto.id)];
    keys.extend(dto.tags.iter().map(|t| format!("articles:tag:{}", t.slug)));
    keys.extend(dto.authors.iter().map(|u| format!("articles:author:{}", u.id)));
    let public_set_changed = caused
        .iter()
        .any(|t| matches!(t, EventType::ArticlePublished | EventType::ArticleUnpublished));
    if public_set_changed {
        keys.push("articles".to_owned());
    }
    if public_set_changed || caused.contains(&EventType::ArticleUpdated) {
        keys.push("search".to_owned());
        keys.push("tags".to_owned());
    }
    keys
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
                .run(move |conn| {
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
            .map_err(ApiError::naming("article"))?;
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
