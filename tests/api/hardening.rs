//! Hardening (issue #19, items 3–8): API keys bound to their creator, bounded arrays in writes,
//! problem+json for every error including the HTTP/1 codec's own, WHATWG URLs, the bootstrap
//! admin after `masthead demo`, and PostgreSQL over TLS.
//!
//! Past 600 lines on purpose: one short group of tests per item of the issue, with the raw-TCP
//! helpers the codec's own answers need; the image items live in `image_memory.rs`, the old
//! originals in `restrip.rs`.

use std::io::{Read, Write};
use std::time::Duration;

use actix_web::http::Method;
use serde_json::{Value, json};

use crate::articles::fields;
use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp, TestResponse, postgres_admin_url};

// ---------------------------------------------------------------------------------------------
// 3. API keys act with the lesser of their role and their creator's current role.

/// A second admin and an admin-role API key that admin created: (admin id, key secret, key id).
async fn admin_with_key(app: &TestApp) -> (String, String, String) {
    let (admin_id, admin_token) = app.user_with_role("admin").await;
    let res = app
        .post(
            "/api/v1/admin/api-keys",
            &json!({"name": "Integration", "role": "admin"}),
        )
        .bearer(&admin_token)
        .send()
        .await;
    res.assert_status(201);
    let key = res.json();
    (
        admin_id,
        key["secret"].as_str().unwrap().to_owned(),
        key["id"].as_str().unwrap().to_owned(),
    )
}

async fn as_key(app: &TestApp, key: &str, method: Method, path: &str, body: Option<Value>) -> TestResponse {
    let req = app.request(method, path).bearer(key);
    match body {
        Some(body) => req.json(&body).send().await,
        None => req.send().await,
    }
}

#[actix_web::test]
async fn an_api_key_stops_working_while_its_creator_is_disabled_and_cannot_re_enable_them() {
    let app = TestApp::spawn().await;
    let root = app.admin_token().await;
    let (admin_id, key, _) = admin_with_key(&app).await;
    as_key(&app, &key, Method::GET, "/api/v1/admin/users", None)
        .await
        .assert_status(200);

    app.patch(
        &format!("/api/v1/admin/users/{admin_id}"),
        &json!({"disabled": true}),
    )
    .bearer(&root)
    .send()
    .await
    .assert_status(200);
    let refused = as_key(&app, &key, Method::GET, "/api/v1/admin/users", None).await;
    assert!(
        refused.assert_problem(401)["detail"]
            .as_str()
            .unwrap()
            .contains("disabled")
    );
    // The key of a disabled admin can neither re-enable the account nor make new admins.
    as_key(
        &app,
        &key,
        Method::PATCH,
        &format!("/api/v1/admin/users/{admin_id}"),
        Some(json!({"disabled": false})),
    )
    .await
    .assert_problem(401);
    as_key(
        &app,
        &key,
        Method::POST,
        "/api/v1/admin/users",
        Some(
            json!({"email": "mallory@news.example.com", "display_name": "M", "role": "admin",
                    "password": "a long enough password"}),
        ),
    )
    .await
    .assert_problem(401);
    let user = app
        .request(Method::GET, &format!("/api/v1/admin/users/{admin_id}"))
        .bearer(&root)
        .send()
        .await;
    assert_eq!(user.json()["disabled"], true);

    // Enabled again by another admin, the key works again (it follows the creator's state).
    app.patch(
        &format!("/api/v1/admin/users/{admin_id}"),
        &json!({"disabled": false}),
    )
    .bearer(&root)
    .send()
    .await
    .assert_status(200);
    as_key(&app, &key, Method::GET, "/api/v1/admin/users", None)
        .await
        .assert_status(200);
}

