//! The response cache never shows a reader what a write replaced: after each kind of write, the
//! very next public read reflects it, with a new ETag, and the old ETag no longer gets a 304.
//! Each test reads twice first, so the cached copy is what a stale cache would serve.

use actix_web::http::Method;
use serde_json::{Value, json};

use crate::articles::{action, create, published, story};
use crate::comments::solved_challenge;
use crate::helpers::{TestApp, TestResponse};
use crate::images::{jpeg, upload};

/// Reads `path` twice (filling the cache, then from it) and returns the body and ETag.
async fn cached(app: &TestApp, path: &str) -> (Value, String) {
    let first = app.get(path).await;
    first.assert_status(200);
    let second = app.get(path).await;
    second.assert_status(200);
    let etag = second.header("etag").expect("an ETag");
    assert_eq!(first.header("etag").as_deref(), Some(etag.as_str()));
    assert_eq!(second.json(), first.json());
    (second.json(), etag)
}

async fn conditional(app: &TestApp, path: &str, etag: &str) -> TestResponse {
    app.request(Method::GET, path)
        .header("If-None-Match", etag)
        .send()
        .await
}

/// The next read of `path` differs from `before` and its old ETag gets a 200, not a 304.
async fn changed(app: &TestApp, path: &str, old_etag: &str) -> Value {
    let res = conditional(app, path, old_etag).await;
    res.assert_status(200);
    assert_ne!(
        res.header("etag").as_deref(),
        Some(old_etag),
        "{path}: same ETag after the write"
    );
    res.json()
}

fn headlines(list: &Value) -> Vec<String> {
    list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["headline"].as_str().unwrap().to_owned())
        .collect()
}

#[actix_web::test]
async fn a_cached_response_answers_its_etag_with_304_and_the_same_headers() {
    let app = TestApp::spawn().await;
    let editor = app.token_for("editor").await;
    published(&app, &editor, &story("Ferry timetable changes")).await;
    let path = "/api/v1/articles/ferry-timetable-changes";
    let first = app.get(path).await;
    let second = app.get(path).await;
    for name in [
        "etag",
        "last-modified",
        "cache-control",
        "surrogate-key",
        "content-type",
    ] {
        assert!(first.header(name).is_some(), "{name} missing");
        assert_eq!(
            first.header(name),
            second.header(name),
            "{name} differs from the cache"
        );
    }
    assert_eq!(first.text(), second.text());
    let etag = second.header("etag").unwrap();
    let res = conditional(&app, path, &etag).await;
    res.assert_status(304);
    assert_eq!(res.header("etag").as_deref(), Some(etag.as_str()));
    assert_eq!(res.text(), "");
    // HEAD is answered from the same entry, without a body.
    let head = app.request(Method::HEAD, path).send().await;
    head.assert_status(200);
    assert_eq!(head.header("etag").as_deref(), Some(etag.as_str()));
}

#[actix_web::test]
async fn publishing_editing_and_unpublishing_show_at_the_next_read() {
    let app = TestApp::spawn().await;
    let editor = app.token_for("editor").await;
    let first = published(&app, &editor, &story("Harbour bridge reopens")).await;
    let id = first["id"].as_str().unwrap().to_owned();
    let (list, list_etag) = cached(&app, "/api/v1/articles").await;
    assert_eq!(headlines(&list), ["Harbour bridge reopens"]);
    let (_, article_etag) = cached(&app, "/api/v1/articles/harbour-bridge-reopens").await;

    // Publish another: every list shows it.
    published(&app, &editor, &story("Ferry strike ends")).await;
    let list = changed(&app, "/api/v1/articles", &list_etag).await;
    assert_eq!(headlines(&list), ["Ferry strike ends", "Harbour bridge reopens"]);
    let (_, list_etag) = cached(&app, "/api/v1/articles").await;

    // Edit the first: its page and the list show the new words.
    let res = app
        .patch(
            &format!("/api/v1/admin/articles/{id}"),
            &json!({"headline": "Harbour bridge reopens early", "standfirst": "Two weeks ahead."}),
        )
        .bearer(&editor)
        .send()
        .await;
    res.assert_status(200);
    let article = changed(&app, "/api/v1/articles/harbour-bridge-reopens", &article_etag).await;
    assert_eq!(article["headline"], "Harbour bridge reopens early");
    assert_eq!(article["standfirst"], "Two weeks ahead.");
    let list = changed(&app, "/api/v1/articles", &list_etag).await;
    assert_eq!(
        headlines(&list),
        ["Ferry strike ends", "Harbour bridge reopens early"]
    );
    let (_, article_etag) = cached(&app, "/api/v1/articles/harbour-bridge-reopens").await;
    let (_, list_etag) = cached(&app, "/api/v1/articles").await;
    let (search, search_etag) = cached(&app, "/api/v1/articles?q=weeks").await;
    assert_eq!(headlines(&search), ["Harbour bridge reopens early"]);

    // Unpublish it: gone from its URL, the list and the search.
    action(&app, &editor, &id, "unpublish").await.assert_status(200);
    conditional(&app, "/api/v1/articles/harbour-bridge-reopens", &article_etag)
        .await
        .assert_problem(404);
    let list = changed(&app, "/api/v1/articles", &list_etag).await;
    assert_eq!(headlines(&list), ["Ferry strike ends"]);
    let search = changed(&app, "/api/v1/articles?q=weeks", &search_etag).await;
    assert_eq!(headlines(&search), Vec::<String>::new());
}

