//! Tags: public list and lookup with published counts, admin CRUD, untagging on delete.

use actix_web::http::Method;
use serde_json::json;

use crate::articles::{create, published, story};
use crate::helpers::TestApp;

#[actix_web::test]
async fn editors_manage_tags_and_the_public_sees_published_counts() {
    let app = TestApp::spawn().await;
    let editor = app.token_for("editor").await;
    let res = app
        .post(
            "/api/v1/admin/tags",
            &json!({"name": "Climate Change", "description": "Warming world"}),
        )
        .bearer(&editor)
        .send()
        .await;
    res.assert_status(201);
    let tag = res.json();
    assert_eq!(tag["slug"], "climate-change");
    assert_eq!(tag["article_count"], 0);

    let mut body = story("Ice shelf breaks");
    body["tags"] = json!(["climate-change"]);
    published(&app, &editor, &body).await;
    create(&app, &editor, &body).await; // a draft does not count

    let one = app.get("/api/v1/tags/climate-change").await;
    one.assert_status(200);
    assert_eq!(one.json()["article_count"], 1);
    assert_eq!(one.json()["description"], "Warming world");
    assert!(one.header("etag").is_some());
    assert_eq!(one.header("surrogate-key").unwrap(), "tags tag:climate-change");
    let etag = one.header("etag").unwrap();
    app.request(Method::GET, "/api/v1/tags/climate-change")
        .header("If-None-Match", &etag)
        .send()
        .await
        .assert_status(304);

    let list = app.get("/api/v1/tags").await;
    list.assert_status(200);
    assert_eq!(list.json()["data"][0]["slug"], "climate-change");

    let id = tag["id"].as_str().unwrap();
    let res = app
        .patch(
            &format!("/api/v1/admin/tags/{id}"),
            &json!({"name": "Climate", "slug": "climate"}),
        )
        .bearer(&editor)
        .send()
        .await;
    res.assert_status(200);
    assert_eq!(res.json()["slug"], "climate");
    app.get("/api/v1/tags/climate-change").await.assert_problem(404);
    app.get("/api/v1/tags/climate").await.assert_status(200);
}

#[actix_web::test]
async fn a_duplicate_tag_slug_is_409() {
    let app = TestApp::spawn().await;
    let editor = app.token_for("editor").await;
    app.post("/api/v1/admin/tags", &json!({"name": "Sport"}))
        .bearer(&editor)
        .send()
        .await
        .assert_status(201);
    app.post("/api/v1/admin/tags", &json!({"name": "SPORT!"}))
        .bearer(&editor)
        .send()
        .await
        .assert_problem(409);
    let other = app
        .post("/api/v1/admin/tags", &json!({"name": "Games", "slug": "games"}))
        .bearer(&editor)
        .send()
        .await
        .json();
    app.patch(
        &format!("/api/v1/admin/tags/{}", other["id"].as_str().unwrap()),
        &json!({"slug": "sport"}),
    )
    .bearer(&editor)
    .send()
    .await
    .assert_problem(409);
}

#[actix_web::test]
async fn invalid_tag_fields_are_422() {
    let app = TestApp::spawn().await;
    let editor = app.token_for("editor").await;
    for body in [
        json!({"name": ""}),
        json!({"name": "x".repeat(101)}),
        json!({"name": "Ok", "slug": "Bad Slug"}),
    ] {
        app.post("/api/v1/admin/tags", &body)
            .bearer(&editor)
            .send()
            .await
            .assert_problem(422);
    }
    app.post("/api/v1/admin/tags", &json!({}))
        .bearer(&editor)
        .send()
        .await
        .assert_problem(422);
}

#[actix_web::test]
async fn deleting_a_tag_untags_its_articles() {
    let app = TestApp::spawn().await;
    let editor = app.token_for("editor").await;
    let tag = app
        .post("/api/v1/admin/tags", &json!({"name": "Temporary"}))
        .bearer(&editor)
        .send()
        .await
        .json();
    let mut body = story("Briefly tagged");
    body["tags"] = json!(["temporary"]);
    let a = published(&app, &editor, &body).await;
    assert_eq!(a["tags"][0]["slug"], "temporary");
    app.request(
        Method::DELETE,
        &format!("/api/v1/admin/tags/{}", tag["id"].as_str().unwrap()),
    )
    .bearer(&editor)
    .send()
    .await
    .assert_status(204);
    let article = app.get("/api/v1/articles/briefly-tagged").await;
    article.assert_status(200);
    assert_eq!(article.json()["tags"], json!([]));
    app.get("/api/v1/tags/temporary").await.assert_problem(404);
    assert_eq!(
        app.get("/api/v1/articles?tag=temporary").await.json()["data"],
        json!([])
    );
}

#[actix_web::test]
async fn authors_and_contributors_cannot_manage_tags() {
    let app = TestApp::spawn().await;
    for role in ["author", "contributor"] {
        let token = app.token_for(role).await;
        app.post("/api/v1/admin/tags", &json!({"name": "Nope"}))
            .bearer(&token)
            .send()
            .await
            .assert_problem(403);
    }
    app.post("/api/v1/admin/tags", &json!({"name": "Nope"}))
        .send()
        .await
        .assert_problem(401);
}
