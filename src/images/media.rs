//! Byte serving under `/media/…`: the stored original (exact bytes, ETag, single byte ranges)
//! and renditions, generated once per image, size, fit and format, stored through the
//! `MediaStore`, and served immutable.

use std::time::SystemTime;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HttpDate};
use actix_web::{HttpRequest, HttpResponse, get, web};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::config::Settings;
use crate::error::{ApiError, Problem};
use crate::http::conditional::{RangeRequest, not_modified};
use crate::images::decode;
use crate::images::dto::parse_id;
use crate::images::process::{self, Fit, ImageKind, OutputFormat, RenditionSpec};
use crate::images::storage::StorageKey;
use crate::images::store::{self, ImageRow};
use crate::state::AppState;

/// Image bytes in a response (documentation only).
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct ImageBytes(pub Vec<u8>);

/// Originals and renditions never change under their URL (a new upload is a new id).
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// Formats a time as an HTTP date.
pub fn http_date(t: DateTime<Utc>) -> String {
    HttpDate::from(SystemTime::from(t)).to_string()
}

/// The image row of a media request; 404 if there is none, 410 once it is withdrawn.
async fn find_row(state: &AppState, raw_id: &str) -> Result<ImageRow, ApiError> {
    let id = parse_id(raw_id)?;
    let row = state
        .db
        .run(move |conn| store::find(conn, &id))
        .await
        .map_err(ApiError::not_found_as("image"))?;
    if row.is_withdrawn(crate::time::now()) {
        return Err(crate::images::rights::withdrawn_problem());
    }
    Ok(row)
}

/// `Cache-Control` of an original or a rendition: immutable for a year, unless the image's
/// rights end sooner; then cacheable only until they do, and not immutable.
fn cache_control(row: &ImageRow) -> String {
    const YEAR: u64 = 31_536_000;
    match row.rights_expire_at {
        None => IMMUTABLE.to_owned(),
        Some(_) => format!(
            "public, max-age={}",
            crate::images::rights::max_age_until_withdrawn(row, YEAR, crate::time::now())
        ),
    }
}

/// The original as stored (public).
///
/// The exact bytes kept at upload: the uploaded file minus EXIF/GPS, XMP and IPTC metadata.
/// Strong `ETag` (the SHA-256), 304 on `If-None-Match`, single byte ranges (206/416).
#[utoipa::path(
    tag = "public",
    params(("id" = String, Path, description = "Image id")),
    responses(
        (status = 200, description = "The original image", content(
            (ImageBytes = "image/jpeg"), (ImageBytes = "image/png"), (ImageBytes = "image/webp"), (ImageBytes = "image/gif")
        ), headers(
            ("ETag" = String, description = "Strong: the quoted SHA-256 of the bytes"),
            ("Cache-Control" = String, description = "public, max-age=31536000, immutable; for an image with rights_expire_at, public with a max-age that ends then"),
            ("Accept-Ranges" = String, description = "bytes")
        )),
        (status = 206, description = "The requested byte range", content((ImageBytes = "application/octet-stream")), headers(("Content-Range" = String))),
        (status = 304, description = "Not modified"),
        (status = 404, description = "No such image (or a malformed id)", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "Withdrawn: the image's rights expired (`rights_expire_at`)", body = Problem, content_type = "application/problem+json"),
        (status = 416, description = "The range is outside the file", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/media/{id}/original")]
pub async fn original(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let row = find_row(&state, &id).await?;
    let etag = format!("\"{}\"", row.sha256);
    let last_modified = crate::time::utc(row.created_at);
    let mut res = HttpResponse::build(StatusCode::OK);
    res.insert_header((header::ETAG, etag.clone()))
        .insert_header((header::CACHE_CONTROL, cache_control(&row)))
        .insert_header((header::LAST_MODIFIED, http_date(last_modified)))
        .insert_header((header::ACCEPT_RANGES, "bytes"))
        .insert_header(("Surrogate-Key", format!("image:{}", row.id)));
    if not_modified(&req, &etag, Some(last_modified)) {
        return Ok(res.status(StatusCode::NOT_MODIFIED).finish());
    }
    let key = StorageKey::parse(&row.storage_key).ok_or_else(|| ApiError::not_found("image"))?;
    let media = state.media.clone();
    let bytes = web::block(move || media.store.get(&key))
        .await
        .map_err(ApiError::internal)?
        .map_err(crate::images::storage_unavailable)?
        .ok_or_else(|| ApiError::not_found("image"))?;
    res.content_type(row.content_type.as_str());
    match RangeRequest::of(&req, &etag, bytes.len()) {
        RangeRequest::Whole => Ok(res.body(bytes)),
        RangeRequest::Part { start, end } => Ok(res
            .status(StatusCode::PARTIAL_CONTENT)
            .insert_header((
                header::CONTENT_RANGE,
                format!("bytes {start}-{end}/{}", bytes.len()),
            ))
            .body(bytes[start..=end].to_vec())),
        RangeRequest::Unsatisfiable => Err(ApiError::RangeNotSatisfiable { len: bytes.len() }),
    }
}

/// The widths and heights of the default rendition set, for the spec (the server checks
/// against the configured set; see `MASTHEAD_IMAGE_WIDTHS` and `MASTHEAD_IMAGE_RATIOS`).
fn size_schema(sizes: &[u32]) -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
    ObjectBuilder::new()
        .schema_type(SchemaType::Type(Type::Integer))
        .enum_values(Some(sizes.iter().copied()))
        .build()
}

/// The default widths as an integer enum (spec only).
pub struct DefaultWidths;

impl utoipa::PartialSchema for DefaultWidths {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        size_schema(&[320, 640, 960, 1280, 1920]).into()
    }
}

