//! The upload's `multipart/form-data` body: the `file` part streamed in under the byte limit,
//! and the metadata fields checked with the rules of [`crate::images::meta`]. A field sent
//! empty is kept apart from a field not sent: the first means "none", the second "read it from
//! the file" (PRODUCT.md §3a).

use actix_multipart::Multipart;
use chrono::{DateTime, NaiveDateTime};
use futures_util::StreamExt;

use crate::error::{ApiError, FieldError};
use crate::images::embedded::Embedded;
use crate::images::meta;

/// The metadata fields of an upload: `None` = not sent, `Some(None)` = sent empty.
#[derive(Debug, Default, Clone)]
pub struct UploadForm {
    pub caption: Option<Option<String>>,
    pub credit: Option<Option<String>>,
    pub source: Option<Option<String>>,
    pub alt_text: Option<Option<String>>,
    pub copyright: Option<Option<String>>,
    pub creator: Option<Option<String>>,
    pub usage_terms: Option<Option<String>>,
    pub digital_source_type: Option<Option<String>>,
    pub taken_at: Option<Option<NaiveDateTime>>,
    pub rights_expire_at: Option<Option<NaiveDateTime>>,
    pub focal_x: Option<f64>,
    pub focal_y: Option<f64>,
}

/// The names accepted besides `file`, for the error on an unknown one.
const FIELDS: &str = "file, caption, credit, source, alt_text, copyright, creator, usage_terms, \
digital_source_type, taken_at, rights_expire_at, focal_x, focal_y";

/// A focal point coordinate: a number from 0 to 1.
pub fn check_focal(field: &str, value: f64) -> Result<f64, FieldError> {
    if value.is_finite() && (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(FieldError::new(field, "must be a number from 0 to 1"))
    }
}

impl UploadForm {
    /// The text field `name` of the form (as it is stored), if it was sent.
    pub fn text(&self, name: &str) -> Option<&Option<String>> {
        match name {
            "caption" => self.caption.as_ref(),
            "credit" => self.credit.as_ref(),
            "source" => self.source.as_ref(),
            "alt_text" => self.alt_text.as_ref(),
            "copyright" => self.copyright.as_ref(),
            "creator" => self.creator.as_ref(),
            "usage_terms" => self.usage_terms.as_ref(),
            "digital_source_type" => self.digital_source_type.as_ref(),
            _ => None,
        }
    }

    fn set(&mut self, name: &str, value: &str, errors: &mut Vec<FieldError>) {
        fn keep<T>(result: Result<T, FieldError>, errors: &mut Vec<FieldError>) -> Option<T> {
            result.map_err(|e| errors.push(e)).ok()
        }
        let text = |errors: &mut Vec<FieldError>| keep(meta::check_text(name, value), errors);
        let time = |errors: &mut Vec<FieldError>| keep(meta::check_time(name, value), errors);
        let focal = |errors: &mut Vec<FieldError>| {
            let parsed = value
                .trim()
                .parse::<f64>()
                .map_err(|_| FieldError::new(name, "must be a number from 0 to 1"))
                .and_then(|v| check_focal(name, v));
            keep(parsed, errors)
        };
        match name {
            "caption" => self.caption = text(errors),
            "credit" => self.credit = text(errors),
            "source" => self.source = text(errors),
            "alt_text" => self.alt_text = text(errors),
            "copyright" => self.copyright = text(errors),
            "creator" => self.creator = text(errors),
            "usage_terms" => self.usage_terms = text(errors),
            "digital_source_type" => {
                self.digital_source_type = keep(meta::check_digital_source_type(value), errors);
            }
            "taken_at" => self.taken_at = time(errors),
            "rights_expire_at" => self.rights_expire_at = time(errors),
            "focal_x" => self.focal_x = focal(errors),
            "focal_y" => self.focal_y = focal(errors),
            other => errors.push(FieldError::new(other, format!("unknown field; send {FIELDS}"))),
        }
    }
}

