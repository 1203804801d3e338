//! Articles: editorial API (roles, revisions, If-Match, scheduling) and the public API
//! (pagination, filters, search, caching, slug redirects).

use actix_web::http::Method;
use serde_json::{Value, json};

use crate::helpers::TestApp;

pub fn story(headline: &str) -> Value {
    json!({
        "headline": headline,
        "standfirst": "A short summary for the front page.",
        "dateline": "PORTSMOUTH",
        "body": [
            {"type": "paragraph", "text": "The harbour bridge <b>reopened</b> on Tuesday."},
            {"type": "heading", "level": 2, "text": "What changed"},
            {"type": "quote", "text": "We are glad it is over.", "attribution": "A commuter"},
            {"type": "list", "ordered": false, "items": ["New cables", "Wider lanes"]},
            {"type": "divider"},
            {"type": "embed", "url": "https://video.example.com/v/1", "provider": "ExampleTube"}
        ]
    })
}

pub async fn create(app: &TestApp, token: &str, body: &Value) -> Value {
    let res = app
        .post("/api/v1/admin/articles", body)
        .bearer(token)
        .send()
        .await;
    res.assert_status(201);
    res.json()
}

pub async fn action(app: &TestApp, token: &str, id: &str, what: &str) -> crate::helpers::TestResponse {
    app.post(&format!("/api/v1/admin/articles/{id}/{what}"), &json!({}))
        .bearer(token)
        .send()
        .await
}

/// Creates and publishes an article; returns its JSON.
pub async fn published(app: &TestApp, token: &str, body: &Value) -> Value {
    let a = create(app, token, body).await;
    let res = action(app, token, a["id"].as_str().unwrap(), "publish").await;
    res.assert_status(200);
    res.json()
}

/// The field paths of a validation problem, in order.
pub fn fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect()
}

#[actix_web::test]
async fn an_editor_publishes_and_the_public_api_serves_the_whole_article() {
    let app = TestApp::spawn().await;
    let (editor_id, editor) = app.user_with_role("editor").await;
    let a = published(
        &app,
        &editor,
        &story("Harbour bridge reopens after storm repairs"),
    )
    .await;
    assert_eq!(a["status"], "published");
    assert_eq!(a["slug"], "harbour-bridge-reopens-after-storm-repairs");

    let res = app
        .get("/api/v1/articles/harbour-bridge-reopens-after-storm-repairs")
        .await;
    res.assert_status(200);
    let body = res.json();
    assert_eq!(body["headline"], "Harbour bridge reopens after storm repairs");
    assert_eq!(body["dateline"], "PORTSMOUTH");
    assert_eq!(body["authors"][0]["id"], editor_id.as_str());
    assert_eq!(body["authors"][0]["display_name"], "Test editor");
    assert_eq!(body["body"].as_array().unwrap().len(), 6);
    let html = body["body_html"].as_str().unwrap();
    assert!(html.contains("<p>The harbour bridge <b>reopened</b> on Tuesday.</p>"));
    assert!(html.contains("<h2>What changed</h2>"));
    assert!(html.contains("<cite>A commuter</cite>"));
    assert!(html.contains("<ul><li>New cables</li><li>Wider lanes</li></ul>"));
    assert!(body["word_count"].as_i64().unwrap() > 20);
    assert_eq!(body["reading_minutes"], 1);
    assert_eq!(body["comment_count"], 0);
    assert_eq!(body["comments_enabled"], true);
    assert_eq!(
        body["seo"]["meta_title"],
        "Harbour bridge reopens after storm repairs"
    );
    let canonical = body["seo"]["canonical_url"].as_str().unwrap();
    assert!(
        canonical.ends_with("/harbour-bridge-reopens-after-storm-repairs"),
        "{canonical}"
    );
    assert!(canonical.starts_with(app.settings.public_url.trim_end_matches('/')));

    let list = app.get("/api/v1/articles").await;
    list.assert_status(200);
    let item = &list.json()["data"][0];
    assert_eq!(item["slug"], "harbour-bridge-reopens-after-storm-repairs");
    assert!(item.get("body").is_none() && item.get("body_html").is_none());
}

#[actix_web::test]
async fn drafts_are_not_public() {
    let app = TestApp::spawn().await;
    let editor = app.token_for("editor").await;
    let a = create(&app, &editor, &story("Quiet draft")).await;
    app.get(&format!("/api/v1/articles/{}", a["slug"].as_str().unwrap()))
        .await
        .assert_problem(404);
    assert_eq!(app.get("/api/v1/articles").await.json()["data"], json!([]));
}

#[actix_web::test]
async fn body_blocks_are_validated_with_field_paths() {
    let app = TestApp::spawn().await;
    let editor = app.token_for("editor").await;
    let res = app
        .post(
            "/api/v1/admin/articles",
            &json!({"headline": "Bad blocks", "body": [
                {"type": "paragraph", "text": "fine"},
                {"type": "video", "url": "x"},
                {"type": "heading", "text": "no level"},
                {"type": "heading", "level": 5, "text": "too deep"},
                {"type": "paragraph"},
                "not an object",
                {"type": "image"},
                {"type": "list", "items": []},
                {"type": "embed", "url": "javascript:alert(1)"},
                {"text": "no type"}
            ]}),
        )
        .bearer(&editor)
        .send()
        .await;
    let problem = res.assert_problem(422);
    assert_eq!(
        fields(&problem),
        [
            "body[1].type",
            "body[2].level",
            "body[3].level",
            "body[4].text",
            "body[5]",
            "body[6].image_id",
            "body[7].items",
            "body[8].url",
            "body[9].type"
        ]
    );
}

