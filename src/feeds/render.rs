//! Writes feeds from built articles: RSS 2.0 (`rss` crate, with `content:encoded`,
//! `media:content` + `media:credit`, `dc:creator`), Atom 1.0 (`atom_syndication`) and JSON Feed
//! 1.1 (serde). Pure functions: no database, no HTTP.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::articles::ArticleDto;
use crate::error::ApiError;

/// What a feed says about itself.
#[derive(Debug, Clone)]
pub struct FeedMeta {
    pub title: String,
    pub description: String,
    /// The site's home page (`MASTHEAD_PUBLIC_URL`).
    pub home_url: String,
    /// This feed's own absolute URL.
    pub self_url: String,
    /// The site's language tag.
    pub language: String,
    /// When the newest thing in the feed changed.
    pub updated: DateTime<Utc>,
}

const MEDIA_NS: &str = "http://search.yahoo.com/mrss/";
const DCTERMS_NS: &str = "http://purl.org/dc/terms/";
const ATOM_NS: &str = "http://www.w3.org/2005/Atom";

/// Text made safe for XML 1.0: characters the XML grammar forbids (C0 controls other than tab,
/// line feed and carriage return, and U+FFFE/U+FFFF) are dropped; escaping of `<`, `&` and
/// quotes is the writers' job.
pub fn xml_text(s: &str) -> String {
    s.chars()
        .filter(|&c| matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{FFFE}' && c != '\u{FFFF}'))
        .collect()
}

/// A stable id for an article that survives slug and URL changes: `urn:uuid:<id>`.
pub fn item_id(article: &ArticleDto) -> String {
    match uuid::Uuid::parse_str(&article.id) {
        Ok(id) => format!("urn:uuid:{id}"),
        Err(_) => format!("tag:masthead,2026:article:{}", article.id),
    }
}

/// The hero as a feed shows it: the largest rendition's URL, its type and size, caption, credit.
#[derive(Debug, Clone)]
pub struct HeroImage {
    pub url: String,
    pub content_type: String,
    pub width: Option<u64>,
    pub height: Option<u64>,
    pub caption: Option<String>,
    pub credit: Option<String>,
}

/// An expanded image (an `ImageDto` as JSON) as a feed shows it.
pub fn image_of(image: &Value) -> Option<HeroImage> {
    let text = |k: &str| image.get(k).and_then(Value::as_str).map(str::to_owned);
    let renditions = image.get("renditions")?;
    // The widest listed rendition: a web-sized image for readers, not the camera original.
    let widest = renditions
        .get("widths")
        .and_then(Value::as_array)
        .and_then(|w| w.last());
    let (url, width) = match widest {
        Some(w) => (
            w.get("url").and_then(Value::as_str)?.to_owned(),
            w.get("width").and_then(Value::as_u64),
        ),
        None => (
            renditions.get("original").and_then(Value::as_str)?.to_owned(),
            image.get("width").and_then(Value::as_u64),
        ),
    };
    let full_width = image.get("width").and_then(Value::as_u64);
    let height = match (width, full_width, image.get("height").and_then(Value::as_u64)) {
        (Some(w), Some(fw), Some(h)) if fw > 0 => Some(h * w / fw),
        _ => None,
    };
    Some(HeroImage {
        url,
        content_type: text("content_type").unwrap_or_else(|| "image/jpeg".into()),
        width,
        height,
        caption: text("caption").filter(|c| !c.is_empty()),
        credit: text("credit").filter(|c| !c.is_empty()),
    })
}

fn hero_of(article: &ArticleDto) -> Option<HeroImage> {
    article.hero.as_ref()?.image.as_ref().and_then(image_of)
}

fn published(article: &ArticleDto) -> DateTime<Utc> {
    article.published_at.unwrap_or(article.updated_at)
}

/// When an item last changed as readers see it (a backdated or scheduled publish can be later
/// than the last save).
fn modified(article: &ArticleDto) -> DateTime<Utc> {
    published(article).max(article.updated_at)
}

fn extension(name: &str, value: Option<String>, attrs: &[(&str, String)]) -> rss::extension::Extension {
    rss::extension::Extension {
        name: name.to_owned(),
        value,
        attrs: attrs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect(),
        children: BTreeMap::new(),
    }
}

/// RSS 2.0.
pub fn rss(meta: &FeedMeta, articles: &[ArticleDto]) -> Result<Vec<u8>, ApiError> {
    let items = articles
        .iter()
        .map(|a| {
            let mut extensions: rss::extension::ExtensionMap = BTreeMap::new();
            if let Some(hero) = hero_of(a) {
                let mut attrs = vec![
                    ("url", xml_text(&hero.url)),
                    ("type", xml_text(&hero.content_type)),
                    ("medium", "image".to_owned()),
                ];
                attrs.extend(hero.width.map(|w| ("width", w.to_string())));
                attrs.extend(hero.height.map(|h| ("height", h.to_string())));
                let mut content = extension("media:content", None, &attrs);
                if let Some(credit) = &hero.credit {
                    content.children.insert(
                        "credit".into(),
                        vec![extension("media:credit", Some(xml_text(credit)), &[])],
                    );
                }
                if let Some(caption) = &hero.caption {
                    content.children.insert(
                        "description".into(),
                        vec![extension(
                            "media:description",
                            Some(xml_text(caption)),
                            &[("type", "plain".to_owned())],
                        )],
                    );
                }
                extensions.insert(
                    "media".into(),
                    BTreeMap::from([("content".into(), vec![content])]),
                );
            }
            extensions.insert(
                "dcterms".into(),
                BTreeMap::from([(
                    "modified".into(),
                    vec![extension("dcterms:modified", Some(modified(a).to_rfc3339()), &[])],
                )]),
            );
            rss::Item {
                title: Some(xml_text(&a.headline)),
                link: Some(xml_text(&a.seo.canonical_url)),
                description: Some(xml_text(&a.standfirst)),
                categories: a
                    .tags
                    .iter()
                    .map(|t| rss::Category {
                        name: xml_text(&t.name),
                        domain: None,
                    })
                    .collect(),
                guid: Some(rss::Guid {
                    value: item_id(a),
                    permalink: false,
                }),
                pub_date: Some(published(a).to_rfc2822()),
                content: Some(xml_text(&a.body_html)),
                dublin_core_ext: (!a.authors.is_empty()).then(|| {
                    rss::extension::dublincore::DublinCoreExtension {
                        creators: a.authors.iter().map(|u| xml_text(&u.display_name)).collect(),
                        ..Default::default()
                    }
                }),
                extensions,
                ..Default::default()
            }
        })
        .collect();
    let self_link = extension(
        "atom:link",
        None,
        &[
            ("href", xml_text(&meta.self_url)),
            ("rel", "self".to_owned()),
            ("type", "application/rss+xml".to_owned()),
        ],
    );
    let channel = rss::Channel {
        title: xml_text(&meta.title),
        link: xml_text(&meta.home_url),
        description: xml_text(&meta.description),
        language: Some(xml_text(&meta.language)),
        last_build_date: Some(meta.updated.to_rfc2822()),
        generator: Some("Masthead".into()),
        items,
        namespaces: BTreeMap::from([
            ("media".into(), MEDIA_NS.into()),
            ("dcterms".into(), DCTERMS_NS.into()),
            ("atom".into(), ATOM_NS.into()),
        ]),
        extensions: BTreeMap::from([("atom".into(), BTreeMap::from([("link".into(), vec![self_link])]))]),
        ..Default::default()
    };
    channel.write_to(Vec::new()).map_err(ApiError::internal)
}

fn atom_time(t: DateTime<Utc>) -> atom_syndication::FixedDateTime {
    t.fixed_offset()
}

fn atom_link(href: &str, rel: &str, mime_type: Option<&str>) -> atom_syndication::Link {
    atom_syndication::Link {
        href: xml_text(href),
        rel: rel.to_owned(),
        mime_type: mime_type.map(str::to_owned),
        ..Default::default()
    }
}

/// Atom 1.0.
pub fn atom(meta: &FeedMeta, articles: &[ArticleDto]) -> Result<Vec<u8>, ApiError> {
    use atom_syndication::{Category, Content, Entry, Feed, Person, Text};
    let entries = articles
        .iter()
        .map(|a| {
            let mut links = vec![atom_link(&a.seo.canonical_url, "alternate", Some("text/html"))];
            if let Some(hero) = hero_of(a) {
                links.push(atom_link(&hero.url, "enclosure", Some(&hero.content_type)));
            }
            Entry {
                title: Text::plain(xml_text(&a.headline)),
                id: item_id(a),
                updated: atom_time(modified(a)),
                published: Some(atom_time(published(a))),
                authors: a
                    .authors
                    .iter()
                    .map(|u| Person {
                        name: xml_text(&u.display_name),
                        ..Default::default()
                    })
                    .collect(),
                categories: a
                    .tags
                    .iter()
                    .map(|t| Category {
                        term: xml_text(&t.slug),
                        label: Some(xml_text(&t.name)),
                        scheme: None,
                    })
                    .collect(),
                links,
                summary: Some(Text::plain(xml_text(&a.standfirst))),
                content: Some(Content {
                    value: Some(xml_text(&a.body_html)),
                    content_type: Some("html".into()),
                    ..Default::default()
                }),
                ..Default::default()
            }
        })
        .collect();
    let feed = Feed {
        title: Text::plain(xml_text(&meta.title)),
        id: xml_text(&meta.self_url),
        updated: atom_time(meta.updated),
        // Atom wants an author for every entry; the site stands in for entries without one.
        authors: vec![Person {
            name: xml_text(&meta.title),
            uri: Some(xml_text(&meta.home_url)),
            ..Default::default()
        }],
        links: vec![
            atom_link(&meta.home_url, "alternate", Some("text/html")),
            atom_link(&meta.self_url, "self", Some("application/atom+xml")),
        ],
        subtitle: (!meta.description.is_empty()).then(|| Text::plain(xml_text(&meta.description))),
        generator: Some(atom_syndication::Generator {
            value: "Masthead".into(),
            ..Default::default()
        }),
        lang: Some(xml_text(&meta.language)),
        entries,
        ..Default::default()
    };
    feed.write_to(Vec::new()).map_err(ApiError::internal)
}

/// A JSON Feed 1.1 document.
#[derive(Debug, Serialize)]
struct JsonFeed<'a> {
    version: &'static str,
    title: &'a str,
    home_page_url: &'a str,
    feed_url: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    description: &'a str,
    language: &'a str,
    items: Vec<JsonFeedItem<'a>>,
}

