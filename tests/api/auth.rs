//! People and access: login, refresh rotation, logout, token defects, users, roles, API keys.

use actix_web::http::Method;
use serde_json::{Value, json};

use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp, USER_PASSWORD};

#[actix_web::test]
async fn login_returns_tokens_and_me_shows_the_user() {
    let app = TestApp::spawn().await;
    let res = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    res.assert_status(200);
    let tokens = res.json();
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 900);
    assert!(tokens["refresh_token"].as_str().unwrap().len() >= 40);
    assert_eq!(res.header("cache-control").as_deref(), Some("no-store"));

    let me = app
        .request(Method::GET, "/api/v1/auth/me")
        .bearer(tokens["access_token"].as_str().unwrap())
        .send()
        .await;
    me.assert_status(200);
    assert_eq!(me.json()["email"], ADMIN_EMAIL);
    assert_eq!(me.json()["role"], "admin");
}

#[actix_web::test]
async fn login_email_is_case_insensitive() {
    let app = TestApp::spawn().await;
    app.login(&ADMIN_EMAIL.to_uppercase(), ADMIN_PASSWORD)
        .await
        .assert_status(200);
}

#[actix_web::test]
async fn unknown_email_and_wrong_password_answer_the_same() {
    let app = TestApp::spawn().await;
    let wrong = app
        .login(ADMIN_EMAIL, "not the password at all")
        .await
        .assert_problem(401);
    let unknown = app
        .login("nobody@news.example.com", "not the password at all")
        .await
        .assert_problem(401);
    assert_eq!(wrong["detail"], unknown["detail"]);
}

#[actix_web::test]
async fn repeated_login_failures_are_limited_with_retry_after() {
    let app = TestApp::spawn_with(|s| s.login_max_attempts = 3).await;
    for _ in 0..3 {
        app.login(ADMIN_EMAIL, "wrong password 123")
            .await
            .assert_problem(401);
    }
    let res = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    res.assert_problem(429);
    let retry: u64 = res.header("retry-after").unwrap().parse().unwrap();
    assert!(retry >= 1);
}

#[actix_web::test]
async fn malformed_json_is_a_400_problem() {
    let app = TestApp::spawn().await;
    let res = app
        .request(Method::POST, "/api/v1/auth/login")
        .raw("application/json", "{\"email\": ")
        .send()
        .await;
    res.assert_problem(400);
}

#[actix_web::test]
async fn json_with_missing_fields_is_a_422_problem() {
    let app = TestApp::spawn().await;
    let res = app
        .post("/api/v1/auth/login", &json!({"email": "a@b.c"}))
        .send()
        .await;
    res.assert_problem(422);
}

#[actix_web::test]
async fn json_over_the_limit_is_a_413_problem() {
    let app = TestApp::spawn().await;
    let big = format!(
        "{{\"email\": \"{}\", \"password\": \"x\"}}",
        "a".repeat(1024 * 1024 + 10)
    );
    let res = app
        .request(Method::POST, "/api/v1/auth/login")
        .raw("application/json", big)
        .send()
        .await;
    res.assert_problem(413);
}

#[actix_web::test]
async fn wrong_content_type_is_a_415_problem() {
    let app = TestApp::spawn().await;
    let res = app
        .request(Method::POST, "/api/v1/auth/login")
        .raw("text/plain", "email=a")
        .send()
        .await;
    res.assert_problem(415);
}

