//! Demo images for `masthead demo`: four pictures drawn in code (no files to ship, no
//! licences to check; their digital source type says so: `algorithmicMedia`) that carry their captions, credits, alt texts and rights as embedded XMP,
//! like an agency's files; the loader reads them through the upload's own metadata reader
//! (PRODUCT.md §3a) and types nothing in. Loading is idempotent: the drawings are
//! deterministic, so a second run finds them by SHA-256 and creates nothing.

use image::{DynamicImage, Rgb, RgbImage};
use sha2::{Digest, Sha256};

use crate::db::{DbConn, StoreError};
use crate::images::process::{self, OutputFormat};
use crate::images::save::save_new_image;
use crate::images::storage::{MediaStore, StorageKey};
use crate::images::store::NewImage;
use crate::images::{container, embedded};

struct DemoImage {
    draw: fn() -> RgbImage,
    format: OutputFormat,
    /// What the picture's file carries as XMP (image field name → value).
    embedded: &'static [(&'static str, &'static str)],
    focal: (f64, f64),
}

fn lerp(a: u8, b: u8, t: f32) -> u8 {
    (f32::from(a) + (f32::from(b) - f32::from(a)) * t)
        .round()
        .clamp(0.0, 255.0) as u8
}

/// Dusk over a harbour: a sky gradient, a sun and dark quay buildings.
fn harbour() -> RgbImage {
    let (w, h) = (1600, 900);
    RgbImage::from_fn(w, h, |x, y| {
        let t = y as f32 / h as f32;
        let sky = Rgb([lerp(250, 40, t), lerp(160, 50, t), lerp(90, 110, t)]);
        let (dx, dy) = (x as f32 - 1100.0, y as f32 - 430.0);
        if dx * dx + dy * dy < 90.0 * 90.0 {
            return Rgb([255, 220, 140]);
        }
        let skyline = 640 - ((x / 120) % 4) * 60;
        if y > 700 {
            Rgb([20, lerp(40, 20, t), lerp(70, 40, t)])
        } else if y > skyline {
            Rgb([30, 30, 40])
        } else {
            sky
        }
    })
}

/// A council chamber: rows of seats in a semicircle under warm light.
fn chamber() -> RgbImage {
    let (w, h) = (1200, 800);
    RgbImage::from_fn(w, h, |x, y| {
        let (dx, dy) = (x as f32 - 600.0, y as f32 - 820.0);
        let r = (dx * dx + dy * dy).sqrt();
        if (r as u32 / 40).is_multiple_of(2) && r > 200.0 && r < 700.0 {
            Rgb([150, 40, 50])
        } else {
            Rgb([lerp(200, 120, y as f32 / h as f32), 170, 120])
        }
    })
}

/// A football pitch from above: stripes, lines and a ball.
fn pitch() -> RgbImage {
    let (w, h) = (1280, 853);
    RgbImage::from_fn(w, h, |x, y| {
        let (dx, dy) = (x as f32 - 820.0, y as f32 - 400.0);
        if dx * dx + dy * dy < 14.0 * 14.0 {
            return Rgb([250, 250, 250]);
        }
        let (cx, cy) = (x as f32 - 640.0, y as f32 - 426.0);
        let circle = ((cx * cx + cy * cy).sqrt() - 110.0).abs() < 3.0;
        if x == 640 || x == 641 || circle || x < 4 || y < 4 || x > w - 5 || y > h - 5 {
            Rgb([235, 240, 235])
        } else if (x / 80).is_multiple_of(2) {
            Rgb([40, 140, 60])
        } else {
            Rgb([50, 160, 70])
        }
    })
}

/// A bar chart of monthly rainfall, as a newsroom graphic.
fn chart() -> RgbImage {
    let (w, h) = (960, 640);
    let bars = [120u32, 180, 260, 310, 240, 150, 90, 70, 130, 220, 340, 400];
    RgbImage::from_fn(w, h, |x, y| {
        let slot = x / 80;
        let within = x % 80;
        let bar = bars.get(slot as usize).copied().unwrap_or(0);
        if y > h - 40 && y < h - 36 {
            Rgb([60, 60, 60])
        } else if (12..68).contains(&within) && y < h - 40 && y > h - 40 - bar {
            Rgb([30, lerp(90, 160, slot as f32 / 12.0), 200])
        } else {
            Rgb([248, 246, 240])
        }
    })
}

