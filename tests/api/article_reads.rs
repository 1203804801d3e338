//! The public read path of articles: list items built from summary rows (no body read), search
//! ranked and paged in SQL, and a public-list query plan that cannot flip to a sort.

use serde_json::{Value, json};

use crate::articles::{action, create, published, story};
use crate::helpers::TestApp;

/// Uploads a small PNG; returns the image id.
async fn image(app: &TestApp, token: &str) -> String {
    let res = crate::images::upload(
        app,
        token,
        "ferry.jpg",
        &crate::images::jpeg(64, 48, 7),
        &[
            ("caption", "Ferries in the harbour"),
            ("credit", "Jo Bloggs/Wire"),
        ],
    )
    .await;
    assert!(res.status == 201 || res.status == 200, "upload: {}", res.text());
    res.json()["id"].as_str().unwrap().to_owned()
}

fn headlines(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["headline"].as_str().unwrap().to_owned())
        .collect()
}

#[actix_web::test]
async fn list_items_show_what_the_article_shows_without_the_body() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let hero = image(&app, &admin).await;
    for name in ["Transport", "Weather"] {
        app.post("/api/v1/admin/tags", &json!({"name": name}))
            .bearer(&admin)
            .send()
            .await
            .assert_status(201);
    }
    let mut body = story("Ferries return after the storm");
    body["tags"] = json!(["weather", "transport"]);
    body["hero"] = json!({"image_id": hero, "caption": "The first ferry <b>back</b>"});
    body["body"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "image", "image_id": hero}));
    let article = published(&app, &admin, &body).await;
    let slug = article["slug"].as_str().unwrap();
    let full = app.get(&format!("/api/v1/articles/{slug}")).await.json();

    let list = app.get("/api/v1/articles").await;
    list.assert_status(200);
    let item = list.json()["data"][0].clone();
    let mut keys: Vec<&str> = item.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    let mut expected = [
        "id",
        "slug",
        "headline",
        "standfirst",
        "dateline",
        "kicker",
        "hero",
        "authors",
        "tags",
        "status",
        "publish_at",
        "published_at",
        "updated_at",
        "word_count",
        "reading_minutes",
        "comment_count",
    ];
    expected.sort_unstable();
    assert_eq!(keys, expected);
    for key in keys {
        assert_eq!(item[key], full[key], "list item and article differ in `{key}`");
    }
    assert_eq!(item["hero"]["image"]["caption"], "The first ferry back");
    assert!(item["hero"]["image"]["renditions"]["srcset"].is_string());
    assert_eq!(item["tags"][0]["slug"], "weather");
    assert_eq!(item["status"], "published");
    let keys = list.header("surrogate-key").unwrap();
    assert!(keys.contains(&format!("article:{}", article["id"].as_str().unwrap())));
    assert!(keys.contains("tag:weather") && keys.contains("tag:transport"));
}

#[actix_web::test]
async fn articles_that_leave_the_public_leave_the_list_and_search_at_once() {
    let app = TestApp::spawn().await;
    let editor = app.token_for("editor").await;
    let stays = published(&app, &editor, &story("Lighthouse stays lit")).await;
    let goes = published(&app, &editor, &story("Lighthouse goes dark")).await;
    let archived = published(&app, &editor, &story("Lighthouse archived")).await;
    for q in ["/api/v1/articles", "/api/v1/articles?q=lighthouse"] {
        assert_eq!(app.get(q).await.json()["data"].as_array().unwrap().len(), 3);
    }
    action(&app, &editor, goes["id"].as_str().unwrap(), "unpublish")
        .await
        .assert_status(200);
    action(&app, &editor, archived["id"].as_str().unwrap(), "archive")
        .await
        .assert_status(200);
    for q in ["/api/v1/articles", "/api/v1/articles?q=lighthouse"] {
        assert_eq!(
            headlines(&app.get(q).await.json()),
            [stays["headline"].as_str().unwrap()]
        );
    }
}

