//! The events outbox: every change a reader or an integrator could notice is recorded with the
//! change, in its transaction, and a refused write records nothing. The outbox has no API of
//! its own yet (webhooks will read it), so these tests read the table directly.

use actix_web::http::Method;
use diesel::prelude::*;
use masthead::db::schema::events;
use serde_json::{Value, json};

use crate::articles::{action, create, story};
use crate::comments::solved_challenge;
use crate::helpers::TestApp;
use crate::images::{jpeg, upload};

/// Every recorded event as (type, subject, data, surrogate keys), oldest first.
fn recorded(app: &TestApp) -> Vec<(String, String, Value, String)> {
    let db = masthead::db::Db::open(&app.settings.database_url, 1).unwrap();
    let mut conn = db.get().unwrap();
    let rows: Vec<(String, String, String, String)> = events::table
        .order(events::seq.asc())
        .select((
            events::event_type,
            events::subject,
            events::data,
            events::surrogate_keys,
        ))
        .load(&mut *conn)
        .unwrap();
    rows.into_iter()
        .map(|(t, s, d, k)| (t, s, serde_json::from_str(&d).unwrap(), k))
        .collect()
}

fn types_since(app: &TestApp, skip: usize) -> Vec<String> {
    recorded(app).into_iter().skip(skip).map(|(t, ..)| t).collect()
}

#[actix_rt::test]
async fn every_noticeable_change_of_an_article_is_recorded_with_the_article_and_its_cache_keys() {
    let app = TestApp::spawn().await;
    let token = app.admin_token().await;
    let tag = app
        .post("/api/v1/admin/tags", &json!({"name": "Harbour"}))
        .bearer(&token)
        .send()
        .await
        .json();
    let mut body = story("Harbour bridge reopens");
    body["tags"] = json!(["harbour"]);
    let article = create(&app, &token, &body).await;
    let id = article["id"].as_str().unwrap().to_owned();
    assert_eq!(
        types_since(&app, 0),
        Vec::<String>::new(),
        "a new draft is nobody's news"
    );

    action(&app, &token, &id, "publish").await.assert_status(200);
    let events = recorded(&app);
    let (kind, subject, data, keys) = &events[0];
    assert_eq!(
        (kind.as_str(), subject.as_str()),
        ("article.published", format!("article:{id}").as_str())
    );
    assert_eq!(data["headline"], "Harbour bridge reopens");
    assert_eq!(data["status"], "published");
    let keys: Vec<&str> = keys.split(' ').collect();
    assert!(
        keys.contains(&"articles")
            && keys.contains(&format!("article:{id}").as_str())
            && keys.contains(&"articles:tag:harbour"),
        "{keys:?}"
    );

    app.patch(
        &format!("/api/v1/admin/articles/{id}"),
        &json!({"standfirst": "Now open."}),
    )
    .bearer(&token)
    .send()
    .await
    .assert_status(200);
    app.post(
        &format!("/api/v1/admin/articles/{id}/schedule"),
        &json!({"publish_at": "2099-01-01T06:00:00Z"}),
    )
    .bearer(&token)
    .send()
    .await
    .assert_status(200);
    action(&app, &token, &id, "publish").await.assert_status(200);
    action(&app, &token, &id, "unpublish").await.assert_status(200);
    app.patch(
        &format!("/api/v1/admin/articles/{id}"),
        &json!({"standfirst": "Draft edit."}),
    )
    .bearer(&token)
    .send()
    .await
    .assert_status(200);
    app.request(Method::DELETE, &format!("/api/v1/admin/articles/{id}"))
        .bearer(&token)
        .send()
        .await
        .assert_status(204);
    assert_eq!(
        types_since(&app, 1),
        [
            "article.updated",
            "article.unpublished",
            "article.scheduled",
            "article.published",
            "article.unpublished",
            "article.deleted"
        ],
        "the draft edit causes none"
    );
    let last = recorded(&app).pop().unwrap();
    assert_eq!(last.2["id"], id.as_str());
    assert!(tag["id"].is_string());
}

