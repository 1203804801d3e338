//! Newsroom publishing (PRODUCT.md §10): corrections that cannot be erased, embargoes,
//! scheduled unpublishing, backdated publication and preview links, on both backends.

use actix_web::http::Method;
use chrono::{Duration, SecondsFormat, Utc};
use diesel::prelude::*;
use serde_json::{Value, json};

use crate::articles::{action, create, fields, published, story};
use crate::comments::post_comment;
use crate::helpers::TestApp;

fn rfc3339(t: chrono::DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

async fn correct(app: &TestApp, token: &str, id: &str, body: Value) -> crate::helpers::TestResponse {
    app.post(&format!("/api/v1/admin/articles/{id}/corrections"), &body)
        .bearer(token)
        .send()
        .await
}

fn event_types(app: &TestApp, subject: &str) -> Vec<String> {
    use masthead::db::schema::events;
    let db = masthead::db::Db::open(&app.settings.database_url, 1).unwrap();
    let mut conn = db.get().unwrap();
    events::table
        .filter(events::subject.eq(subject))
        .order(events::seq.asc())
        .select(events::event_type)
        .load(&mut *conn)
        .unwrap()
}

async fn public_slugs(app: &TestApp, query: &str) -> Vec<String> {
    let res = app.get(&format!("/api/v1/articles{query}")).await;
    res.assert_status(200);
    res.json()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["slug"].as_str().unwrap().to_owned())
        .collect()
}