#[actix_web::test]
async fn an_api_key_acts_with_the_lesser_of_its_role_and_its_creators_current_role() {
    let app = TestApp::spawn().await;
    let root = app.admin_token().await;
    let (admin_id, key, _) = admin_with_key(&app).await;
    app.patch(
        &format!("/api/v1/admin/users/{admin_id}"),
        &json!({"role": "editor"}),
    )
    .bearer(&root)
    .send()
    .await
    .assert_status(200);

    let me = as_key(&app, &key, Method::GET, "/api/v1/auth/me", None).await;
    me.assert_status(200);
    assert_eq!(me.json()["role"], "editor", "{}", me.text());
    as_key(&app, &key, Method::GET, "/api/v1/admin/users", None)
        .await
        .assert_problem(403);
    as_key(
        &app,
        &key,
        Method::POST,
        "/api/v1/admin/users",
        Some(
            json!({"email": "new.admin@news.example.com", "display_name": "N", "role": "admin",
                    "password": "a long enough password"}),
        ),
    )
    .await
    .assert_problem(403);
    // Editor work still goes through.
    as_key(&app, &key, Method::GET, "/api/v1/admin/articles", None)
        .await
        .assert_status(200);

    // A key never outranks its own role either: an editor key of an admin stays an editor.
    let res = app
        .post(
            "/api/v1/admin/api-keys",
            &json!({"name": "Low", "role": "author"}),
        )
        .bearer(&root)
        .send()
        .await;
    let low = res.json()["secret"].as_str().unwrap().to_owned();
    let me = as_key(&app, &low, Method::GET, "/api/v1/auth/me", None).await;
    assert_eq!(me.json()["role"], "author");
}

