//! What editors send as an article body: one typed input per block type, parsed block by block
//! so that every bad block is reported with its path (`body[3].level`), then turned into the
//! stored [`Block`]s.
//!
//! The block type is read first and the block's own struct second (rather than one
//! `#[serde(tag = "type")]` enum): serde buffers an internally tagged enum before choosing the
//! variant, and the paths of errors inside it are lost (`body[3]` instead of `body[3].level`).
//! Unknown members are ignored, so a body read from the API (with its expanded `image`) can be
//! sent back as it is.

use serde::Deserialize;
use serde_json::Value;

use crate::articles::model::{Block, LIST_ITEMS_MAX};
use crate::error::FieldError;
use crate::fields::{self, Bounded, HeadingLevel, HttpUrl, Id, InlineHtml, PlainText};

/// Text with no limit of its own (an attribution, a provider): the request size bounds it.
type Plain = PlainText<{ usize::MAX }>;

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum BlockType {
    Paragraph,
    Heading,
    Image,
    Quote,
    Embed,
    List,
    Divider,
}

#[derive(Deserialize)]
#[serde(expecting = "an object with a `type`")]
struct Typed {
    r#type: BlockType,
}

#[derive(Deserialize)]
struct Paragraph {
    text: InlineHtml,
}

#[derive(Deserialize)]
struct Heading {
    level: HeadingLevel,
    text: InlineHtml,
}

#[derive(Deserialize)]
struct Image {
    image_id: Id<100>,
    #[serde(default, deserialize_with = "InlineHtml::optional")]
    caption: Option<InlineHtml>,
}

#[derive(Deserialize)]
struct Quote {
    text: InlineHtml,
    #[serde(default)]
    attribution: Option<Plain>,
}

#[derive(Deserialize)]
struct Embed {
    url: HttpUrl,
    #[serde(default)]
    provider: Option<Plain>,
}

#[derive(Deserialize)]
struct List {
    #[serde(default)]
    ordered: Option<bool>,
    items: Bounded<InlineHtml, LIST_ITEMS_MAX, 1>,
}

/// One block, or its first error under `path`.
fn block(path: &str, raw: &Value) -> Result<Block, FieldError> {
    let Typed { r#type } = fields::parse_at(path, raw)?;
    Ok(match r#type {
        BlockType::Paragraph => {
            let b: Paragraph = fields::parse_at(path, raw)?;
            Block::Paragraph { text: b.text.0 }
        }
        BlockType::Heading => {
            let b: Heading = fields::parse_at(path, raw)?;
            Block::Heading {
                level: b.level.0,
                text: b.text.0,
            }
        }
        BlockType::Image => {
            let b: Image = fields::parse_at(path, raw)?;
            Block::Image {
                image_id: b.image_id.0,
                caption: b.caption.map(|c| c.0),
                image: None,
                withdrawn: false,
            }
        }
        BlockType::Quote => {
            let b: Quote = fields::parse_at(path, raw)?;
            Block::Quote {
                text: b.text.0,
                attribution: b.attribution.and_then(PlainText::non_empty),
            }
        }
        BlockType::Embed => {
            let b: Embed = fields::parse_at(path, raw)?;
            Block::Embed {
                url: b.url.0,
                provider: b.provider.and_then(PlainText::non_empty),
            }
        }
        BlockType::List => {
            let b: List = fields::parse_at(path, raw)?;
            Block::List {
                ordered: b.ordered.unwrap_or(false),
                items: b.items.0.into_iter().map(|i| i.0).collect(),
            }
        }
        BlockType::Divider => Block::Divider {},
    })
}

/// The blocks of a body (at most `BODY_BLOCKS_MAX`, which the caller's type bounds), or the
/// first error of every bad block.
pub fn parse(raw: &[Value]) -> Result<Vec<Block>, Vec<FieldError>> {
    let mut blocks = Vec::with_capacity(raw.len());
    let mut errors = Vec::new();
    for (i, item) in raw.iter().enumerate() {
        match block(&format!("body[{i}]"), item) {
            Ok(b) => blocks.push(b),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(blocks)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn paths(raw: Value) -> Vec<String> {
        let items = raw.as_array().cloned().unwrap_or_default();
        parse(&items)
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|e| e.field)
            .collect()
    }

    #[test]
    fn bad_blocks_are_reported_by_path() {
        assert_eq!(
            paths(json!([
                {"type": "paragraph", "text": "ok"},
                {"type": "heading", "level": 5, "text": "x"},
                {"type": "video"},
                {"type": "heading", "text": "no level"},
                "not an object",
                {"type": "list", "items": ["ok", " <b></b> "]},
                {"text": "no type"}
            ])),
            [
                "body[1].level",
                "body[2].type",
                "body[3].level",
                "body[4]",
                "body[5].items[1]",
                "body[6].type"
            ]
        );
    }

    #[test]
    fn a_body_read_from_the_api_can_be_sent_back() {
        let blocks = parse(&[json!({"type": "image", "image_id": " img1 ", "caption": "  ",
            "image": {"id": "img1"}, "withdrawn": true})])
        .unwrap_or_default();
        assert_eq!(
            blocks,
            [Block::Image {
                image_id: "img1".into(),
                caption: None,
                image: None,
                withdrawn: false
            }]
        );
    }
}
