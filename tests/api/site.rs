//! Site settings: public read with defaults and caching, admin-only changes.

use actix_web::http::Method;
use serde_json::json;

use crate::helpers::TestApp;

#[actix_web::test]
async fn the_site_has_defaults_and_admins_change_it() {
    let app = TestApp::spawn().await;
    let res = app.get("/api/v1/site").await;
    res.assert_status(200);
    let site = res.json();
    assert_eq!(site["name"], "Masthead");
    assert_eq!(site["public_url"], app.settings.public_url.as_str());
    assert!(site["logo"].is_null());
    assert_eq!(site["social"], json!({}));
    assert_eq!(res.header("surrogate-key").unwrap(), "site");

    let admin = app.admin_token().await;
    let res = app
        .patch(
            "/api/v1/admin/site",
            &json!({"name": "The Harbour Gazette", "description": "News from the coast", "locale": "en-GB",
                    "social": {"twitter": "@gazette"}}),
        )
        .bearer(&admin)
        .send()
        .await;
    res.assert_status(200);
    let site = app.get("/api/v1/site").await.json();
    assert_eq!(site["name"], "The Harbour Gazette");
    assert_eq!(site["description"], "News from the coast");
    assert_eq!(site["locale"], "en-GB");
    assert_eq!(site["social"]["twitter"], "@gazette");

    let etag = app.get("/api/v1/site").await.header("etag").unwrap();
    app.request(Method::GET, "/api/v1/site")
        .header("If-None-Match", &etag)
        .send()
        .await
        .assert_status(304);
}

#[actix_web::test]
async fn only_admins_change_the_site_and_bad_fields_are_422() {
    let app = TestApp::spawn().await;
    let editor = app.token_for("editor").await;
    app.patch("/api/v1/admin/site", &json!({"name": "Mine"}))
        .bearer(&editor)
        .send()
        .await
        .assert_problem(403);
    app.patch("/api/v1/admin/site", &json!({"name": "Mine"}))
        .send()
        .await
        .assert_problem(401);
    let admin = app.admin_token().await;
    for body in [
        json!({"name": ""}),
        json!({"locale": "en GB!"}),
        json!({"logo_image_id": 5}),
    ] {
        app.patch("/api/v1/admin/site", &body)
            .bearer(&admin)
            .send()
            .await
            .assert_problem(422);
    }
    assert_eq!(app.get("/api/v1/site").await.json()["name"], "Masthead");
}