impl utoipa::ToSchema for DefaultWidths {}

/// The heights of the default widths and ratios as an integer enum (spec only).
pub struct DefaultHeights;

impl utoipa::PartialSchema for DefaultHeights {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        size_schema(&[180, 320, 360, 540, 640, 720, 960, 1080, 1280, 1920]).into()
    }
}

impl utoipa::ToSchema for DefaultHeights {}

/// `?w=&h=&fit=&format=` of a rendition.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RenditionQuery {
    /// Width in pixels, one of `MASTHEAD_IMAGE_WIDTHS` (default 320, 640, 960, 1280, 1920).
    /// Left out: with `h`, the widest width that `h` is a height of (`?h=360` is 640×360);
    /// without `h`, the widest width. The original is at `/media/{id}/original`.
    #[param(value_type = Option<DefaultWidths>, inline, example = 640)]
    pub w: Option<u32>,
    /// Height in pixels, `w` times one of the ratios of `MASTHEAD_IMAGE_RATIOS` (default 16:9
    /// and 1:1): with w=640, h=360 or h=640. Any other pair is a 400.
    #[param(value_type = Option<DefaultHeights>, inline, example = 360)]
    pub h: Option<u32>,
    /// `cover` (fill the box, cropping around the focal point; the default when both `w` and
    /// `h` are given) or `contain` (fit inside the box).
    #[param(inline)]
    pub fit: Option<Fit>,
    /// Output format; by default JPEG for JPEG, WebP for WebP, PNG for PNG and GIF.
    #[param(inline)]
    pub format: Option<OutputFormat>,
}

/// The heights allowed with width `w`: one per ratio of `MASTHEAD_IMAGE_RATIOS`.
pub fn heights_for(settings: &Settings, w: u32) -> Vec<u32> {
    let mut heights: Vec<u32> = settings
        .image_ratios
        .iter()
        .map(|&(rw, rh)| ((u64::from(w) * u64::from(rh) + u64::from(rw) / 2) / u64::from(rw)) as u32)
        .filter(|&h| h > 0)
        .collect();
    heights.sort_unstable();
    heights.dedup();
    heights
}

/// Every rendition box a client may ask for (`w` alone, or `w`×`h` with either fit), per
/// output format: the variants one image can have are these times three formats.
pub fn allowed_boxes(settings: &Settings) -> Vec<(u32, Option<u32>, Fit)> {
    let mut boxes = Vec::new();
    for &w in &settings.image_widths {
        boxes.push((w, None, Fit::Contain));
        for h in heights_for(settings, w) {
            boxes.push((w, Some(h), Fit::Cover));
            boxes.push((w, Some(h), Fit::Contain));
        }
    }
    boxes
}

