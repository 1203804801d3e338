//! The ceiling of the read-path benchmark (`scripts/bench`): a bare actix-web server that answers
//! each captured request with the exact status, headers and body Masthead sent for it, from
//! memory, with no database, middleware or logging. What Masthead reaches is reported as a
//! fraction of what this server reaches on the same machine in the same run.
//!
//! `cargo run --release --example ceiling -- PORT DIR`, where `DIR` holds, for each captured
//! response `N`: `N.path` (path and query), `N.headers` (as `curl -D` wrote them) and `N.body`.
//! A request whose `If-None-Match` names the captured `ETag` gets a 304 with the same headers and
//! no body, as Masthead answers it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::path::Path;

use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};

/// One captured response.
struct Captured {
    headers: Vec<(HeaderName, HeaderValue)>,
    etag: Option<String>,
    body: web::Bytes,
}

fn load(dir: &Path) -> HashMap<String, Captured> {
    let mut out = HashMap::new();
    for entry in std::fs::read_dir(dir).expect("capture directory") {
        let path = entry.expect("directory entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("path") {
            continue;
        }
        let request = std::fs::read_to_string(&path)
            .expect("path file")
            .trim()
            .to_owned();
        let raw = std::fs::read_to_string(path.with_extension("headers")).expect("headers file");
        let body = std::fs::read(path.with_extension("body")).expect("body file");
        let mut headers = Vec::new();
        let mut etag = None;
        // curl -D writes the status line first; every later line is `name: value`.
        for line in raw.lines().skip(1) {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let name = name.trim().to_ascii_lowercase();
            let value = value.trim();
            // Length and framing are the server's own business; the date is set per response.
            if matches!(
                name.as_str(),
                "content-length" | "date" | "connection" | "transfer-encoding"
            ) {
                continue;
            }
            if name == "etag" {
                etag = Some(value.to_owned());
            }
            headers.push((
                HeaderName::from_bytes(name.as_bytes()).expect("header name"),
                HeaderValue::from_str(value).expect("header value"),
            ));
        }
        out.insert(
            request,
            Captured {
                headers,
                etag,
                body: web::Bytes::from(body),
            },
        );
    }
    out
}

async fn answer(req: HttpRequest, captured: web::Data<HashMap<String, Captured>>) -> HttpResponse {
    let key = match req.uri().query() {
        Some(q) => format!("{}?{q}", req.path()),
        None => req.path().to_owned(),
    };
    let Some(c) = captured.get(&key) else {
        return HttpResponse::NotFound().finish();
    };
    let not_modified = match (&c.etag, req.headers().get("if-none-match")) {
        (Some(etag), Some(sent)) => sent.as_bytes() == etag.as_bytes(),
        _ => false,
    };
    let mut res = HttpResponse::build(if not_modified {
        StatusCode::NOT_MODIFIED
    } else {
        StatusCode::OK
    });
    for (name, value) in &c.headers {
        res.append_header((name.clone(), value.clone()));
    }
    if not_modified {
        res.finish()
    } else {
        res.body(c.body.clone())
    }
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let port: u16 = args.next().and_then(|p| p.parse().ok()).unwrap_or(18099);
    let dir = args.next().unwrap_or_else(|| ".".into());
    let captured = web::Data::new(load(Path::new(&dir)));
    eprintln!(
        "ceiling: {} captured responses on 127.0.0.1:{port}",
        captured.len()
    );
    HttpServer::new(move || {
        App::new()
            .app_data(captured.clone())
            .default_service(web::to(answer))
    })
    .bind(("127.0.0.1", port))?
    .run()
    .await
}