#[actix_web::test]
async fn inline_text_keeps_only_bold_italic_and_links() {
    let app = TestApp::spawn().await;
    let editor = app.token_for("editor").await;
    let a = create(
        &app,
        &editor,
        &json!({"headline": "<i>Markup</i> test", "body": [{"type": "paragraph",
            "text": "<strong>S</strong> <em>E</em> <a href=\"https://x.example\" onclick=\"evil()\">l</a><script>alert(1)</script><img src=x onerror=alert(1)><span style=\"x\">t</span>"}]}),
    )
    .await;
    let text = a["body"][0]["text"].as_str().unwrap();
    assert!(text.contains("<strong>S</strong>") && text.contains("<em>E</em>"));
    assert!(text.contains("href=\"https://x.example\""));
    for bad in ["script", "onclick", "onerror", "<img", "<span", "style"] {
        assert!(!text.contains(bad), "{bad} survived in {text}");
        assert!(!a["body_html"].as_str().unwrap().contains(bad));
    }
    assert_eq!(a["headline"], "Markup test");
}

#[actix_web::test]
async fn headline_empty_or_over_300_characters_is_422() {
    let app = TestApp::spawn().await;
    let editor = app.token_for("editor").await;
    for headline in [json!(""), json!("   "), json!("x".repeat(301))] {
        let res = app
            .post("/api/v1/admin/articles", &json!({"headline": headline}))
            .bearer(&editor)
            .send()
            .await;
        assert_eq!(fields(&res.assert_problem(422)), ["headline"]);
    }
    let res = app
        .post("/api/v1/admin/articles", &json!({}))
        .bearer(&editor)
        .send()
        .await;
    assert_eq!(fields(&res.assert_problem(422)), ["headline"]);
    create(&app, &editor, &json!({"headline": "é".repeat(300)})).await;
}

#[actix_web::test]
async fn publishing_or_scheduling_an_empty_body_is_422() {
    let app = TestApp::spawn().await;
    let editor = app.token_for("editor").await;
    let a = create(&app, &editor, &json!({"headline": "Nothing yet"})).await;
    let id = a["id"].as_str().unwrap();
    let p = action(&app, &editor, id, "publish").await.assert_problem(422);
    assert_eq!(fields(&p), ["body"]);
    let res = app
        .post(
            &format!("/api/v1/admin/articles/{id}/schedule"),
            &json!({"publish_at": "2030-01-01T00:00:00Z"}),
        )
        .bearer(&editor)
        .send()
        .await;
    res.assert_problem(422);
}

#[actix_web::test]
async fn publish_at_that_is_not_rfc_3339_is_422() {
    let app = TestApp::spawn().await;
    let editor = app.token_for("editor").await;
    let a = create(&app, &editor, &story("Timing")).await;
    let id = a["id"].as_str().unwrap();
    for bad in [
        json!("tomorrow"),
        json!("2030-01-01 10:00"),
        json!("2030-13-01T00:00:00Z"),
        json!(null),
    ] {
        let res = app
            .post(
                &format!("/api/v1/admin/articles/{id}/schedule"),
                &json!({"publish_at": bad}),
            )
            .bearer(&editor)
            .send()
            .await;
        assert_eq!(fields(&res.assert_problem(422)), ["publish_at"], "{bad}");
    }
    let res = app
        .post(
            &format!("/api/v1/admin/articles/{id}/schedule"),
            &json!({"publish_at": 12}),
        )
        .bearer(&editor)
        .send()
        .await;
    res.assert_problem(422);
}

#[actix_web::test]
async fn slugs_are_transliterated_unique_and_a_duplicate_explicit_slug_is_409() {
    let app = TestApp::spawn().await;
    let editor = app.token_for("editor").await;
    let a = create(&app, &editor, &json!({"headline": "Zürich façade: Ça va?"})).await;
    assert_eq!(a["slug"], "zurich-facade-ca-va");
    let b = create(&app, &editor, &json!({"headline": "Zurich facade ca va"})).await;
    assert_eq!(b["slug"], "zurich-facade-ca-va-2");
    let c = create(&app, &editor, &json!({"headline": "Zurich facade: ca va!"})).await;
    assert_eq!(c["slug"], "zurich-facade-ca-va-3");

    let res = app
        .post(
            "/api/v1/admin/articles",
            &json!({"headline": "Other", "slug": "zurich-facade-ca-va"}),
        )
        .bearer(&editor)
        .send()
        .await;
    res.assert_problem(409);
    let res = app
        .patch(
            &format!("/api/v1/admin/articles/{}", b["id"].as_str().unwrap()),
            &json!({"slug": "zurich-facade-ca-va"}),
        )
        .bearer(&editor)
        .send()
        .await;
    res.assert_problem(409);
    let res = app
        .post(
            "/api/v1/admin/articles",
            &json!({"headline": "Other", "slug": "Not A Slug"}),
        )
        .bearer(&editor)
        .send()
        .await;
    assert_eq!(fields(&res.assert_problem(422)), ["slug"]);
}

#[actix_web::test]
async fn a_changed_slug_answers_301_with_location_to_the_current_one() {
    let app = TestApp::spawn().await;
    let editor = app.token_for("editor").await;
    let a = published(&app, &editor, &story("Council votes on budget")).await;
    let id = a["id"].as_str().unwrap();
    let res = app
        .patch(
            &format!("/api/v1/admin/articles/{id}"),
            &json!({"slug": "council-approves-budget"}),
        )
        .bearer(&editor)
        .send()
        .await;
    res.assert_status(200);
    let res = app.get("/api/v1/articles/council-votes-on-budget").await;
    res.assert_status(301);
    assert_eq!(
        res.header("location").unwrap(),
        "/api/v1/articles/council-approves-budget"
    );
    app.get("/api/v1/articles/council-approves-budget")
        .await
        .assert_status(200);
    // The old slug stays reserved for the redirect.
    app.post(
        "/api/v1/admin/articles",
        &json!({"headline": "x", "slug": "council-votes-on-budget"}),
    )
    .bearer(&editor)
    .send()
    .await
    .assert_problem(409);
    // Changing back is allowed and serves directly again.
    app.patch(
        &format!("/api/v1/admin/articles/{id}"),
        &json!({"slug": "council-votes-on-budget"}),
    )
    .bearer(&editor)
    .send()
    .await
    .assert_status(200);
    app.get("/api/v1/articles/council-votes-on-budget")
        .await
        .assert_status(200);
    app.get("/api/v1/articles/council-approves-budget")
        .await
        .assert_status(301);
}

