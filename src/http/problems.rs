//! Requests refused before routing, and error answers made problem+json whoever made them.
//!
//! - `refuse_bad_uris`: a URI longer than `MASTHEAD_MAX_URI_BYTES` is 414, and NUL (`%00`) in
//!   the path or query is 400 on either backend (PostgreSQL text cannot hold NUL; SQLite can,
//!   so the same request used to answer differently per database).
//! - `problem_bodies`: any error answer that is not already problem+json (actix-web's own
//!   payload and extractor errors, CORS refusals, anything a dependency answers) gets a problem
//!   body with the same status. What the HTTP/1 codec answers before the app runs is handled
//!   one layer lower, in `http::wire`.

use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpResponse, web};

use crate::error::{ApiError, PROBLEM_JSON};
use crate::state::AppState;

/// 414 for an over-long URI, 400 for NUL in the path or query; otherwise the app answers.
pub async fn refuse_bad_uris(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let max = req
        .app_data::<web::Data<AppState>>()
        .map_or(usize::MAX, |s| s.settings.max_uri_bytes);
    let uri = req.uri();
    let length = uri.path_and_query().map_or(0, |pq| pq.as_str().len());
    let refusal = if length > max {
        Some(ApiError::UriTooLong(format!(
            "The URI is {length} bytes long; at most {max} are accepted"
        )))
    } else if has_nul(uri.path()) || uri.query().is_some_and(has_nul) {
        Some(ApiError::BadRequest(
            "NUL (%00) is not allowed in a URL's path or query".into(),
        ))
    } else {
        None
    };
    match refusal {
        Some(err) => {
            let (req, _) = req.into_parts();
            Ok(
                ServiceResponse::new(req, actix_web::ResponseError::error_response(&err))
                    .map_into_right_body(),
            )
        }
        None => Ok(next.call(req).await?.map_into_left_body()),
    }
}

/// Whether a still percent-encoded URL part decodes to a NUL.
fn has_nul(part: &str) -> bool {
    part.as_bytes().windows(3).any(|w| w == b"%00") || part.contains('\0')
}

/// Gives every error answer a problem+json body (status and headers kept).
pub async fn problem_bodies(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody, BoxBody>>, Error> {
    let res = match next.call(req).await {
        Ok(res) => res,
        // An error that escaped as `Err` is rendered by the dispatcher from its `error_response`:
        // give it one that is a problem.
        Err(err) => {
            let res = err.error_response();
            let status = res.status();
            if status.as_u16() < 400 || is_problem(&res) {
                return Err(err);
            }
            let detail = if status.is_server_error() {
                default_detail(status).to_owned()
            } else {
                err.to_string()
            };
            let problem = HttpResponse::build(status)
                .insert_header((header::CONTENT_TYPE, PROBLEM_JSON))
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .body(crate::http::wire::problem_json(status, &detail));
            return Err(actix_web::error::InternalError::from_response(err, problem).into());
        }
    };
    if res.status().as_u16() < 400 || is_problem(res.response()) {
        return Ok(res.map_into_left_body());
    }
    let (req, res) = res.into_parts();
    let res = as_problem(res.map_into_boxed_body()).await;
    Ok(ServiceResponse::new(req, res).map_into_right_body())
}

fn is_problem<B>(res: &HttpResponse<B>) -> bool {
    res.headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()))
}

/// The same answer with a problem body, unless it already is one or is not an error.
async fn as_problem(res: HttpResponse<BoxBody>) -> HttpResponse<BoxBody> {
    let status = res.status();
    if status.as_u16() < 400 || is_problem(&res) {
        return res;
    }
    let (mut head, body) = res.into_parts();
    // Keep a short plain-text reason as the detail (actix's errors say what went wrong).
    let text = actix_web::body::to_bytes_limited(body, 1024)
        .await
        .ok()
        .and_then(Result::ok)
        .and_then(|b| String::from_utf8(b.to_vec()).ok())
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty() && !t.starts_with('<') && !t.starts_with('{'));
    let detail = text.unwrap_or_else(|| default_detail(status).to_owned());
    let headers = head.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.remove(header::CONTENT_LENGTH);
    head.set_body(BoxBody::new(crate::http::wire::problem_json(status, &detail)))
}

fn default_detail(status: StatusCode) -> &'static str {
    match status.as_u16() {
        413 => "The request body is too large.",
        500..=599 => "An unexpected error occurred; it has been logged.",
        _ => status.canonical_reason().unwrap_or("The request failed."),
    }
}
