//! Article domain types: statuses, the stored body blocks, inline-text sanitising, server-side
//! HTML, word counts and slugs. (What editors send is parsed in `articles::body` and
//! `articles::input`.)

use std::collections::HashSet;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// Longest headline, in characters.
pub const HEADLINE_MAX: usize = 300;
/// Longest standfirst, in characters.
pub const STANDFIRST_MAX: usize = 1000;
/// Longest slug, in characters.
pub const SLUG_MAX: usize = 200;
/// Most blocks in an article body. Every array a write accepts has a bound, stated in the spec
/// as `maxItems` and enforced here (422 beyond), so no request can turn into an unbounded query
/// (SQLite refuses statements with more than 32 766 variables) or unbounded work.
pub const BODY_BLOCKS_MAX: usize = 1000;
/// Most items in one list block.
pub const LIST_ITEMS_MAX: usize = 500;
/// Most tags on an article.
pub const TAGS_MAX: usize = 50;
/// Most authors in a byline.
pub const AUTHORS_MAX: usize = 20;
/// Words per minute used for `reading_minutes`.
pub const WORDS_PER_MINUTE: i32 = 230;

/// Where an article is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Draft,
    Scheduled,
    Published,
    Archived,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::Scheduled => "scheduled",
            Status::Published => "published",
            Status::Archived => "archived",
        }
    }

    pub fn parse(value: &str) -> Option<Status> {
        match value {
            "draft" => Some(Status::Draft),
            "scheduled" => Some(Status::Scheduled),
            "published" => Some(Status::Published),
            "archived" => Some(Status::Archived),
            _ => None,
        }
    }
}

/// One block of an article body. In responses, `image` blocks carry an `image` field with the
/// expanded image (null until the image exists).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Block {
    /// A paragraph of inline text (bold, italic and links only).
    #[schema(title = "ParagraphBlock")]
    Paragraph {
        /// Inline HTML: only `<b>`, `<strong>`, `<i>`, `<em>` and `<a href>` are kept. It comes
        /// back sanitised and HTML-escaped (`&` as `&amp;`, `<` as `&lt;`): insert it as HTML,
        /// do not escape it again.
        #[schema(
            pattern = r"^[\s\S]*[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][\s\S]*$"
        )]
        text: String,
    },
    /// A subheading, level 2–4.
    #[schema(title = "HeadingBlock")]
    Heading {
        #[schema(minimum = 2, maximum = 4)]
        level: u8,
        /// Inline HTML: only `<b>`, `<strong>`, `<i>`, `<em>` and `<a href>` are kept. It comes
        /// back sanitised and HTML-escaped (`&` as `&amp;`, `<` as `&lt;`): insert it as HTML,
        /// do not escape it again.
        #[schema(
            pattern = r"^[\s\S]*[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][\s\S]*$"
        )]
        text: String,
    },
    /// An image; `caption` overrides the image's default caption.
    #[schema(title = "ImageBlock")]
    Image {
        #[schema(
            max_length = 100,
            pattern = r"^[\s\S]*[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][\s\S]*$"
        )]
        image_id: String,
        /// Inline HTML like a paragraph's `text`, returned sanitised and HTML-escaped.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        caption: Option<String>,
        /// The expanded image (read-only; filled in responses). Its `caption` is the caption to
        /// print: this block's override first, else the image's own.
        #[serde(default)]
        #[schema(value_type = Option<crate::images::ImageDto>)]
        image: Option<Value>,
        /// True when the image is withdrawn (its rights expired, PRODUCT.md §3a): `image` is
        /// then null and `body_html` leaves the figure out; the article stays readable.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        withdrawn: bool,
    },
    /// A pull quote.
    #[schema(title = "QuoteBlock")]
    Quote {
        /// Inline HTML: only `<b>`, `<strong>`, `<i>`, `<em>` and `<a href>` are kept. It comes
        /// back sanitised and HTML-escaped (`&` as `&amp;`, `<` as `&lt;`): insert it as HTML,
        /// do not escape it again.
        #[schema(
            pattern = r"^[\s\S]*[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][\s\S]*$"
        )]
        text: String,
        /// Plain text (markup is removed and entities decoded): escape it when rendering.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        attribution: Option<String>,
    },
    /// An embedded resource (video, post…), by URL.
    #[schema(title = "EmbedBlock")]
    Embed {
        #[schema(
            pattern = r"^https?://[A-Za-z0-9.-]+(:0*([0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])?)?([/?#][!-~]*)?$"
        )]
        url: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        provider: Option<String>,
    },
    /// A bulleted or numbered list of inline-text items.
    #[schema(title = "ListBlock")]
    List {
        /// Numbered (default false: bulleted).
        #[serde(default)]
        ordered: bool,
        /// Each item is inline HTML like a paragraph's `text`, returned sanitised and HTML-escaped.
        #[schema(value_type = Vec<InlineText>, min_items = 1, max_items = 500)]
        items: Vec<String>,
    },
    /// A horizontal rule.
    #[schema(title = "DividerBlock")]
    Divider {},
}

