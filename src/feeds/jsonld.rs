//! The schema.org `NewsArticle` JSON-LD of a public article (`structured_data`, PRODUCT.md §11),
//! built from the article as the public API shows it and the site settings.

use serde_json::{Map, Value, json};

use crate::articles::ArticleDto;
use crate::articles::model::Block;
use crate::site::Site;

/// An expanded image (an `ImageDto` as JSON) as a schema.org `ImageObject`.
fn image_object(image: &Value) -> Option<Value> {
    let text = |k: &str| {
        image
            .get(k)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let url = image.get("renditions")?.get("original")?.as_str()?;
    let mut out = Map::new();
    out.insert("@type".into(), "ImageObject".into());
    out.insert("url".into(), url.into());
    out.insert("contentUrl".into(), url.into());
    for key in ["width", "height"] {
        if let Some(v) = image.get(key).and_then(Value::as_u64) {
            out.insert(key.into(), v.into());
        }
    }
    if let Some(t) = text("content_type") {
        out.insert("encodingFormat".into(), t.into());
    }
    if let Some(caption) = text("caption") {
        out.insert("caption".into(), caption.into());
    }
    if let Some(credit) = text("credit") {
        out.insert("creditText".into(), credit.clone().into());
        out.insert("creator".into(), json!({"@type": "Person", "name": credit}));
    }
    if let Some(copyright) = text("copyright") {
        out.insert("copyrightNotice".into(), copyright.into());
    }
    Some(Value::Object(out))
}

/// The article's `NewsArticle` object, ready for a `<script type="application/ld+json">`.
pub fn news_article(article: &ArticleDto, site: &Site) -> Value {
    let mut images: Vec<Value> = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    let hero = article
        .hero
        .iter()
        .filter_map(|h| Some((h.image_id.as_str(), h.image.as_ref()?)));
    let blocks = article.body.iter().filter_map(|b| match b {
        Block::Image {
            image_id,
            image: Some(image),
            ..
        } => Some((image_id.as_str(), image)),
        _ => None,
    });
    for (id, image) in hero.chain(blocks) {
        if !seen.contains(&id) {
            seen.push(id);
            images.extend(image_object(image));
        }
    }
    let mut publisher = json!({
        "@type": "Organization",
        "name": site.name,
        "url": site.public_url,
    });
    if let Some(logo) = site.logo.as_ref().and_then(image_object) {
        publisher["logo"] = logo;
    }
    let modified = article
        .published_at
        .map_or(article.updated_at, |p| p.max(article.updated_at));
    let mut out = json!({
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": article.headline,
        "description": article.standfirst,
        "url": article.seo.canonical_url,
        "mainEntityOfPage": {"@type": "WebPage", "@id": article.seo.canonical_url},
        "datePublished": article.published_at,
        "dateModified": modified,
        "inLanguage": site.locale,
        "author": article.authors.iter().map(|a| json!({"@type": "Person", "name": a.display_name})).collect::<Vec<_>>(),
        "publisher": publisher,
        "articleSection": article.tags.iter().map(|t| t.name.clone()).collect::<Vec<_>>(),
        "wordCount": article.word_count,
    });
    if !images.is_empty() {
        out["image"] = Value::Array(images);
    }
    if let Some(dateline) = &article.dateline {
        out["dateline"] = dateline.clone().into();
    }
    if !article.corrections.is_empty() {
        out["correction"] = article
            .corrections
            .iter()
            .map(|c| {
                json!({
                    "@type": "CorrectionComment",
                    "text": c.text,
                    "datePublished": c.published_at,
                })
            })
            .collect::<Vec<_>>()
            .into();
    }
    out
}