#[actix_web::test]
async fn a_stale_if_match_is_412_and_nothing_changes() {
    let app = TestApp::spawn().await;
    let editor = app.token_for("editor").await;
    let a = create(&app, &editor, &story("Two editors")).await;
    let id = a["id"].as_str().unwrap();
    let path = format!("/api/v1/admin/articles/{id}");
    let loaded = app.request(Method::GET, &path).bearer(&editor).send().await;
    loaded.assert_status(200);
    let etag = loaded.header("etag").unwrap();
    assert_eq!(loaded.header("cache-control").unwrap(), "no-store");

    let first = app
        .patch(&path, &json!({"headline": "First editor wins"}))
        .bearer(&editor)
        .header("If-Match", &etag)
        .send()
        .await;
    first.assert_status(200);
    let new_etag = first.header("etag").unwrap();
    assert_ne!(new_etag, etag);

    let second = app
        .patch(&path, &json!({"headline": "Second editor overwrites"}))
        .bearer(&editor)
        .header("If-Match", &etag)
        .send()
        .await;
    second.assert_problem(412);
    for what in ["publish", "archive"] {
        app.request(Method::POST, &format!("{path}/{what}"))
            .bearer(&editor)
            .header("If-Match", &etag)
            .send()
            .await
            .assert_problem(412);
    }
    app.request(Method::DELETE, &path)
        .bearer(&editor)
        .header("If-Match", &etag)
        .send()
        .await
        .assert_problem(412);
    let now = app
        .request(Method::GET, &path)
        .bearer(&editor)
        .send()
        .await
        .json();
    assert_eq!(now["headline"], "First editor wins");
    assert_eq!(now["status"], "draft");

    app.patch(&path, &json!({"headline": "Third"}))
        .bearer(&editor)
        .header("If-Match", &new_etag)
        .send()
        .await
        .assert_status(200);
}

#[actix_web::test]
async fn a_weak_if_match_never_matches_and_is_412() {
    let app = TestApp::spawn().await;
    let editor = app.token_for("editor").await;
    let a = create(&app, &editor, &story("Weak tags")).await;
    let path = format!("/api/v1/admin/articles/{}", a["id"].as_str().unwrap());
    let etag = app
        .request(Method::GET, &path)
        .bearer(&editor)
        .send()
        .await
        .header("etag")
        .unwrap();
    // RFC 9110 §13.1.1: If-Match uses the strong comparison, so W/ of the current tag fails.
    app.patch(&path, &json!({"headline": "Weakly changed"}))
        .bearer(&editor)
        .header("If-Match", &format!("W/{etag}"))
        .send()
        .await
        .assert_problem(412);
    app.patch(&path, &json!({"headline": "Strongly changed"}))
        .bearer(&editor)
        .header("If-Match", &etag)
        .send()
        .await
        .assert_status(200);
}

#[actix_web::test]
async fn restoring_a_missing_revision_is_a_404_that_names_the_revision() {
    let app = TestApp::spawn().await;
    let editor = app.token_for("editor").await;
    let a = create(&app, &editor, &story("Revision names")).await;
    let id = a["id"].as_str().unwrap();
    let missing = app
        .post(
            &format!("/api/v1/admin/articles/{id}/revisions/99/restore"),
            &json!({}),
        )
        .bearer(&editor)
        .send()
        .await;
    let problem = missing.assert_problem(404);
    assert_eq!(problem["detail"], "revision was not found");
    let no_article = app
        .post(
            "/api/v1/admin/articles/no-such-article/revisions/1/restore",
            &json!({}),
        )
        .bearer(&editor)
        .send()
        .await;
    assert_eq!(no_article.assert_problem(404)["detail"], "article was not found");
}