/// Inline text that must not be blank (a list item).
#[derive(ToSchema)]
#[schema(
    pattern = r"^[\s\S]*[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][\s\S]*$"
)]
pub struct InlineText(#[allow(dead_code)] String);

static INLINE: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut b = ammonia::Builder::empty();
    b.add_tags(["b", "strong", "i", "em", "a"])
        .add_tag_attributes("a", ["href"])
        .url_schemes(HashSet::from(["http", "https", "mailto"]))
        .link_rel(Some("noopener noreferrer"));
    b
});

static PLAIN: LazyLock<ammonia::Builder<'static>> = LazyLock::new(ammonia::Builder::empty);

/// Inline rich text reduced to bold, italic and links (scripts and event attributes never survive).
pub fn sanitize_inline(text: &str) -> String {
    // Control characters (but line breaks and tabs) are dropped first: text made only of them is
    // blank, as the spec's "not blank" pattern says.
    let text: String = text
        .chars()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t'))
        .collect();
    INLINE.clean(&text).to_string().trim().to_owned()
}

/// The visible text of inline markup.
pub fn plain_text(text: &str) -> String {
    // Entities are decoded after cleaning, so `&#0;` must not bring NUL back (PostgreSQL text
    // cannot hold it); other control characters but line breaks and tabs go too.
    html_escape::decode_html_entities(&PLAIN.clean(text).to_string())
        .chars()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t'))
        .collect()
}

fn escape(text: &str) -> String {
    html_escape::encode_text(text).into_owned()
}

fn escape_attr(text: &str) -> String {
    html_escape::encode_double_quoted_attribute(text).into_owned()
}

/// A `<figure>` for an image block: the picture with `srcset` when the image is known, and a
/// `<figcaption>` holding the caption (the block's sanitised override, else the image's own,
/// escaped), the credit and the source.
fn render_figure(html: &mut String, image_id: &str, caption: Option<&str>, image: Option<&Value>) {
    html.push_str(&format!("<figure data-image-id=\"{}\">", escape_attr(image_id)));
    let text = |key: &str| image.and_then(|i| i[key].as_str()).filter(|s| !s.is_empty());
    if let Some(image) = image {
        let renditions = &image["renditions"];
        let src = renditions["widths"]
            .as_array()
            .and_then(|w| w.last())
            .and_then(|w| w["url"].as_str())
            .or(renditions["original"].as_str())
            .unwrap_or_default();
        html.push_str(&format!(
            "<img src=\"{}\" srcset=\"{}\" sizes=\"(max-width: 1280px) 100vw, 1280px\" width=\"{}\" height=\"{}\" alt=\"{}\" loading=\"lazy\">",
            escape_attr(src),
            escape_attr(renditions["srcset"].as_str().unwrap_or_default()),
            image["width"].as_u64().unwrap_or_default(),
            image["height"].as_u64().unwrap_or_default(),
            escape_attr(text("alt_text").unwrap_or_default()),
        ));
    }
    let caption_html = match caption.filter(|c| !c.trim().is_empty()) {
        Some(sanitised) => Some(sanitised.to_owned()),
        None => text("caption").map(escape),
    };
    let credit = text("credit");
    // The source unless the credit already says exactly that ("AFP" / "AFP").
    let source = text("source").filter(|s| credit.is_none_or(|c| !c.eq_ignore_ascii_case(s)));
    if caption_html.is_some() || credit.is_some() || source.is_some() {
        html.push_str("<figcaption>");
        if let Some(caption) = caption_html {
            html.push_str(&caption);
        }
        if let Some(credit) = credit {
            html.push_str(&format!(" <span class=\"credit\">{}</span>", escape(credit)));
        }
        if let Some(source) = source {
            html.push_str(&format!(" <span class=\"source\">{}</span>", escape(source)));
        }
        html.push_str("</figcaption>");
    }
    html.push_str("</figure>\n");
}

