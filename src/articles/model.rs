//! Article domain types: body blocks validated from raw JSON (with field paths such as
//! `body[3].level`), inline-text sanitising, server-side HTML, word counts, slugs and statuses.
//! Over 600 lines with its unit tests: most of it is the hand-written block parsing, which
//! typed inputs (serde-derived blocks with field paths) would replace; it is kept whole until
//! then rather than split along a seam that is about to move.

use std::collections::HashSet;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::error::FieldError;

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

/// Collects field errors while parsing.
#[derive(Default)]
pub struct Errors(pub Vec<FieldError>);

impl Errors {
    pub fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }
}

fn text_field(
    obj: &serde_json::Map<String, Value>,
    path: &str,
    name: &str,
    errors: &mut Errors,
) -> Option<String> {
    match obj.get(name) {
        Some(Value::String(s)) => Some(s.clone()),
        None | Some(Value::Null) => {
            errors.push(format!("{path}.{name}"), "is required");
            None
        }
        Some(_) => {
            errors.push(format!("{path}.{name}"), "must be a string");
            None
        }
    }
}

fn optional_text(
    obj: &serde_json::Map<String, Value>,
    path: &str,
    name: &str,
    errors: &mut Errors,
) -> Option<String> {
    match obj.get(name) {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        None | Some(Value::Null) | Some(Value::String(_)) => None,
        Some(_) => {
            errors.push(format!("{path}.{name}"), "must be a string");
            None
        }
    }
}

fn inline_required(raw: Option<String>, path: &str, errors: &mut Errors) -> Option<String> {
    let raw = raw?;
    let clean = sanitize_inline(&raw);
    if plain_text(&clean).trim().is_empty() {
        errors.push(path, "must not be empty");
        return None;
    }
    Some(clean)
}

const BLOCK_TYPES: &str = "paragraph, heading, image, quote, embed, list or divider";

/// Parses and validates a body (a JSON array of blocks); errors name paths like `body[3].level`.
pub fn parse_body(raw: &Value, errors: &mut Errors) -> Vec<Block> {
    let Some(items) = raw.as_array() else {
        errors.push("body", "must be an array of blocks");
        return Vec::new();
    };
    if items.len() > BODY_BLOCKS_MAX {
        errors.push(
            "body",
            format!("must have at most {BODY_BLOCKS_MAX} blocks, not {}", items.len()),
        );
        return Vec::new();
    }
    let mut blocks = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let path = format!("body[{i}]");
        let Some(obj) = item.as_object() else {
            errors.push(path, "must be an object with a `type`");
            continue;
        };
        let before = errors.0.len();
        let block = match obj.get("type").and_then(Value::as_str) {
            None => {
                errors.push(
                    format!("{path}.type"),
                    format!("is required: one of {BLOCK_TYPES}"),
                );
                None
            }
            Some("paragraph") => {
                let text = text_field(obj, &path, "text", errors);
                inline_required(text, &format!("{path}.text"), errors).map(|text| Block::Paragraph { text })
            }
            Some("heading") => {
                let level = match obj.get("level") {
                    // JSON Schema counts 3.0 as the integer 3, so the server does too.
                    Some(Value::Number(n)) => match n.as_f64() {
                        Some(l) if l.fract() == 0.0 && (2.0..=4.0).contains(&l) => Some(l as u8),
                        _ => {
                            errors.push(format!("{path}.level"), "must be 2, 3 or 4");
                            None
                        }
                    },
                    None | Some(Value::Null) => {
                        errors.push(format!("{path}.level"), "is required (2, 3 or 4)");
                        None
                    }
                    Some(_) => {
                        errors.push(format!("{path}.level"), "must be 2, 3 or 4");
                        None
                    }
                };
                let text = text_field(obj, &path, "text", errors);
                let text = inline_required(text, &format!("{path}.text"), errors);
                match (level, text) {
                    (Some(level), Some(text)) => Some(Block::Heading { level, text }),
                    _ => None,
                }
            }
            Some("image") => {
                let image_id = text_field(obj, &path, "image_id", errors).filter(|id| {
                    let ok = !id.trim().is_empty() && id.chars().count() <= 100;
                    if !ok {
                        errors.push(format!("{path}.image_id"), "must be an image id");
                    }
                    ok
                });
                let caption = optional_text(obj, &path, "caption", errors).map(|c| sanitize_inline(&c));
                image_id.map(|image_id| Block::Image {
                    image_id: image_id.trim().to_owned(),
                    caption,
                    image: None,
                    withdrawn: false,
                })
            }
            Some("quote") => {
                let text = text_field(obj, &path, "text", errors);
                let text = inline_required(text, &format!("{path}.text"), errors);
                let attribution = optional_text(obj, &path, "attribution", errors).map(|a| plain_text(&a));
                text.map(|text| Block::Quote { text, attribution })
            }
            Some("embed") => {
                let url = text_field(obj, &path, "url", errors).filter(|u| match check_http_url(u) {
                    Ok(()) => true,
                    Err(why) => {
                        errors.push(format!("{path}.url"), why);
                        false
                    }
                });
                let provider = optional_text(obj, &path, "provider", errors).map(|p| plain_text(&p));
                url.map(|url| Block::Embed {
                    url: url.trim().to_owned(),
                    provider,
                })
            }
            Some("list") => {
                let ordered = match obj.get("ordered") {
                    None | Some(Value::Null) => Some(false),
                    Some(Value::Bool(b)) => Some(*b),
                    Some(_) => {
                        errors.push(format!("{path}.ordered"), "must be true or false");
                        None
                    }
                };
                let items = match obj.get("items") {
                    Some(Value::Array(items)) if items.len() > LIST_ITEMS_MAX => {
                        errors.push(
                            format!("{path}.items"),
                            format!("must have at most {LIST_ITEMS_MAX} items, not {}", items.len()),
                        );
                        None
                    }
                    Some(Value::Array(items)) if !items.is_empty() => {
                        let mut out = Vec::new();
                        for (j, item) in items.iter().enumerate() {
                            let item_path = format!("{path}.items[{j}]");
                            match item.as_str() {
                                Some(s) => {
                                    if let Some(clean) =
                                        inline_required(Some(s.to_owned()), &item_path, errors)
                                    {
                                        out.push(clean);
                                    }
                                }
                                None => errors.push(item_path, "must be a string"),
                            }
                        }
                        Some(out)
                    }
                    Some(Value::Array(_)) => {
                        errors.push(format!("{path}.items"), "must have at least one item");
                        None
                    }
                    None | Some(Value::Null) => {
                        errors.push(format!("{path}.items"), "is required");
                        None
                    }
                    Some(_) => {
                        errors.push(format!("{path}.items"), "must be an array of strings");
                        None
                    }
                };
                match (ordered, items) {
                    (Some(ordered), Some(items)) => Some(Block::List { ordered, items }),
                    _ => None,
                }
            }
            Some("divider") => Some(Block::Divider {}),
            Some(other) => {
                errors.push(
                    format!("{path}.type"),
                    format!(
                        "unknown block type `{}`: use {BLOCK_TYPES}",
                        other.chars().take(40).collect::<String>()
                    ),
                );
                None
            }
        };
        if errors.0.len() == before
            && let Some(block) = block
        {
            blocks.push(block);
        }
    }
    blocks
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

