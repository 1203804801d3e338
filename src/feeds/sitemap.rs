//! Writes sitemaps (sitemaps.org 0.9): the index, a month's articles, and the Google News
//! sitemap. Pure functions over already-chosen entries, written with `quick-xml` (which escapes
//! text and attributes); text passes through [`xml_text`] first.

use std::io;

use chrono::{DateTime, SecondsFormat, Utc};
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText, Event};

use crate::error::ApiError;
use crate::feeds::render::xml_text;

const SITEMAP_NS: &str = "http://www.sitemaps.org/schemas/sitemap/0.9";
const NEWS_NS: &str = "http://www.google.com/schemas/sitemap-news/0.9";

/// One `<url>` of a month's sitemap.
#[derive(Debug, Clone)]
pub struct UrlEntry {
    pub loc: String,
    pub lastmod: DateTime<Utc>,
}

/// One `<sitemap>` of the index.
#[derive(Debug, Clone)]
pub struct SitemapEntry {
    pub loc: String,
    pub lastmod: Option<DateTime<Utc>>,
}

/// One `<url>` of the news sitemap.
#[derive(Debug, Clone)]
pub struct NewsEntry {
    pub loc: String,
    pub published: DateTime<Utc>,
    pub title: String,
}

/// The publication named in the news sitemap.
#[derive(Debug, Clone)]
pub struct Publication {
    pub name: String,
    /// ISO 639 code as Google News wants it (see [`news_language`]).
    pub language: String,
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn text(writer: &mut Writer<Vec<u8>>, name: &str, value: &str) -> io::Result<()> {
    writer
        .create_element(name)
        .write_text_content(BytesText::new(&xml_text(value)))?;
    Ok(())
}

fn document(
    root: &str,
    namespaces: &[(&str, &str)],
    body: impl FnOnce(&mut Writer<Vec<u8>>) -> io::Result<()>,
) -> Result<Vec<u8>, ApiError> {
    let mut writer = Writer::new(Vec::new());
    writer
        .write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))
        .map_err(ApiError::internal)?;
    writer
        .create_element(root)
        .with_attributes(namespaces.iter().copied())
        .write_inner_content(body)
        .map_err(ApiError::internal)?;
    Ok(writer.into_inner())
}

/// The sitemap index.
pub fn index(entries: &[SitemapEntry]) -> Result<Vec<u8>, ApiError> {
    document("sitemapindex", &[("xmlns", SITEMAP_NS)], |w| {
        for e in entries {
            w.create_element("sitemap").write_inner_content(|w| {
                text(w, "loc", &e.loc)?;
                if let Some(lastmod) = e.lastmod {
                    text(w, "lastmod", &time(lastmod))?;
                }
                Ok(())
            })?;
        }
        Ok(())
    })
}

/// A `urlset` of articles with their `lastmod`.
pub fn urls(entries: &[UrlEntry]) -> Result<Vec<u8>, ApiError> {
    document("urlset", &[("xmlns", SITEMAP_NS)], |w| {
        for e in entries {
            w.create_element("url").write_inner_content(|w| {
                text(w, "loc", &e.loc)?;
                text(w, "lastmod", &time(e.lastmod))
            })?;
        }
        Ok(())
    })
}

/// A Google News sitemap.
pub fn news(publication: &Publication, entries: &[NewsEntry]) -> Result<Vec<u8>, ApiError> {
    document("urlset", &[("xmlns", SITEMAP_NS), ("xmlns:news", NEWS_NS)], |w| {
        for e in entries {
            w.create_element("url").write_inner_content(|w| {
                text(w, "loc", &e.loc)?;
                w.create_element("news:news").write_inner_content(|w| {
                    w.create_element("news:publication").write_inner_content(|w| {
                        text(w, "news:name", &publication.name)?;
                        text(w, "news:language", &publication.language)
                    })?;
                    text(w, "news:publication_date", &time(e.published))?;
                    text(w, "news:title", &e.title)
                })?;
                Ok(())
            })?;
        }
        Ok(())
    })
}

/// The language code Google News accepts from a site locale: the ISO 639 language in lower
/// case (`en-GB` → `en`), except Chinese, which keeps its script (`zh-cn`, `zh-tw`).
pub fn news_language(locale: &str) -> String {
    let lower = locale.replace('_', "-").to_ascii_lowercase();
    let mut parts = lower.split('-');
    let language = parts.next().unwrap_or("en");
    if language == "zh" {
        let region = parts.next().unwrap_or("cn");
        return if matches!(region, "tw" | "hk" | "mo" | "hant") {
            "zh-tw".into()
        } else {
            "zh-cn".into()
        };
    }
    if language.is_empty() {
        "en".into()
    } else {
        language.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::news_language;

    #[test]
    fn news_languages_follow_google_news() {
        assert_eq!(news_language("en-GB"), "en");
        assert_eq!(news_language("pt_BR"), "pt");
        assert_eq!(news_language("zh-TW"), "zh-tw");
        assert_eq!(news_language("zh"), "zh-cn");
        assert_eq!(news_language(""), "en");
    }
}
