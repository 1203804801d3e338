//! The API contract as the spec states it: every operation documents the errors that shared
//! machinery (JSON extractor, auth extractor, path parsing) can raise, every error is
//! problem+json, and the rules that keep an admin from locking themselves out (which also keep
//! Schemathesis, run by scripts/contract-check.sh, from locking out its own session).

use actix_web::http::Method;
use serde_json::{Value, json};

use crate::helpers::{ADMIN_EMAIL, TestApp};

const METHODS: [&str; 5] = ["get", "put", "post", "patch", "delete"];

fn operations(spec: &Value) -> Vec<(String, String, Value)> {
    let mut ops = Vec::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for method in METHODS {
            if let Some(op) = item.get(method) {
                ops.push((path.clone(), method.to_owned(), op.clone()));
            }
        }
    }
    ops
}

#[test]
fn every_operation_documents_the_errors_shared_machinery_can_raise() {
    let spec = serde_json::to_value(masthead::startup::openapi()).unwrap();
    let mut missing = Vec::new();
    for (path, method, op) in operations(&spec) {
        let responses = op["responses"].as_object().expect("responses");
        let mut expect = |status: &str, why: &str| {
            if !responses.contains_key(status) {
                missing.push(format!("{} {path}: no {status} ({why})", method.to_uppercase()));
            }
        };
        for body in ["application/json", "multipart/form-data"] {
            if op["requestBody"]["content"].get(body).is_some() {
                for status in ["400", "413", "415", "422"] {
                    expect(status, body);
                }
            }
        }
        let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
        if secured {
            expect("401", "security requirement");
        }
        if path.contains('{') {
            expect("404", "path parameter");
        }
        if path.starts_with("/api/v1/admin") && !secured {
            missing.push(format!(
                "{} {path}: editorial but no security requirement",
                method.to_uppercase()
            ));
        }
        if op.get("security").is_none() {
            missing.push(format!(
                "{} {path}: security neither required nor declared public",
                method.to_uppercase()
            ));
        }
    }
    assert!(
        missing.is_empty(),
        "undocumented responses:\n{}",
        missing.join("\n")
    );
}