impl RenditionQuery {
    /// Checks the sizes against the allowed set (400 otherwise).
    pub fn spec(&self, settings: &Settings, kind: ImageKind) -> Result<RenditionSpec, ApiError> {
        let allowed = |list: &[u32]| list.iter().map(u32::to_string).collect::<Vec<_>>().join(", ");
        let w = match (self.w, self.h) {
            (Some(w), _) => w,
            (None, Some(h)) => settings
                .image_widths
                .iter()
                .copied()
                .filter(|&w| heights_for(settings, w).contains(&h))
                .max()
                .ok_or_else(|| {
                    ApiError::BadRequest(format!(
                        "h={h} is not the height of any available width; give w, one of {}",
                        allowed(&settings.image_widths)
                    ))
                })?,
            (None, None) => settings
                .image_widths
                .iter()
                .copied()
                .max()
                .ok_or_else(|| ApiError::BadRequest("No rendition widths are configured".into()))?,
        };
        if !settings.image_widths.contains(&w) {
            return Err(ApiError::BadRequest(format!(
                "w={w} is not an available width; use one of {}",
                allowed(&settings.image_widths)
            )));
        }
        if let Some(h) = self.h {
            let heights = heights_for(settings, w);
            if !heights.contains(&h) {
                return Err(ApiError::BadRequest(if heights.is_empty() {
                    format!("h={h} is not available: renditions have a width only")
                } else {
                    format!(
                        "h={h} is not available with w={w}; use one of {}",
                        allowed(&heights)
                    )
                }));
            }
        }
        let fit = match self.h {
            Some(_) => self.fit.unwrap_or(Fit::Cover),
            // A width alone is the same for both fits: store it once.
            None => Fit::Contain,
        };
        Ok(RenditionSpec {
            width: Some(w),
            height: self.h,
            fit,
            format: self.format.unwrap_or(OutputFormat::for_original(kind)),
        })
    }
}

/// The first bytes of an original read to price its decoding (they hold the PNG header, and
/// the JPEG frame header after an ICC profile of ordinary size).
const HEAD_BYTES: usize = 64 * 1024;