/// Checks a URL sent for a link, an embed or a canonical address; `Err` says what is wrong.
///
/// The rule is the WHATWG URL Standard as implemented by the `url` crate, not a regex: any valid
/// host (name, IPv4, `[IPv6]`) and port (0–65535), scheme `http` or `https`, and no
/// `user:password@` (a credential in a published page leaks it). Two restrictions on top keep
/// what is stored equal to what is served and to the spec's pattern: printable ASCII only
/// (non-ASCII is sent percent-encoded, as a browser copies it) and the scheme written in
/// lowercase with its `//`; input the WHATWG parser would silently repair (backslashes for
/// slashes) is refused rather than stored different from what it means.
pub fn check_http_url(u: &str) -> Result<(), String> {
    use url::SyntaxViolation as V;
    if u.is_empty() || !u.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("must be printable ASCII without spaces (percent-encode anything else)".into());
    }
    if !(u.starts_with("http://") || u.starts_with("https://")) {
        return Err("must start with http:// or https://".into());
    }
    let repaired = std::cell::Cell::new(None);
    let parsed = url::Url::options()
        .syntax_violation_callback(Some(&|v| {
            if matches!(
                v,
                V::Backslash | V::ExpectedDoubleSlash | V::EmbeddedCredentials | V::UnencodedAtSign
            ) {
                repaired.set(Some(v));
            }
        }))
        .parse(u)
        .map_err(|e| format!("is not a valid URL: {e}"))?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("must not contain a user name or password".into());
    }
    if let Some(violation) = repaired.get() {
        return Err(format!("is not a valid URL: {}", violation.description()));
    }
    if parsed.host().is_none() {
        return Err("must name a host".into());
    }
    if !host_as_the_spec_states(u) {
        return Err(
            "must name its host with letters, digits, dots and hyphens (or an [IPv6] address)".into(),
        );
    }
    Ok(())
}