#[actix_web::test]
async fn search_pages_through_every_match_once_in_rank_order_with_filters() {
    let app = TestApp::spawn().await;
    let editor = app.token_for("editor").await;
    let admin = app.admin_token().await;
    app.post("/api/v1/admin/tags", &json!({"name": "Harbour"}))
        .bearer(&admin)
        .send()
        .await
        .assert_status(201);
    // Equal texts rank equally: the order among them is newest first, across pages too.
    for i in 0..5 {
        let mut body = json!({"headline": format!("Ferry report {i}"),
            "body": [{"type": "paragraph", "text": "The ferry sailed on time."}]});
        if i % 2 == 0 {
            body["tags"] = json!(["harbour"]);
        }
        published(&app, &editor, &body).await;
    }
    published(
        &app,
        &editor,
        &json!({"headline": "Ferry ferry ferry", "standfirst": "All about the ferry",
                "body": [{"type": "paragraph", "text": "Ferry news, ferry timetables, ferry fares."}]}),
    )
    .await;
    create(
        &app,
        &editor,
        &json!({"headline": "Ferry draft", "body": [{"type": "paragraph", "text": "ferry"}]}),
    )
    .await;

    for filter in ["", "&tag=harbour"] {
        let all = app
            .get(&format!("/api/v1/articles?q=ferry&limit=100{filter}"))
            .await
            .json();
        let expected = headlines(&all);
        let mut seen = Vec::new();
        let mut path = format!("/api/v1/articles?q=ferry&limit=2{filter}");
        loop {
            let page = app.get(&path).await;
            page.assert_status(200);
            let page = page.json();
            seen.extend(headlines(&page));
            match page["next_cursor"].as_str() {
                Some(c) => path = format!("/api/v1/articles?q=ferry&limit=2{filter}&cursor={c}"),
                None => break,
            }
        }
        assert_eq!(seen, expected, "filter `{filter}`");
        if filter.is_empty() {
            assert_eq!(expected.len(), 6);
            assert_eq!(expected[0], "Ferry ferry ferry");
            let equal: Vec<String> = (0..5).rev().map(|i| format!("Ferry report {i}")).collect();
            assert_eq!(expected[1..], equal[..]);
        } else {
            assert_eq!(expected, ["Ferry report 4", "Ferry report 2", "Ferry report 0"]);
        }
    }
    let none = app
        .get("/api/v1/articles?q=ferry&published_after=2099-01-01T00:00:00Z")
        .await
        .json();
    assert_eq!(none["data"], json!([]));
    let list_cursor = app.get("/api/v1/articles?limit=1").await.json()["next_cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    // A list cursor is not a search cursor.
    app.get(&format!("/api/v1/articles?q=ferry&cursor={list_cursor}"))
        .await
        .assert_problem(400);
}

/// EXPLAIN QUERY PLAN of the public list's shape, one detail per line.
fn sqlite_plan(conn: &mut diesel::SqliteConnection, sql: &str) -> String {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Step {
        #[diesel(sql_type = diesel::sql_types::Text)]
        detail: String,
    }
    let steps: Vec<Step> = diesel::sql_query(format!("EXPLAIN QUERY PLAN {sql}"))
        .load(conn)
        .unwrap();
    steps.into_iter().map(|s| s.detail).collect::<Vec<_>>().join("\n")
}

#[actix_web::test]
async fn the_public_list_reads_its_index_in_order_with_or_without_statistics() {
    let app = TestApp::spawn().await;
    // SQLite only: PostgreSQL rightly prefers a sequential scan on a table this small.
    let Some(path) = app.sqlite_path() else { return };
    let editor = app.token_for("editor").await;
    for i in 0..3 {
        published(&app, &editor, &story(&format!("Plan story {i}"))).await;
        create(&app, &editor, &story(&format!("Plan draft {i}"))).await;
    }
    use diesel::Connection;
    let mut conn = diesel::SqliteConnection::establish(path.to_str().unwrap()).unwrap();
    let queries = [
        "SELECT id FROM articles WHERE public_at <= '2030-01-01' ORDER BY public_at DESC, id DESC LIMIT 21",
        "SELECT id FROM articles WHERE public_at <= '2030-01-01' AND public_at <= '2029-01-01' \
         AND (public_at < '2029-01-01' OR id < 'x') ORDER BY public_at DESC, id DESC LIMIT 21",
        "SELECT id FROM articles WHERE public_at <= '2030-01-01' AND EXISTS (SELECT 1 FROM article_tags \
         t JOIN tags g ON g.id = t.tag_id WHERE t.article_id = articles.id AND (g.slug = 'a' OR g.id = 'a')) \
         ORDER BY public_at DESC, id DESC LIMIT 21",
    ];
    for analysed in [false, true] {
        if analysed {
            use diesel::RunQueryDsl;
            diesel::sql_query("ANALYZE").execute(&mut conn).unwrap();
        }
        for sql in queries {
            let plan = sqlite_plan(&mut conn, sql);
            assert!(
                plan.contains("USING INDEX articles_public_at") && !plan.contains("TEMP B-TREE"),
                "analysed: {analysed}, {sql}\n{plan}"
            );
        }
    }
}