/// The text fields and `taken_at` an upload ends up with.
pub struct Merged {
    texts: Vec<(&'static str, Option<String>)>,
    pub taken_at: Option<NaiveDateTime>,
}

impl Merged {
    pub fn text(&self, name: &str) -> Option<String> {
        self.texts
            .iter()
            .find(|(n, _)| *n == name)
            .and_then(|(_, v)| v.clone())
    }
}

/// Each field from the form when it was sent (even empty: "none"), else from the file; marks
/// in `embedded` the values read from the file that the form overrode (`used: false`).
pub fn merge(form: &UploadForm, embedded: &mut Embedded) -> Merged {
    fn overridden(embedded: &mut Embedded, name: &str) {
        if let Some(field) = embedded.fields.get_mut(name) {
            field.used = false;
        }
    }
    let mut texts = Vec::new();
    for (name, _) in meta::TEXT_LIMITS {
        let value = match form.text(name) {
            Some(sent) => {
                overridden(embedded, name);
                sent.clone()
            }
            None => embedded.value(name).map(str::to_owned),
        };
        texts.push((name, value));
    }
    let taken_at = match form.taken_at {
        Some(sent) => {
            overridden(embedded, "taken_at");
            sent
        }
        None => embedded
            .value("taken_at")
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.naive_utc()),
    };
    Merged { texts, taken_at }
}

fn multipart_error(err: actix_multipart::MultipartError) -> ApiError {
    use actix_multipart::MultipartError as E;
    match err {
        E::ContentTypeMissing | E::ContentTypeParse | E::ContentTypeIncompatible | E::BoundaryMissing => {
            ApiError::UnsupportedMediaType("Send the image as multipart/form-data with a `file` field".into())
        }
        other => ApiError::BadRequest(format!("Could not read the multipart body: {other}")),
    }
}

/// Reads the multipart body: the `file` field streamed into memory with the byte limit enforced
/// as it arrives (413 as soon as it is exceeded), metadata fields up to 16 KiB each.
pub async fn read_upload(
    mut payload: Multipart,
    max_bytes: usize,
    declared: Option<usize>,
) -> Result<(Vec<u8>, UploadForm), ApiError> {
    let mut file: Option<Vec<u8>> = None;
    let mut form = UploadForm::default();
    let mut errors = Vec::new();
    while let Some(field) = payload.next().await {
        let mut field = field.map_err(multipart_error)?;
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" {
            if file.is_some() {
                errors.push(FieldError::new("file", "send exactly one file"));
            }
            // Sized from the declared body length (already checked against the limit) so the
            // buffer is not regrown and copied on the way up.
            let mut bytes = Vec::with_capacity(declared.unwrap_or(0).min(max_bytes));
            while let Some(chunk) = field.next().await {
                let chunk = chunk.map_err(multipart_error)?;
                if bytes.len() + chunk.len() > max_bytes {
                    return Err(ApiError::PayloadTooLarge(format!(
                        "The image exceeds the upload limit of {max_bytes} bytes"
                    )));
                }
                bytes.extend_from_slice(&chunk);
            }
            file = Some(bytes);
        } else {
            let value = match field.bytes(16 * 1024).await {
                Ok(Ok(v)) => v,
                Ok(Err(e)) => return Err(multipart_error(e)),
                Err(_) => {
                    errors.push(FieldError::new(name, "is too long"));
                    continue;
                }
            };
            match std::str::from_utf8(&value) {
                Ok(text) => form.set(&name, text, &mut errors),
                Err(_) => errors.push(FieldError::new(name, "must be UTF-8 text")),
            }
        }
    }
    match file {
        None => errors.push(FieldError::new("file", "is required")),
        Some(ref f) if f.is_empty() => errors.push(FieldError::new("file", "is empty")),
        _ => {}
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    Ok((file.unwrap_or_default(), form))
}
