//! The images JSON API: admin upload, edit, delete and search (`/api/v1/admin/images`), public
//! metadata (`/api/v1/images/{id}`, 410 once withdrawn), and the public DTO other modules
//! embed. The upload form is parsed in `form`, the field rules are in `meta`, what the file
//! carries is read in `embedded`, the usage list is in `usage`. A little over 600 lines: the
//! handlers of one resource with their OpenAPI annotations, which are most of it.

use actix_multipart::Multipart;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use chrono::{DateTime, NaiveDateTime};
use serde::{Deserialize, Deserializer};
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Auth, AuthorRole, ContributorRole, EditorRole};
use crate::error::{ApiError, FieldError, Problem};
use crate::events::{self, EventType, NewEvent};
use crate::http::json::Valid;
use crate::images::form::check_focal;
use crate::images::meta;
use crate::images::process::{self, ImageProblem};
use crate::images::storage::StorageKey;
use crate::images::store::{self, ImageChanges, NewImage};
use crate::pagination::{Page, PageQuery, paginate};
use crate::state::AppState;

pub use crate::images::dto::{FocalPoint, ImageDto, RenditionUrl, Renditions, to_admin, to_public};
use crate::images::rights::{max_age_until_withdrawn, withdrawn_problem};

// --- request DTOs -------------------------------------------------------------------------

/// The multipart form of an upload (documentation of the request body). Text fields may not
/// hold control characters other than line feeds. A metadata field left out is read from the
/// file's embedded XMP/IPTC (PRODUCT.md §3a); a field sent empty means "none" (the image then
/// has no such value: `null` in responses). A form cannot carry `null`, so no field is
/// nullable here: leave a field out, or send it empty.
#[derive(ToSchema, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct ImageUpload {
    /// The image file: JPEG, PNG, WebP or GIF (decided from its bytes, not its name).
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// Caption shown under the image (at most 2000 characters).
    #[schema(value_type = String, required = false, max_length = 2000, pattern = r"^[^\u0000-\u0009\u000B-\u001F\u007F-\u009F]*$")]
    caption: Option<String>,
    /// Credit as printed, e.g. "Saul Loeb/AFP" (at most 200 characters).
    #[schema(value_type = String, required = false, max_length = 200, pattern = r"^[^\u0000-\u0009\u000B-\u001F\u007F-\u009F]*$")]
    credit: Option<String>,
    /// Source agency, e.g. "AFP" (at most 200 characters).
    #[schema(value_type = String, required = false, max_length = 200, pattern = r"^[^\u0000-\u0009\u000B-\u001F\u007F-\u009F]*$")]
    source: Option<String>,
    /// Text alternative for screen readers (at most 1000 characters).
    #[schema(value_type = String, required = false, max_length = 1000, pattern = r"^[^\u0000-\u0009\u000B-\u001F\u007F-\u009F]*$")]
    alt_text: Option<String>,
    /// Copyright notice (at most 300 characters).
    #[schema(value_type = String, required = false, max_length = 300, pattern = r"^[^\u0000-\u0009\u000B-\u001F\u007F-\u009F]*$")]
    copyright: Option<String>,
    /// The photographer, e.g. "Saul Loeb" (at most 200 characters).
    #[schema(value_type = String, required = false, max_length = 200, pattern = r"^[^\u0000-\u0009\u000B-\u001F\u007F-\u009F]*$")]
    creator: Option<String>,
    /// Licence terms (at most 1000 characters).
    #[schema(value_type = String, required = false, max_length = 1000, pattern = r"^[^\u0000-\u0009\u000B-\u001F\u007F-\u009F]*$")]
    usage_terms: Option<String>,
    /// An IPTC NewsCodes digital source type URI
    /// (`http://cv.iptc.org/newscodes/digitalsourcetype/<code>`); anything else is a 422.
    #[schema(
        value_type = String,
        required = false,
        max_length = 200,
        pattern = r"^(https?://cv\.iptc\.org/newscodes/digitalsourcetype/(digitalCapture|computationalCapture|negativeFilm|positiveFilm|print|humanEdits|compositeWithTrainedAlgorithmicMedia|algorithmicallyEnhanced|digitalCreation|dataDrivenMedia|trainedAlgorithmicMedia|algorithmicMedia|screenCapture|virtualRecording|composite|compositeCapture|compositeSynthetic|minorHumanEdits|digitalArt|softwareImage))?$",
        example = "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"
    )]
    digital_source_type: Option<String>,
    /// When the picture was taken (RFC 3339).
    #[schema(value_type = String, format = DateTime, required = false)]
    taken_at: Option<String>,
    /// When the licence ends (RFC 3339); a time already past stores the image withdrawn.
    #[schema(value_type = String, format = DateTime, required = false)]
    rights_expire_at: Option<String>,
    /// Focal point, 0–1 from the left (default 0.5 when the field is left out).
    #[schema(value_type = f64, required = false, minimum = 0.0, maximum = 1.0)]
    focal_x: Option<f64>,
    /// Focal point, 0–1 from the top (default 0.5 when the field is left out).
    #[schema(value_type = f64, required = false, minimum = 0.0, maximum = 1.0)]
    focal_y: Option<f64>,
}

