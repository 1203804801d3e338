//! Reader comments: challenge, posting rules, spam defences, threading, moderation, caching.

use actix_web::http::Method;
use masthead::comments::challenge::{ChallengeClaims, Challenges};
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestResponse};

const TEST_SECRET: &[u8] = b"test-secret-that-is-long-enough-0123456789";

/// Creates and publishes an article through the editorial API; returns (id, slug).
pub async fn published_article(app: &TestApp, token: &str, headline: &str) -> (String, String) {
    let res = app
        .post(
            "/api/v1/admin/articles",
            &json!({
                "headline": headline,
                "standfirst": "A short summary.",
                "body": [{"type": "paragraph", "text": "The council met on Tuesday."}]
            }),
        )
        .bearer(token)
        .send()
        .await;
    res.assert_status(201);
    let article = res.json();
    let id = article["id"].as_str().unwrap().to_owned();
    app.request(Method::POST, &format!("/api/v1/admin/articles/{id}/publish"))
        .bearer(token)
        .send()
        .await
        .assert_status(200);
    (id, article["slug"].as_str().unwrap().to_owned())
}

/// A fresh challenge answered correctly: (token, answer).
pub async fn solved_challenge(app: &TestApp) -> (String, i64) {
    let res = app.get("/api/v1/comments/challenge").await;
    res.assert_status(200);
    let challenge = res.json();
    let question = challenge["question"].as_str().unwrap();
    let parts: Vec<&str> = question.split_whitespace().collect();
    let (a, b): (i64, i64) = (parts[0].parse().unwrap(), parts[2].parse().unwrap());
    let answer = if parts[1] == "-" { a - b } else { a + b };
    (challenge["token"].as_str().unwrap().to_owned(), answer)
}

pub async fn post_comment(app: &TestApp, slug: &str, fields: Value) -> TestResponse {
    let (token, answer) = solved_challenge(app).await;
    let mut body = json!({
        "author_name": "Ana",
        "author_email": "ana@example.org",
        "body": "Thanks for the clear explanation.",
        "challenge_token": token,
        "challenge_answer": answer,
        "website": ""
    });
    for (k, v) in fields.as_object().unwrap() {
        body[k] = v.clone();
    }
    app.post(&format!("/api/v1/articles/{slug}/comments"), &body)
        .send()
        .await
}

async fn approve(app: &TestApp, editor: &str, id: &str) {
    app.patch(
        &format!("/api/v1/admin/comments/{id}"),
        &json!({"status": "approved"}),
    )
    .bearer(editor)
    .send()
    .await
    .assert_status(200);
}

#[actix_web::test]
async fn the_challenge_is_a_small_sum_with_a_token() {
    let app = TestApp::spawn().await;
    let res = app.get("/api/v1/comments/challenge").await;
    res.assert_status(200);
    assert_eq!(res.header("cache-control").as_deref(), Some("no-store"));
    let body = res.json();
    assert!(body["question"].as_str().unwrap().ends_with(" = ?"), "{body}");
    assert!(body["token"].as_str().unwrap().contains('.'));
}