const DEMO: [DemoImage; 4] = [
    DemoImage {
        draw: harbour,
        format: OutputFormat::Jpeg,
        embedded: &[
            (
                "caption",
                "The sun sets over the old harbour as the ferry service resumes after three weeks of strikes.",
            ),
            ("creator", "Jane Doe"),
            ("credit", "Jane Doe/Masthead Wire"),
            ("source", "Masthead Wire"),
            (
                "alt_text",
                "Silhouetted quay buildings against an orange evening sky, with the sun low over the water",
            ),
            ("copyright", "© 2026 Masthead Wire"),
            ("usage_terms", "Demo content: free to use in Masthead demos."),
            (
                "digital_source_type",
                "http://cv.iptc.org/newscodes/digitalsourcetype/algorithmicMedia",
            ),
        ],
        focal: (0.68, 0.48),
    },
    DemoImage {
        draw: chamber,
        format: OutputFormat::Jpeg,
        embedded: &[
            (
                "caption",
                "Councillors take their seats before Tuesday's vote on the city budget.",
            ),
            ("creator", "Tomás Ferreira"),
            ("credit", "Tomás Ferreira/Masthead Wire"),
            ("source", "Masthead Wire"),
            (
                "alt_text",
                "Rows of red seats arranged in a semicircle in the council chamber",
            ),
            ("copyright", "© 2026 Masthead Wire"),
            ("usage_terms", "Demo content: free to use in Masthead demos."),
            (
                "digital_source_type",
                "http://cv.iptc.org/newscodes/digitalsourcetype/algorithmicMedia",
            ),
        ],
        focal: (0.5, 0.7),
    },
    DemoImage {
        draw: pitch,
        format: OutputFormat::Jpeg,
        embedded: &[
            (
                "caption",
                "The ball rests near the centre circle moments before kick-off at the municipal stadium.",
            ),
            ("creator", "Amara Okafor"),
            ("credit", "Amara Okafor/City Sports Agency"),
            ("source", "City Sports Agency"),
            (
                "alt_text",
                "Aerial view of a striped green football pitch with the ball right of the centre circle",
            ),
            ("copyright", "© 2026 City Sports Agency"),
            ("usage_terms", "Demo content: free to use in Masthead demos."),
            (
                "digital_source_type",
                "http://cv.iptc.org/newscodes/digitalsourcetype/algorithmicMedia",
            ),
        ],
        focal: (0.64, 0.47),
    },
    DemoImage {
        draw: chart,
        format: OutputFormat::Png,
        embedded: &[
            (
                "caption",
                "Monthly rainfall this year: November was the wettest month since records began.",
            ),
            ("creator", "Lena Park"),
            ("credit", "Lena Park/Masthead Data Desk"),
            ("source", "Masthead"),
            (
                "alt_text",
                "Bar chart of rainfall per month, low in summer and highest in December",
            ),
            ("copyright", "© 2026 Masthead"),
            ("usage_terms", "Demo content: free to use in Masthead demos."),
            (
                "digital_source_type",
                "http://cv.iptc.org/newscodes/digitalsourcetype/algorithmicMedia",
            ),
        ],
        focal: (0.5, 0.5),
    },
];

/// Stores the demo images (once) and returns their ids, in a fixed order: harbour, council
/// chamber, football pitch, rainfall chart. Blocking: call it from a blocking context.
pub fn load_demo_images(
    conn: &mut DbConn,
    store: &dyn MediaStore,
    max_pixels: u64,
) -> Result<Vec<String>, StoreError> {
    let mut ids = Vec::with_capacity(DEMO.len());
    for demo in &DEMO {
        let picture = DynamicImage::ImageRgb8((demo.draw)());
        let encoded = process::encode(&picture, demo.format).map_err(StoreError::internal)?;
        let kind =
            process::ImageKind::sniff(&encoded).ok_or_else(|| StoreError::internal("demo image kind"))?;
        let file = container::with_xmp(&encoded, kind, &embedded::xmp_packet(demo.embedded))
            .ok_or_else(|| StoreError::internal("demo image metadata"))?;
        // Generated here, with a small packet: the container limits are a formality.
        let limits = crate::images::container::AncillaryLimits {
            max_metadata_bytes: 1024 * 1024,
            max_icc_bytes: 1024 * 1024,
            max_chunks: 1000,
        };
        let checked = process::check_upload(&file, max_pixels, limits).map_err(StoreError::internal)?;
        let read = |field: &str| checked.embedded.value(field).map(str::to_owned);
        let kind = checked.kind;
        let sha256 = hex::encode(Sha256::digest(&checked.stored));
        let id = crate::time::new_id();
        let key_raw = format!("originals/{id}.{}", kind.extension());
        let key = StorageKey::parse(&key_raw).ok_or_else(|| StoreError::internal("bad storage key"))?;
        let now = crate::time::now();
        let new = NewImage {
            id,
            content_type: kind.content_type().to_owned(),
            width: i32::try_from(checked.width).map_err(StoreError::internal)?,
            height: i32::try_from(checked.height).map_err(StoreError::internal)?,
            bytes: i64::try_from(checked.stored.len()).map_err(StoreError::internal)?,
            sha256,
            storage_key: key_raw,
            caption: read("caption"),
            credit: read("credit"),
            source: read("source"),
            alt_text: read("alt_text"),
            copyright: read("copyright"),
            creator: read("creator"),
            usage_terms: read("usage_terms"),
            digital_source_type: read("digital_source_type"),
            taken_at: None,
            rights_expire_at: None,
            embedded: serde_json::to_string(&checked.embedded).ok(),
            focal_x: demo.focal.0,
            focal_y: demo.focal.1,
            created_by: None,
            created_at: now,
            updated_at: now,
        };
        let (row, _) = save_new_image(conn, store, &key, &checked.stored, new)?;
        ids.push(row.id);
    }
    Ok(ids)
}

/// [`load_demo_images`] with the media store and pixel limit of `settings` (for `masthead demo`).
pub fn load_with_settings(
    conn: &mut DbConn,
    settings: &crate::config::Settings,
) -> Result<Vec<String>, StoreError> {
    let media = crate::images::Media::from_settings(settings)
        .map_err(|e| StoreError::MediaUnavailable(format!("{e:#}")))?;
    load_demo_images(conn, media.store.as_ref(), settings.max_image_pixels)
}