#[actix_web::test]
async fn every_save_writes_a_revision_and_a_revision_can_be_restored() {
    let app = TestApp::spawn().await;
    let editor = app.token_for("editor").await;
    let a = create(&app, &editor, &story("Original headline")).await;
    let id = a["id"].as_str().unwrap();
    let path = format!("/api/v1/admin/articles/{id}");
    app.patch(
        &path,
        &json!({"headline": "Second headline", "body": [{"type": "paragraph", "text": "Rewritten."}]}),
    )
    .bearer(&editor)
    .send()
    .await
    .assert_status(200);
    action(&app, &editor, id, "publish").await.assert_status(200);

    let revs = app
        .request(Method::GET, &format!("{path}/revisions"))
        .bearer(&editor)
        .send()
        .await;
    revs.assert_status(200);
    let revs = revs.json();
    let numbers: Vec<i64> = revs["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["number"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, [3, 2, 1]);
    assert_eq!(revs["data"][2]["content"]["headline"], "Original headline");

    let restored = app
        .request(Method::POST, &format!("{path}/revisions/1/restore"))
        .bearer(&editor)
        .send()
        .await;
    restored.assert_status(200);
    let restored = restored.json();
    assert_eq!(restored["headline"], "Original headline");
    assert_eq!(restored["body"].as_array().unwrap().len(), 6);
    assert_eq!(restored["status"], "published");
    let revs = app
        .request(Method::GET, &format!("{path}/revisions?limit=1"))
        .bearer(&editor)
        .send()
        .await
        .json();
    assert_eq!(revs["data"][0]["number"], 4);
    assert!(revs["next_cursor"].is_string());

    app.request(Method::POST, &format!("{path}/revisions/99/restore"))
        .bearer(&editor)
        .send()
        .await
        .assert_problem(404);
}

#[actix_web::test]
async fn contributors_write_their_own_drafts_only_and_cannot_publish() {
    let app = TestApp::spawn().await;
    let contributor = app.token_for("contributor").await;
    let other = app.token_for("contributor").await;
    let editor = app.token_for("editor").await;
    let a = create(&app, &contributor, &story("A contributor's draft")).await;
    assert_eq!(a["status"], "draft");
    let id = a["id"].as_str().unwrap();
    let path = format!("/api/v1/admin/articles/{id}");
    app.patch(&path, &json!({"standfirst": "Edited"}))
        .bearer(&contributor)
        .send()
        .await
        .assert_status(200);
    app.patch(&path, &json!({"standfirst": "Not mine"}))
        .bearer(&other)
        .send()
        .await
        .assert_problem(403);
    for what in ["publish", "unpublish", "archive"] {
        action(&app, &contributor, id, what).await.assert_problem(403);
    }
    app.post(
        &format!("{path}/schedule"),
        &json!({"publish_at": "2030-01-01T00:00:00Z"}),
    )
    .bearer(&contributor)
    .send()
    .await
    .assert_problem(403);
    // Once an editor publishes it, the contributor can no longer change it.
    action(&app, &editor, id, "publish").await.assert_status(200);
    app.patch(&path, &json!({"standfirst": "Sneaky"}))
        .bearer(&contributor)
        .send()
        .await
        .assert_problem(403);
    app.request(Method::DELETE, &path)
        .bearer(&contributor)
        .send()
        .await
        .assert_problem(403);
    // Their own draft they may delete.
    let b = create(&app, &contributor, &story("Second draft")).await;
    app.request(
        Method::DELETE,
        &format!("/api/v1/admin/articles/{}", b["id"].as_str().unwrap()),
    )
    .bearer(&contributor)
    .send()
    .await
    .assert_status(204);
}

#[actix_web::test]
async fn authors_publish_their_own_articles_and_editors_any() {
    let app = TestApp::spawn().await;
    let author = app.token_for("author").await;
    let other_author = app.token_for("author").await;
    let editor = app.token_for("editor").await;
    let mine = create(&app, &author, &story("Author's own")).await;
    let id = mine["id"].as_str().unwrap();
    action(&app, &other_author, id, "publish")
        .await
        .assert_problem(403);
    app.patch(&format!("/api/v1/admin/articles/{id}"), &json!({"headline": "x"}))
        .bearer(&other_author)
        .send()
        .await
        .assert_problem(403);
    action(&app, &author, id, "publish").await.assert_status(200);
    app.patch(
        &format!("/api/v1/admin/articles/{id}"),
        &json!({"headline": "Corrected"}),
    )
    .bearer(&author)
    .send()
    .await
    .assert_status(200);
    action(&app, &author, id, "unpublish").await.assert_status(200);

    let theirs = create(&app, &other_author, &story("Someone else's")).await;
    let tid = theirs["id"].as_str().unwrap();
    action(&app, &editor, tid, "publish").await.assert_status(200);
    let archived = action(&app, &editor, tid, "archive").await;
    archived.assert_status(200);
    assert_eq!(archived.json()["status"], "archived");
    app.get("/api/v1/articles/someone-elses")
        .await
        .assert_problem(404);
    app.request(Method::DELETE, &format!("/api/v1/admin/articles/{tid}"))
        .bearer(&editor)
        .send()
        .await
        .assert_status(204);
    app.request(Method::GET, &format!("/api/v1/admin/articles/{tid}"))
        .bearer(&editor)
        .send()
        .await
        .assert_problem(404);
}

#[actix_web::test]
async fn a_scheduled_article_appears_exactly_when_due_without_any_job() {
    let app = TestApp::spawn().await;
    let editor = app.token_for("editor").await;
    let a = create(&app, &editor, &story("Embargoed report")).await;
    let id = a["id"].as_str().unwrap();
    let due = chrono::Utc::now() + chrono::Duration::seconds(2);
    let res = app
        .post(
            &format!("/api/v1/admin/articles/{id}/schedule"),
            &json!({"publish_at": due.to_rfc3339()}),
        )
        .bearer(&editor)
        .send()
        .await;
    res.assert_status(200);
    assert_eq!(res.json()["status"], "scheduled");
    let scheduled = app
        .request(Method::GET, "/api/v1/admin/articles?status=scheduled")
        .bearer(&editor)
        .send()
        .await
        .json();
    assert_eq!(scheduled["data"].as_array().unwrap().len(), 1);

    loop {
        let res = app.get("/api/v1/articles/embargoed-report").await;
        let now = chrono::Utc::now();
        if res.status == 200 {
            assert!(
                now >= due - chrono::Duration::milliseconds(50),
                "visible before it was due"
            );
            assert_eq!(res.json()["status"], "published");
            break;
        }
        res.assert_problem(404);
        assert!(
            now < due + chrono::Duration::seconds(3),
            "not visible after it was due"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let list = app.get("/api/v1/articles").await.json();
    assert_eq!(list["data"][0]["slug"], "embargoed-report");

    // A time in the past publishes at once; a far future one stays hidden.
    let b = create(&app, &editor, &story("Back-dated")).await;
    app.post(
        &format!("/api/v1/admin/articles/{}/schedule", b["id"].as_str().unwrap()),
        &json!({"publish_at": "2020-01-01T00:00:00+02:00"}),
    )
    .bearer(&editor)
    .send()
    .await
    .assert_status(200);
    let back = app.get("/api/v1/articles/back-dated").await;
    back.assert_status(200);
    assert_eq!(back.json()["published_at"], "2019-12-31T22:00:00Z");
    let c = create(&app, &editor, &story("Far future")).await;
    app.post(
        &format!("/api/v1/admin/articles/{}/schedule", c["id"].as_str().unwrap()),
        &json!({"publish_at": "2099-01-01T00:00:00Z"}),
    )
    .bearer(&editor)
    .send()
    .await
    .assert_status(200);
    app.get("/api/v1/articles/far-future").await.assert_problem(404);
}

#[actix_web::test]
async fn the_public_list_pages_by_keyset_without_gaps_or_repeats() {
    let app = TestApp::spawn().await;
    let editor = app.token_for("editor").await;
    for i in 0..7 {
        published(&app, &editor, &story(&format!("Story number {i}"))).await;
    }
    let mut seen = Vec::new();
    let mut path = "/api/v1/articles?limit=3".to_owned();
    loop {
        let res = app.get(&path).await;
        res.assert_status(200);
        let page = res.json();
        for item in page["data"].as_array().unwrap() {
            seen.push(item["headline"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/api/v1/articles?limit=3&cursor={c}"),
            None => break,
        }
    }
    let expected: Vec<String> = (0..7).rev().map(|i| format!("Story number {i}")).collect();
    assert_eq!(seen, expected);
}

#[actix_web::test]
async fn a_garbage_or_tampered_cursor_and_a_limit_outside_1_to_100_are_400() {
    let app = TestApp::spawn().await;
    let editor = app.token_for("editor").await;
    for i in 0..3 {
        published(&app, &editor, &story(&format!("Item {i}"))).await;
    }
    let page = app.get("/api/v1/articles?limit=1").await.json();
    let cursor = page["next_cursor"].as_str().unwrap().to_owned();
    let mut tampered = cursor.clone();
    tampered.replace_range(0..2, "zz");
    for path in [
        "/api/v1/articles?cursor=garbage".to_owned(),
        format!("/api/v1/articles?cursor={tampered}"),
        "/api/v1/articles?limit=0".to_owned(),
        "/api/v1/articles?limit=101".to_owned(),
        "/api/v1/articles?limit=-1".to_owned(),
        "/api/v1/articles?limit=abc".to_owned(),
        "/api/v1/articles?published_after=yesterday".to_owned(),
        format!("/api/v1/articles?q=item&cursor={cursor}"),
    ] {
        app.get(&path).await.assert_problem(400);
    }
    app.get("/api/v1/articles?limit=100").await.assert_status(200);
    app.request(Method::GET, "/api/v1/admin/articles?limit=0")
        .bearer(&editor)
        .send()
        .await
        .assert_problem(400);
}

#[actix_web::test]
async fn filters_by_tag_author_and_publication_time() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (author_id, author) = app.user_with_role("author").await;
    let editor = app.token_for("editor").await;
    for name in ["Politics", "Sport"] {
        app.post("/api/v1/admin/tags", &json!({"name": name}))
            .bearer(&admin)
            .send()
            .await
            .assert_status(201);
    }
    let mut body = story("Election night");
    body["tags"] = json!(["politics"]);
    published(&app, &author, &body).await;
    let mut body = story("Cup final");
    body["tags"] = json!(["sport"]);
    let cup = published(&app, &editor, &body).await;

    let by_tag = app.get("/api/v1/articles?tag=politics").await;
    by_tag.assert_status(200);
    let data = by_tag.json()["data"].clone();
    assert_eq!(data.as_array().unwrap().len(), 1);
    assert_eq!(data[0]["headline"], "Election night");
    assert_eq!(data[0]["tags"][0]["slug"], "politics");
    assert!(by_tag.header("surrogate-key").unwrap().contains("tag:politics"));

    let unknown = app.get("/api/v1/articles?tag=no-such-tag").await;
    unknown.assert_status(200);
    assert_eq!(unknown.json()["data"], json!([]));

    let by_author = app
        .get(&format!("/api/v1/articles?author={author_id}"))
        .await
        .json();
    assert_eq!(by_author["data"].as_array().unwrap().len(), 1);
    assert_eq!(by_author["data"][0]["headline"], "Election night");

    let cup_time = cup["published_at"].as_str().unwrap();
    let after = app
        .get(&format!(
            "/api/v1/articles?published_after={}",
            cup_time.replace('+', "%2B")
        ))
        .await
        .json();
    assert_eq!(after["data"], json!([]));
    let before = app
        .get(&format!("/api/v1/articles?published_before={cup_time}"))
        .await
        .json();
    assert_eq!(before["data"][0]["headline"], "Election night");
    assert_eq!(before["data"].as_array().unwrap().len(), 1);
    let all = app
        .get("/api/v1/articles?published_after=2000-01-01T00:00:00Z")
        .await
        .json();
    assert_eq!(all["data"].as_array().unwrap().len(), 2);

    let admin_list = app
        .request(Method::GET, "/api/v1/admin/articles?tag=sport&status=published")
        .bearer(&editor)
        .send()
        .await
        .json();
    assert_eq!(admin_list["data"][0]["headline"], "Cup final");
    app.request(Method::GET, "/api/v1/admin/articles?status=bogus")
        .bearer(&editor)
        .send()
        .await
        .assert_problem(400);
}

#[actix_web::test]
async fn full_text_search_finds_words_in_headline_standfirst_and_body_ranked() {
    let app = TestApp::spawn().await;
    let editor = app.token_for("editor").await;
    published(
        &app,
        &editor,
        &json!({"headline": "Ferry timetable changes", "body": [{"type": "paragraph", "text": "The lighthouse keeper retired."}]}),
    )
    .await;
    published(
        &app,
        &editor,
        &json!({"headline": "Lighthouse restored", "standfirst": "The lighthouse shines again",
                "body": [{"type": "paragraph", "text": "Volunteers restored the lighthouse lamp."}]}),
    )
    .await;
    published(
        &app,
        &editor,
        &json!({"headline": "Unrelated", "body": [{"type": "paragraph", "text": "Nothing here."}]}),
    )
    .await;
    let draft = create(
        &app,
        &editor,
        &json!({"headline": "Lighthouse draft", "body": [{"type": "paragraph", "text": "secret"}]}),
    )
    .await;
    assert_eq!(draft["status"], "draft");

    let res = app.get("/api/v1/articles?q=lighthouse").await;
    res.assert_status(200);
    let headlines: Vec<String> = res.json()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["headline"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(headlines, ["Lighthouse restored", "Ferry timetable changes"]);

    let page = app.get("/api/v1/articles?q=lighthouse&limit=1").await.json();
    assert_eq!(page["data"][0]["headline"], "Lighthouse restored");
    let next = app
        .get(&format!(
            "/api/v1/articles?q=lighthouse&limit=1&cursor={}",
            page["next_cursor"].as_str().unwrap()
        ))
        .await
        .json();
    assert_eq!(next["data"][0]["headline"], "Ferry timetable changes");
    assert!(next["next_cursor"].is_null());

    for q in [
        "\"unbalanced",
        "AND OR NOT",
        "*",
        "a:b",
        "'; DROP TABLE articles; --",
        "ümlaut",
    ] {
        let res = app.get(&format!("/api/v1/articles?q={}", urlencode(q))).await;
        res.assert_status(200);
    }
    let none = app.get("/api/v1/articles?q=zeppelin").await.json();
    assert_eq!(none["data"], json!([]));
    let admin = app
        .request(Method::GET, "/api/v1/admin/articles?q=lighthouse")
        .bearer(&editor)
        .send()
        .await
        .json();
    assert_eq!(admin["data"].as_array().unwrap().len(), 3);
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[actix_web::test]
async fn public_gets_are_cacheable_and_answer_304() {
    let app = TestApp::spawn().await;
    let editor = app.token_for("editor").await;
    let a = published(&app, &editor, &story("Cache me")).await;
    let id = a["id"].as_str().unwrap();
    for path in ["/api/v1/articles/cache-me", "/api/v1/articles"] {
        let res = app.get(path).await;
        res.assert_status(200);
        let etag = res.header("etag").unwrap();
        assert!(etag.starts_with('"') && !etag.starts_with("W/"));
        let lm = res.header("last-modified").unwrap();
        assert!(lm.ends_with("GMT"));
        assert_eq!(
            res.header("cache-control").unwrap(),
            format!(
                "public, max-age={}, stale-while-revalidate={}",
                app.settings.cache_max_age, app.settings.cache_stale_while_revalidate
            )
        );
        assert!(
            res.header("surrogate-key")
                .unwrap()
                .contains(&format!("article:{id}"))
        );

        let again = app
            .request(Method::GET, path)
            .header("If-None-Match", &etag)
            .send()
            .await;
        again.assert_status(304);
        assert!(again.body.is_empty());
        assert_eq!(again.header("etag").unwrap(), etag);
        let since = app
            .request(Method::GET, path)
            .header("If-Modified-Since", &lm)
            .send()
            .await;
        since.assert_status(304);
        let old = app
            .request(Method::GET, path)
            .header("If-Modified-Since", "Mon, 01 Jan 2001 00:00:00 GMT")
            .send()
            .await;
        old.assert_status(200);
        let other = app
            .request(Method::GET, path)
            .header("If-None-Match", "\"nope\"")
            .send()
            .await;
        other.assert_status(200);
        let garbage = app
            .request(Method::GET, path)
            .header("If-Modified-Since", "garbage")
            .send()
            .await;
        garbage.assert_status(200);
    }
    let before = app.get("/api/v1/articles/cache-me").await.header("etag").unwrap();
    app.patch(
        &format!("/api/v1/admin/articles/{id}"),
        &json!({"standfirst": "Changed"}),
    )
    .bearer(&editor)
    .send()
    .await
    .assert_status(200);
    let res = app
        .request(Method::GET, "/api/v1/articles/cache-me")
        .header("If-None-Match", &before)
        .send()
        .await;
    res.assert_status(200);
    assert_eq!(res.json()["standfirst"], "Changed");
}

#[actix_web::test]
async fn unknown_articles_are_404_problems() {
    let app = TestApp::spawn().await;
    let editor = app.token_for("editor").await;
    app.get("/api/v1/articles/nothing-here").await.assert_problem(404);
    for (method, suffix) in [
        (Method::GET, ""),
        (Method::DELETE, ""),
        (Method::POST, "/publish"),
        (Method::GET, "/revisions"),
    ] {
        app.request(method, &format!("/api/v1/admin/articles/nope{suffix}"))
            .bearer(&editor)
            .send()
            .await
            .assert_problem(404);
    }
}

#[actix_web::test]
async fn authors_and_tags_are_set_by_id_or_slug_and_validated() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (writer_id, _) = app.user_with_role("author").await;
    let editor = app.token_for("editor").await;
    let tag = app
        .post("/api/v1/admin/tags", &json!({"name": "Local News"}))
        .bearer(&admin)
        .send()
        .await
        .json();
    app.post("/api/v1/admin/tags", &json!({"name": "Weather"}))
        .bearer(&admin)
        .send()
        .await
        .assert_status(201);
    let mut body = story("Tagged");
    body["tags"] = json!([tag["id"], "weather"]);
    body["authors"] = json!([writer_id]);
    let a = create(&app, &editor, &body).await;
    let slugs: Vec<&str> = a["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["local-news", "weather"]);
    assert_eq!(a["authors"][0]["id"], writer_id.as_str());

    let res = app
        .post(
            "/api/v1/admin/articles",
            &json!({"headline": "x", "tags": ["weather", "nope"], "authors": ["ghost"]}),
        )
        .bearer(&editor)
        .send()
        .await;
    let mut f = fields(&res.assert_problem(422));
    f.sort();
    assert_eq!(f, ["authors[0]", "tags[1]"]);
}

#[actix_web::test]
async fn the_demo_loader_publishes_original_articles_once() {
    let app = TestApp::spawn().await;
    let db = masthead::db::Db::open(&app.settings.database_url, 1).unwrap();
    let passwords = masthead::auth::password::Passwords::new(app.settings.argon2_memory_kib).unwrap();
    let mut conn = db.get().unwrap();
    let first = masthead::demo::load(&mut conn, &passwords, &app.settings).unwrap();
    assert!(first.articles >= 5 && first.tags >= 3 && first.users == 1);
    let again = masthead::demo::load(&mut conn, &passwords, &app.settings).unwrap();
    assert_eq!(
        (again.articles, again.tags, again.users, again.comments),
        (0, 0, 0, 0)
    );
    assert_eq!(first.comments, 3);

    let list = app.get("/api/v1/articles").await.json();
    assert_eq!(list["data"].as_array().unwrap().len(), first.articles);
    let one = app.get(&format!("/api/v1/articles/{}", first.slugs[0])).await;
    one.assert_status(200);
    let one = one.json();
    assert_eq!(one["authors"][0]["display_name"], "Alex Rivera");
    assert!(!one["tags"].as_array().unwrap().is_empty());
    let local = app.get("/api/v1/tags/local").await.json();
    assert!(local["article_count"].as_i64().unwrap() >= 3);
    assert_eq!(one["comment_count"], 3);
    assert!(
        one["hero"]["image"]["credit"].is_string(),
        "demo heroes carry credits: {}",
        one["hero"]
    );
    assert!(one["body_html"].as_str().unwrap().contains("<figcaption>"));
    // A corrected article and an embargoed one (not public until its embargo ends).
    assert_eq!((first.corrections, again.corrections), (1, 0));
    let corrected = app
        .get(&format!("/api/v1/articles/{}", first.slugs[1]))
        .await
        .json();
    assert_eq!(corrected["corrections"][0]["kind"], "correction");
    assert_eq!(
        app.get("/api/v1/corrections").await.json()["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let embargoed = first.embargoed.clone().unwrap();
    assert_eq!(again.embargoed.as_deref(), Some(embargoed.as_str()));
    app.get(&format!("/api/v1/articles/{embargoed}"))
        .await
        .assert_problem(404);
    let comments = app
        .get(&format!("/api/v1/articles/{}/comments", first.slugs[0]))
        .await
        .json();
    assert_eq!(comments["data"].as_array().unwrap().len(), 2);
    assert_eq!(comments["data"][0]["replies"].as_array().unwrap().len(), 1);
}

#[actix_web::test]
async fn hero_and_seo_fields_are_stored_defaulted_and_cleared() {
    let app = TestApp::spawn().await;
    let editor = app.token_for("editor").await;
    let mut body = story("Hero shot");
    let image = crate::images::upload(&app, &editor, "dawn.jpg", &crate::images::jpeg(64, 48, 1), &[])
        .await
        .json();
    let image_id = image["id"].as_str().unwrap();
    body["hero"] = json!({"image_id": image_id, "caption": "<b>Dawn</b><script>x</script>"});
    body["seo"] = json!({"meta_title": "Custom title", "canonical_url": "https://elsewhere.example/a"});
    body["comments_enabled"] = json!(false);
    let a = create(&app, &editor, &body).await;
    assert_eq!(a["hero"]["image_id"], image_id);
    assert_eq!(a["hero"]["caption"], "<b>Dawn</b>");
    assert_eq!(a["hero"]["image"]["id"], image_id);
    assert_eq!(
        a["hero"]["image"]["caption"], "Dawn",
        "the override, as plain text"
    );
    assert_eq!(a["seo"]["meta_title"], "Custom title");
    assert_eq!(
        a["seo"]["meta_description"],
        "A short summary for the front page."
    );
    assert_eq!(a["seo"]["canonical_url"], "https://elsewhere.example/a");
    assert_eq!(a["comments_enabled"], false);

    let id = a["id"].as_str().unwrap();
    let res = app
        .patch(
            &format!("/api/v1/admin/articles/{id}"),
            &json!({"hero": null, "dateline": null, "seo": {"meta_title": null, "canonical_url": null}}),
        )
        .bearer(&editor)
        .send()
        .await;
    res.assert_status(200);
    let a = res.json();
    assert!(a["hero"].is_null() && a["dateline"].is_null());
    assert_eq!(a["seo"]["meta_title"], "Hero shot");
    assert!(
        a["seo"]["canonical_url"]
            .as_str()
            .unwrap()
            .ends_with("/hero-shot")
    );

    for bad in [
        json!({"hero": {"caption": "no id"}}),
        json!({"hero": "img"}),
        json!({"seo": {"canonical_url": "javascript:alert(1)"}}),
        json!({"dateline": 5}),
    ] {
        app.patch(&format!("/api/v1/admin/articles/{id}"), &bad)
            .bearer(&editor)
            .send()
            .await
            .assert_problem(422);
    }
}

#[actix_web::test]
async fn the_editorial_list_shows_every_status_pages_and_filters() {
    let app = TestApp::spawn().await;
    let editor = app.token_for("editor").await;
    let draft = create(&app, &editor, &story("Draft one")).await;
    let live = published(&app, &editor, &story("Live one")).await;
    let gone = published(&app, &editor, &story("Gone one")).await;
    action(&app, &editor, gone["id"].as_str().unwrap(), "archive")
        .await
        .assert_status(200);

    let mut seen = Vec::new();
    let mut path = "/api/v1/admin/articles?limit=2".to_owned();
    loop {
        let page = app.request(Method::GET, &path).bearer(&editor).send().await;
        page.assert_status(200);
        let page = page.json();
        seen.extend(
            page["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["headline"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/api/v1/admin/articles?limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, ["Gone one", "Live one", "Draft one"]);
    for (status, id) in [("draft", &draft), ("published", &live), ("archived", &gone)] {
        let list = app
            .request(Method::GET, &format!("/api/v1/admin/articles?status={status}"))
            .bearer(&editor)
            .send()
            .await
            .json();
        assert_eq!(list["data"].as_array().unwrap().len(), 1, "{status}");
        assert_eq!(list["data"][0]["id"], id["id"]);
    }
}

#[actix_web::test]
async fn schedule_unpublish_and_restore_honour_if_match_too() {
    let app = TestApp::spawn().await;
    let editor = app.token_for("editor").await;
    let a = create(&app, &editor, &story("Guarded")).await;
    let id = a["id"].as_str().unwrap();
    let stale = app
        .request(Method::GET, &format!("/api/v1/admin/articles/{id}"))
        .bearer(&editor)
        .send()
        .await
        .header("etag")
        .unwrap();
    app.patch(
        &format!("/api/v1/admin/articles/{id}"),
        &json!({"standfirst": "moved on"}),
    )
    .bearer(&editor)
    .send()
    .await
    .assert_status(200);
    app.post(
        &format!("/api/v1/admin/articles/{id}/schedule"),
        &json!({"publish_at": "2030-01-01T00:00:00Z"}),
    )
    .bearer(&editor)
    .header("If-Match", &stale)
    .send()
    .await
    .assert_problem(412);
    for path in ["unpublish", "revisions/1/restore"] {
        app.request(Method::POST, &format!("/api/v1/admin/articles/{id}/{path}"))
            .bearer(&editor)
            .header("If-Match", &stale)
            .send()
            .await
            .assert_problem(412);
    }
    let now = app
        .request(Method::GET, &format!("/api/v1/admin/articles/{id}"))
        .bearer(&editor)
        .send()
        .await
        .json();
    assert_eq!(now["status"], "draft");
    assert_eq!(now["standfirst"], "moved on");
}

#[actix_web::test]
async fn search_reads_whole_words_and_the_last_one_as_typed_so_far() {
    let app = TestApp::spawn().await;
    let editor = app.token_for("editor").await;
    published(&app, &editor, &story("Ferry strike ends")).await;
    let found = |q: &'static str| {
        let app = &app;
        async move {
            let res = app.get(&format!("/api/v1/articles?q={q}")).await;
            res.assert_status(200);
            res.json()["data"].as_array().unwrap().len()
        }
    };
    assert_eq!(found("strike%20fer").await, 1, "the last word is completed");
    assert_eq!(found("ferry%20strike").await, 1);
    assert_eq!(found("fer%20strike").await, 0, "only the last word is a prefix");
}

#[actix_web::test]
async fn a_kicker_is_set_changed_cleared_and_shown_to_readers() {
    let app = TestApp::spawn().await;
    let editor = app.token_for("editor").await;
    let mut body = story("Harbour bridge reopens");
    body["kicker"] = json!("Analysis");
    let a = published(&app, &editor, &body).await;
    assert_eq!(a["kicker"], "Analysis");
    let id = a["id"].as_str().unwrap();
    let public = app.get("/api/v1/articles/harbour-bridge-reopens").await.json();
    assert_eq!(public["kicker"], "Analysis");
    let list = app.get("/api/v1/articles").await.json();
    assert_eq!(list["data"][0]["kicker"], "Analysis");

    let path = format!("/api/v1/admin/articles/{id}");
    let res = app
        .patch(&path, &json!({"kicker": "x".repeat(61)}))
        .bearer(&editor)
        .send()
        .await;
    assert_eq!(fields(&res.assert_problem(422)), ["kicker"]);
    let res = app
        .patch(&path, &json!({"kicker": 7}))
        .bearer(&editor)
        .send()
        .await;
    assert_eq!(fields(&res.assert_problem(422)), ["kicker"]);
    let res = app
        .patch(&path, &json!({"kicker": "Exclusive"}))
        .bearer(&editor)
        .send()
        .await;
    res.assert_status(200);
    assert_eq!(res.json()["kicker"], "Exclusive");
    assert_eq!(
        app.get("/api/v1/articles/harbour-bridge-reopens").await.json()["kicker"],
        "Exclusive"
    );
    let res = app
        .patch(&path, &json!({"kicker": null}))
        .bearer(&editor)
        .send()
        .await;
    res.assert_status(200);
    assert!(res.json()["kicker"].is_null());
    let list = app.get("/api/v1/articles").await.json();
    assert!(list["data"][0]["kicker"].is_null());
}

/// Typed inputs (issue 11): one 422 names every invalid field of a write with its path, type
/// errors included (serde alone would stop at the first), and nothing is changed.
#[actix_web::test]
async fn a_write_with_several_bad_fields_names_each_of_them_at_once() {
    let app = TestApp::spawn().await;
    let editor = app.token_for("editor").await;
    let a = create(&app, &editor, &story("Several bad fields")).await;
    let id = a["id"].as_str().unwrap();
    let res = app
        .patch(
            &format!("/api/v1/admin/articles/{id}"),
            &json!({
                "kicker": "k".repeat(61),
                "comments_enabled": "yes",
                "tags": vec!["t"; 51],
                "embargo_until": "next week",
                "hero": {"caption": "no image id"},
                "seo": {"canonical_url": "ftp://x.example/"},
                "body": [{"type": "heading", "level": 9, "text": "x"}, {"type": "quote"}]
            }),
        )
        .bearer(&editor)
        .send()
        .await;
    let mut f = fields(&res.assert_problem(422));
    f.sort();
    assert_eq!(
        f,
        [
            "body[0].level",
            "body[1].text",
            "comments_enabled",
            "embargo_until",
            "hero.image_id",
            "kicker",
            "seo.canonical_url",
            "tags"
        ]
    );
    let after = app
        .get_as(&format!("/api/v1/admin/articles/{id}"), &editor)
        .await
        .json();
    assert_eq!(after["kicker"], a["kicker"]);
    assert_eq!(after["body"], a["body"]);
}

/// Every JSON write goes through the same typed parsing: a value of the wrong type is a 422
/// naming the field, not a 422 on "body" with serde's message about the whole document.
#[actix_web::test]
async fn a_wrong_type_in_any_write_names_its_field() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    for (path, body, field) in [
        (
            "/api/v1/admin/tags",
            json!({"name": "Weather", "slug": 7}),
            "slug",
        ),
        (
            "/api/v1/admin/users",
            json!({"email": "a@b.example", "display_name": ["x"], "role": "author", "password": "long enough password"}),
            "display_name",
        ),
        (
            "/api/v1/admin/webhooks",
            json!({"url": "https://hooks.example/x", "events": "article.published"}),
            "events",
        ),
    ] {
        let res = app.post(path, &body).bearer(&admin).send().await;
        let problem = res.assert_problem(422);
        assert_eq!(fields(&problem), [field], "{path}: {problem}");
    }
}