/// Whether the host as written is what the spec's pattern allows: letters, digits, dots and
/// hyphens, or an `[IPv6]` literal. The WHATWG parser also takes `*`, `_`, `%41`… in a host
/// name, which the pattern ([`HTTP_URL_PATTERN`]) refuses, so Schemathesis found
/// `http://host*` accepted although the schema forbids it.
fn host_as_the_spec_states(raw: &str) -> bool {
    let after_scheme = raw.split_once("://").map_or("", |(_, rest)| rest);
    if after_scheme.starts_with('[') {
        return true;
    }
    let host = after_scheme
        .split([':', '/', '?', '#'])
        .next()
        .unwrap_or_default();
    !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
}

/// The shape of an accepted http(s) URL as the spec states it (the server's rule is
/// [`check_http_url`]): a host name or IPv4 address, an optional port 0–65535, and printable
/// ASCII after it. `[IPv6]` hosts are accepted but left out of the pattern: a generator that
/// follows a loose IPv6 pattern mostly produces invalid addresses.
pub const HTTP_URL_PATTERN: &str = r"^https?://[A-Za-z0-9.-]+(:0*([0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])?)?([/?#][!-~]*)?$";

/// A trimmed headline without markup, sent as 1–300 characters (the limit counts the text as
/// sent, like the spec's `maxLength`).
pub fn headline(raw: &str, errors: &mut Errors) -> Option<String> {
    let text = plain_text(raw).trim().to_owned();
    let len = raw.chars().count();
    if text.is_empty() {
        errors.push("headline", "must not be empty");
        None
    } else if len > HEADLINE_MAX {
        errors.push(
            "headline",
            format!("must be at most {HEADLINE_MAX} characters, not {len}"),
        );
        None
    } else {
        Some(text)
    }
}

/// A plain standfirst, sent as at most 1 000 characters.
pub fn standfirst(raw: &str, errors: &mut Errors) -> Option<String> {
    let text = plain_text(raw).trim().to_owned();
    let len = raw.chars().count();
    if len > STANDFIRST_MAX {
        errors.push(
            "standfirst",
            format!("must be at most {STANDFIRST_MAX} characters"),
        );
        None
    } else {
        Some(text)
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

/// An explicit slug as given by an editor: lowercase letters, digits and single hyphens.
pub fn parse_slug(raw: &str, field: &str, errors: &mut Errors) -> Option<String> {
    let s = raw.trim();
    let ok = !s.is_empty()
        && s.len() <= SLUG_MAX
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
        && !s.contains("--");
    if ok {
        Some(s.to_owned())
    } else {
        errors.push(
            field,
            "must be lowercase letters, digits and single hyphens (at most 200 characters)",
        );
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_spec_pattern_and_the_url_parser_agree_on_typical_urls() {
        let pattern = regex::Regex::new(HTTP_URL_PATTERN).expect("pattern compiles");
        // Both accept.
        for u in [
            "http://example.com:18301/x",
            "https://example.com:65535/a?b=c#d",
            "http://example.com:00080/",
            "http://example.com:/",
            "http://127.0.0.1",
            "https://a-b.example/%7Euser/@x",
            "https://example.com/caf%C3%A9?q=%zz",
        ] {
            assert!(pattern.is_match(u), "pattern refuses {u}");
            assert_eq!(check_http_url(u), Ok(()), "{u}");
        }
        // Both refuse.
        for u in [
            "http://example.com:65536/",
            "http://example.com:99999/",
            "http://user:pw@example.com/",
            "http://user@example.com/",
            "http://host*/x",
            "http://a_b.example/",
            "HTTP://example.com/",
            "ftp://example.com/",
            "http:example.com",
            "http:\\\\example.com",
            "http://exa mple.com/",
            "http://example.com/\u{e9}",
            "http://",
        ] {
            assert!(!pattern.is_match(u), "pattern accepts {u}");
            assert!(check_http_url(u).is_err(), "parser accepts {u}");
        }
        // Known differences: valid IPv6 hosts (parser only), dotted numbers that are not IPv4
        // addresses (pattern only).
        assert_eq!(check_http_url("http://[::1]:8080/"), Ok(()));
        assert!(check_http_url("http://1.2.3.4.5/").is_err());
    }

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
    fn bad_blocks_are_reported_by_path() {
        let mut errors = Errors::default();
        parse_body(
            &json!([{"type": "paragraph", "text": "ok"}, {"type": "heading", "level": 5, "text": "x"}, {"type": "video"}]),
            &mut errors,
        );
        let fields: Vec<_> = errors.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["body[1].level", "body[2].type"]);
    }

    #[test]
    fn slugs_are_transliterated() {
        assert_eq!(slugify("Zürich façade: Ça va?"), "zurich-facade-ca-va");
        assert_eq!(slugify("!!!"), "untitled");
    }
}
