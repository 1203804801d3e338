//! The one error type of the HTTP layer. Every failure becomes an RFC 9457
//! `application/problem+json` body; internal causes are logged once and never shown to clients.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::{Failure, StoreError};

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// One invalid field of a request, named by its path (`body[3].level`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct FieldError {
    /// Path of the offending field, e.g. `headline` or `body[3].level`.
    #[schema(example = "headline")]
    pub field: String,
    /// What is wrong with it, for a human.
    #[schema(example = "must not be empty")]
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// An RFC 9457 problem details body.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "type": "/problems/validation",
    "title": "Unprocessable Content",
    "status": 422,
    "detail": "The request has invalid fields.",
    "errors": [{"field": "headline", "message": "must not be empty"}]
}))]
pub struct Problem {
    /// A URI reference naming the kind of problem.
    #[serde(rename = "type")]
    pub problem_type: String,
    /// Short summary of the kind of problem (the HTTP reason phrase).
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong in this request, for a human.
    pub detail: String,
    /// Field-level messages, present on validation failures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
}

/// Everything a handler can fail with.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{detail}")]
    MethodNotAllowed { detail: String, allow: String },
    #[error("{0}")]
    Conflict(String),
    /// 410: the resource existed and is withdrawn (an image whose rights expired).
    #[error("{0}")]
    Gone(String),
    #[error("{0}")]
    PreconditionFailed(String),
    /// 416: a byte range outside a body of `len` bytes.
    #[error("The range is outside the {len} bytes of the file")]
    RangeNotSatisfiable { len: usize },
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    UriTooLong(String),
    #[error("{detail}")]
    Validation { detail: String, errors: Vec<FieldError> },
    #[error("{detail}")]
    TooManyRequests { detail: String, retry_after_secs: u64 },
    #[error("{0}")]
    ServiceUnavailable(String),
    /// 503: the database aborted a write to resolve a conflict with another writer, and it was
    /// not retried (or retried too often); kept apart so `Db::write` can retry it.
    #[error("The database is busy with other writes; nothing was saved, try again shortly.")]
    WriteConflict(String),
    /// 503 with `Retry-After`: a bounded resource (the image memory budget) stayed busy.
    #[error("{detail}")]
    Busy { detail: String, retry_after_secs: u64 },
    /// A fault of ours; the message is logged, the client gets a generic text.
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        ApiError::Internal(cause.to_string())
    }

    pub fn not_found(what: impl std::fmt::Display) -> Self {
        ApiError::NotFound(format!("{what} was not found"))
    }

    /// A store error where a missing row means the `what` the handler asked for:
    /// `.map_err(ApiError::not_found_as("tag"))` turns `StoreError::NotFound` into
    /// "tag was not found", named at the point of failure; other errors convert as usual.
    pub fn not_found_as(what: &'static str) -> impl Fn(StoreError) -> ApiError {
        move |err| match err {
            StoreError::NotFound => ApiError::not_found(what),
            other => ApiError::from(other),
        }
    }

    /// A 422 with one field error.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::validation(vec![FieldError::new(field, message)])
    }

    /// A 422 with several field errors.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        let detail = match errors.as_slice() {
            [one] => format!("{}: {}", one.field, one.message),
            _ => format!("{} fields are invalid", errors.len()),
        };
        ApiError::Validation { detail, errors }
    }

    fn slug(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad-request",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not-found",
            ApiError::MethodNotAllowed { .. } => "method-not-allowed",
            ApiError::Conflict(_) => "conflict",
            ApiError::Gone(_) => "gone",
            ApiError::PreconditionFailed(_) => "precondition-failed",
            ApiError::RangeNotSatisfiable { .. } => "range-not-satisfiable",
            ApiError::PayloadTooLarge(_) => "payload-too-large",
            ApiError::UnsupportedMediaType(_) => "unsupported-media-type",
            ApiError::UriTooLong(_) => "uri-too-long",
            ApiError::Validation { .. } => "validation",
            ApiError::TooManyRequests { .. } => "rate-limited",
            ApiError::ServiceUnavailable(_) | ApiError::WriteConflict(_) => "service-unavailable",
            ApiError::Busy { .. } => "busy",
            ApiError::Internal(_) => "internal",
        }
    }

    /// The problem body this error renders as.
    pub fn problem(&self) -> Problem {
        let status = self.status_code();
        let detail = match self {
            ApiError::Internal(_) => "An unexpected error occurred; it has been logged.".to_owned(),
            other => other.to_string(),
        };
        Problem {
            problem_type: format!("/problems/{}", self.slug()),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail,
            errors: match self {
                ApiError::Validation { errors, .. } => Some(errors.clone()),
                _ => None,
            },
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Gone(_) => StatusCode::GONE,
            ApiError::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            ApiError::RangeNotSatisfiable { .. } => StatusCode::RANGE_NOT_SATISFIABLE,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::UriTooLong(_) => StatusCode::URI_TOO_LONG,
            ApiError::Validation { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::ServiceUnavailable(_) | ApiError::Busy { .. } | ApiError::WriteConflict(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Internal(cause) = self {
            tracing::error!(cause = %cause, "internal error");
        }
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CONTENT_TYPE, PROBLEM_JSON));
        response.insert_header((header::CACHE_CONTROL, "no-store"));
        match self {
            ApiError::Unauthorized(_) => {
                response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            ApiError::MethodNotAllowed { allow, .. } => {
                if let Ok(value) = HeaderValue::from_str(allow) {
                    response.insert_header((header::ALLOW, value));
                }
            }
            ApiError::TooManyRequests { retry_after_secs, .. } | ApiError::Busy { retry_after_secs, .. } => {
                response.insert_header((header::RETRY_AFTER, retry_after_secs.max(&1).to_string()));
            }
            // Every 503 is temporary here (the database busy or briefly away): say when to retry.
            ApiError::ServiceUnavailable(_) | ApiError::WriteConflict(_) => {
                response.insert_header((header::RETRY_AFTER, "1"));
            }
            ApiError::RangeNotSatisfiable { len } => {
                response.insert_header((header::CONTENT_RANGE, format!("bytes */{len}")));
            }
            _ => {}
        }
        let body = serde_json::to_vec(&self.problem()).unwrap_or_default();
        response.body(body)
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound => ApiError::NotFound("The resource was not found".into()),
            StoreError::Conflict(what) => {
                ApiError::Conflict(format!("Conflicts with an existing record ({what})"))
            }
            StoreError::Unavailable(reason) => {
                tracing::error!(%reason, "database unavailable");
                ApiError::ServiceUnavailable("The database is unavailable; try again shortly.".into())
            }
            StoreError::Busy(reason) => {
                tracing::warn!(%reason, "database busy; answered 503");
                ApiError::ServiceUnavailable(
                    "The database is busy with other writes; nothing was saved, try again shortly.".into(),
                )
            }
            StoreError::Retry(reason) => {
                tracing::warn!(%reason, "write conflict");
                ApiError::WriteConflict(reason)
            }
            // No field is named: the database does not say which column refused the text.
            StoreError::NulInText => ApiError::Validation {
                detail: "A text field contains a NUL character, which cannot be stored".into(),
                errors: Vec::new(),
            },
            StoreError::Internal(e) => ApiError::Internal(e),
            StoreError::MediaUnavailable(reason) => {
                tracing::error!(%reason, "media storage failed");
                ApiError::ServiceUnavailable("The media storage is not reachable; try again shortly".into())
            }
            StoreError::Query(e) => ApiError::Internal(format!("database: {e}")),
        }
    }
}

