//! Images inside articles: heroes and image blocks expanded with caption, credit and renditions,
//! figures in `body_html`, missing images refused, images in published use kept.

use actix_web::http::Method;
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::images::{jpeg, upload};

async fn news_photo(app: &TestApp, token: &str, seed: u8) -> Value {
    let res = upload(
        app,
        token,
        "harbour.jpg",
        &jpeg(1600, 900, seed),
        &[
            ("caption", "Crews lift the new span into place on Tuesday."),
            ("credit", "Saul Loeb/AFP"),
            ("source", "AFP"),
            ("alt_text", "A crane lowers a steel bridge span over water"),
        ],
    )
    .await;
    res.assert_status(201);
    res.json()
}

fn story_with(hero: &str, block: &str) -> Value {
    json!({
        "headline": "Harbour bridge span lifted into place",
        "standfirst": "The last section arrived by barge.",
        "hero": {"image_id": hero},
        "body": [
            {"type": "paragraph", "text": "Crews worked through the night."},
            {"type": "image", "image_id": block, "caption": "The span <i>at dawn</i>"},
            {"type": "image", "image_id": hero}
        ]
    })
}

#[actix_web::test]
async fn public_articles_carry_expanded_images_and_figures_with_caption_and_credit() {
    let app = TestApp::spawn().await;
    let editor = app.token_for("editor").await;
    let hero = news_photo(&app, &editor, 1).await;
    let other = news_photo(&app, &editor, 2).await;
    let (hero_id, other_id) = (hero["id"].as_str().unwrap(), other["id"].as_str().unwrap());
    let a = crate::articles::published(&app, &editor, &story_with(hero_id, other_id)).await;

    let page = app
        .get(&format!("/api/v1/articles/{}", a["slug"].as_str().unwrap()))
        .await
        .json();
    let hero_image = &page["hero"]["image"];
    assert_eq!(hero_image["credit"], "Saul Loeb/AFP");
    assert_eq!(hero_image["source"], "AFP");
    assert_eq!(
        hero_image["caption"],
        "Crews lift the new span into place on Tuesday."
    );
    assert_eq!(hero_image["width"], 1600);
    assert!(
        hero_image["renditions"]["srcset"]
            .as_str()
            .unwrap()
            .contains("?w=640 640w")
    );

    let block = &page["body"][1];
    assert_eq!(block["caption"], "The span <i>at dawn</i>");
    assert_eq!(
        block["image"]["caption"], "The span at dawn",
        "the block's caption overrides"
    );
    assert_eq!(
        block["image"]["alt_text"],
        "A crane lowers a steel bridge span over water"
    );
    assert_eq!(
        page["body"][2]["image"]["caption"],
        "Crews lift the new span into place on Tuesday."
    );

    let html = page["body_html"].as_str().unwrap();
    assert!(
        html.contains(
            "<figcaption>The span <i>at dawn</i> <span class=\"credit\">Saul Loeb/AFP</span> <span class=\"source\">AFP</span></figcaption>"
        ),
        "{html}"
    );
    assert!(
        html.contains("alt=\"A crane lowers a steel bridge span over water\""),
        "{html}"
    );
    assert!(
        html.contains("srcset=\"https://news.example.com/media/"),
        "{html}"
    );

    let list = app.get("/api/v1/articles").await.json();
    assert_eq!(list["data"][0]["hero"]["image"]["credit"], "Saul Loeb/AFP");
}

#[actix_web::test]
async fn an_article_cannot_reference_a_missing_image() {
    let app = TestApp::spawn().await;
    let editor = app.token_for("editor").await;
    let photo = news_photo(&app, &editor, 3).await;
    let missing = "00000000-0000-0000-0000-000000000000";
    let res = app
        .post(
            "/api/v1/admin/articles",
            &story_with(missing, photo["id"].as_str().unwrap()),
        )
        .bearer(&editor)
        .send()
        .await;
    let problem = res.assert_problem(422);
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["hero.image_id", "body[2].image_id"]);
}

#[actix_web::test]
async fn an_image_used_by_a_published_article_cannot_be_deleted() {
    let app = TestApp::spawn().await;
    let editor = app.token_for("editor").await;
    let used = news_photo(&app, &editor, 4).await;
    let draft_only = news_photo(&app, &editor, 5).await;
    let (used_id, draft_id) = (used["id"].as_str().unwrap(), draft_only["id"].as_str().unwrap());
    crate::articles::published(&app, &editor, &story_with(used_id, used_id)).await;
    let mut draft = story_with(draft_id, draft_id);
    draft["headline"] = json!("Draft with its own picture");
    crate::articles::create(&app, &editor, &draft).await;

    let res = app
        .request(Method::DELETE, &format!("/api/v1/admin/images/{used_id}"))
        .bearer(&editor)
        .send()
        .await;
    res.assert_problem(409);
    app.get(&format!("/media/{used_id}/original"))
        .await
        .assert_status(200);

    app.request(Method::DELETE, &format!("/api/v1/admin/images/{draft_id}"))
        .bearer(&editor)
        .send()
        .await
        .assert_status(204);
}

#[actix_web::test]
async fn the_site_logo_is_expanded_and_must_exist() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let logo = news_photo(&app, &admin, 6).await;
    app.patch(
        "/api/v1/admin/site",
        &json!({"logo_image_id": "00000000-0000-0000-0000-000000000000"}),
    )
    .bearer(&admin)
    .send()
    .await
    .assert_problem(422);
    let site = app
        .patch("/api/v1/admin/site", &json!({"logo_image_id": logo["id"]}))
        .bearer(&admin)
        .send()
        .await;
    site.assert_status(200);
    let public = app.get("/api/v1/site").await.json();
    assert_eq!(public["logo"]["id"], logo["id"]);
    assert_eq!(public["logo"]["credit"], "Saul Loeb/AFP");
}