#[actix_rt::test]
async fn comments_tags_images_and_the_site_record_their_events() {
    let app = TestApp::spawn().await;
    let token = app.admin_token().await;
    let article = create(&app, &token, &story("Ferry strike ends")).await;
    let id = article["id"].as_str().unwrap().to_owned();
    action(&app, &token, &id, "publish").await.assert_status(200);
    let slug = article["slug"].as_str().unwrap();
    let start = recorded(&app).len();

    let (challenge, answer) = solved_challenge(&app).await;
    let comment = app
        .post(
            &format!("/api/v1/articles/{slug}/comments"),
            &json!({"author_name": "Ana", "body": "Good news.", "challenge_token": challenge,
                    "challenge_answer": answer, "website": ""}),
        )
        .send()
        .await;
    comment.assert_status(201);
    let comment_id = comment.json()["id"].as_str().unwrap().to_owned();
    for _ in 0..2 {
        // Approving twice is one approval.
        app.post(
            "/api/v1/admin/comments/bulk",
            &json!({"ids": [comment_id], "status": "approved"}),
        )
        .bearer(&token)
        .send()
        .await
        .assert_status(200);
    }
    let tag = app
        .post("/api/v1/admin/tags", &json!({"name": "Transport"}))
        .bearer(&token)
        .send()
        .await
        .json();
    let tag_id = tag["id"].as_str().unwrap();
    app.patch(
        &format!("/api/v1/admin/tags/{tag_id}"),
        &json!({"slug": "travel"}),
    )
    .bearer(&token)
    .send()
    .await
    .assert_status(200);
    app.request(Method::DELETE, &format!("/api/v1/admin/tags/{tag_id}"))
        .bearer(&token)
        .send()
        .await
        .assert_status(204);
    let image = upload(&app, &token, "ferry.jpg", &jpeg(64, 48, 3), &[])
        .await
        .json();
    let image_id = image["id"].as_str().unwrap();
    app.patch(
        &format!("/api/v1/admin/images/{image_id}"),
        &json!({"credit": "Saul Loeb/AFP"}),
    )
    .bearer(&token)
    .send()
    .await
    .assert_status(200);
    app.request(Method::DELETE, &format!("/api/v1/admin/images/{image_id}"))
        .bearer(&token)
        .send()
        .await
        .assert_status(204);
    app.patch("/api/v1/admin/site", &json!({"name": "The Harbour Times"}))
        .bearer(&token)
        .send()
        .await
        .assert_status(200);

    let events: Vec<_> = recorded(&app).into_iter().skip(start).collect();
    let kinds: Vec<&str> = events.iter().map(|(t, ..)| t.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "comment.created",
            "comment.approved",
            "tag.updated",
            "tag.deleted",
            "image.updated",
            "image.deleted",
            "site.updated"
        ]
    );
    assert_eq!(events[1].2["status"], "approved");
    assert!(
        events[1].3.contains(&format!("article:{id}")),
        "approval changes the article's count"
    );
    assert!(
        events[2].3.contains("tag:transport") && events[2].3.contains("tag:travel"),
        "old and new tag URLs"
    );
    assert_eq!(events[4].2["credit"], "Saul Loeb/AFP");
    assert_eq!(events[6].2["name"], "The Harbour Times");
}

#[actix_rt::test]
async fn a_refused_write_records_no_event() {
    let app = TestApp::spawn().await;
    let token = app.admin_token().await;
    let empty = create(&app, &token, &json!({"headline": "Nothing yet"})).await;
    let id = empty["id"].as_str().unwrap();
    action(&app, &token, id, "publish").await.assert_problem(422);

    let full = create(&app, &token, &story("Tide tables")).await;
    let full_id = full["id"].as_str().unwrap();
    let stale = app
        .patch(
            &format!("/api/v1/admin/articles/{full_id}"),
            &json!({"headline": "Tide tables, revised"}),
        )
        .header("If-Match", "\"not-the-current-etag\"")
        .bearer(&token)
        .send()
        .await;
    stale.assert_problem(412);
    app.request(Method::POST, &format!("/api/v1/admin/articles/{full_id}/publish"))
        .header("If-Match", "\"not-the-current-etag\"")
        .bearer(&token)
        .send()
        .await
        .assert_problem(412);
    assert!(recorded(&app).is_empty(), "{:?}", recorded(&app));
}

#[actix_rt::test]
async fn events_roll_back_with_the_write_that_recorded_them() {
    use masthead::db::StoreError;
    use masthead::events::{EventType, NewEvent, record};
    let app = TestApp::spawn().await;
    let db = masthead::db::Db::open(&app.settings.database_url, 2).unwrap();
    let event = || {
        NewEvent::new(
            EventType::SiteUpdated,
            "site",
            &json!({"name": "x"}),
            vec!["site".into()],
        )
    };

    let failed = db
        .write(move |conn| {
            record(conn, [event()?])?;
            // Something after the event fails: the whole transaction, event included, goes.
            Err::<(), _>(StoreError::Conflict("a later step failed".into()))
        })
        .await;
    assert!(failed.is_err());
    assert!(recorded(&app).is_empty(), "the event rolled back with its write");

    db.write(move |conn| record(conn, [event()?])).await.unwrap();
    assert_eq!(types_since(&app, 0), ["site.updated"]);
}
