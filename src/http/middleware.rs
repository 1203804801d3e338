//! Response headers every answer carries (request id, security headers, `no-store` on the
//! editorial API) and the request counters behind `/metrics`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use actix_web::Error;
use actix_web::HttpMessage;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web;
use tracing_actix_web::RequestId;

/// Counts requests by method and status, and their total duration: one atomic counter per
/// (method, status) pair, so counting takes no lock and allocates nothing on the request path.
pub struct Metrics {
    counts: Vec<AtomicU64>,
    micros: Vec<AtomicU64>,
}

/// The methods counted by name; anything else is counted as `OTHER`.
const METHODS: [&str; 8] = [
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "OTHER",
];
/// Statuses 100–599, one slot each.
const STATUSES: usize = 500;

impl Default for Metrics {
    fn default() -> Self {
        let slots = METHODS.len() * STATUSES;
        Metrics {
            counts: (0..slots).map(|_| AtomicU64::new(0)).collect(),
            micros: (0..slots).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

impl Metrics {
    fn slot(method: &actix_web::http::Method, status: u16) -> Option<usize> {
        let m = METHODS
            .iter()
            .position(|name| *name == method.as_str())
            .unwrap_or(METHODS.len() - 1);
        let s = usize::from(status).checked_sub(100).filter(|s| *s < STATUSES)?;
        Some(m * STATUSES + s)
    }

    fn record(&self, method: &actix_web::http::Method, status: u16, elapsed: std::time::Duration) {
        if let Some(slot) = Self::slot(method, status) {
            self.counts[slot].fetch_add(1, Ordering::Relaxed);
            let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
            self.micros[slot].fetch_add(micros, Ordering::Relaxed);
        }
    }

    /// (method, status, count, seconds) of every pair seen, in order.
    fn seen(&self) -> impl Iterator<Item = (&'static str, usize, u64, f64)> + '_ {
        self.counts.iter().enumerate().filter_map(|(slot, count)| {
            let count = count.load(Ordering::Relaxed);
            (count > 0).then(|| {
                let seconds = self.micros[slot].load(Ordering::Relaxed) as f64 / 1e6;
                (METHODS[slot / STATUSES], slot % STATUSES + 100, count, seconds)
            })
        })
    }

    /// The Prometheus text exposition of the counters.
    pub fn render(&self) -> String {
        let mut out = String::from(
            "# HELP masthead_http_requests_total HTTP requests answered, by method and status.\n\
             # TYPE masthead_http_requests_total counter\n",
        );
        for (method, status, count, _) in self.seen() {
            out.push_str(&format!(
                "masthead_http_requests_total{{method=\"{method}\",status=\"{status}\"}} {count}\n"
            ));
        }
        out.push_str(
            "# HELP masthead_http_request_duration_seconds_sum Time spent answering, by method and status.\n\
             # TYPE masthead_http_request_duration_seconds_sum counter\n",
        );
        for (method, status, _, seconds) in self.seen() {
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
    let method = req.method().clone();
    let section = Section::of(req.path());
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
        if section == Section::Docs {
            DOCS_CSP
        } else {
            API_CSP
        },
    );
    if section == Section::Editorial {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }

    if let Some(metrics) = metrics {
        metrics.record(&method, res.status().as_u16(), started.elapsed());
    }
    Ok(res)
}

/// Which part of the server a path is in, for the headers that differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    Docs,
    /// The editorial and authentication API: never cached.
    Editorial,
    Other,
}

impl Section {
    fn of(path: &str) -> Section {
        if path.starts_with("/docs") {
            Section::Docs
        } else if path.starts_with("/api/v1/admin") || path.starts_with("/api/v1/auth") {
            Section::Editorial
        } else {
            Section::Other
        }
    }
}

/// The span each request runs in: method, path, request id and, at the end, the status. Lean on
/// purpose (tracing-actix-web's default records a dozen fields, re-matches the route and parses
/// the connection info on every request, which cost a measurable share of a cached answer); the
/// request id is what ties a request's log lines together, and it is sent back as X-Request-Id.
pub struct RequestSpan;

impl tracing_actix_web::RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> tracing::Span {
        let request_id = request.extensions().get::<RequestId>().copied();
        tracing::info_span!(
            "request",
            method = %request.method(),
            path = %request.path(),
            request_id = tracing::field::display(request_id.map(|id| id.to_string()).unwrap_or_default()),
            status = tracing::field::Empty,
        )
    }

    fn on_request_end<B: MessageBody>(span: tracing::Span, outcome: &Result<ServiceResponse<B>, Error>) {
        let status = match outcome {
            Ok(response) => response.status(),
            Err(error) => error.as_response_error().status_code(),
        };
        span.record("status", status.as_u16());
    }
}