#[actix_web::test]
async fn a_scheduled_publish_time_passing_shows_in_cached_lists() {
    let app = TestApp::spawn().await;
    let editor = app.token_for("editor").await;
    published(&app, &editor, &story("Morning briefing")).await;
    let a = create(&app, &editor, &story("Budget announced")).await;
    let due = chrono::Utc::now() + chrono::Duration::seconds(2);
    app.post(
        &format!("/api/v1/admin/articles/{}/schedule", a["id"].as_str().unwrap()),
        &json!({"publish_at": due.to_rfc3339()}),
    )
    .bearer(&editor)
    .send()
    .await
    .assert_status(200);
    let (list, etag) = cached(&app, "/api/v1/articles").await;
    assert_eq!(headlines(&list), ["Morning briefing"]);

    // No write happens; only time passes.
    tokio::time::sleep((due - chrono::Utc::now()).to_std().unwrap_or_default()).await;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let list = changed(&app, "/api/v1/articles", &etag).await;
    assert_eq!(headlines(&list), ["Budget announced", "Morning briefing"]);
}

#[actix_web::test]
async fn a_slug_change_moves_the_cached_article() {
    let app = TestApp::spawn().await;
    let editor = app.token_for("editor").await;
    let a = published(&app, &editor, &story("Council votes on budget")).await;
    cached(&app, "/api/v1/articles/council-votes-on-budget").await;
    app.patch(
        &format!("/api/v1/admin/articles/{}", a["id"].as_str().unwrap()),
        &json!({"slug": "council-budget-vote"}),
    )
    .bearer(&editor)
    .send()
    .await
    .assert_status(200);
    let old = app.get("/api/v1/articles/council-votes-on-budget").await;
    old.assert_status(301);
    assert_eq!(
        old.header("location").as_deref(),
        Some("/api/v1/articles/council-budget-vote")
    );
    let new = app.get("/api/v1/articles/council-budget-vote").await;
    new.assert_status(200);
    assert_eq!(new.json()["slug"], "council-budget-vote");
}

#[actix_web::test]
async fn a_tag_rename_shows_in_cached_articles_lists_and_tag_pages() {
    let app = TestApp::spawn().await;
    let editor = app.token_for("editor").await;
    let tag = app
        .post("/api/v1/admin/tags", &json!({"name": "Harbour"}))
        .bearer(&editor)
        .send()
        .await
        .json();
    let mut body = story("Harbour bridge reopens");
    body["tags"] = json!(["harbour"]);
    published(&app, &editor, &body).await;
    let paths = [
        "/api/v1/articles/harbour-bridge-reopens",
        "/api/v1/articles",
        "/api/v1/articles?tag=harbour",
        "/api/v1/tags",
        "/api/v1/tags/harbour",
    ];
    let mut etags = Vec::new();
    for path in paths {
        etags.push(cached(&app, path).await.1);
    }
    app.patch(
        &format!("/api/v1/admin/tags/{}", tag["id"].as_str().unwrap()),
        &json!({"name": "Harbour & Port"}),
    )
    .bearer(&editor)
    .send()
    .await
    .assert_status(200);
    let article = changed(&app, paths[0], &etags[0]).await;
    assert_eq!(article["tags"][0]["name"], "Harbour & Port");
    let list = changed(&app, paths[1], &etags[1]).await;
    assert_eq!(list["data"][0]["tags"][0]["name"], "Harbour & Port");
    let by_tag = changed(&app, paths[2], &etags[2]).await;
    assert_eq!(by_tag["data"][0]["tags"][0]["name"], "Harbour & Port");
    let tags = changed(&app, paths[3], &etags[3]).await;
    assert_eq!(tags["data"][0]["name"], "Harbour & Port");
    let one = changed(&app, paths[4], &etags[4]).await;
    assert_eq!(one["name"], "Harbour & Port");
}