#[actix_web::test]
async fn a_comment_waits_for_moderation_then_appears_with_its_replies() {
    let app = TestApp::spawn().await;
    let editor = app.token_for("editor").await;
    let (article_id, slug) = published_article(&app, &editor, "Council passes the budget").await;

    let res = post_comment(&app, &slug, json!({"body": "  <b>Bold</b> claim & more  "})).await;
    res.assert_status(201);
    let comment = res.json();
    assert_eq!(comment["status"], "pending");
    assert_eq!(
        comment["body"], "<b>Bold</b> claim & more",
        "trimmed, returned as plain text"
    );
    assert!(comment.get("author_email").is_none());

    let list = app.get(&format!("/api/v1/articles/{slug}/comments")).await;
    list.assert_status(200);
    assert_eq!(
        list.json()["data"].as_array().unwrap().len(),
        0,
        "pending is not public"
    );

    let id = comment["id"].as_str().unwrap();
    approve(&app, &editor, id).await;
    let reply = post_comment(
        &app,
        &slug,
        json!({"parent_id": id, "author_name": "Ben", "body": "Agreed."}),
    )
    .await;
    reply.assert_status(201);
    approve(&app, &editor, reply.json()["id"].as_str().unwrap()).await;

    let list = app.get(&format!("/api/v1/articles/{slug}/comments")).await.json();
    let top = &list["data"][0];
    assert_eq!(top["body"], "<b>Bold</b> claim & more");
    assert_eq!(top["article"], article_id.as_str());
    assert_eq!(top["replies"][0]["author_name"], "Ben");
    assert_eq!(top["replies"][0]["parent_id"], id);
    let text = list.to_string();
    assert!(
        !text.contains("ana@example.org") && !text.contains("address_hash"),
        "{text}"
    );

    let article = app.get(&format!("/api/v1/articles/{slug}")).await.json();
    assert_eq!(article["comment_count"], 2);
}

#[actix_web::test]
async fn wrong_expired_reused_and_foreign_challenges_are_422() {
    // Every attempt counts against the address's rate, so give this test room.
    let app = TestApp::spawn_with(|s| s.comments_per_minute = 100).await;
    let editor = app.token_for("editor").await;
    let (_, slug) = published_article(&app, &editor, "Storm closes the harbour").await;
    let path = format!("/api/v1/articles/{slug}/comments");
    let form = |token: &str, answer: Value| json!({"author_name": "Ana", "body": "Hello", "challenge_token": token, "challenge_answer": answer});

    let (token, answer) = solved_challenge(&app).await;
    let wrong = app
        .post(&path, &form(&token, json!(answer + 1)))
        .send()
        .await
        .assert_problem(422);
    assert_eq!(wrong["errors"][0]["field"], "challenge_answer");

    app.post(&path, &form(&token, json!(answer.to_string())))
        .send()
        .await
        .assert_status(201);
    let reused = app
        .post(&path, &form(&token, json!(answer)))
        .send()
        .await
        .assert_problem(422);
    assert!(
        reused["detail"].as_str().unwrap().contains("already used"),
        "{reused}"
    );

    let ours = Challenges::new(TEST_SECRET, 600);
    let expired = ChallengeClaims {
        n: "expired-nonce".into(),
        a: 2,
        b: 3,
        op: '+',
        exp: chrono::Utc::now().timestamp() - 5,
    };
    let res = app
        .post(&path, &form(&ours.encode(&expired), json!(5)))
        .send()
        .await;
    assert!(
        res.assert_problem(422)["detail"]
            .as_str()
            .unwrap()
            .contains("expired")
    );

    let theirs = Challenges::new(b"some other server secret, 32 bytes+", 600);
    let (foreign, claims) = theirs.issue();
    app.post(&path, &form(&foreign, json!(claims.answer())))
        .send()
        .await
        .assert_problem(422);
    app.post(&path, &form("garbage", json!(1)))
        .send()
        .await
        .assert_problem(422);
}

#[actix_web::test]
async fn empty_or_overlong_bodies_are_422() {
    let app = TestApp::spawn().await;
    let editor = app.token_for("editor").await;
    let (_, slug) = published_article(&app, &editor, "Rail strike called off").await;
    let empty = post_comment(&app, &slug, json!({"body": "   "}))
        .await
        .assert_problem(422);
    assert_eq!(empty["errors"][0]["field"], "body");
    post_comment(&app, &slug, json!({"body": "x".repeat(5001)}))
        .await
        .assert_problem(422);
    post_comment(&app, &slug, json!({"body": "x".repeat(5000)}))
        .await
        .assert_status(201);
    post_comment(&app, &slug, json!({"author_name": ""}))
        .await
        .assert_problem(422);
}