#[actix_web::test]
async fn refresh_rotates_and_a_reused_token_revokes_the_family() {
    let app = TestApp::spawn().await;
    let first = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await.json();
    let rt1 = first["refresh_token"].as_str().unwrap();

    let second = app
        .post("/api/v1/auth/refresh", &json!({"refresh_token": rt1}))
        .send()
        .await;
    second.assert_status(200);
    let rt2 = second.json()["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(rt1, rt2);

    // The old token again: theft suspected, the whole family goes.
    app.post("/api/v1/auth/refresh", &json!({"refresh_token": rt1}))
        .send()
        .await
        .assert_problem(401);
    app.post("/api/v1/auth/refresh", &json!({"refresh_token": rt2}))
        .send()
        .await
        .assert_problem(401);
}

#[actix_web::test]
async fn logout_revokes_the_refresh_token() {
    let app = TestApp::spawn().await;
    let tokens = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await.json();
    let rt = tokens["refresh_token"].as_str().unwrap();
    app.post("/api/v1/auth/logout", &json!({"refresh_token": rt}))
        .send()
        .await
        .assert_status(204);
    app.post("/api/v1/auth/refresh", &json!({"refresh_token": rt}))
        .send()
        .await
        .assert_problem(401);
}

fn forge(claims: &Value, secret: &[u8]) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret),
    )
    .unwrap()
}

async fn me_with(app: &TestApp, authorization: &str) -> crate::helpers::TestResponse {
    app.request(Method::GET, "/api/v1/auth/me")
        .header("Authorization", authorization)
        .send()
        .await
}

#[actix_web::test]
async fn defective_tokens_are_401_with_www_authenticate() {
    let app = TestApp::spawn().await;
    let token = app.admin_token().await;
    let me = me_with(&app, &format!("Bearer {token}")).await.json();
    let now = chrono::Utc::now().timestamp();
    let secret = b"test-secret-that-is-long-enough-0123456789";
    let claims = |aud: &str, exp: i64| json!({"sub": me["id"], "role": "admin", "ver": 0, "iss": "masthead", "aud": aud, "iat": now, "exp": exp});

    // Sanity: a token forged with the real secret and right claims works, so the cases below
    // fail for the reason they name.
    me_with(
        &app,
        &format!(
            "Bearer {}",
            forge(&claims("masthead-editorial", now + 600), secret)
        ),
    )
    .await
    .assert_status(200);

    let mut tampered = token.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    let expired = forge(&claims("masthead-editorial", now - 3600), secret);
    let wrong_audience = forge(&claims("someone-else", now + 600), secret);
    let wrong_secret = forge(
        &claims("masthead-editorial", now + 600),
        b"another-secret-another-secret-00",
    );
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let alg_none = format!(
        "{}.{}.",
        b64.encode(br#"{"alg":"none","typ":"JWT"}"#),
        b64.encode(claims("masthead-editorial", now + 600).to_string())
    );

    for (what, token) in [
        ("tampered", tampered),
        ("expired", expired),
        ("wrong audience", wrong_audience),
        ("wrong secret", wrong_secret),
        ("alg none", alg_none),
        ("garbage", "not-a-token".to_owned()),
    ] {
        let res = me_with(&app, &format!("Bearer {token}")).await;
        assert_eq!(res.status, 401, "{what}: {}", res.text());
        res.assert_problem(401);
        assert_eq!(
            res.header("www-authenticate").as_deref(),
            Some("Bearer"),
            "{what}"
        );
    }
}

#[actix_web::test]
async fn missing_or_malformed_authorization_is_401() {
    let app = TestApp::spawn().await;
    let res = app.get("/api/v1/auth/me").await;
    res.assert_problem(401);
    assert_eq!(res.header("www-authenticate").as_deref(), Some("Bearer"));
    for header in ["Basic dXNlcjpwYXNz", "Bearer", "Bearer    ", "token"] {
        me_with(&app, header).await.assert_problem(401);
    }
}

#[actix_web::test]
async fn admin_creates_users_and_duplicate_emails_conflict_case_insensitively() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let body = json!({"email": "Reporter@News.Example.com", "display_name": "Ana Reporter", "role": "author", "password": USER_PASSWORD});
    let res = app.post("/api/v1/admin/users", &body).bearer(&admin).send().await;
    res.assert_status(201);
    let user = res.json();
    assert_eq!(user["role"], "author");
    assert!(user.get("password_hash").is_none() && user.get("password").is_none());
    assert_eq!(
        res.header("location").unwrap(),
        format!("/api/v1/admin/users/{}", user["id"].as_str().unwrap())
    );

    let dup = json!({"email": "reporter@news.example.COM", "display_name": "Other", "role": "author", "password": USER_PASSWORD});
    app.post("/api/v1/admin/users", &dup)
        .bearer(&admin)
        .send()
        .await
        .assert_problem(409);

    let list = app
        .request(Method::GET, "/api/v1/admin/users")
        .bearer(&admin)
        .send()
        .await;
    list.assert_status(200);
    assert_eq!(list.json()["data"].as_array().unwrap().len(), 2);
    assert!(list.json()["next_cursor"].is_null());
}