/// Changes to an image's metadata: absent fields stay, `null` or `""` clears a text field.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateImage {
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 2000, pattern = r"^[^\u0000-\u0009\u000B-\u001F\u007F-\u009F]*$")]
    pub caption: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 200, pattern = r"^[^\u0000-\u0009\u000B-\u001F\u007F-\u009F]*$")]
    pub credit: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 200, pattern = r"^[^\u0000-\u0009\u000B-\u001F\u007F-\u009F]*$")]
    pub source: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 1000, pattern = r"^[^\u0000-\u0009\u000B-\u001F\u007F-\u009F]*$")]
    pub alt_text: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 300, pattern = r"^[^\u0000-\u0009\u000B-\u001F\u007F-\u009F]*$")]
    pub copyright: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 200, pattern = r"^[^\u0000-\u0009\u000B-\u001F\u007F-\u009F]*$")]
    pub creator: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 1000, pattern = r"^[^\u0000-\u0009\u000B-\u001F\u007F-\u009F]*$")]
    pub usage_terms: Option<Option<String>>,
    /// An IPTC NewsCodes digital source type URI; anything else is a 422.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 200, pattern = r"^(https?://cv\.iptc\.org/newscodes/digitalsourcetype/(digitalCapture|computationalCapture|negativeFilm|positiveFilm|print|humanEdits|compositeWithTrainedAlgorithmicMedia|algorithmicallyEnhanced|digitalCreation|dataDrivenMedia|trainedAlgorithmicMedia|algorithmicMedia|screenCapture|virtualRecording|composite|compositeCapture|compositeSynthetic|minorHumanEdits|digitalArt|softwareImage))?$", example = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia")]
    pub digital_source_type: Option<Option<String>>,
    /// RFC 3339.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub taken_at: Option<Option<String>>,
    /// RFC 3339. Moving it into the future (or clearing it) brings a withdrawn image back.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub rights_expire_at: Option<Option<String>>,
    pub focal_point: Option<FocalPoint>,
}

impl crate::fields::Input for UpdateImage {}

/// Distinguishes an absent field (`None`) from an explicit `null` (`Some(None)`).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// `?q=` of the admin image search.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImageSearch {
    /// Words to find in caption, credit, source, creator, copyright, usage terms or digital
    /// source type (case-insensitive).
    #[param(example = "AFP")]
    pub q: Option<String>,
    /// Only images whose rights end before this time (RFC 3339), withdrawn ones included,
    /// soonest first.
    #[param(value_type = Option<String>, format = DateTime, example = "2026-12-31T00:00:00Z")]
    pub expiring_before: Option<String>,
}

fn image_problem(problem: ImageProblem) -> ApiError {
    match problem {
        ImageProblem::Unsupported => ApiError::UnsupportedMediaType(
            "The file is not a JPEG, PNG, WebP or GIF image (the type is decided from its bytes)".into(),
        ),
        ImageProblem::TooManyPixels { .. }
        | ImageProblem::Corrupt(_)
        | ImageProblem::Ancillary(_)
        | ImageProblem::OverBudget { .. } => ApiError::invalid("file", problem.to_string()),
        ImageProblem::Encode(e) => ApiError::internal(e),
    }
}

const NOT_FOUND: &str = "image";

use crate::images::dto::parse_id;

// --- admin handlers -----------------------------------------------------------------------