#[actix_rt::test]
async fn corrections_are_appended_shown_to_readers_listed_and_never_erased() {
    let app = TestApp::spawn().await;
    let editor = app.token_for("editor").await;
    let a = published(&app, &editor, &story("Harbour bridge reopens")).await;
    let (id, slug) = (a["id"].as_str().unwrap(), a["slug"].as_str().unwrap());
    let before = app.get(&format!("/api/v1/articles/{slug}")).await;
    let etag = before.header("etag").unwrap();

    let res = correct(
        &app,
        &editor,
        id,
        json!({"kind": "correction", "text": "An earlier version gave the wrong <b>date</b>."}),
    )
    .await;
    res.assert_status(201);
    let c = res.json();
    assert_eq!(c["kind"], "correction");
    assert_eq!(c["text"], "An earlier version gave the wrong date.");
    correct(
        &app,
        &editor,
        id,
        json!({"kind": "editors_note", "text": "Updated with the mayor's reply."}),
    )
    .await
    .assert_status(201);

    let after = app.get(&format!("/api/v1/articles/{slug}")).await;
    after.assert_status(200);
    assert_ne!(after.header("etag").unwrap(), etag, "the ETag moves");
    let article = after.json();
    let kinds: Vec<&str> = article["corrections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["correction", "editors_note"], "oldest first");
    let html = article["body_html"].as_str().unwrap();
    let aside = html
        .find("<aside class=\"corrections\">")
        .expect("a marked block");
    assert!(
        html[aside..].contains("<h2>Correction</h2>") && html[aside..].contains("<h2>Editor's note</h2>")
    );
    assert!(html.trim_end().ends_with("</aside>"), "at the end of the body");

    let list = app.get("/api/v1/corrections").await;
    list.assert_status(200);
    let items = list.json()["data"].as_array().unwrap().clone();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["kind"], "editors_note", "newest first");
    assert_eq!(items[0]["slug"], slug);
    assert_eq!(items[0]["headline"], "Harbour bridge reopens");

    assert!(event_types(&app, &format!("article:{id}")).contains(&"article.corrected".to_owned()));

    // Survives a restore of the first revision and an unpublish, and no route removes one.
    let restore = app
        .post(
            &format!("/api/v1/admin/articles/{id}/revisions/1/restore"),
            &json!({}),
        )
        .bearer(&editor)
        .send()
        .await;
    restore.assert_status(200);
    assert_eq!(restore.json()["corrections"].as_array().unwrap().len(), 2);
    action(&app, &editor, id, "unpublish").await.assert_status(200);
    assert!(
        app.get("/api/v1/corrections").await.json()["data"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    action(&app, &editor, id, "publish").await.assert_status(200);
    let again = app.get(&format!("/api/v1/articles/{slug}")).await.json();
    assert_eq!(again["corrections"].as_array().unwrap().len(), 2);
    let cid = c["id"].as_str().unwrap();
    for method in [Method::PATCH, Method::DELETE, Method::PUT] {
        let res = app
            .request(
                method.clone(),
                &format!("/api/v1/admin/articles/{id}/corrections/{cid}"),
            )
            .bearer(&editor)
            .send()
            .await;
        assert!(
            [404, 405].contains(&res.status),
            "{method} answered {}",
            res.status
        );
    }
    let res = app
        .request(
            Method::DELETE,
            &format!("/api/v1/admin/articles/{id}/corrections"),
        )
        .bearer(&editor)
        .send()
        .await;
    res.assert_problem(405);
}

#[actix_rt::test]
async fn bad_corrections_are_refused() {
    let app = TestApp::spawn().await;
    let editor = app.token_for("editor").await;
    let author = app.token_for("author").await;
    let contributor = app.token_for("contributor").await;
    let a = published(&app, &editor, &story("Council votes")).await;
    let id = a["id"].as_str().unwrap();
    let res = correct(&app, &editor, id, json!({"kind": "retraction", "text": ""})).await;
    assert_eq!(fields(&res.assert_problem(422)), ["kind", "text"]);
    let res = correct(&app, &editor, id, json!({"kind": "update", "text": " <i> </i> "})).await;
    assert_eq!(fields(&res.assert_problem(422)), ["text"]);
    for token in [&contributor, &author] {
        correct(&app, token, id, json!({"kind": "update", "text": "More."}))
            .await
            .assert_problem(403);
    }
    let res = correct(
        &app,
        &editor,
        "no-such-article",
        json!({"kind": "update", "text": "More."}),
    )
    .await;
    assert_eq!(res.assert_problem(404)["detail"], "article was not found");
    assert!(
        app.get("/api/v1/corrections").await.json()["data"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[actix_rt::test]
async fn an_embargoed_article_is_public_nowhere_until_the_embargo_ends() {
    let app = TestApp::spawn().await;
    let editor = app.token_for("editor").await;
    let until = Utc::now() + Duration::seconds(3);
    let mut body = story("Budget figures embargoed");
    body["embargo_until"] = json!(rfc3339(until));
    body["tags"] = json!([]);
    let a = create(&app, &editor, &body).await;
    let id = a["id"].as_str().unwrap();
    let slug = a["slug"].as_str().unwrap().to_owned();
    assert_eq!(a["embargo_until"], json!(rfc3339(until)));

    // Publishing now is a conflict; scheduling before the embargo is invalid.
    let res = action(&app, &editor, id, "publish").await;
    assert!(
        res.assert_problem(409)["detail"]
            .as_str()
            .unwrap()
            .contains("embargoed")
    );
    let early = app
        .post(
            &format!("/api/v1/admin/articles/{id}/schedule"),
            &json!({"publish_at": rfc3339(until - Duration::seconds(60))}),
        )
        .bearer(&editor)
        .send()
        .await;
    assert_eq!(fields(&early.assert_problem(422)), ["publish_at"]);
    app.post(
        &format!("/api/v1/admin/articles/{id}/schedule"),
        &json!({"publish_at": rfc3339(until)}),
    )
    .bearer(&editor)
    .send()
    .await
    .assert_status(200);

    // A preview link still works; every public surface says nothing.
    let link = app
        .post(&format!("/api/v1/admin/articles/{id}/preview-links"), &json!({}))
        .bearer(&editor)
        .send()
        .await;
    link.assert_status(201);
    let token = link.json()["token"].as_str().unwrap().to_owned();
    app.get(&format!("/api/v1/preview/{token}"))
        .await
        .assert_status(200);
    app.get(&format!("/api/v1/articles/{slug}"))
        .await
        .assert_problem(404);
    assert!(!public_slugs(&app, "").await.contains(&slug));
    assert!(!public_slugs(&app, "?q=budget").await.contains(&slug));
    post_comment(&app, &slug, json!({})).await.assert_problem(404);
    let feed = app.get("/feeds/rss.xml").await;
    feed.assert_status(200);
    assert!(!feed.text().contains(&slug));
    assert!(!app.get("/sitemaps/news.xml").await.text().contains(&slug));

    tokio::time::sleep(std::time::Duration::from_millis(3500)).await;
    app.get(&format!("/api/v1/articles/{slug}"))
        .await
        .assert_status(200);
    assert!(public_slugs(&app, "").await.contains(&slug));
    assert!(public_slugs(&app, "?q=budget").await.contains(&slug));
    assert!(app.get("/feeds/rss.xml").await.text().contains(&slug));
    assert!(app.get("/sitemaps/news.xml").await.text().contains(&slug));
}

#[actix_rt::test]
async fn a_public_article_cannot_be_embargoed_and_a_scheduled_one_only_until_its_time() {
    let app = TestApp::spawn().await;
    let editor = app.token_for("editor").await;
    let a = published(&app, &editor, &story("Already out")).await;
    let id = a["id"].as_str().unwrap();
    let later = rfc3339(Utc::now() + Duration::hours(2));
    let res = app
        .patch(
            &format!("/api/v1/admin/articles/{id}"),
            &json!({"embargo_until": later}),
        )
        .bearer(&editor)
        .send()
        .await;
    res.assert_problem(409);
    let b = create(&app, &editor, &story("Scheduled soon")).await;
    let bid = b["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/admin/articles/{bid}/schedule"),
        &json!({"publish_at": rfc3339(Utc::now() + Duration::hours(1))}),
    )
    .bearer(&editor)
    .send()
    .await
    .assert_status(200);
    let res = app
        .patch(
            &format!("/api/v1/admin/articles/{bid}"),
            &json!({"embargo_until": later}),
        )
        .bearer(&editor)
        .send()
        .await;
    assert_eq!(fields(&res.assert_problem(422)), ["embargo_until"]);
    let res = app
        .patch(
            &format!("/api/v1/admin/articles/{bid}"),
            &json!({"embargo_until": "tomorrow"}),
        )
        .bearer(&editor)
        .send()
        .await;
    assert_eq!(fields(&res.assert_problem(422)), ["embargo_until"]);
}

#[actix_rt::test]
async fn a_scheduled_unpublish_takes_the_article_down_at_its_time_with_one_event() {
    let app = TestApp::spawn_with(|s| s.scheduler_interval = std::time::Duration::from_millis(200)).await;
    let editor = app.token_for("editor").await;
    let mut body = story("Offer ends tonight");
    body["unpublish_at"] = json!(rfc3339(Utc::now() + Duration::seconds(2)));
    let a = create(&app, &editor, &body).await;
    let id = a["id"].as_str().unwrap().to_owned();
    let slug = a["slug"].as_str().unwrap().to_owned();
    action(&app, &editor, &id, "publish").await.assert_status(200);
    app.get(&format!("/api/v1/articles/{slug}"))
        .await
        .assert_status(200);
    assert!(public_slugs(&app, "").await.contains(&slug));

    tokio::time::sleep(std::time::Duration::from_millis(3000)).await;
    app.get(&format!("/api/v1/articles/{slug}"))
        .await
        .assert_problem(404);
    assert!(!public_slugs(&app, "").await.contains(&slug));
    // A save after the time does not announce it again.
    app.patch(
        &format!("/api/v1/admin/articles/{id}"),
        &json!({"standfirst": "Over."}),
    )
    .bearer(&editor)
    .send()
    .await
    .assert_status(200);
    let events = event_types(&app, &format!("article:{id}"));
    let unpublished = events.iter().filter(|t| *t == "article.unpublished").count();
    assert_eq!(unpublished, 1, "{events:?}");
    let admin = app
        .request(Method::GET, &format!("/api/v1/admin/articles/{id}"))
        .bearer(&editor)
        .send()
        .await
        .json();
    assert_eq!(admin["status"], "draft");
    assert!(admin["unpublish_at"].is_null());
}

#[actix_rt::test]
async fn an_unpublish_time_before_the_publication_is_422() {
    let app = TestApp::spawn().await;
    let editor = app.token_for("editor").await;
    let a = create(&app, &editor, &story("Timed story")).await;
    let id = a["id"].as_str().unwrap();
    let at = Utc::now() + Duration::hours(3);
    app.post(
        &format!("/api/v1/admin/articles/{id}/schedule"),
        &json!({"publish_at": rfc3339(at)}),
    )
    .bearer(&editor)
    .send()
    .await
    .assert_status(200);
    let res = app
        .patch(
            &format!("/api/v1/admin/articles/{id}"),
            &json!({"unpublish_at": rfc3339(at - Duration::hours(1))}),
        )
        .bearer(&editor)
        .send()
        .await;
    assert_eq!(fields(&res.assert_problem(422)), ["unpublish_at"]);
}

#[actix_rt::test]
async fn an_editor_backdates_a_publication_and_the_article_sorts_and_links_by_that_date() {
    let app = TestApp::spawn().await;
    let editor = app.token_for("editor").await;
    let author = app.token_for("author").await;
    let newer = published(&app, &editor, &story("Fresh news")).await;
    let old = create(&app, &editor, &story("From the archive")).await;
    let id = old["id"].as_str().unwrap();
    let publish = |token: String, at: String| {
        let app = &app;
        async move {
            app.post(
                &format!("/api/v1/admin/articles/{id}/publish"),
                &json!({"published_at": at}),
            )
            .bearer(&token)
            .send()
            .await
        }
    };
    publish(author.clone(), "2019-05-01T08:00:00Z".into())
        .await
        .assert_problem(403);
    let future = rfc3339(Utc::now() + Duration::days(1));
    let res = publish(editor.clone(), future).await;
    assert_eq!(fields(&res.assert_problem(422)), ["published_at"]);
    let res = publish(editor.clone(), "01/05/2019".into()).await;
    assert_eq!(fields(&res.assert_problem(422)), ["published_at"]);
    let res = publish(editor.clone(), "2019-05-01T08:00:00Z".into()).await;
    res.assert_status(200);
    let a = res.json();
    assert_eq!(a["published_at"], "2019-05-01T08:00:00Z");
    assert!(
        a["seo"]["canonical_url"].as_str().unwrap().contains("/2019/05/"),
        "{}",
        a["seo"]["canonical_url"]
    );
    let slugs = public_slugs(&app, "").await;
    assert_eq!(
        slugs,
        [newer["slug"].as_str().unwrap(), old["slug"].as_str().unwrap()]
    );
    // A bad body is a 400, an empty one publishes now.
    let c = create(&app, &editor, &story("Plain publish")).await;
    let cid = c["id"].as_str().unwrap();
    app.request(Method::POST, &format!("/api/v1/admin/articles/{cid}/publish"))
        .raw("application/json", "{not json")
        .bearer(&editor)
        .send()
        .await
        .assert_problem(400);
    app.request(Method::POST, &format!("/api/v1/admin/articles/{cid}/publish"))
        .bearer(&editor)
        .send()
        .await
        .assert_status(200);
}

#[actix_rt::test]
async fn preview_links_show_the_saved_article_until_revoked_expired_or_their_maker_is_disabled() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (author_id, author) = app.user_with_role("author").await;
    let other = app.token_for("author").await;
    let a = create(&app, &author, &story("Draft for the desk")).await;
    let id = a["id"].as_str().unwrap();
    let make = |token: String, body: Value| {
        let app = &app;
        async move {
            app.post(&format!("/api/v1/admin/articles/{id}/preview-links"), &body)
                .bearer(&token)
                .send()
                .await
        }
    };
    for bad in [
        json!({"expires_in": 0}),
        json!({"expires_in": 604_801}),
        json!({"expires_in": 59}),
    ] {
        let res = make(author.clone(), bad).await;
        assert_eq!(fields(&res.assert_problem(422)), ["expires_in"]);
    }
    make(other.clone(), json!({})).await.assert_problem(403);
    let res = make(author.clone(), json!({"expires_in": 3600})).await;
    res.assert_status(201);
    let link = res.json();
    let token = link["token"].as_str().unwrap().to_owned();
    assert!(token.len() >= 43, "at least 256 bits, base64url");
    assert!(
        link["url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/api/v1/preview/{token}"))
    );

    let preview = app.get(&format!("/api/v1/preview/{token}")).await;
    preview.assert_status(200);
    assert_eq!(preview.json()["status"], "draft");
    assert_eq!(preview.header("cache-control").as_deref(), Some("no-store"));
    assert_eq!(preview.header("x-robots-tag").as_deref(), Some("noindex"));
    assert!(preview.header("surrogate-key").is_none());
    // Saved changes show at once.
    app.patch(
        &format!("/api/v1/admin/articles/{id}"),
        &json!({"headline": "Draft, second take"}),
    )
    .bearer(&author)
    .send()
    .await
    .assert_status(200);
    assert_eq!(
        app.get(&format!("/api/v1/preview/{token}")).await.json()["headline"],
        "Draft, second take"
    );
    // Never in a public list.
    assert!(public_slugs(&app, "").await.is_empty());

    // Tampered: the same 404 as every other failure.
    let mut tampered = token.clone();
    tampered.replace_range(0..1, if tampered.starts_with('A') { "B" } else { "A" });
    let unknown = app
        .get(&format!("/api/v1/preview/{tampered}"))
        .await
        .assert_problem(404);

    let list = app
        .request(Method::GET, &format!("/api/v1/admin/articles/{id}/preview-links"))
        .bearer(&author)
        .send()
        .await;
    list.assert_status(200);
    let links = list.json();
    assert_eq!(links.as_array().unwrap().len(), 1);
    assert_eq!(links[0]["active"], true);
    assert!(links[0].get("token").is_none(), "the token is shown once");

    // Revoked.
    let link_id = link["id"].as_str().unwrap();
    app.request(
        Method::DELETE,
        &format!("/api/v1/admin/articles/{id}/preview-links/{link_id}"),
    )
    .bearer(&author)
    .send()
    .await
    .assert_status(204);
    let revoked = app
        .get(&format!("/api/v1/preview/{token}"))
        .await
        .assert_problem(404);
    assert_eq!(revoked, unknown);
    app.request(
        Method::DELETE,
        &format!("/api/v1/admin/articles/{id}/preview-links/nope"),
    )
    .bearer(&author)
    .send()
    .await
    .assert_problem(404);

    // Expired (the clock moved on: the row's expiry is put in the past).
    let second = make(author.clone(), json!({})).await.json();
    let second_token = second["token"].as_str().unwrap().to_owned();
    app.get(&format!("/api/v1/preview/{second_token}"))
        .await
        .assert_status(200);
    {
        use masthead::db::schema::preview_links;
        let db = masthead::db::Db::open(&app.settings.database_url, 1).unwrap();
        let mut conn = db.get().unwrap();
        diesel::update(preview_links::table.filter(preview_links::id.eq(second["id"].as_str().unwrap())))
            .set(preview_links::expires_at.eq((Utc::now() - Duration::seconds(1)).naive_utc()))
            .execute(&mut *conn)
            .unwrap();
    }
    assert_eq!(
        app.get(&format!("/api/v1/preview/{second_token}"))
            .await
            .assert_problem(404),
        unknown
    );

    // The maker disabled, then the article deleted.
    let third = make(author.clone(), json!({})).await.json();
    let third_token = third["token"].as_str().unwrap().to_owned();
    app.patch(
        &format!("/api/v1/admin/users/{author_id}"),
        &json!({"disabled": true}),
    )
    .bearer(&admin)
    .send()
    .await
    .assert_status(200);
    app.get(&format!("/api/v1/preview/{third_token}"))
        .await
        .assert_problem(404);
    app.patch(
        &format!("/api/v1/admin/users/{author_id}"),
        &json!({"disabled": false}),
    )
    .bearer(&admin)
    .send()
    .await
    .assert_status(200);
    app.get(&format!("/api/v1/preview/{third_token}"))
        .await
        .assert_status(200);
    app.request(Method::DELETE, &format!("/api/v1/admin/articles/{id}"))
        .bearer(&admin)
        .send()
        .await
        .assert_status(204);
    app.get(&format!("/api/v1/preview/{third_token}"))
        .await
        .assert_problem(404);
}