#[actix_web::test]
async fn invalid_user_fields_are_422_with_field_errors() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let body = json!({"email": "not-an-email", "display_name": " ", "role": "overlord", "password": "short"});
    let res = app.post("/api/v1/admin/users", &body).bearer(&admin).send().await;
    let problem = res.assert_problem(422);
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["email", "display_name", "role", "password"]);
}

#[actix_web::test]
async fn the_last_admin_cannot_be_deleted_demoted_or_disabled() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let me = app
        .request(Method::GET, "/api/v1/auth/me")
        .bearer(&admin)
        .send()
        .await
        .json();
    let path = format!("/api/v1/admin/users/{}", me["id"].as_str().unwrap());
    app.request(Method::DELETE, &path)
        .bearer(&admin)
        .send()
        .await
        .assert_problem(409);
    app.patch(&path, &json!({"role": "editor"}))
        .bearer(&admin)
        .send()
        .await
        .assert_problem(409);
    app.patch(&path, &json!({"disabled": true}))
        .bearer(&admin)
        .send()
        .await
        .assert_problem(409);

    // With a second admin, the first may go (removed by the other one: nobody deletes
    // themselves, see contract::an_admin_cannot_delete_disable_demote_or_repassword_themselves).
    let (_, second) = app.user_with_role("admin").await;
    app.request(Method::DELETE, &path)
        .bearer(&second)
        .send()
        .await
        .assert_status(204);
}

#[actix_web::test]
async fn a_disabled_users_token_stops_working_at_once() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (id, token) = app.user_with_role("editor").await;
    me_with(&app, &format!("Bearer {token}")).await.assert_status(200);
    app.patch(&format!("/api/v1/admin/users/{id}"), &json!({"disabled": true}))
        .bearer(&admin)
        .send()
        .await
        .assert_status(200);
    me_with(&app, &format!("Bearer {token}"))
        .await
        .assert_problem(401);
}

#[actix_web::test]
async fn changing_the_password_ends_every_session() {
    let app = TestApp::spawn().await;
    let tokens = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await.json();
    let access = tokens["access_token"].as_str().unwrap();

    let wrong = app
        .post(
            "/api/v1/auth/password",
            &json!({"current_password": "not it at all", "new_password": "a brand new passphrase"}),
        )
        .bearer(access)
        .send()
        .await;
    wrong.assert_problem(403);
    let short = app
        .post(
            "/api/v1/auth/password",
            &json!({"current_password": ADMIN_PASSWORD, "new_password": "short"}),
        )
        .bearer(access)
        .send()
        .await;
    short.assert_problem(422);

    app.post(
        "/api/v1/auth/password",
        &json!({"current_password": ADMIN_PASSWORD, "new_password": "a brand new passphrase"}),
    )
    .bearer(access)
    .send()
    .await
    .assert_status(204);

    me_with(&app, &format!("Bearer {access}"))
        .await
        .assert_problem(401);
    app.post(
        "/api/v1/auth/refresh",
        &json!({"refresh_token": tokens["refresh_token"]}),
    )
    .send()
    .await
    .assert_problem(401);
    app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await.assert_problem(401);
    app.login(ADMIN_EMAIL, "a brand new passphrase")
        .await
        .assert_status(200);
}

