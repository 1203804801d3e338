//! Restarts in development: without `MASTHEAD_JWT_SECRET` the server keeps the secret it
//! generated in the database, so a login outlives the process; a configured secret wins.

use actix_web::http::Method;
use masthead::config::Settings;

use crate::helpers::{TestApp, TestResponse};

/// What a new development process without `MASTHEAD_JWT_SECRET` starts with: a fresh random
/// secret from the real settings code, marked as not configured.
fn development_without_a_secret(settings: &mut Settings) {
    let defaults = Settings::from_lookup(|_| None).expect("development defaults are valid");
    assert!(defaults.jwt_secret_generated);
    settings.jwt_secret = defaults.jwt_secret;
    settings.jwt_secret_generated = true;
}

fn with_configured_secret(settings: &mut Settings) {
    settings.jwt_secret = "a-configured-secret-that-is-long-enough-42".to_owned().into();
    settings.jwt_secret_generated = false;
}

async fn me(app: &TestApp, token: &str) -> TestResponse {
    app.request(Method::GET, "/api/v1/auth/me")
        .bearer(token)
        .send()
        .await
}

#[actix_web::test]
async fn a_development_login_still_works_after_a_restart_without_a_configured_secret() {
    let mut app = TestApp::spawn_with(development_without_a_secret).await;
    let token = app.admin_token().await;
    me(&app, &token).await.assert_status(200);

    app.restart_with(development_without_a_secret).await;
    let res = me(&app, &token).await;
    res.assert_status(200);
    assert_eq!(res.json()["email"], crate::helpers::ADMIN_EMAIL);

    // And again: the kept secret does not drift from one restart to the next.
    app.restart_with(development_without_a_secret).await;
    me(&app, &token).await.assert_status(200);
}

#[actix_web::test]
async fn a_configured_secret_is_used_instead_of_the_kept_one_and_leaves_it_alone() {
    let mut app = TestApp::spawn_with(development_without_a_secret).await;
    let development_token = app.admin_token().await;

    app.restart_with(with_configured_secret).await;
    me(&app, &development_token).await.assert_problem(401);
    let configured_token = app.admin_token().await;
    me(&app, &configured_token).await.assert_status(200);

    app.restart_with(development_without_a_secret).await;
    me(&app, &development_token).await.assert_status(200);
    me(&app, &configured_token).await.assert_problem(401);
}
