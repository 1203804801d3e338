//! The ground every feature stands on: health, errors for unknown routes, start-up failures,
//! the docs UI, headers, and the committed OpenAPI document.

use actix_web::http::Method;
use masthead::config::Settings;
use masthead::startup::Application;

use crate::helpers::TestApp;

#[actix_web::test]
async fn healthz_answers_ok_with_security_headers_and_a_request_id() {
    let app = TestApp::spawn().await;
    let res = app.get("/healthz").await;
    res.assert_status(200);
    assert_eq!(res.json()["status"], "ok");
    assert_eq!(res.header("x-content-type-options").as_deref(), Some("nosniff"));
    assert_eq!(res.header("x-frame-options").as_deref(), Some("DENY"));
    assert!(res.header("content-security-policy").is_some());
    assert_eq!(res.header("x-request-id").map(|id| id.len()), Some(36));
}

#[actix_web::test]
async fn readyz_is_200_while_the_database_answers() {
    let app = TestApp::spawn().await;
    let res = app.get("/readyz").await;
    res.assert_status(200);
    assert_eq!(res.json()["status"], "ready");
}

#[actix_web::test]
async fn readyz_is_a_503_problem_while_the_database_is_gone() {
    let app = TestApp::spawn().await;
    app.get("/readyz").await.assert_status(200);
    match (app.postgres(), app.sqlite_path()) {
        (Some(pg), _) => pg.drop_now(),
        (None, Some(path)) => {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
        }
        (None, None) => unreachable!("a test database is SQLite or PostgreSQL"),
    }
    let body = app.get("/readyz").await.assert_problem(503);
    assert!(body["detail"].as_str().unwrap().contains("database"), "{body}");
}

#[actix_web::test]
async fn unknown_route_is_a_404_problem() {
    let app = TestApp::spawn().await;
    let body = app.get("/api/v1/no-such-thing").await.assert_problem(404);
    assert_eq!(body["type"], "/problems/not-found");
}

#[actix_web::test]
async fn wrong_method_is_a_405_problem_naming_the_allowed_methods() {
    let app = TestApp::spawn().await;
    let res = app.request(Method::DELETE, "/healthz").send().await;
    res.assert_problem(405);
    assert_eq!(res.header("allow").as_deref(), Some("GET, HEAD"));
}

#[actix_web::test]
async fn docs_ui_is_served_from_the_binary() {
    let app = TestApp::spawn().await;
    let redirect = app.get("/docs").await;
    assert_eq!(redirect.status, 301);
    assert_eq!(redirect.header("location").as_deref(), Some("/docs/"));
    let page = app.get("/docs/").await;
    page.assert_status(200);
    assert!(page.text().contains("swagger-ui"), "the Swagger UI page");
    let bundle = app.get("/docs/swagger-ui-bundle.js").await;
    bundle.assert_status(200);
    assert!(
        bundle.body.len() > 100_000,
        "the UI's script is vendored, not fetched from a CDN"
    );
    let config = app.get("/docs/swagger-initializer.js").await;
    config.assert_status(200);
    assert!(config.text().contains("/openapi.json"));
}

#[actix_web::test]
async fn openapi_json_is_served_exactly_as_committed() {
    let app = TestApp::spawn().await;
    let res = app.get("/openapi.json").await;
    res.assert_status(200);
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json"))
        .expect("openapi/openapi.json is committed");
    assert!(
        res.text() == committed,
        "openapi/openapi.json is stale: regenerate it with `cargo run -- openapi > openapi/openapi.json`"
    );
    assert!(res.json()["components"]["schemas"]["Problem"].is_object());
}

#[actix_web::test]
async fn cors_allows_configured_origins_only() {
    let app = TestApp::spawn_with(|s| s.cors_origins = vec!["https://www.example.com".into()]).await;
    let allowed = app
        .request(Method::OPTIONS, "/healthz")
        .header("Origin", "https://www.example.com")
        .header("Access-Control-Request-Method", "GET")
        .send()
        .await;
    allowed.assert_status(200);
    assert_eq!(
        allowed.header("access-control-allow-origin").as_deref(),
        Some("https://www.example.com")
    );
    let other = app
        .request(Method::GET, "/healthz")
        .header("Origin", "https://evil.example.net")
        .send()
        .await;
    assert!(other.header("access-control-allow-origin").is_none());
}

#[actix_web::test]
async fn metrics_are_prometheus_text() {
    let app = TestApp::spawn().await;
    app.get("/healthz").await.assert_status(200);
    let res = app.get("/metrics").await;
    res.assert_status(200);
    assert!(
        res.text()
            .contains("masthead_http_requests_total{method=\"GET\",status=\"200\"}")
    );
}

fn start_error(database_url: &str) -> String {
    let settings = Settings::for_tests(database_url, std::env::temp_dir());
    match Application::build(settings) {
        Ok(_) => panic!("start-up with {database_url} must fail"),
        Err(e) => format!("{e:#}"),
    }
}