#[actix_web::test]
async fn an_image_caption_edit_shows_in_cached_articles_and_lists() {
    let app = TestApp::spawn().await;
    let editor = app.token_for("editor").await;
    let res = upload(
        &app,
        &editor,
        "bridge.jpg",
        &jpeg(64, 48, 3),
        &[
            ("caption", "The bridge at dawn"),
            ("credit", "Ana Ruiz/AFP"),
            ("alt_text", "A bridge"),
        ],
    )
    .await;
    res.assert_status(201);
    let image_id = res.json()["id"].as_str().unwrap().to_owned();
    let mut body = story("Harbour bridge reopens");
    body["hero"] = json!({"image_id": image_id});
    published(&app, &editor, &body).await;
    let (article, article_etag) = cached(&app, "/api/v1/articles/harbour-bridge-reopens").await;
    assert_eq!(article["hero"]["image"]["caption"], "The bridge at dawn");
    let (_, list_etag) = cached(&app, "/api/v1/articles").await;

    app.patch(
        &format!("/api/v1/admin/images/{image_id}"),
        &json!({"caption": "The bridge at noon", "credit": "Saul Loeb/AFP"}),
    )
    .bearer(&editor)
    .send()
    .await
    .assert_status(200);
    let article = changed(&app, "/api/v1/articles/harbour-bridge-reopens", &article_etag).await;
    assert_eq!(article["hero"]["image"]["caption"], "The bridge at noon");
    assert_eq!(article["hero"]["image"]["credit"], "Saul Loeb/AFP");
    let list = changed(&app, "/api/v1/articles", &list_etag).await;
    assert_eq!(list["data"][0]["hero"]["image"]["credit"], "Saul Loeb/AFP");
}

#[actix_web::test]
async fn a_comment_approval_shows_in_the_cached_thread_and_count() {
    let app = TestApp::spawn().await;
    let editor = app.token_for("editor").await;
    published(&app, &editor, &story("Harbour bridge reopens")).await;
    let thread = "/api/v1/articles/harbour-bridge-reopens/comments";
    let (comments, thread_etag) = cached(&app, thread).await;
    assert_eq!(comments["data"], json!([]));
    let (article, article_etag) = cached(&app, "/api/v1/articles/harbour-bridge-reopens").await;
    assert_eq!(article["comment_count"], 0);

    let (token, answer) = solved_challenge(&app).await;
    let res = app
        .post(
            thread,
            &json!({
                "author_name": "Ana",
                "author_email": "ana@example.org",
                "body": "Good news for commuters.",
                "challenge_token": token,
                "challenge_answer": answer,
                "website": ""
            }),
        )
        .send()
        .await;
    res.assert_status(201);
    let comment_id = res.json()["id"].as_str().unwrap().to_owned();
    app.patch(
        &format!("/api/v1/admin/comments/{comment_id}"),
        &json!({"status": "approved"}),
    )
    .bearer(&editor)
    .send()
    .await
    .assert_status(200);
    let comments = changed(&app, thread, &thread_etag).await;
    assert_eq!(comments["data"][0]["body"], "Good news for commuters.");
    let article = changed(&app, "/api/v1/articles/harbour-bridge-reopens", &article_etag).await;
    assert_eq!(article["comment_count"], 1);

    // Rejecting it again (no event of its own) takes it out of the thread at once too.
    let (_, thread_etag) = cached(&app, thread).await;
    app.patch(
        &format!("/api/v1/admin/comments/{comment_id}"),
        &json!({"status": "rejected"}),
    )
    .bearer(&editor)
    .send()
    .await
    .assert_status(200);
    let comments = changed(&app, thread, &thread_etag).await;
    assert_eq!(comments["data"], json!([]));
}

#[actix_web::test]
async fn a_site_change_and_an_author_rename_show_at_the_next_read() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (author_id, editor) = app.user_with_role("editor").await;
    published(&app, &editor, &story("Harbour bridge reopens")).await;
    let (_, site_etag) = cached(&app, "/api/v1/site").await;
    let (_, article_etag) = cached(&app, "/api/v1/articles/harbour-bridge-reopens").await;
    let by_author = format!("/api/v1/articles?author={author_id}");
    let (_, list_etag) = cached(&app, &by_author).await;

    app.request(Method::PATCH, "/api/v1/admin/site")
        .bearer(&admin)
        .json(&json!({"name": "The Harbour Herald"}))
        .send()
        .await
        .assert_status(200);
    let site = changed(&app, "/api/v1/site", &site_etag).await;
    assert_eq!(site["name"], "The Harbour Herald");

    app.patch(
        &format!("/api/v1/admin/users/{author_id}"),
        &json!({"display_name": "María López"}),
    )
    .bearer(&admin)
    .send()
    .await
    .assert_status(200);
    let article = changed(&app, "/api/v1/articles/harbour-bridge-reopens", &article_etag).await;
    assert_eq!(article["authors"][0]["display_name"], "María López");
    let list = changed(&app, &by_author, &list_etag).await;
    assert_eq!(list["data"][0]["authors"][0]["display_name"], "María López");
}