/// What generated clients and linters need from the spec (issue 17): roles as `x-required-role`
/// (not as scopes of a bearer scheme), no nullable parameter, no free-text query or path
/// parameter that would let NUL through (the server answers 400 before routing), a 4xx and a
/// description on every operation, and titled `Block` variants so generators name them.
#[test]
fn the_spec_says_things_the_way_generators_and_linters_expect() {
    let spec = serde_json::to_value(masthead::startup::openapi()).unwrap();
    let roles = ["contributor", "author", "editor", "admin"];
    let mut wrong = Vec::new();
    for (path, method, op) in operations(&spec) {
        let name = format!("{} {path}", method.to_uppercase());
        if let Some(requirements) = op["security"].as_array().filter(|r| !r.is_empty()) {
            if requirements != &vec![json!({"bearerAuth": []})] {
                wrong.push(format!(
                    "{name}: security is {requirements:?}, not bearerAuth: []"
                ));
            }
            let role = op["x-required-role"].as_str().unwrap_or_default();
            if !roles.contains(&role) {
                wrong.push(format!("{name}: x-required-role is {:?}", op["x-required-role"]));
            }
            if !op["description"]
                .as_str()
                .unwrap_or_default()
                .contains(&format!("`{role}`"))
            {
                wrong.push(format!("{name}: the description does not name the role"));
            }
        }
        if op["description"].as_str().unwrap_or_default().trim().is_empty() {
            wrong.push(format!("{name}: no description"));
        }
        let responses = op["responses"].as_object().unwrap();
        if !responses.keys().any(|status| status.starts_with('4')) {
            wrong.push(format!("{name}: no 4xx response"));
        }
        for parameter in op["parameters"].as_array().into_iter().flatten() {
            let schema = &parameter["schema"];
            let pname = format!("{name} {} parameter {}", parameter["in"], parameter["name"]);
            if schema["type"].is_array() || schema.to_string().contains("\"null\"") {
                wrong.push(format!("{pname}: nullable ({schema})"));
            }
            let in_url = parameter["in"] == "query" || parameter["in"] == "path";
            let free_text =
                schema["type"] == "string" && schema.get("enum").is_none() && schema.get("format").is_none();
            if in_url && free_text && schema.get("pattern").is_none() {
                wrong.push(format!("{pname}: free text without a pattern excluding NUL"));
            }
        }
    }
    for variant in spec["components"]["schemas"]["Block"]["oneOf"]
        .as_array()
        .unwrap()
    {
        if variant["title"].as_str().is_none_or(|t| !t.ends_with("Block")) {
            wrong.push(format!("Block variant without a title: {variant}"));
        }
    }
    let answer = &spec["components"]["schemas"]["PostComment"]["properties"]["challenge_answer"];
    if answer["type"] != "integer" {
        wrong.push(format!(
            "challenge_answer is not an integer, as the README sends it: {answer}"
        ));
    }
    let question = spec["components"]["schemas"]["Challenge"]["properties"]["question"].to_string();
    if !(question.contains(" + ") && question.contains(" - ")) {
        wrong.push(format!(
            "the challenge's question shows only one operation: {question}"
        ));
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn every_error_response_is_a_described_problem_json() {
    let spec = serde_json::to_value(masthead::startup::openapi()).unwrap();
    let mut wrong = Vec::new();
    for (path, method, op) in operations(&spec) {
        for (status, response) in op["responses"].as_object().expect("responses") {
            let name = format!("{} {path} {status}", method.to_uppercase());
            if response["description"].as_str().unwrap_or("").trim().is_empty() {
                wrong.push(format!("{name}: no description"));
            }
            if !(status.starts_with('4') || status.starts_with('5')) {
                continue;
            }
            let content = response["content"].as_object().cloned().unwrap_or_default();
            let keys: Vec<&String> = content.keys().collect();
            if keys != ["application/problem+json"]
                || content["application/problem+json"]["schema"]["$ref"] != "#/components/schemas/Problem"
            {
                wrong.push(format!(
                    "{name}: body is not the Problem schema as application/problem+json"
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn a_401_documents_the_www_authenticate_header() {
    let spec = serde_json::to_value(masthead::startup::openapi()).unwrap();
    for (path, method, op) in operations(&spec) {
        if let Some(unauthorized) = op["responses"].get("401") {
            assert!(
                unauthorized["headers"].get("WWW-Authenticate").is_some(),
                "{method} {path}: 401 without WWW-Authenticate"
            );
        }
    }
}

async fn own_id(app: &TestApp, token: &str) -> String {
    let me = app
        .request(Method::GET, "/api/v1/auth/me")
        .bearer(token)
        .send()
        .await;
    me.assert_status(200);
    me.json()["id"].as_str().unwrap().to_owned()
}

#[actix_web::test]
async fn an_admin_cannot_delete_disable_demote_or_repassword_themselves() {
    let app = TestApp::spawn().await;
    // A second admin exists, so the last-admin rule is not what refuses.
    app.user_with_role("admin").await;
    let token = app.admin_token().await;
    let id = own_id(&app, &token).await;
    let path = format!("/api/v1/admin/users/{id}");

    for body in [
        json!({"disabled": true}),
        json!({"role": "editor"}),
        json!({"password": "a new password without the old one"}),
    ] {
        let res = app.patch(&path, &body).bearer(&token).send().await;
        let problem = res.assert_problem(409);
        assert!(
            problem["detail"].as_str().unwrap().contains("own"),
            "{body}: {problem}"
        );
    }
    app.request(Method::DELETE, &path)
        .bearer(&token)
        .send()
        .await
        .assert_problem(409);

    // Still signed in, still an enabled admin; harmless own changes still work.
    let me = app
        .request(Method::GET, "/api/v1/auth/me")
        .bearer(&token)
        .send()
        .await;
    me.assert_status(200);
    assert_eq!(me.json()["email"], ADMIN_EMAIL);
    assert_eq!(me.json()["role"], "admin");
    let renamed = app
        .patch(
            &path,
            &json!({"display_name": "Editor in Chief", "role": "admin", "disabled": false}),
        )
        .bearer(&token)
        .send()
        .await;
    renamed.assert_status(200);
    assert_eq!(renamed.json()["display_name"], "Editor in Chief");
}

#[actix_web::test]
async fn another_admin_can_still_disable_and_delete_an_admin() {
    let app = TestApp::spawn().await;
    let (other_id, _) = app.user_with_role("admin").await;
    let token = app.admin_token().await;
    let path = format!("/api/v1/admin/users/{other_id}");
    app.patch(&path, &json!({"disabled": true}))
        .bearer(&token)
        .send()
        .await
        .assert_status(200);
    app.request(Method::DELETE, &path)
        .bearer(&token)
        .send()
        .await
        .assert_status(204);
}

#[actix_web::test]
async fn a_wrong_current_password_is_403_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let token = app.admin_token().await;
    let res = app
        .post(
            "/api/v1/auth/password",
            &json!({"current_password": "certainly not the password", "new_password": "a brand new passphrase"}),
        )
        .bearer(&token)
        .send()
        .await;
    res.assert_problem(403);
    app.request(Method::GET, "/api/v1/auth/me")
        .bearer(&token)
        .send()
        .await
        .assert_status(200);
}

#[actix_web::test]
async fn names_are_limited_as_the_spec_says() {
    let app = TestApp::spawn().await;
    let token = app.admin_token().await;
    let user = |name: &str| {
        json!({"email": format!("{}@news.example.com", uuid::Uuid::new_v4().simple()),
               "display_name": name, "role": "author", "password": "long enough password"})
    };
    // 120 characters as sent is the limit, padding included; control characters and blanks fail.
    let padded = format!("  {}", "a".repeat(119));
    for (name, status) in [
        ("a".repeat(120), 201),
        (padded, 422),
        ("Ana\u{7}Ruiz".to_owned(), 422),
        ("\u{a0} ".to_owned(), 422),
        ("  Ana Ruiz ".to_owned(), 201),
    ] {
        let res = app
            .post("/api/v1/admin/users", &user(&name))
            .bearer(&token)
            .send()
            .await;
        assert_eq!(res.status, status, "{name:?}: {}", res.text());
    }
    for (name, status) in [
        (" ".to_owned(), 422),
        ("k".repeat(121), 422),
        ("Feed\nreader".to_owned(), 422),
    ] {
        let res = app
            .post("/api/v1/admin/api-keys", &json!({"name": name, "role": "editor"}))
            .bearer(&token)
            .send()
            .await;
        assert_eq!(res.status, status, "{name:?}: {}", res.text());
    }
}

#[test]
fn editorial_and_session_responses_document_cache_control_no_store() {
    let spec = serde_json::to_value(masthead::startup::openapi()).unwrap();
    for (path, method, op) in operations(&spec) {
        if !(path.starts_with("/api/v1/admin") || path.starts_with("/api/v1/auth")) {
            continue;
        }
        for (status, response) in op["responses"].as_object().unwrap() {
            assert_eq!(
                response["headers"]["Cache-Control"]["schema"]["enum"],
                json!(["no-store"]),
                "{method} {path} {status}"
            );
        }
    }
}

#[test]
fn every_operation_that_takes_if_match_documents_412_and_says_why() {
    let spec = serde_json::to_value(masthead::startup::openapi()).unwrap();
    let mut wrong = Vec::new();
    for (path, method, op) in operations(&spec) {
        let takes_if_match = op["parameters"]
            .as_array()
            .is_some_and(|ps| ps.iter().any(|p| p["in"] == "header" && p["name"] == "If-Match"));
        let answer = &op["responses"]["412"];
        match (takes_if_match, answer.is_object()) {
            (true, false) => wrong.push(format!("{method} {path}: If-Match without a 412")),
            (false, true) => wrong.push(format!("{method} {path}: a 412 without If-Match")),
            (true, true) if !answer["description"].as_str().unwrap_or("").contains("If-Match") => wrong.push(
                format!("{method} {path}: the 412 does not say it is about If-Match"),
            ),
            _ => {}
        }
    }
    assert!(
        wrong.is_empty(),
        "412 documentation is wrong:\n{}",
        wrong.join("\n")
    );
}

#[actix_web::test]
async fn a_stale_if_match_is_412_and_a_missing_one_is_not_required() {
    let app = TestApp::spawn().await;
    let token = app.admin_token().await;
    let created = app
        .post(
            "/api/v1/admin/articles",
            &json!({"headline": "Ferry timetable changes from Monday",
                "body": [{"type": "paragraph", "text": "Sailings move to the half hour."}]}),
        )
        .bearer(&token)
        .send()
        .await;
    created.assert_status(201);
    let id = created.json()["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/admin/articles/{id}/publish");
    let stale = app
        .request(Method::POST, &path)
        .bearer(&token)
        .header("If-Match", "\"not-the-etag\"")
        .send()
        .await;
    stale.assert_problem(412);
    // If-Match is optional: without it the action runs.
    app.request(Method::POST, &path)
        .bearer(&token)
        .send()
        .await
        .assert_status(200);
}

#[actix_web::test]
async fn article_tag_and_site_fields_are_checked_as_the_spec_states_them() {
    let app = TestApp::spawn().await;
    let token = app.admin_token().await;
    // JSON Schema counts 3.0 as an integer, so a heading level of 3.0 is valid.
    let heading = json!({"headline": "Budget vote",
        "body": [{"type": "heading", "level": 3.0, "text": "What changes"}]});
    app.post("/api/v1/admin/articles", &heading)
        .bearer(&token)
        .send()
        .await
        .assert_status(201);
    // Limits count the text as sent (the spec's maxLength), even when it is stored trimmed.
    let padded = format!("{} ", "x".repeat(300));
    let problem = app
        .post("/api/v1/admin/articles", &json!({"headline": padded}))
        .bearer(&token)
        .send()
        .await
        .assert_problem(422);
    assert_eq!(problem["errors"][0]["field"], "headline");
    // An empty canonical URL is not a URL (null restores the default); nor is HTTP:// in capitals.
    for url in ["", "HTTP://news.example.com/x", "ftp://news.example.com/x"] {
        let body = json!({"headline": "Ferry strike", "seo": {"canonical_url": url}});
        let problem = app
            .post("/api/v1/admin/articles", &body)
            .bearer(&token)
            .send()
            .await
            .assert_problem(422);
        assert_eq!(problem["errors"][0]["field"], "seo.canonical_url", "{url:?}");
    }
    let tag = json!({"name": format!("{} ", "t".repeat(100))});
    app.post("/api/v1/admin/tags", &tag)
        .bearer(&token)
        .send()
        .await
        .assert_problem(422);
    for site in [json!({"locale": " en"}), json!({"social": {"": "@gazette"}})] {
        app.patch("/api/v1/admin/site", &site)
            .bearer(&token)
            .send()
            .await
            .assert_problem(422);
    }
    // An empty status filter is not one of the enum's values.
    app.request(Method::GET, "/api/v1/admin/articles?status=")
        .bearer(&token)
        .send()
        .await
        .assert_problem(400);
    app.get("/api/v1/articles?published_after=")
        .await
        .assert_problem(400);
}

/// The limits the spec states for a write are the limits its types enforce (each rule is a type
/// in `src/fields`, and the spec carries the same numbers): for every plain-text property of
/// the article and tag writes that has a `maxLength`, `maxLength` characters are taken and one
/// more is a 422 naming that property, and for every array with `maxItems` one more item is a
/// 422 naming it.
#[actix_web::test]
async fn the_spec_states_the_limits_of_the_types() {
    let app = TestApp::spawn().await;
    let token = app.admin_token().await;
    let spec = serde_json::to_value(masthead::startup::openapi()).unwrap();
    let schemas = &spec["components"]["schemas"];
    // (schema, JSON path prefix of the property in the write, endpoint, what else the write needs)
    let cases = [
        (
            "ArticleInput",
            "",
            "/api/v1/admin/articles",
            json!({"headline": "Limits"}),
        ),
        (
            "SeoInput",
            "seo.",
            "/api/v1/admin/articles",
            json!({"headline": "Limits"}),
        ),
        ("CreateTag", "", "/api/v1/admin/tags", json!({"name": "Limits"})),
    ];
    let mut checked = Vec::new();
    for (schema, prefix, endpoint, base) in cases {
        for (name, property) in schemas[schema]["properties"].as_object().expect(schema) {
            let is_text = property["type"] == "string" || property["type"] == json!(["string", "null"]);
            let path = format!("{prefix}{name}");
            let with = |value: Value| {
                let mut body = base.clone();
                match prefix {
                    "" => body[name.as_str()] = value,
                    _ => body["seo"] = json!({ name.as_str(): value }),
                }
                body
            };
            // Plain text limits (ids, slugs and URLs have patterns that `x…` does not meet).
            if let Some(max) = property["maxLength"].as_u64().filter(|_| {
                is_text
                    && property
                        .get("pattern")
                        .is_none_or(|p| p.as_str().is_some_and(|p| p.starts_with("^[\\s\\S]*")))
            }) {
                let max = max as usize;
                let long = app
                    .post(endpoint, &with(json!("x".repeat(max + 1))))
                    .bearer(&token)
                    .send()
                    .await;
                let problem = long.assert_problem(422);
                assert_eq!(problem["errors"][0]["field"], path.as_str(), "{path}: {problem}");
                let fits = app
                    .post(endpoint, &with(json!("y".repeat(max))))
                    .bearer(&token)
                    .send()
                    .await;
                // Taken, or refused for another reason than its length (an og_image must exist).
                assert!(
                    fits.status == 201 || (fits.status == 422 && !fits.text().contains("at most")),
                    "{path} of {max} characters: {}",
                    fits.text()
                );
                checked.push(path.clone());
            }
            if let Some(max) = property["maxItems"].as_u64() {
                let item = if name == "body" {
                    json!({"type": "divider"})
                } else {
                    json!("x")
                };
                let items = vec![item; max as usize + 1];
                let res = app
                    .post(endpoint, &with(json!(items)))
                    .bearer(&token)
                    .send()
                    .await;
                let problem = res.assert_problem(422);
                assert_eq!(problem["errors"][0]["field"], path.as_str(), "{path}: {problem}");
                checked.push(path.clone());
            }
        }
    }
    for expected in [
        "headline",
        "standfirst",
        "dateline",
        "kicker",
        "body",
        "authors",
        "tags",
        "seo.meta_title",
        "seo.meta_description",
        "seo.og_image",
        "name",
        "description",
    ] {
        assert!(
            checked.iter().any(|c| c == expected),
            "{expected} was not checked: {checked:?}"
        );
    }
}