#[actix_web::test]
async fn deleting_a_user_revokes_their_api_keys() {
    let app = TestApp::spawn().await;
    let root = app.admin_token().await;
    let (admin_id, key, key_id) = admin_with_key(&app).await;
    app.request(Method::DELETE, &format!("/api/v1/admin/users/{admin_id}"))
        .bearer(&root)
        .send()
        .await
        .assert_status(204);

    as_key(&app, &key, Method::GET, "/api/v1/admin/users", None)
        .await
        .assert_problem(401);
    let keys = app
        .request(Method::GET, "/api/v1/admin/api-keys")
        .bearer(&root)
        .send()
        .await
        .json();
    let listed = keys["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == key_id.as_str())
        .expect("the key is still listed")
        .clone();
    assert!(listed["revoked_at"].is_string(), "{listed}");
}

// ---------------------------------------------------------------------------------------------
// 4. Arrays in writes are bounded in the spec and by the server.

async fn new_article(app: &TestApp, token: &str, extra: Value) -> TestResponse {
    let mut body = json!({"headline": "Bounds"});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    app.post("/api/v1/admin/articles", &body)
        .bearer(token)
        .send()
        .await
}

#[actix_web::test]
async fn tags_and_authors_arrays_of_16384_entries_are_422_not_500() {
    let app = TestApp::spawn().await;
    let token = app.admin_token().await;
    let many: Vec<String> = (0..16_384).map(|i| format!("t{i}")).collect();

    let res = new_article(&app, &token, json!({"tags": many})).await;
    assert_eq!(fields(&res.assert_problem(422)), ["tags"]);
    let res = new_article(&app, &token, json!({"authors": many})).await;
    assert_eq!(fields(&res.assert_problem(422)), ["authors"]);

    // PATCH is bounded the same way.
    let created = new_article(&app, &token, json!({})).await;
    created.assert_status(201);
    let id = created.json()["id"].as_str().unwrap().to_owned();
    let res = app
        .patch(&format!("/api/v1/admin/articles/{id}"), &json!({"tags": many}))
        .bearer(&token)
        .send()
        .await;
    assert_eq!(fields(&res.assert_problem(422)), ["tags"]);
}

#[actix_web::test]
async fn arrays_at_their_limit_are_checked_normally_and_one_more_is_refused() {
    let app = TestApp::spawn().await;
    let token = app.admin_token().await;
    // 50 tags and 20 authors are within bounds: each unknown one is reported by position.
    let tags: Vec<String> = (0..50).map(|i| format!("no-such-tag-{i}")).collect();
    let res = new_article(&app, &token, json!({"tags": tags})).await;
    let tag_fields = fields(&res.assert_problem(422));
    assert_eq!(tag_fields.len(), 50);
    assert_eq!(tag_fields[49], "tags[49]");
    let authors: Vec<String> = (0..20).map(|i| format!("no-such-user-{i}")).collect();
    let res = new_article(&app, &token, json!({"authors": authors})).await;
    assert_eq!(fields(&res.assert_problem(422)).len(), 20);
    let authors: Vec<String> = (0..21).map(|i| format!("no-such-user-{i}")).collect();
    let res = new_article(&app, &token, json!({"authors": authors})).await;
    assert_eq!(fields(&res.assert_problem(422)), ["authors"]);
    let tags: Vec<String> = (0..51).map(|i| format!("no-such-tag-{i}")).collect();
    let res = new_article(&app, &token, json!({"tags": tags})).await;
    assert_eq!(fields(&res.assert_problem(422)), ["tags"]);

    // Body: 1 000 blocks are fine, 1 001 are not; a list holds at most 500 items.
    let blocks = vec![json!({"type": "divider"}); 1000];
    new_article(&app, &token, json!({"body": blocks}))
        .await
        .assert_status(201);
    let blocks = vec![json!({"type": "divider"}); 1001];
    let res = new_article(&app, &token, json!({"body": blocks})).await;
    assert_eq!(fields(&res.assert_problem(422)), ["body"]);
    let items = vec!["item"; 501];
    let res = new_article(&app, &token, json!({"body": [{"type": "list", "items": items}]})).await;
    assert_eq!(fields(&res.assert_problem(422)), ["body[0].items"]);
    let items = vec!["item"; 500];
    new_article(&app, &token, json!({"body": [{"type": "list", "items": items}]}))
        .await
        .assert_status(201);

    // Site social accounts: at most 50.
    let social: serde_json::Map<String, Value> = (0..51).map(|i| (format!("net{i}"), json!("@x"))).collect();
    let res = app
        .patch("/api/v1/admin/site", &json!({"social": social}))
        .bearer(&token)
        .send()
        .await;
    assert_eq!(fields(&res.assert_problem(422)), ["social"]);
}

#[actix_web::test]
async fn the_spec_states_every_array_bound_the_server_enforces() {
    let app = TestApp::spawn().await;
    let spec = app.get("/openapi.json").await.json();
    let input = &spec["components"]["schemas"]["ArticleInput"]["properties"];
    assert_eq!(input["tags"]["maxItems"], 50, "{}", input["tags"]);
    assert_eq!(input["authors"]["maxItems"], 20, "{}", input["authors"]);
    assert_eq!(input["body"]["maxItems"], 1000, "{}", input["body"]);
    let text = spec.to_string();
    assert!(text.contains("\"maxItems\":500"), "list items are bounded");
    assert!(
        text.contains("\"maxProperties\":50"),
        "social accounts are bounded"
    );
}

// ---------------------------------------------------------------------------------------------
// 5. Every error is problem+json, including those made before a handler runs.

/// Sends raw bytes and reads the whole answer: (status, lowercased head, body). Blocking I/O on
/// another thread, so the test's runtime keeps serving.
/// Everything the server sends back on a connection that sent `request`, until it closes.
async fn raw_bytes(app: &TestApp, request: &[u8]) -> String {
    let address = app.address.trim_start_matches("http://").to_owned();
    let request = request.to_vec();
    let answer = actix_web::rt::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(address).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        stream.write_all(&request).expect("send");
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        answer
    })
    .await
    .expect("raw request thread");
    String::from_utf8_lossy(&answer).into_owned()
}