#[actix_web::test]
async fn replies_must_stay_on_the_article_and_within_three_levels() {
    let app = TestApp::spawn_with(|s| s.comments_per_minute = 100).await;
    let editor = app.token_for("editor").await;
    let (_, slug) = published_article(&app, &editor, "Library reopens").await;
    let (_, other) = published_article(&app, &editor, "Bridge repairs begin").await;

    let first = post_comment(&app, &slug, json!({})).await.json();
    let elsewhere = post_comment(&app, &other, json!({"parent_id": first["id"]})).await;
    assert_eq!(elsewhere.assert_problem(422)["errors"][0]["field"], "parent_id");
    post_comment(&app, &slug, json!({"parent_id": "no-such-comment"}))
        .await
        .assert_problem(422);

    let second = post_comment(&app, &slug, json!({"parent_id": first["id"]}))
        .await
        .json();
    let third = post_comment(&app, &slug, json!({"parent_id": second["id"]})).await;
    third.assert_status(201);
    let fourth = post_comment(&app, &slug, json!({"parent_id": third.json()["id"]})).await;
    assert!(
        fourth.assert_problem(422)["detail"]
            .as_str()
            .unwrap()
            .contains("3 levels")
    );
}

#[actix_web::test]
async fn unknown_and_unpublished_articles_are_404() {
    let app = TestApp::spawn().await;
    post_comment(&app, "no-such-article", json!({}))
        .await
        .assert_problem(404);
    app.get("/api/v1/articles/no-such-article/comments")
        .await
        .assert_problem(404);

    let editor = app.token_for("editor").await;
    let draft = app
        .post(
            "/api/v1/admin/articles",
            &json!({"headline": "Draft only", "body": [{"type": "paragraph", "text": "Not yet."}]}),
        )
        .bearer(&editor)
        .send()
        .await
        .json();
    let slug = draft["slug"].as_str().unwrap();
    post_comment(&app, slug, json!({})).await.assert_problem(404);
}

#[actix_web::test]
async fn closed_comments_are_403() {
    let app = TestApp::spawn().await;
    let editor = app.token_for("editor").await;
    let (id, slug) = published_article(&app, &editor, "Polls close at eight").await;
    app.patch(
        &format!("/api/v1/admin/articles/{id}"),
        &json!({"comments_enabled": false}),
    )
    .bearer(&editor)
    .send()
    .await
    .assert_status(200);
    post_comment(&app, &slug, json!({})).await.assert_problem(403);
}

#[actix_web::test]
async fn a_flood_from_one_address_is_429_with_retry_after() {
    let app = TestApp::spawn_with(|s| s.comments_per_minute = 2).await;
    let editor = app.token_for("editor").await;
    let (_, slug) = published_article(&app, &editor, "Marathon route announced").await;
    post_comment(&app, &slug, json!({})).await.assert_status(201);
    post_comment(&app, &slug, json!({})).await.assert_status(201);
    let res = post_comment(&app, &slug, json!({})).await;
    res.assert_problem(429);
    assert!(res.header("retry-after").unwrap().parse::<u64>().unwrap() >= 1);
}

