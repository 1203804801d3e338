//! Hardening (issue #19, items 3–8): API keys bound to their creator, bounded arrays in writes,
//! problem+json for every error including the HTTP/1 codec's own, WHATWG URLs, the bootstrap
//! admin after `masthead demo`, and PostgreSQL over TLS.

use std::io::{Read, Write};
use std::time::Duration;

use actix_web::http::Method;
use serde_json::{Value, json};

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