#[actix_web::test]
async fn sqlite_file_in_a_missing_directory_is_a_clear_start_up_error() {
    let err = start_error("sqlite:///nonexistent-dir-for-masthead/masthead.db");
    assert!(
        err.contains("directory /nonexistent-dir-for-masthead does not exist"),
        "{err}"
    );
}

#[actix_web::test]
async fn sqlite_file_in_a_read_only_location_is_a_clear_start_up_error() {
    // /proc refuses new files even to root, unlike a chmod-ed directory.
    let err = start_error("sqlite:///proc/masthead.db");
    assert!(err.contains("cannot open SQLite file /proc/masthead.db"), "{err}");
}

#[actix_web::test]
async fn postgres_down_is_a_clear_start_up_error() {
    let err = start_error("postgres://masthead@127.0.0.1:1/masthead");
    assert!(
        err.starts_with("cannot open PostgreSQL postgres://masthead@127.0.0.1:1/masthead"),
        "{err}"
    );
    assert!(!err.contains('\n'), "one line: {err}");
}

fn run_cli(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_masthead"));
    cmd.args(args).env_clear().current_dir(std::env::temp_dir());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run masthead")
}

#[test]
fn cli_refuses_production_without_a_strong_secret() {
    let out = run_cli(
        &["serve"],
        &[("MASTHEAD_ENV", "production"), ("MASTHEAD_JWT_SECRET", "short")],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("MASTHEAD_JWT_SECRET"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn cli_reports_an_unreachable_database_in_one_line_and_fails() {
    let out = run_cli(
        &["migrate"],
        &[("MASTHEAD_DATABASE_URL", "postgres://masthead@127.0.0.1:1/x")],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr
        .lines()
        .find(|l| l.starts_with("masthead:"))
        .unwrap_or_default();
    assert!(line.contains("cannot open PostgreSQL"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn cli_migrate_creates_a_sqlite_database() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("m.db").display());
    let out = run_cli(&["migrate"], &[("MASTHEAD_DATABASE_URL", &url)]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("applied"));
    let again = run_cli(&["migrate"], &[("MASTHEAD_DATABASE_URL", &url)]);
    assert!(String::from_utf8_lossy(&again.stdout).contains("up to date"));
}

#[test]
fn cli_prints_the_openapi_document() {
    let out = run_cli(&["openapi"], &[]);
    assert!(out.status.success());
    let spec: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert!(spec["openapi"].as_str().unwrap().starts_with("3."));
}

#[test]
fn cli_user_create_reads_the_password_from_the_environment_and_refuses_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("u.db").display());
    let create = |email: &str, role: &str, password: &str| {
        run_cli(
            &[
                "user",
                "create",
                "--email",
                email,
                "--name",
                "Desk Editor",
                "--role",
                role,
            ],
            &[
                ("MASTHEAD_DATABASE_URL", &url),
                ("MASTHEAD_PASSWORD", password),
                ("MASTHEAD_ARGON2_MEMORY_KIB", "256"),
            ],
        )
    };
    let ok = create("desk@news.example.com", "editor", "a long enough password");
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    assert!(String::from_utf8_lossy(&ok.stdout).contains("created editor desk@news.example.com"));

    let dup = create("DESK@news.example.com", "editor", "a long enough password");
    assert!(!dup.status.success());
    assert!(String::from_utf8_lossy(&dup.stderr).contains("already exists"));

    let short = create("other@news.example.com", "editor", "short");
    assert!(!short.status.success());
    assert!(String::from_utf8_lossy(&short.stderr).contains("password: must be at least 12 characters"));

    let role = create("other@news.example.com", "chief", "a long enough password");
    assert!(String::from_utf8_lossy(&role.stderr).contains("role: must be"));
}

#[actix_web::test]
async fn head_is_answered_like_get_without_a_body() {
    let app = TestApp::spawn().await;
    let get = app.get("/api/v1/tags").await;
    let head = app.request(Method::HEAD, "/api/v1/tags").send().await;
    head.assert_status(200);
    assert!(head.body.is_empty());
    assert_eq!(head.header("etag"), get.header("etag"));
    assert_eq!(head.header("content-length"), Some(get.body.len().to_string()));
}

#[test]
fn migrations_have_unique_versions_and_come_in_pairs() {
    // diesel keys a migration by the part of its folder name before the first `_`: two folders
    // with one version would silently apply only one of them.
    let names = |backend: &str| -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(format!("migrations/{backend}"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let (sqlite, postgres) = (names("sqlite"), names("postgres"));
    assert_eq!(sqlite, postgres, "every migration exists for both backends");
    let mut versions: Vec<&str> = sqlite.iter().map(|n| n.split('_').next().unwrap()).collect();
    versions.dedup();
    assert_eq!(
        versions.len(),
        sqlite.len(),
        "two migrations share a version: {sqlite:?}"
    );
}