/// The body as HTML, for front ends that do not render blocks themselves.
pub fn render_html(blocks: &[Block]) -> String {
    let mut html = String::new();
    for block in blocks {
        match block {
            Block::Paragraph { text } => html.push_str(&format!("<p>{text}</p>\n")),
            Block::Heading { level, text } => html.push_str(&format!("<h{level}>{text}</h{level}>\n")),
            Block::Image { withdrawn: true, .. } => {}
            Block::Image {
                image_id,
                caption,
                image,
                ..
            } => render_figure(&mut html, image_id, caption.as_deref(), image.as_ref()),
            Block::Quote { text, attribution } => {
                html.push_str(&format!("<blockquote><p>{text}</p>"));
                if let Some(who) = attribution {
                    html.push_str(&format!("<cite>{}</cite>", escape(who)));
                }
                html.push_str("</blockquote>\n");
            }
            Block::Embed { url, provider } => {
                let label = provider.as_deref().unwrap_or(url);
                html.push_str(&format!(
                    "<figure class=\"embed\"><a href=\"{}\">{}</a></figure>\n",
                    escape_attr(url),
                    escape(label)
                ));
            }
            Block::List { ordered, items } => {
                let tag = if *ordered { "ol" } else { "ul" };
                html.push_str(&format!("<{tag}>"));
                for item in items {
                    html.push_str(&format!("<li>{item}</li>"));
                }
                html.push_str(&format!("</{tag}>\n"));
            }
            Block::Divider {} => html.push_str("<hr>\n"),
        }
    }
    html
}

/// The body's visible text (for search and word counts).
pub fn body_text(blocks: &[Block]) -> String {
    let mut parts = Vec::new();
    for block in blocks {
        match block {
            Block::Paragraph { text } | Block::Heading { text, .. } => parts.push(plain_text(text)),
            Block::Quote { text, attribution } => {
                parts.push(plain_text(text));
                if let Some(a) = attribution {
                    parts.push(a.clone());
                }
            }
            Block::Image { caption: Some(c), .. } => parts.push(plain_text(c)),
            Block::List { items, .. } => parts.extend(items.iter().map(|i| plain_text(i))),
            _ => {}
        }
    }
    parts.join("\n")
}

pub fn word_count(text: &str) -> i32 {
    text.split_whitespace()
        .filter(|w| w.chars().any(char::is_alphanumeric))
        .count() as i32
}

/// Minutes to read, at least 1 for any text.
pub fn reading_minutes(words: i32) -> i32 {
    if words <= 0 {
        0
    } else {
        (words + WORDS_PER_MINUTE - 1) / WORDS_PER_MINUTE
    }
}

/// A slug derived from free text: transliterated, lowercase, hyphenated, bounded.
pub fn slugify(text: &str) -> String {
    let s = slug::slugify(text);
    let mut s: String = s.chars().take(SLUG_MAX - 8).collect();
    while s.ends_with('-') {
        s.pop();
    }
    if s.is_empty() { "untitled".to_owned() } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_text_keeps_only_bold_italic_and_links() {
        let clean = sanitize_inline(
            r#"<b>Bold</b> <script>alert(1)</script><a href="https://x.example" onclick="evil()">link</a> <img src=x onerror=alert(1)><span>s</span>"#,
        );
        assert!(clean.contains("<b>Bold</b>"));
        assert!(!clean.contains("script"));
        assert!(!clean.contains("onclick"));
        assert!(!clean.contains("img"));
        assert!(clean.contains("href=\"https://x.example\""));
    }

    #[test]
    fn slugs_are_transliterated() {
        assert_eq!(slugify("Zürich façade: Ça va?"), "zurich-facade-ca-va");
        assert_eq!(slugify("!!!"), "untitled");
    }
}