#[derive(Debug, Serialize)]
struct JsonFeedItem<'a> {
    id: String,
    url: &'a str,
    title: &'a str,
    content_html: &'a str,
    summary: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    image: Option<String>,
    date_published: DateTime<Utc>,
    date_modified: DateTime<Utc>,
    authors: Vec<JsonFeedAuthor<'a>>,
    tags: Vec<&'a str>,
}

#[derive(Debug, Serialize)]
struct JsonFeedAuthor<'a> {
    name: &'a str,
}

/// JSON Feed 1.1.
pub fn json_feed(meta: &FeedMeta, articles: &[ArticleDto]) -> Result<Vec<u8>, ApiError> {
    let feed = JsonFeed {
        version: "https://jsonfeed.org/version/1.1",
        title: &meta.title,
        home_page_url: &meta.home_url,
        feed_url: &meta.self_url,
        description: &meta.description,
        language: &meta.language,
        items: articles
            .iter()
            .map(|a| JsonFeedItem {
                id: item_id(a),
                url: &a.seo.canonical_url,
                title: &a.headline,
                content_html: &a.body_html,
                summary: &a.standfirst,
                image: hero_of(a).map(|h| h.url),
                date_published: published(a),
                date_modified: modified(a),
                authors: a
                    .authors
                    .iter()
                    .map(|u| JsonFeedAuthor {
                        name: &u.display_name,
                    })
                    .collect(),
                tags: a.tags.iter().map(|t| t.name.as_str()).collect(),
            })
            .collect(),
    };
    serde_json::to_vec(&feed).map_err(ApiError::internal)
}

#[cfg(test)]
mod tests {
    use super::xml_text;

    #[test]
    fn xml_text_drops_only_what_xml_forbids() {
        assert_eq!(xml_text("a\u{0}b\u{1}c\u{8}\u{b}\u{c}\u{1f}d"), "abcd");
        assert_eq!(xml_text("tab\there\nline\rcr"), "tab\there\nline\rcr");
        assert_eq!(xml_text("<&\"'> 🎉 \u{7f}\u{85}"), "<&\"'> 🎉 \u{7f}\u{85}");
        assert_eq!(xml_text("\u{fffe}\u{ffff}ok"), "ok");
    }
}
