//! The image as the API shows it: [`ImageDto`] with its rendition URLs, built by
//! [`to_public`] (what readers and article expansions see) and [`to_admin`] (plus what was read
//! from the file at upload).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::config::Settings;
use crate::images::embedded::Embedded;
use crate::images::store::ImageRow;

/// Where the image should stay in view when a rendition is cropped (0–1 from the left/top).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct FocalPoint {
    #[schema(example = 0.5, minimum = 0.0, maximum = 1.0)]
    pub x: f64,
    #[schema(example = 0.35, minimum = 0.0, maximum = 1.0)]
    pub y: f64,
}

/// One width of the `srcset`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RenditionUrl {
    /// The width of this rendition in pixels.
    #[schema(example = 640)]
    pub width: u32,
    #[schema(example = "https://news.example.com/media/0192f0c4-7c1e-7f00-8000-000000000000?w=640")]
    pub url: String,
}

/// Ready-made URLs of an image.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Renditions {
    /// The original as uploaded, minus location metadata.
    #[schema(example = "https://news.example.com/media/0192f0c4-7c1e-7f00-8000-000000000000/original")]
    pub original: String,
    /// A ready `srcset` attribute value (`url 320w, url 640w, …`).
    #[schema(
        example = "https://news.example.com/media/0192f0c4-7c1e-7f00-8000-000000000000?w=320 320w, https://news.example.com/media/0192f0c4-7c1e-7f00-8000-000000000000?w=640 640w"
    )]
    pub srcset: String,
    /// The widths of the `srcset`, each with its URL, narrowest first.
    pub widths: Vec<RenditionUrl>,
}

/// An image with its newsroom metadata and rendition URLs.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ImageDto {
    pub id: String,
    /// `image/jpeg`, `image/png`, `image/webp` or `image/gif`.
    #[schema(example = "image/jpeg")]
    pub content_type: String,
    /// Width as displayed (EXIF orientation applied).
    #[schema(example = 3000)]
    pub width: u32,
    #[schema(example = 2000)]
    pub height: u32,
    /// Size of the original in bytes.
    #[schema(example = 1843221)]
    pub bytes: i64,
    /// SHA-256 (hex) of the stored original; identical uploads share one image.
    pub sha256: String,
    #[schema(example = "Firefighters contain the blaze near the harbour on Tuesday.")]
    pub caption: Option<String>,
    /// The credit as printed, photographer/agency.
    #[schema(example = "Saul Loeb/AFP")]
    pub credit: Option<String>,
    /// The supplying agency or source.
    #[schema(example = "AFP")]
    pub source: Option<String>,
    #[schema(example = "Three firefighters spray water on a burning warehouse")]
    pub alt_text: Option<String>,
    #[schema(example = "© 2026 AFP")]
    pub copyright: Option<String>,
    /// The photographer.
    #[schema(example = "Saul Loeb")]
    pub creator: Option<String>,
    /// The licence terms as the agency states them.
    #[schema(example = "Editorial use only. No archive.")]
    pub usage_terms: Option<String>,
    /// How the image was made: an IPTC NewsCodes digital source type URI (e.g. for
    /// AI-generated images, `…/trainedAlgorithmicMedia`).
    #[schema(example = "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture")]
    pub digital_source_type: Option<String>,
    /// When the picture was taken.
    pub taken_at: Option<DateTime<Utc>>,
    /// When the licence ends: from then on the image is withdrawn.
    pub rights_expire_at: Option<DateTime<Utc>>,
    /// True once `rights_expire_at` has passed: its files and public metadata then answer 410
    /// and articles show it as `image: null, withdrawn: true`, so only admin responses (and an
    /// upload whose rights already expired) show `true`.
    pub withdrawn: bool,
    pub focal_point: FocalPoint,
    pub renditions: Renditions,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Admin responses only: what was read from the file's embedded metadata at upload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedded: Option<Embedded>,
}

/// The admin view: the public one plus `embedded`.
pub fn to_admin(row: &ImageRow, settings: &Settings) -> ImageDto {
    let mut dto = to_public(row, settings);
    dto.embedded = Some(
        row.embedded
            .as_deref()
            .and_then(|e| serde_json::from_str(e).ok())
            .unwrap_or_default(),
    );
    dto
}

/// The public view of an image: metadata plus absolute rendition URLs built from
/// `settings.public_url` and the allowed widths.
pub fn to_public(row: &ImageRow, settings: &Settings) -> ImageDto {
    let base = format!("{}/media/{}", settings.public_url, row.id);
    let image_width = u32::try_from(row.width).unwrap_or(0);
    let mut widths = Vec::new();
    for &w in &settings.image_widths {
        if w < image_width {
            widths.push(RenditionUrl {
                width: w,
                url: format!("{base}?w={w}"),
            });
        } else {
            // The first allowed width at least as wide as the picture serves it at full size
            // (renditions never enlarge), so it is listed with the picture's own width.
            widths.push(RenditionUrl {
                width: image_width,
                url: format!("{base}?w={w}"),
            });
            break;
        }
    }
    let srcset = widths
        .iter()
        .map(|r| format!("{} {}w", r.url, r.width))
        .collect::<Vec<_>>()
        .join(", ");
    ImageDto {
        id: row.id.clone(),
        content_type: row.content_type.clone(),
        width: image_width,
        height: u32::try_from(row.height).unwrap_or(0),
        bytes: row.bytes,
        sha256: row.sha256.clone(),
        caption: row.caption.clone(),
        credit: row.credit.clone(),
        source: row.source.clone(),
        alt_text: row.alt_text.clone(),
        copyright: row.copyright.clone(),
        creator: row.creator.clone(),
        usage_terms: row.usage_terms.clone(),
        digital_source_type: row.digital_source_type.clone(),
        taken_at: row.taken_at.map(crate::time::utc),
        rights_expire_at: row.rights_expire_at.map(crate::time::utc),
        withdrawn: row.is_withdrawn(crate::time::now()),
        focal_point: FocalPoint {
            x: row.focal_x,
            y: row.focal_y,
        },
        renditions: Renditions {
            original: format!("{base}/original"),
            srcset,
            widths,
        },
        created_at: crate::time::utc(row.created_at),
        updated_at: crate::time::utc(row.updated_at),
        embedded: None,
    }
}

/// Image ids are UUIDs; anything else (including path tricks) names no image (404).
pub fn parse_id(raw: &str) -> Result<String, crate::error::ApiError> {
    uuid::Uuid::parse_str(raw)
        .map(|u| u.hyphenated().to_string())
        .map_err(|_| crate::error::ApiError::not_found("image"))
}