async fn raw_request(app: &TestApp, request: &[u8]) -> (u16, String, String) {
    let answer = raw_bytes(app, request).await;
    let (head, body) = answer
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no response head: {answer:?}"));
    let status = head[9..12].parse().expect("status");
    (status, head.to_ascii_lowercase(), body.to_owned())
}

#[track_caller]
fn assert_raw_problem(answer: &(u16, String, String), status: u16) -> Value {
    let (got, head, body) = answer;
    assert_eq!(*got, status, "{head}\n{body}");
    assert!(head.contains("content-type: application/problem+json"), "{head}");
    let problem: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"));
    assert_eq!(problem["status"], status);
    assert!(problem["title"].is_string() && problem["detail"].is_string() && problem["type"].is_string());
    problem
}

/// The answers on one connection, split by their `content-length` (answers to `HEAD`, by the
/// request's place in `heads`, have no body): (status, head in lower case, body).
fn split_answers(raw: &str, heads: &[usize]) -> Vec<(u16, String, String)> {
    let mut answers = Vec::new();
    let mut rest = raw;
    while !rest.is_empty() {
        let (head, after) = rest
            .split_once("\r\n\r\n")
            .unwrap_or_else(|| panic!("no response head in {rest:?}"));
        let head = head.to_ascii_lowercase();
        let length = if heads.contains(&answers.len()) {
            0
        } else {
            head.lines()
                .find_map(|l| l.strip_prefix("content-length: "))
                .unwrap_or_else(|| panic!("no content-length in {head}"))
                .parse()
                .expect("length")
        };
        answers.push((
            head[9..12].parse().expect("status"),
            head.clone(),
            after[..length].to_owned(),
        ));
        rest = &after[length..];
    }
    answers
}

#[actix_web::test]
async fn a_malformed_request_pipelined_behind_good_ones_gets_a_problem() {
    let app = TestApp::spawn().await;
    // Four requests in one packet: the codec answers the last one itself, and its answer may
    // leave in one write with the answers before it.
    let raw = raw_bytes(
        &app,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n\
          HEAD /api/v1/articles HTTP/1.1\r\nHost: x\r\n\r\n\
          GET /api/v1/articles HTTP/1.1\r\nHost: x\r\n\r\n\
          GET /he llo\x01 HTTP/1.1\r\nHost: x\r\n\r\n",
    )
    .await;
    let answers = split_answers(&raw, &[1]);
    assert_eq!(
        answers.iter().map(|a| a.0).collect::<Vec<_>>(),
        [200, 200, 200, 400],
        "{raw}"
    );
    // The answer to HEAD keeps the length of the body it does not carry, and no private mark.
    assert!(!answers[1].1.contains("content-length: 0\r\n"), "{raw}");
    assert!(!raw.to_ascii_lowercase().contains("x-masthead-wire"), "{raw}");
    assert_eq!(
        answers[2].2.len(),
        answers[2]
            .1
            .lines()
            .find_map(|l| l.strip_prefix("content-length: "))
            .and_then(|l| l.parse().ok())
            .unwrap_or(0)
    );
    assert_raw_problem(&answers[3], 400);
    // The case as the issue has it: two answers and the codec's, with no HEAD involved.
    let raw = raw_bytes(
        &app,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n\
          GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n\
          GET /he llo\x01 HTTP/1.1\r\nHost: x\r\n\r\n",
    )
    .await;
    let answers = split_answers(&raw, &[]);
    assert_eq!(
        answers.iter().map(|a| a.0).collect::<Vec<_>>(),
        [200, 200, 400],
        "{raw}"
    );
    assert_raw_problem(&answers[2], 400);
}

#[actix_web::test]
async fn an_80_kb_uri_gets_a_problem_not_an_empty_400() {
    let app = TestApp::spawn().await;
    let request = format!(
        "GET /api/v1/articles?q={} HTTP/1.1\r\nHost: localhost\r\n\r\n",
        "a".repeat(80 * 1024)
    );
    let answer = raw_request(&app, request.as_bytes()).await;
    assert_raw_problem(&answer, 400);
}