/// A rendition of an image (public).
///
/// Sizes come from a small, bounded set: `w` from `MASTHEAD_IMAGE_WIDTHS`, and `h` only as `w`
/// times a ratio of `MASTHEAD_IMAGE_RATIOS` (400 for anything else). Generated on first
/// request (once, even when many ask at the same time) under the image memory budget (503 with
/// `Retry-After` when it stays spent), stored, then served from storage. EXIF orientation is
/// applied; renditions carry no metadata at all. `X-Masthead-Rendition` says whether this
/// response `generated` the rendition or served it `stored`.
#[utoipa::path(
    tag = "public",
    params(("id" = String, Path, description = "Image id"), RenditionQuery),
    responses(
        (status = 200, description = "The rendition", content(
            (ImageBytes = "image/jpeg"), (ImageBytes = "image/png"), (ImageBytes = "image/webp")
        ), headers(
            ("ETag" = String, description = "Strong; fixed for the image and parameters"),
            ("Cache-Control" = String, description = "public, max-age=31536000, immutable; for an image with rights_expire_at, public with a max-age that ends then"),
            ("X-Masthead-Rendition" = String, description = "generated or stored")
        )),
        (status = 304, description = "Not modified"),
        (status = 400, description = "A size outside the allowed set, or an unknown fit/format", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such image (deleted, or a malformed id)", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "Withdrawn: the image's rights expired (`rights_expire_at`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Image work is at its memory budget (MASTHEAD_IMAGE_MEMORY_BUDGET) and stayed so for MASTHEAD_IMAGE_QUEUE_TIMEOUT_SECS; try again after Retry-After", body = Problem, content_type = "application/problem+json", headers(("Retry-After" = String, description = "Seconds to wait")))
    )
)]
#[get("/media/{id}")]
pub async fn rendition(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    query: web::Query<RenditionQuery>,
) -> Result<HttpResponse, ApiError> {
    let row = find_row(&state, &id).await?;
    let kind = ImageKind::from_content_type(&row.content_type)
        .ok_or_else(|| ApiError::internal(format!("stored content type {}", row.content_type)))?;
    let spec = query.spec(&state.settings, kind)?;
    let file_name = spec.file_name();
    let etag = format!("\"{}-{file_name}\"", &row.sha256[..row.sha256.len().min(32)]);
    let mut res = HttpResponse::build(StatusCode::OK);
    res.insert_header((header::ETAG, etag.clone()))
        .insert_header((header::CACHE_CONTROL, cache_control(&row)))
        .insert_header(("Surrogate-Key", format!("image:{}", row.id)));
    if not_modified(&req, &etag, None) {
        return Ok(res.status(StatusCode::NOT_MODIFIED).finish());
    }
    let key_raw = format!("renditions/{}/{file_name}", row.id);
    let key = StorageKey::parse(&key_raw).ok_or_else(|| ApiError::internal("bad rendition key"))?;
    let original_key = StorageKey::parse(&row.storage_key).ok_or_else(|| ApiError::not_found("image"))?;

    // Fast path: already stored.
    let media = state.media.clone();
    let lookup = key.clone();
    let stored = web::block(move || media.store.get(&lookup))
        .await
        .map_err(ApiError::internal)?
        .map_err(crate::images::storage_unavailable)?;
    let (bytes, generated) = match stored {
        Some(bytes) => (bytes, false),
        None => {
            // One generator per key; the others wait here and then find it stored.
            let key_lock = state.media.lock_for(&key_raw);
            // Bounded like the budget: behind a generator that itself waits, give up in time.
            let _guard = tokio::time::timeout(state.settings.image_queue_timeout, key_lock.lock.lock())
                .await
                .map_err(|_| ApiError::Busy {
                    detail: "This rendition is being generated; try again shortly".into(),
                    retry_after_secs: 1,
                })?;
            let io = crate::images::storage_unavailable;
            let media = state.media.clone();
            let (lookup, head_key) = (key.clone(), original_key.clone());
            let (done, head) = web::block(move || -> Result<_, ApiError> {
                if let Some(bytes) = media.store.get(&lookup).map_err(io)? {
                    return Ok((Some(bytes), None));
                }
                Ok((None, media.store.get_head(&head_key, HEAD_BYTES).map_err(io)?))
            })
            .await
            .map_err(ApiError::internal)??;
            match done {
                Some(bytes) => (bytes, false),
                None => {
                    let head = head.ok_or_else(|| ApiError::not_found("image"))?;
                    let (width, height) = (
                        u32::try_from(row.width).unwrap_or(0),
                        u32::try_from(row.height).unwrap_or(0),
                    );
                    let plan = process::plan_rendition(width, height, spec);
                    let header = decode::header(&head, kind);
                    let cost = process::rendition_cost(
                        header.as_ref(),
                        width,
                        height,
                        plan,
                        u64::try_from(row.bytes).unwrap_or(0),
                    );
                    drop(head);
                    // Wait in line for the memory budget (503 with Retry-After if it stays spent).
                    let reservation = state.media.budget.reserve(cost).await?;
                    let media = state.media.clone();
                    let max_pixels = state.settings.max_image_pixels;
                    let focal = (row.focal_x, row.focal_y);
                    web::block(move || -> Result<(Vec<u8>, bool), ApiError> {
                        let _reservation = reservation;
                        let source = media
                            .store
                            .get(&original_key)
                            .map_err(io)?
                            .ok_or_else(|| ApiError::not_found("image"))?;
                        let bytes = process::render(&source, kind, spec, focal, max_pixels)
                            .map_err(|e| ApiError::internal(format!("rendition of a stored image: {e}")))?;
                        drop(source);
                        media.store.put(&key, &bytes).map_err(io)?;
                        Ok((bytes, true))
                    })
                    .await
                    .map_err(ApiError::internal)??
                }
            }
        }
    };
    Ok(res
        .content_type(spec.format.content_type())
        .insert_header((
            "X-Masthead-Rendition",
            if generated { "generated" } else { "stored" },
        ))
        .body(bytes))
}