#[actix_web::test]
async fn forwarded_addresses_count_only_behind_a_trusted_proxy() {
    let app = TestApp::spawn_with(|s| {
        s.comments_per_minute = 1;
        s.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    let editor = app.token_for("editor").await;
    let (_, slug) = published_article(&app, &editor, "Ferry timetable changes").await;
    let post_from = |ip: &'static str| {
        let app = &app;
        let slug = slug.clone();
        async move {
            let (token, answer) = solved_challenge(app).await;
            app.post(
                &format!("/api/v1/articles/{slug}/comments"),
                &json!({"author_name": "A", "body": "Hi", "challenge_token": token, "challenge_answer": answer}),
            )
            .header("X-Forwarded-For", ip)
            .send()
            .await
        }
    };
    post_from("203.0.113.7").await.assert_status(201);
    post_from("203.0.113.8").await.assert_status(201);
    post_from("203.0.113.7").await.assert_problem(429);
}

#[actix_web::test]
async fn the_honeypot_is_answered_like_pending_but_stored_as_spam() {
    let app = TestApp::spawn().await;
    let editor = app.token_for("editor").await;
    let (_, slug) = published_article(&app, &editor, "Museum gets new wing").await;
    let res = post_comment(&app, &slug, json!({"website": "http://spam.example"})).await;
    res.assert_status(201);
    assert_eq!(res.json()["status"], "pending");
    let spam = app
        .request(Method::GET, "/api/v1/admin/comments?status=spam")
        .bearer(&editor)
        .send()
        .await
        .json();
    assert_eq!(spam["data"].as_array().unwrap().len(), 1);
    assert_eq!(spam["data"][0]["id"], res.json()["id"]);
}

#[actix_web::test]
async fn auto_approval_publishes_comments_at_once() {
    let app = TestApp::spawn_with(|s| s.comments_auto_approve = true).await;
    let editor = app.token_for("editor").await;
    let (_, slug) = published_article(&app, &editor, "Festival lineup").await;
    let res = post_comment(&app, &slug, json!({})).await;
    assert_eq!(res.json()["status"], "approved");
    let list = app.get(&format!("/api/v1/articles/{slug}/comments")).await.json();
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
}

#[actix_web::test]
async fn moderation_lists_filters_bulk_updates_and_deletes_keep_threads_readable() {
    let app = TestApp::spawn_with(|s| s.comments_per_minute = 100).await;
    let editor = app.token_for("editor").await;
    let (article_id, slug) = published_article(&app, &editor, "Tram line extended").await;
    let parent = post_comment(&app, &slug, json!({"body": "First!"})).await.json();
    let child = post_comment(&app, &slug, json!({"parent_id": parent["id"], "body": "Reply"}))
        .await
        .json();
    let lone = post_comment(&app, &slug, json!({"body": "Alone"})).await.json();

    let pending = app
        .request(
            Method::GET,
            &format!("/api/v1/admin/comments?status=pending&article={article_id}"),
        )
        .bearer(&editor)
        .send()
        .await;
    pending.assert_status(200);
    let pending = pending.json();
    assert_eq!(pending["data"].as_array().unwrap().len(), 3);
    assert_eq!(pending["data"][0]["author_email"], "ana@example.org");
    assert_eq!(pending["data"][0]["address_hash"].as_str().unwrap().len(), 64);

    let bulk = app
        .post(
            "/api/v1/admin/comments/bulk",
            &json!({"ids": [parent["id"], child["id"], lone["id"]], "status": "approved"}),
        )
        .bearer(&editor)
        .send()
        .await;
    assert_eq!(bulk.json()["updated"], 3);

    for id in [&parent["id"], &lone["id"]] {
        app.request(
            Method::DELETE,
            &format!("/api/v1/admin/comments/{}", id.as_str().unwrap()),
        )
        .bearer(&editor)
        .send()
        .await
        .assert_status(204);
    }
    let list = app.get(&format!("/api/v1/articles/{slug}/comments")).await.json();
    let data = list["data"].as_array().unwrap();
    assert_eq!(
        data.len(),
        1,
        "the lone comment is gone, the parent stays as removed: {list}"
    );
    assert_eq!(data[0]["removed"], true);
    assert!(data[0]["body"].is_null());
    assert_eq!(data[0]["replies"][0]["body"], "Reply");
    let article = app.get(&format!("/api/v1/articles/{slug}")).await.json();
    assert_eq!(article["comment_count"], 1);

    app.patch(
        "/api/v1/admin/comments/00000000-0000-0000-0000-000000000000",
        &json!({"status": "approved"}),
    )
    .bearer(&editor)
    .send()
    .await
    .assert_problem(404);
    app.patch(
        &format!("/api/v1/admin/comments/{}", child["id"].as_str().unwrap()),
        &json!({"status": "great"}),
    )
    .bearer(&editor)
    .send()
    .await
    .assert_problem(422);
    app.request(Method::GET, "/api/v1/admin/comments?status=great")
        .bearer(&editor)
        .send()
        .await
        .assert_problem(400);
}

#[actix_web::test]
async fn public_comment_lists_are_cacheable_and_change_when_a_comment_is_approved() {
    let app = TestApp::spawn().await;
    let editor = app.token_for("editor").await;
    let (article_id, slug) = published_article(&app, &editor, "Harbour festival").await;
    let path = format!("/api/v1/articles/{slug}/comments");
    let first = app.get(&path).await;
    let etag = first.header("etag").expect("ETag");
    assert!(first.header("cache-control").unwrap().contains("public"));
    assert!(
        first
            .header("surrogate-key")
            .unwrap()
            .contains(&format!("comments:{article_id}"))
    );
    let not_modified = app
        .request(Method::GET, &path)
        .header("If-None-Match", &etag)
        .send()
        .await;
    assert_eq!(not_modified.status, 304);

    let comment = post_comment(&app, &slug, json!({})).await.json();
    assert_eq!(
        app.get(&path).await.header("etag").unwrap(),
        etag,
        "pending changes nothing public"
    );
    approve(&app, &editor, comment["id"].as_str().unwrap()).await;
    let after = app
        .request(Method::GET, &path)
        .header("If-None-Match", &etag)
        .send()
        .await;
    after.assert_status(200);
    assert_ne!(after.header("etag").unwrap(), etag);
}

#[actix_web::test]
async fn comment_pages_follow_the_cursor() {
    let app = TestApp::spawn_with(|s| {
        s.comments_auto_approve = true;
        s.comments_per_minute = 100;
    })
    .await;
    let editor = app.token_for("editor").await;
    let (_, slug) = published_article(&app, &editor, "Long thread").await;
    for i in 0..5 {
        post_comment(&app, &slug, json!({"body": format!("comment {i}")}))
            .await
            .assert_status(201);
    }
    let first = app
        .get(&format!("/api/v1/articles/{slug}/comments?limit=3"))
        .await
        .json();
    assert_eq!(first["data"].as_array().unwrap().len(), 3);
    assert_eq!(first["data"][0]["body"], "comment 0");
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = app
        .get(&format!(
            "/api/v1/articles/{slug}/comments?limit=3&cursor={cursor}"
        ))
        .await
        .json();
    assert_eq!(second["data"].as_array().unwrap().len(), 2);
    assert_eq!(second["data"][0]["body"], "comment 3");
    assert!(second["next_cursor"].is_null());
    app.get(&format!("/api/v1/articles/{slug}/comments?cursor=tampered"))
        .await
        .assert_problem(400);
}

#[actix_web::test]
async fn control_characters_in_comments_and_nul_in_text_are_422_on_every_backend() {
    let app = TestApp::spawn_with(|s| s.comments_per_minute = 100).await;
    let editor = app.token_for("editor").await;
    let (_, slug) = published_article(&app, &editor, "Night ferry resumes").await;
    let res = post_comment(&app, &slug, json!({"body": "nul \u{0} here"})).await;
    assert_eq!(res.assert_problem(422)["errors"][0]["field"], "body");
    post_comment(&app, &slug, json!({"author_name": "Ana\u{7}"}))
        .await
        .assert_problem(422);
    post_comment(&app, &slug, json!({"body": "two\nlines\tand a tab"}))
        .await
        .assert_status(201);

    // An entity for NUL decodes to U+FFFD as in HTML, never to NUL (PostgreSQL text cannot hold it).
    let tag = app
        .post(
            "/api/v1/admin/tags",
            &json!({"name": "Ferries", "description": "night &#0;boats"}),
        )
        .bearer(&editor)
        .send()
        .await;
    tag.assert_status(201);
    assert_eq!(tag.json()["description"], "night \u{FFFD}boats");
}