/// Upload an image (authors and up).
///
/// `multipart/form-data` with a `file` field and optional metadata fields. The type is decided
/// from the bytes (JPEG, PNG, WebP, GIF; anything else 415); the file is fully decoded, so a
/// truncated or corrupt file (422) or one over `MASTHEAD_MAX_IMAGE_PIXELS` (422) is refused, and
/// one over `MASTHEAD_MAX_UPLOAD_BYTES` is refused while it streams in (413). Metadata fields
/// left out of the form are read from the file's XMP/IPTC (`embedded` in the answer says what
/// was read; a field sent empty means none). EXIF (with any GPS position), XMP and IPTC are
/// removed from the stored original; the licence read from the file is written back as a fresh
/// XMP packet, and the EXIF orientation is kept. Uploading bytes identical to an existing image creates nothing: the existing image is
/// returned with 200 (its metadata unchanged) instead of 201.
#[utoipa::path(
    tag = "editorial",
    security(("bearerAuth" = ["author"])),
    request_body(content = ImageUpload, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "Stored", body = ImageDto, headers(("Location" = String, description = "The image's admin URL"))),
        (status = 200, description = "The same bytes were uploaded before: the existing image", body = ImageDto),
        (status = 400, description = "Malformed multipart body", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Over MASTHEAD_MAX_UPLOAD_BYTES", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not multipart, or the file is not JPEG, PNG, WebP or GIF", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Corrupt or truncated image, too many pixels, more embedded metadata than the limits allow (MASTHEAD_IMAGE_MAX_METADATA_BYTES, _MAX_ICC_BYTES, _MAX_CHUNKS), renditions that would need more than MASTHEAD_IMAGE_MEMORY_BUDGET, invalid metadata", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Image work is at its memory budget and stayed so for MASTHEAD_IMAGE_QUEUE_TIMEOUT_SECS; try again after Retry-After", body = Problem, content_type = "application/problem+json", headers(("Retry-After" = String, description = "Seconds to wait")))
    )
)]
#[post("/admin/images")]
pub async fn upload_image(
    state: web::Data<AppState>,
    auth: Auth<AuthorRole>,
    req: HttpRequest,
    payload: Multipart,
) -> Result<HttpResponse, ApiError> {
    let max_bytes = state.settings.max_upload_bytes;
    // A declared length far over the limit is refused before reading anything.
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > max_bytes.saturating_add(64 * 1024)) {
        return Err(ApiError::PayloadTooLarge(format!(
            "The upload exceeds the limit of {max_bytes} bytes"
        )));
    }
    let (bytes, form) = crate::images::form::read_upload(payload, max_bytes, declared).await?;
    let mut checked = check_under_budget(&state, bytes).await?;
    let fields = crate::images::form::merge(&form, &mut checked.embedded);
    let sha256 = hex::encode(Sha256::digest(&checked.stored));
    let id = crate::time::new_id();
    let key_raw = format!("originals/{id}.{}", checked.kind.extension());
    let key = StorageKey::parse(&key_raw).ok_or_else(|| ApiError::internal("bad storage key"))?;
    let now = crate::time::now();
    let new = NewImage {
        id,
        content_type: checked.kind.content_type().to_owned(),
        width: i32::try_from(checked.width).map_err(ApiError::internal)?,
        height: i32::try_from(checked.height).map_err(ApiError::internal)?,
        bytes: i64::try_from(checked.stored.len()).map_err(ApiError::internal)?,
        sha256,
        storage_key: key_raw,
        caption: fields.text("caption"),
        credit: fields.text("credit"),
        source: fields.text("source"),
        alt_text: fields.text("alt_text"),
        copyright: fields.text("copyright"),
        creator: fields.text("creator"),
        usage_terms: fields.text("usage_terms"),
        digital_source_type: fields.text("digital_source_type"),
        taken_at: fields.taken_at,
        rights_expire_at: form.rights_expire_at.flatten(),
        embedded: serde_json::to_string(&checked.embedded).ok(),
        focal_x: form.focal_x.unwrap_or(0.5),
        focal_y: form.focal_y.unwrap_or(0.5),
        created_by: auth.principal.user_id.clone(),
        created_at: now,
        updated_at: now,
    };
    // The object first, then the row (`images::save` says why).
    let (row, created) =
        crate::images::save::save_upload(&state.db, state.media.store.clone(), key, checked.stored, new)
            .await?;
    let dto = to_admin(&row, &state.settings);
    if created {
        Ok(HttpResponse::Created()
            .insert_header((header::LOCATION, format!("/api/v1/admin/images/{}", row.id)))
            .json(dto))
    } else {
        Ok(HttpResponse::Ok().json(dto))
    }
}