impl Failure for ApiError {
    fn is_retryable(&self) -> bool {
        matches!(self, ApiError::WriteConflict(_))
    }
}

/// Turns actix's JSON body errors into problems: malformed JSON is 400, a well-formed body with
/// wrong or missing fields is 422, a wrong content type 415, too large 413.
pub fn json_error(err: actix_web::error::JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    use actix_web::error::JsonPayloadError as E;
    let api = match &err {
        E::OverflowKnownLength { length, limit } => ApiError::PayloadTooLarge(format!(
            "JSON body of {length} bytes exceeds the limit of {limit} bytes"
        )),
        E::Overflow { limit } => {
            ApiError::PayloadTooLarge(format!("JSON body exceeds the limit of {limit} bytes"))
        }
        E::ContentType => ApiError::UnsupportedMediaType("Send the body as application/json".into()),
        E::Deserialize(e) if e.is_data() => ApiError::invalid("body", format!("{e}")),
        E::Deserialize(e) => ApiError::BadRequest(format!("Malformed JSON: {e}")),
        other => ApiError::BadRequest(format!("Could not read the JSON body: {other}")),
    };
    api.into()
}

/// Query string errors (`?limit=abc`) as 400 problems.
pub fn query_error(err: actix_web::error::QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::BadRequest(format!("Invalid query parameters: {err}")).into()
}

/// Path segment errors as 404 problems: a path that does not parse names nothing.
pub fn path_error(err: actix_web::error::PathError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::NotFound(format!("No resource at this path: {err}")).into()
}
