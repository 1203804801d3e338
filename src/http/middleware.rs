//! Response headers every answer carries (request id, security headers, `no-store` on the
//! editorial API) and the request counters behind `/metrics`.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

use actix_web::Error;
use actix_web::HttpMessage;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web;
use tracing_actix_web::RequestId;

/// Counts requests by method and status, and their total duration.
#[derive(Default)]
pub struct Metrics {
    counts: Mutex<BTreeMap<(String, u16), (u64, f64)>>,
}

impl Metrics {
    fn record(&self, method: &str, status: u16, seconds: f64) {
        if let Ok(mut counts) = self.counts.lock() {
            let entry = counts.entry((method.to_owned(), status)).or_default();
            entry.0 += 1;
            entry.1 += seconds;
        }
    }

    /// The Prometheus text exposition of the counters.
    pub fn render(&self) -> String {
        let mut out = String::from(
            "# HELP masthead_http_requests_total HTTP requests answered, by method and status.\n\
             # TYPE masthead_http_requests_total counter\n",
        );
        let counts = self.counts.lock().map(|c| c.clone()).unwrap_or_default();
        for ((method, status), (count, _)) in &counts {
            out.push_str(&format!(
                "masthead_http_requests_total{{method=\"{method}\",status=\"{status}\"}} {count}\n"
            ));
        }
        out.push_str(
            "# HELP masthead_http_request_duration_seconds_sum Time spent answering, by method and status.\n\
             # TYPE masthead_http_request_duration_seconds_sum counter\n",
        );
        for ((method, status), (_, seconds)) in &counts {
            out.push_str(&format!(
                "masthead_http_request_duration_seconds_sum{{method=\"{method}\",status=\"{status}\"}} {seconds:.6}\n"
            ));
        }
        out.push_str(&format!(
            "# HELP masthead_build_info Version of the running server.\n# TYPE masthead_build_info gauge\nmasthead_build_info{{version=\"{}\"}} 1\n",
            env!("CARGO_PKG_VERSION")
        ));
        out
    }
}

const DOCS_CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'; frame-ancestors 'none'";
const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

/// Answers HEAD like GET, adds the request id, security headers and default cache policy;
/// records metrics.
pub async fn standard_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let path = req.path().to_owned();
    let method = req.method().to_string();
    // HEAD is answered as GET: the HTTP/1 codec remembers the request was HEAD and sends the
    // headers (Content-Length included) without the body.
    let mut req = req;
    if req.method() == actix_web::http::Method::HEAD {
        req.head_mut().method = actix_web::http::Method::GET;
    }
    let request_id = req.extensions().get::<RequestId>().map(|id| id.to_string());
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();

    let mut res = next.call(req).await?;

    let headers = res.headers_mut();
    if let Some(id) = request_id.and_then(|id| HeaderValue::from_str(&id).ok()) {
        headers.insert(HeaderName::from_static("x-request-id"), id);
    }
    let set_default =
        |headers: &mut actix_web::http::header::HeaderMap, name: HeaderName, value: &'static str| {
            if !headers.contains_key(&name) {
                headers.insert(name, HeaderValue::from_static(value));
            }
        };
    set_default(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set_default(headers, header::X_FRAME_OPTIONS, "DENY");
    set_default(
        headers,
        header::REFERRER_POLICY,
        "strict-origin-when-cross-origin",
    );
    set_default(
        headers,
        header::CONTENT_SECURITY_POLICY,
        if path.starts_with("/docs") {
            DOCS_CSP
        } else {
            API_CSP
        },
    );
    if path.starts_with("/api/v1/admin") || path.starts_with("/api/v1/auth") {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }

    if let Some(metrics) = metrics {
        metrics.record(&method, res.status().as_u16(), started.elapsed().as_secs_f64());
    }
    Ok(res)
}