/// Checks an upload under the memory budget. An image whose largest rendition would need more
/// than the whole budget is refused (422) now rather than failing later; otherwise the check
/// waits in line for its share (503 with `Retry-After` if the budget stays spent).
async fn check_under_budget(state: &AppState, bytes: Vec<u8>) -> Result<process::Checked, ApiError> {
    let settings = &state.settings;
    let kind = process::ImageKind::sniff(&bytes).ok_or_else(|| image_problem(ImageProblem::Unsupported))?;
    let header = crate::images::decode::header(&bytes, kind);
    if let Some(h) = header.as_ref().filter(|h| h.pixels() > settings.max_image_pixels) {
        return Err(image_problem(ImageProblem::TooManyPixels {
            width: h.width,
            height: h.height,
            pixels: h.pixels(),
            limit: settings.max_image_pixels,
        }));
    }
    if let Some(h) = header.as_ref() {
        let budget = state.media.budget.total_bytes();
        let needed = crate::images::media::allowed_boxes(settings)
            .into_iter()
            .flat_map(|(w, hh, fit)| {
                let spec = process::RenditionSpec {
                    width: Some(w),
                    height: hh,
                    fit,
                    format: process::OutputFormat::Png,
                };
                // As displayed, the sides may be swapped by the EXIF orientation: price both.
                [(h.width, h.height), (h.height, h.width)].map(|(dw, dh)| {
                    let plan = process::plan_rendition(dw, dh, spec);
                    process::rendition_cost(Some(h), dw, dh, plan, bytes.len() as u64)
                })
            })
            .chain([process::check_cost(Some(h), bytes.len())])
            .max()
            .unwrap_or(0);
        if needed > budget {
            return Err(image_problem(ImageProblem::OverBudget {
                needed_mib: needed.div_ceil(1024 * 1024),
                budget_mib: budget / (1024 * 1024),
            }));
        }
    }
    let reservation = state
        .media
        .budget
        .reserve(process::check_cost(header.as_ref(), bytes.len()))
        .await?;
    let max_pixels = settings.max_image_pixels;
    let limits = crate::images::container::AncillaryLimits::from_settings(settings);
    web::block(move || {
        let _reservation = reservation;
        process::check_upload(&bytes, max_pixels, limits)
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(image_problem)
}

/// Search images (contributors and up, to pick images for their drafts).
///
/// Newest first; `q` finds words in caption, credit, source, creator, copyright, usage terms or
/// digital source type, case-insensitively. With `expiring_before`, only images whose rights
/// end before that time (withdrawn ones included), soonest first: what is about to expire.
#[utoipa::path(
    tag = "editorial",
    security(("bearerAuth" = ["contributor"])),
    params(ImageSearch, PageQuery),
    responses(
        (status = 200, body = Page<ImageDto>),
        (status = 400, description = "Bad limit, cursor, q or expiring_before", body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/admin/images")]
pub async fn list_images(
    state: web::Data<AppState>,
    _auth: Auth<ContributorRole>,
    search: web::Query<ImageSearch>,
    query: web::Query<PageQuery>,
) -> Result<web::Json<Page<ImageDto>>, ApiError> {
    let page = query.parse::<(NaiveDateTime, String)>(&state.cursors)?;
    let limit = page.limit;
    let search = search.into_inner();
    if search.q.as_deref().is_some_and(|q| q.chars().count() > 200) {
        return Err(ApiError::BadRequest("q must be at most 200 characters".into()));
    }
    let expiring_before = match search.expiring_before.as_deref() {
        None => None,
        Some(raw) => Some(
            DateTime::parse_from_rfc3339(raw.trim())
                .map(|t| t.naive_utc())
                .map_err(|_| {
                    ApiError::BadRequest(
                        "expiring_before must be an RFC 3339 time such as 2026-12-31T00:00:00Z".into(),
                    )
                })?,
        ),
    };
    let filter = store::ListFilter {
        q: search.q,
        expiring_before,
    };
    let by_expiry = filter.expiring_before.is_some();
    let rows = state
        .db
        .run(move |conn| store::list(conn, &filter, page.after, limit))
        .await?;
    let settings = state.settings.clone();
    Ok(web::Json(paginate(
        rows,
        limit,
        &state.cursors,
        |r| match r.rights_expire_at.filter(|_| by_expiry) {
            Some(at) => (at, r.id.clone()),
            None => (r.created_at, r.id.clone()),
        },
        |r| to_admin(&r, &settings),
    )))
}

/// One image (contributors and up).
#[utoipa::path(
    tag = "editorial",
    security(("bearerAuth" = ["contributor"])),
    params(("id" = String, Path, description = "Image id")),
    responses(
        (status = 200, body = ImageDto),
        (status = 403, body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/admin/images/{id}")]
pub async fn admin_get_image(
    state: web::Data<AppState>,
    _auth: Auth<ContributorRole>,
    id: web::Path<String>,
) -> Result<web::Json<ImageDto>, ApiError> {
    let id = parse_id(&id)?;
    let row = state
        .db
        .run(move |conn| store::find(conn, &id))
        .await
        .map_err(ApiError::not_found_as(NOT_FOUND))?;
    Ok(web::Json(to_admin(&row, &state.settings)))
}

/// Edit an image's metadata (authors and up).
///
/// Absent fields stay as they are; `null` or an empty string clears a text field, `null` a
/// time. A
/// `rights_expire_at` in the past withdraws the image at once; moving it into the future (or
/// clearing it) brings a withdrawn image back. Either way an `image.updated` event purges the
/// `image:<id>` surrogate key.
#[utoipa::path(
    tag = "editorial",
    security(("bearerAuth" = ["author"])),
    params(("id" = String, Path, description = "Image id")),
    request_body = UpdateImage,
    responses(
        (status = 200, body = ImageDto),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")
    )
)]
#[patch("/admin/images/{id}")]
pub async fn update_image(
    state: web::Data<AppState>,
    _auth: Auth<AuthorRole>,
    id: web::Path<String>,
    body: Valid<UpdateImage>,
) -> Result<web::Json<ImageDto>, ApiError> {
    let id = parse_id(&id)?;
    let input = body.into_inner();
    let mut errors = Vec::new();
    // Absent stays absent, null clears, a value is checked by `check` (errors collected).
    fn field<T>(
        value: Option<Option<String>>,
        errors: &mut Vec<FieldError>,
        check: impl Fn(&str) -> Result<Option<T>, FieldError>,
    ) -> Option<Option<T>> {
        match value {
            None => None,
            Some(None) => Some(None),
            Some(Some(raw)) => check(&raw).map_err(|e| errors.push(e)).ok(),
        }
    }
    let e = &mut errors;
    let text = |name: &'static str| move |raw: &str| meta::check_text(name, raw);
    let time = |name: &'static str| move |raw: &str| meta::check_time_value(name, raw);
    let mut changes = ImageChanges {
        caption: field(input.caption, e, text("caption")),
        credit: field(input.credit, e, text("credit")),
        source: field(input.source, e, text("source")),
        alt_text: field(input.alt_text, e, text("alt_text")),
        copyright: field(input.copyright, e, text("copyright")),
        creator: field(input.creator, e, text("creator")),
        usage_terms: field(input.usage_terms, e, text("usage_terms")),
        digital_source_type: field(input.digital_source_type, e, meta::check_digital_source_type),
        taken_at: field(input.taken_at, e, time("taken_at")),
        rights_expire_at: field(input.rights_expire_at, e, time("rights_expire_at")),
        ..ImageChanges::default()
    };
    if let Some(fp) = input.focal_point {
        match check_focal("focal_point.x", fp.x) {
            Ok(x) => changes.focal_x = Some(x),
            Err(e) => errors.push(e),
        }
        match check_focal("focal_point.y", fp.y) {
            Ok(y) => changes.focal_y = Some(y),
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    // A withdrawal made by this edit is announced by this edit's event, not again later by
    // `rights::record_due_withdrawals`.
    if let Some(Some(end)) = changes.rights_expire_at
        && end <= crate::time::now()
    {
        changes.withdrawal_recorded_at = Some(Some(crate::time::now()));
    }
    let settings = state.settings.clone();
    let image = state
        .db
        .write(move |conn| {
            let row = store::update(conn, &id, changes.clone())?;
            let image = to_admin(&row, &settings);
            let keys = vec![format!("image:{}", row.id)];
            let event = NewEvent::new(EventType::ImageUpdated, format!("image:{}", row.id), &image, keys)?;
            events::record(conn, [event])?;
            Ok(image)
        })
        .await
        .map_err(ApiError::not_found_as(NOT_FOUND))?;
    Ok(web::Json(image))
}

/// Delete an image and all its renditions (editors and up).
///
/// An image used by a published article cannot be deleted (409).
#[utoipa::path(
    tag = "editorial",
    security(("bearerAuth" = ["editor"])),
    params(("id" = String, Path, description = "Image id")),
    responses(
        (status = 204, description = "Deleted, with its files"),
        (status = 409, description = "Used by a published article", body = Problem, content_type = "application/problem+json")
    )
)]
#[delete("/admin/images/{id}")]
pub async fn delete_image(
    state: web::Data<AppState>,
    _auth: Auth<EditorRole>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id)?;
    let row = state
        .db
        .write(move |conn| -> Result<_, ApiError> {
            let row = store::delete(conn, &id)
                .map_err(ApiError::not_found_as(NOT_FOUND))?
                .ok_or_else(|| {
                    ApiError::Conflict(
                        "The image is used by a published article; remove it there first".into(),
                    )
                })?;
            let data = serde_json::json!({"id": row.id});
            let keys = vec![format!("image:{}", row.id)];
            let event = NewEvent::new(EventType::ImageDeleted, format!("image:{}", row.id), &data, keys)?;
            events::record(conn, [event])?;
            Ok(row)
        })
        .await?;
    // The row is gone, so the files are unreachable even if removing them fails; log and go on.
    let media = state.media.clone();
    let removed = web::block(move || {
        if let Some(key) = StorageKey::parse(&row.storage_key) {
            media.store.delete(&key)?;
        }
        if let Some(prefix) = StorageKey::parse(&format!("renditions/{}", row.id)) {
            media.store.delete_prefix(&prefix)?;
        }
        Ok::<_, std::io::Error>(())
    })
    .await;
    if let Ok(Err(e)) | Err(e) = removed.map_err(std::io::Error::other) {
        tracing::warn!(error = %e, "could not remove the files of a deleted image");
    }
    Ok(HttpResponse::NoContent().finish())
}

// --- public handler -----------------------------------------------------------------------

/// An image's metadata and rendition URLs (public).
///
/// Sends `ETag`, `Last-Modified` and `Cache-Control`; answers `If-None-Match` and
/// `If-Modified-Since` with 304.
#[utoipa::path(
    tag = "public",
    params(("id" = String, Path, description = "Image id")),
    responses(
        (status = 200, body = ImageDto, headers(
            ("ETag" = String, description = "Changes when the metadata changes"),
            ("Last-Modified" = String),
            ("Cache-Control" = String, description = "public, max-age=MASTHEAD_CACHE_MAX_AGE, stale-while-revalidate=…"),
            ("Surrogate-Key" = String, description = "image:<id>")
        )),
        (status = 304, description = "Not modified"),
        (status = 404, description = "No such image", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "Withdrawn: its rights expired (`rights_expire_at`)", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/images/{id}")]
pub async fn get_image(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id)?;
    let row = state
        .db
        .run(move |conn| store::find(conn, &id))
        .await
        .map_err(ApiError::not_found_as(NOT_FOUND))?;
    let now = crate::time::now();
    if row.is_withdrawn(now) {
        return Err(withdrawn_problem());
    }
    let etag = format!("\"{}-{}\"", row.id, row.updated_at.and_utc().timestamp_micros());
    let last_modified = crate::time::utc(row.updated_at);
    let cache = format!(
        "public, max-age={}, stale-while-revalidate={}",
        max_age_until_withdrawn(&row, u64::from(state.settings.cache_max_age), now),
        state.settings.cache_stale_while_revalidate
    );
    let unchanged = crate::http::conditional::not_modified(&req, &etag, Some(last_modified));
    let mut res = if unchanged {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    res.insert_header((header::ETAG, etag))
        .insert_header((
            header::LAST_MODIFIED,
            crate::images::media::http_date(last_modified),
        ))
        .insert_header((header::CACHE_CONTROL, cache))
        .insert_header(("Surrogate-Key", format!("image:{}", row.id)));
    if unchanged {
        return Ok(res.finish());
    }
    Ok(res.json(to_public(&row, &state.settings)))
}
