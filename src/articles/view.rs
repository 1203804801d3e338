//! What articles look like in responses: the article (`ArticleDto`) and list item
//! (`ArticleSummary`) shapes, and building them from stored rows in a few batched queries
//! (authors, tags, images: every image reference is expanded here, and only here), with the
//! canonical URL and rendered body.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::articles::domain::Hero;
use crate::articles::model::{self, Block, Status};
use crate::articles::store::{self, ArticleRow};
use crate::config::Settings;
use crate::corrections::model::Correction;
use crate::db::{DbConn, StoreError};
use crate::time::{now, utc};

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
    /// Not public in any form before this time (PRODUCT.md §10).
    pub embargo_until: Option<DateTime<Utc>>,
    /// Leaves every public surface at this time.
    pub unpublish_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub word_count: i32,
    pub reading_minutes: i32,
    pub comment_count: i32,
    pub comments_enabled: bool,
    /// Corrections and clarifications, oldest first; also at the end of `body_html`, in an
    /// `<aside class="corrections">`. They are never edited or removed.
    pub corrections: Vec<Correction>,
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
    if row.is_withdrawn(now()) {
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
        article
            .body_html
            .push_str(&crate::corrections::model::render_html(&article.corrections));
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
    let mut corrections = crate::corrections::store::of_articles(conn, &ids)?;
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
            embargo_until: row.embargo_until.map(utc),
            unpublish_at: row.unpublish_at.map(utc),
            corrections: corrections.remove(&row.id).unwrap_or_default(),
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

pub fn build_one(conn: &mut DbConn, settings: &Settings, row: ArticleRow) -> Result<ArticleDto, StoreError> {
    build(conn, settings, vec![row])?
        .pop()
        .ok_or_else(|| StoreError::Internal("article vanished".into()))
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

/// An article's authors, in byline order, taken out of a page's batch-loaded map.
pub(crate) fn byline(
    authors: &mut HashMap<String, Vec<(String, String)>>,
    article: &str,
) -> Vec<ArticleAuthor> {
    authors
        .remove(article)
        .unwrap_or_default()
        .into_iter()
        .map(|(id, display_name)| ArticleAuthor { id, display_name })
        .collect()
}

/// An article's tags, in their order, taken out of a page's batch-loaded map.
pub(crate) fn tag_list(tags: &mut HashMap<String, Vec<store::TagRef>>, article: &str) -> Vec<ArticleTag> {
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