#[actix_web::test]
async fn api_keys_are_shown_once_work_as_bearer_and_can_be_revoked() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let res = app
        .post(
            "/api/v1/admin/api-keys",
            &json!({"name": "Homepage", "role": "editor"}),
        )
        .bearer(&admin)
        .send()
        .await;
    res.assert_status(201);
    let created = res.json();
    let secret = created["secret"].as_str().unwrap();
    assert!(secret.starts_with("mh_"));
    assert!(secret.starts_with(created["prefix"].as_str().unwrap()));

    let me = me_with(&app, &format!("Bearer {secret}")).await;
    me.assert_status(200);
    assert_eq!(me.json()["role"], "editor");
    assert_eq!(me.json()["api_key_id"], created["id"]);

    // An editor key cannot do admin work.
    app.request(Method::GET, "/api/v1/admin/users")
        .bearer(secret)
        .send()
        .await
        .assert_problem(403);

    let list = app
        .request(Method::GET, "/api/v1/admin/api-keys")
        .bearer(&admin)
        .send()
        .await
        .json();
    let listed = &list["data"][0];
    assert!(listed.get("secret").is_none());
    assert!(listed["last_used_at"].is_string(), "{listed}");

    app.request(
        Method::DELETE,
        &format!("/api/v1/admin/api-keys/{}", created["id"].as_str().unwrap()),
    )
    .bearer(&admin)
    .send()
    .await
    .assert_status(204);
    me_with(&app, &format!("Bearer {secret}"))
        .await
        .assert_problem(401);
    me_with(&app, "Bearer mh_unknown_key").await.assert_problem(401);
}

#[actix_web::test]
async fn api_key_fields_are_validated() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let res = app
        .post(
            "/api/v1/admin/api-keys",
            &json!({"name": "", "role": "god", "expires_at": "tomorrow"}),
        )
        .bearer(&admin)
        .send()
        .await;
    assert_eq!(res.assert_problem(422)["errors"].as_array().unwrap().len(), 3);
}

/// Walks every editorial operation in the spec and checks that its documented minimum role is
/// what the server enforces: 401 without credentials, 403 below the role, neither at or above.
#[actix_web::test]
async fn every_admin_route_enforces_its_documented_minimum_role() {
    let app = TestApp::spawn().await;
    let spec = app.get("/openapi.json").await.json();
    let roles = ["contributor", "author", "editor", "admin"];
    let mut tokens = Vec::new();
    for role in roles {
        tokens.push(app.token_for(role).await);
    }
    let mut checked = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        if !path.starts_with("/api/v1/admin") {
            continue;
        }
        for (method, op) in item.as_object().unwrap() {
            let min_role = op["x-required-role"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path} declares no minimum role"));
            let min_rank = roles.iter().position(|r| *r == min_role).unwrap();
            let concrete = path
                .split('/')
                .map(|seg| {
                    if seg.starts_with('{') {
                        "00000000-0000-0000-0000-000000000000"
                    } else {
                        seg
                    }
                })
                .collect::<Vec<_>>()
                .join("/");
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let send = |token: Option<&str>| {
                let mut req = app.request(method.clone(), &concrete);
                if let Some(t) = token {
                    req = req.bearer(t);
                }
                if method == Method::POST || method == Method::PATCH || method == Method::PUT {
                    req = req.json(&json!({}));
                }
                req.send()
            };
            assert_eq!(
                send(None).await.status,
                401,
                "{method} {concrete} without credentials"
            );
            for (rank, token) in tokens.iter().enumerate() {
                let status = send(Some(token)).await.status;
                if rank < min_rank {
                    assert_eq!(status, 403, "{method} {concrete} as {}", roles[rank]);
                } else {
                    assert!(
                        status != 401 && status != 403,
                        "{method} {concrete} as {}: {status}",
                        roles[rank]
                    );
                }
            }
            checked += 1;
        }
    }
    assert!(checked >= 8, "walked {checked} admin operations");
}