#[actix_web::test]
async fn with_the_cache_turned_off_every_read_is_fresh_too() {
    let app = TestApp::spawn_with(|s| s.response_cache_bytes = 0).await;
    let editor = app.token_for("editor").await;
    let a = published(&app, &editor, &story("Harbour bridge reopens")).await;
    let (_, etag) = cached(&app, "/api/v1/articles/harbour-bridge-reopens").await;
    conditional(&app, "/api/v1/articles/harbour-bridge-reopens", &etag)
        .await
        .assert_status(304);
    app.patch(
        &format!("/api/v1/admin/articles/{}", a["id"].as_str().unwrap()),
        &json!({"headline": "Harbour bridge reopens early"}),
    )
    .bearer(&editor)
    .send()
    .await
    .assert_status(200);
    let article = changed(&app, "/api/v1/articles/harbour-bridge-reopens", &etag).await;
    assert_eq!(article["headline"], "Harbour bridge reopens early");
}

/// A counter of `/metrics`.
async fn counter(app: &TestApp, name: &str) -> u64 {
    let text = app.get("/metrics").await.text();
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name} not in /metrics"))
}

#[actix_web::test]
async fn an_edit_of_one_article_leaves_other_cached_responses_alone() {
    let app = TestApp::spawn().await;
    let editor = app.token_for("editor").await;
    let a = published(&app, &editor, &story("Harbour bridge reopens")).await;
    published(&app, &editor, &story("Ferry strike ends")).await;
    cached(&app, "/api/v1/articles/harbour-bridge-reopens").await;
    cached(&app, "/api/v1/articles/ferry-strike-ends").await;
    cached(&app, "/api/v1/site").await;

    app.patch(
        &format!("/api/v1/admin/articles/{}", a["id"].as_str().unwrap()),
        &json!({"headline": "Harbour bridge reopens early"}),
    )
    .bearer(&editor)
    .send()
    .await
    .assert_status(200);
    let hits = counter(&app, "masthead_response_cache_hits_total").await;
    app.get("/api/v1/articles/ferry-strike-ends")
        .await
        .assert_status(200);
    app.get("/api/v1/site").await.assert_status(200);
    assert_eq!(
        counter(&app, "masthead_response_cache_hits_total").await,
        hits + 2,
        "the other article and the site were still cached"
    );
    let edited = app.get("/api/v1/articles/harbour-bridge-reopens").await;
    assert_eq!(edited.json()["headline"], "Harbour bridge reopens early");
    assert_eq!(
        counter(&app, "masthead_response_cache_hits_total").await,
        hits + 2
    );
}

#[actix_web::test]
async fn on_postgresql_a_write_on_one_instance_reaches_the_cache_of_another_within_a_second() {
    if crate::helpers::postgres_admin_url().is_none() {
        return; // SQLite serves one process per file; there is no other instance to tell.
    }
    let app = TestApp::spawn().await;
    let second = masthead::startup::Application::build(app.settings.clone()).unwrap();
    let other = format!("http://127.0.0.1:{}", second.port());
    let handle = second.handle();
    actix_web::rt::spawn(second.run_until_stopped());
    let client = awc::Client::default();
    let read = |path: &'static str| {
        let (client, url) = (client.clone(), format!("{other}{path}"));
        async move {
            let mut res = client.get(url).send().await.unwrap();
            let body: Value = res.json().limit(1 << 20).await.unwrap();
            body
        }
    };

    let editor = app.token_for("editor").await;
    let a = published(&app, &editor, &story("Harbour bridge reopens")).await;
    assert_eq!(
        read("/api/v1/articles/harbour-bridge-reopens").await["headline"],
        "Harbour bridge reopens"
    );
    assert_eq!(
        read("/api/v1/articles/harbour-bridge-reopens").await["headline"],
        "Harbour bridge reopens"
    );

    app.patch(
        &format!("/api/v1/admin/articles/{}", a["id"].as_str().unwrap()),
        &json!({"headline": "Harbour bridge reopens early"}),
    )
    .bearer(&editor)
    .send()
    .await
    .assert_status(200);
    let written = std::time::Instant::now();
    loop {
        let seen = read("/api/v1/articles/harbour-bridge-reopens").await;
        if seen["headline"] == "Harbour bridge reopens early" {
            break;
        }
        assert!(
            written.elapsed() < std::time::Duration::from_secs(1),
            "the other instance still serves the old headline after 1 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    handle.stop(false).await;
}