#[actix_web::test]
async fn too_many_header_fields_get_a_431_problem() {
    let app = TestApp::spawn().await;
    let mut request = String::from("GET /api/v1/articles HTTP/1.1\r\nHost: localhost\r\n");
    for i in 0..120 {
        request.push_str(&format!("X-Filler-{i}: {i}\r\n"));
    }
    request.push_str("\r\n");
    let answer = raw_request(&app, request.as_bytes()).await;
    assert_raw_problem(&answer, 431);
}

#[actix_web::test]
async fn a_request_head_over_128_kib_gets_a_431_problem() {
    let app = TestApp::spawn().await;
    // Exactly the codec's buffer, never finished: all of it is read, so the answer is not lost
    // to a reset.
    let mut request = String::from("GET /api/v1/articles HTTP/1.1\r\nHost: localhost\r\nX-Big: ");
    request.push_str(&"b".repeat(131_072 - request.len()));
    let answer = raw_request(&app, request.as_bytes()).await;
    assert_raw_problem(&answer, 431);
}

#[actix_web::test]
async fn a_request_without_host_and_a_garbled_request_line_get_400_problems() {
    let app = TestApp::spawn().await;
    let answer = raw_request(&app, b"GET /healthz HTTP/1.1\r\n\r\n").await;
    assert_raw_problem(&answer, 400);
    let answer = raw_request(&app, b"GET /he llo\x01 HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert_raw_problem(&answer, 400);
    // A well-formed request on the same server is untouched.
    let answer = raw_request(
        &app,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(answer.0, 200, "{answer:?}");
}

#[actix_web::test]
async fn a_uri_over_the_configured_limit_is_a_414_problem() {
    let app = TestApp::spawn_with(|s| s.max_uri_bytes = 2048).await;
    let res = app.get(&format!("/api/v1/articles?q={}", "a".repeat(3000))).await;
    let problem = res.assert_problem(414);
    assert!(problem["detail"].as_str().unwrap().contains("2048"));
    app.get(&format!("/api/v1/articles?q={}", "a".repeat(1500)))
        .await
        .assert_status(200);
}

#[actix_web::test]
async fn nul_in_a_path_or_query_is_400_on_every_backend() {
    let app = TestApp::spawn().await;
    for path in [
        "/api/v1/articles/abc%00",
        "/api/v1/articles?q=a%00b",
        "/api/v1/tags/%00",
        "/api/v1/articles?tag=%00",
        "/media/x%00/original",
    ] {
        let res = app.get(path).await;
        let problem = res.assert_problem(400);
        assert!(
            problem["detail"].as_str().unwrap().contains("NUL"),
            "{path}: {problem}"
        );
    }
    // `%2500` is the text "%00", not a NUL.
    app.get("/api/v1/articles?q=a%2500b").await.assert_status(200);
    // The spec documents the 400 on every operation with a path parameter.
    let spec = app.get("/openapi.json").await.json();
    for (path, item) in spec["paths"].as_object().unwrap() {
        if path.contains('{') {
            for (method, op) in item.as_object().unwrap() {
                assert!(
                    op["responses"]["400"].is_object(),
                    "{method} {path} documents 400"
                );
            }
        }
    }
}

#[actix_web::test]
async fn errors_actix_answers_inside_the_app_are_problems_too() {
    let app = TestApp::spawn_with(|s| s.cors_origins = vec!["https://www.example.com".into()]).await;
    // A refused CORS preflight (actix-cors answers it in plain text).
    let res = app
        .request(Method::OPTIONS, "/api/v1/articles")
        .header("Origin", "https://evil.example")
        .header("Access-Control-Request-Method", "GET")
        .send()
        .await;
    assert!(res.status >= 400, "{}", res.status);
    res.assert_problem(res.status);
    // A body that is not UTF-8 JSON, and a wrong content type.
    let token = app.admin_token().await;
    app.request(Method::POST, "/api/v1/admin/tags")
        .bearer(&token)
        .raw("application/json", vec![0xff, 0xfe, 0x00])
        .send()
        .await
        .assert_problem(400);
    app.request(Method::POST, "/api/v1/admin/tags")
        .bearer(&token)
        .raw("text/plain", "name=x")
        .send()
        .await
        .assert_problem(415);
}

// ---------------------------------------------------------------------------------------------
// 6. URLs follow the WHATWG URL Standard (the `url` crate): any valid port, http(s) only, no
//    credentials.

#[actix_web::test]
async fn embed_and_canonical_urls_accept_any_valid_port_and_host() {
    let app = TestApp::spawn().await;
    let token = app.admin_token().await;
    for url in [
        "http://example.com:18301/x",
        "https://example.com:65535/a?b=c#d",
        "http://example.com:0/",
        "http://[::1]:8080/x",
        "http://127.0.0.1:18301",
        "https://example.com/caf%C3%A9",
    ] {
        let res = new_article(
            &app,
            &token,
            json!({"body": [{"type": "embed", "url": url}], "seo": {"canonical_url": url}}),
        )
        .await;
        res.assert_status(201);
        let article = res.json();
        assert_eq!(article["body"][0]["url"], url);
        assert_eq!(article["seo"]["canonical_url"], url);
    }
}

#[actix_web::test]
async fn urls_with_credentials_other_schemes_or_invalid_parts_are_422() {
    let app = TestApp::spawn().await;
    let token = app.admin_token().await;
    for url in [
        "http://user:secret@example.com/",
        "https://user@example.com/",
        "http://example.com:65536/",
        "ftp://example.com/",
        "javascript:alert(1)",
        "http:example.com",
        "http:\\\\example.com\\x",
        "https://exa mple.com/",
        "http://[::1/",
        "http://example.com/é",
        "",
    ] {
        let res = new_article(&app, &token, json!({"body": [{"type": "embed", "url": url}]})).await;
        let problem = res.assert_problem(422);
        assert_eq!(fields(&problem), ["body[0].url"], "{url}: {problem}");
        let res = new_article(&app, &token, json!({"seo": {"canonical_url": url}})).await;
        let problem = res.assert_problem(422);
        assert_eq!(fields(&problem), ["seo.canonical_url"], "{url}: {problem}");
    }
    let res = new_article(
        &app,
        &token,
        json!({"seo": {"canonical_url": "http://user:secret@example.com/"}}),
    )
    .await;
    let problem = res.assert_problem(422);
    assert!(
        problem["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("password"),
        "{problem}"
    );
}

// ---------------------------------------------------------------------------------------------
// 7. `masthead demo` before the first `serve` leaves the bootstrap admin working.

#[actix_web::test]
async fn the_bootstrap_admin_is_created_after_demo_content_was_loaded_first() {
    let app = TestApp::spawn_after(
        |_| {},
        |settings| {
            // What `masthead demo` does, before the server ever ran, without the bootstrap
            // variables in its environment.
            let mut demo_settings = settings.clone();
            demo_settings.bootstrap_admin_email = None;
            demo_settings.bootstrap_admin_password = None;
            let db = masthead::db::Db::open(&settings.database_url, 1).unwrap();
            db.migrate().unwrap();
            let passwords = masthead::auth::password::Passwords::new(settings.argon2_memory_kib).unwrap();
            let mut conn = db.get().unwrap();
            masthead::startup::bootstrap_admin(&demo_settings, &mut conn, &passwords).unwrap();
            let summary = masthead::demo::load(&mut conn, &passwords, &demo_settings).unwrap();
            assert!(summary.users > 0, "the demo made its users");
        },
    )
    .await;
    app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await.assert_status(200);
}

#[actix_web::test]
async fn demo_with_the_bootstrap_variables_creates_the_admin_itself() {
    let app = TestApp::spawn_after(
        |s| s.bootstrap_admin_email = Some("desk@news.example.com".into()),
        |settings| {
            let db = masthead::db::Db::open(&settings.database_url, 1).unwrap();
            db.migrate().unwrap();
            let passwords = masthead::auth::password::Passwords::new(settings.argon2_memory_kib).unwrap();
            let mut conn = db.get().unwrap();
            masthead::startup::bootstrap_admin(settings, &mut conn, &passwords).unwrap();
            masthead::demo::load(&mut conn, &passwords, settings).unwrap();
            assert_eq!(masthead::users::store::count_admins(&mut conn).unwrap(), 1);
        },
    )
    .await;
    app.login("desk@news.example.com", ADMIN_PASSWORD)
        .await
        .assert_status(200);
}

// ---------------------------------------------------------------------------------------------
// 8. PostgreSQL over TLS (libpq and OpenSSL compiled in).

/// The cluster's own certificate, when it is self-signed for `localhost` (Debian's snakeoil
/// certificate on this machine kind and in CI).
const CLUSTER_CERT: &str = "/etc/ssl/certs/ssl-cert-snakeoil.pem";

fn with_params(url: &str, params: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{params}")
}

fn ssl_in_use(url: &str) -> Result<bool, String> {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct Ssl {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        ssl: bool,
    }
    let mut conn = diesel::PgConnection::establish(url).map_err(|e| e.to_string())?;
    diesel::sql_query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .get_result::<Ssl>(&mut conn)
        .map(|r| r.ssl)
        .map_err(|e| e.to_string())
}

#[actix_web::test]
async fn the_server_runs_on_postgresql_with_sslmode_require() {
    let Some(_) = postgres_admin_url() else {
        eprintln!("SQLite run: TLS to PostgreSQL is tested when TEST_DATABASE_URL is set");
        return;
    };
    let app = TestApp::spawn_with(|s| s.database_url = with_params(&s.database_url, "sslmode=require")).await;
    assert!(app.settings.database_url.contains("sslmode=require"));
    assert_eq!(ssl_in_use(&app.settings.database_url), Ok(true));
    app.get("/readyz").await.assert_status(200);
    let token = app.admin_token().await;
    app.post("/api/v1/admin/tags", &json!({"name": "Over TLS"}))
        .bearer(&token)
        .send()
        .await
        .assert_status(201);
}

#[actix_web::test]
async fn sslmode_verify_full_checks_the_certificate_and_the_host_name() {
    let Some(admin) = postgres_admin_url() else {
        eprintln!("SQLite run: TLS to PostgreSQL is tested when TEST_DATABASE_URL is set");
        return;
    };
    if !std::path::Path::new(CLUSTER_CERT).exists() {
        eprintln!("no {CLUSTER_CERT}: verify-full needs the cluster's CA; skipped");
        return;
    }
    let mut url = url::Url::parse(&admin).unwrap();
    url.set_host(Some("localhost")).unwrap();
    let good = with_params(
        url.as_str(),
        &format!("sslmode=verify-full&sslrootcert={CLUSTER_CERT}"),
    );
    assert_eq!(ssl_in_use(&good), Ok(true), "verify-full against localhost");
    // The certificate names localhost, not 127.0.0.1: verify-full must refuse the address.
    url.set_host(Some("127.0.0.1")).unwrap();
    let wrong_name = with_params(
        url.as_str(),
        &format!("sslmode=verify-full&sslrootcert={CLUSTER_CERT}"),
    );
    let err = ssl_in_use(&wrong_name).expect_err("host name mismatch is refused");
    assert!(
        err.contains("does not match") || err.contains("certificate"),
        "{err}"
    );
    // And without a trusted CA, verify-ca refuses any certificate.
    let untrusted = with_params(&admin, "sslmode=verify-ca&sslrootcert=/dev/null");
    assert!(ssl_in_use(&untrusted).is_err());
}
