//! Concurrent editorial writes: many editors saving at once get correct answers (never a 5xx),
//! every acknowledged write is there afterwards, `If-Match` lets exactly one of a race through,
//! derived slugs stay unique, and a database that stays locked is a 503 that writes nothing.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use actix_web::http::Method;
use diesel::Connection;
use diesel::connection::SimpleConnection;
use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::articles::{action, create, published, story};
use crate::comments::solved_challenge;
use crate::helpers::{TestApp, TestResponse};

const WRITERS: usize = 16;
const WRITES_EACH: usize = 50;

/// Follows the cursor of an admin list and returns every item.
async fn all_pages(app: &TestApp, token: &str, path: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let sep = if path.contains('?') { '&' } else { '?' };
        let url = match &cursor {
            Some(c) => format!("{path}{sep}limit=100&cursor={c}"),
            None => format!("{path}{sep}limit=100"),
        };
        let res = app.request(Method::GET, &url).bearer(token).send().await;
        res.assert_status(200);
        let page = res.json();
        items.extend(page["data"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return items,
        }
    }
}

async fn revision_count(app: &TestApp, token: &str, article: &str) -> usize {
    all_pages(app, token, &format!("/api/v1/admin/articles/{article}/revisions"))
        .await
        .len()
}

/// What one writer did: every answer, and what the server acknowledged.
#[derive(Default)]
struct Log {
    answers: Vec<(String, u16, String)>,
    created: Vec<(String, String)>,
    /// Acknowledged saves (PATCH or publish) per article id.
    saves: HashMap<String, usize>,
    comments: Vec<String>,
}

impl Log {
    fn record(&mut self, what: &str, res: &TestResponse) {
        self.answers.push((what.to_owned(), res.status, res.text()));
    }
}

/// One editor's session: creates, saves and publishes articles, edits a shared article and a
/// tag, posts reader comments and moderates a shared batch of them.
async fn writer(
    app: &TestApp,
    token: &str,
    n: usize,
    shared: (&str, &str),
    tag: &str,
    batch: &[String],
) -> Log {
    let (shared_id, shared_slug) = shared;
    let mut log = Log::default();
    let mut own: Option<String> = None;
    for k in 0..WRITES_EACH {
        match (k % 7, &own) {
            (0, _) | (_, None) => {
                let mut body = story("Breaking: harbour fire spreads to the old docks");
                body["tags"] = json!([tag]);
                let res = app
                    .post("/api/v1/admin/articles", &body)
                    .bearer(token)
                    .send()
                    .await;
                log.record("create", &res);
                if res.status == 201 {
                    let a = res.json();
                    let id = a["id"].as_str().unwrap().to_owned();
                    log.created
                        .push((id.clone(), a["slug"].as_str().unwrap().to_owned()));
                    own = Some(id);
                }
            }
            (1, _) => {
                let res = app
                    .patch(
                        &format!("/api/v1/admin/articles/{shared_id}"),
                        &json!({"standfirst": format!("Update {k} from desk {n}.")}),
                    )
                    .bearer(token)
                    .send()
                    .await;
                log.record("patch shared", &res);
                if res.status == 200 {
                    *log.saves.entry(shared_id.to_owned()).or_default() += 1;
                }
            }
            (2, Some(id)) => {
                let res = app
                    .patch(
                        &format!("/api/v1/admin/articles/{id}"),
                        &json!({"standfirst": format!("Desk {n}, save {k}."), "tags": [tag]}),
                    )
                    .bearer(token)
                    .send()
                    .await;
                log.record("patch own", &res);
                if res.status == 200 {
                    *log.saves.entry(id.clone()).or_default() += 1;
                }
            }
            (3, Some(id)) => {
                let res = action(app, token, id, "publish").await;
                log.record("publish", &res);
                if res.status == 200 {
                    *log.saves.entry(id.clone()).or_default() += 1;
                }
            }
            (4, _) => {
                let res = app
                    .patch(
                        &format!("/api/v1/admin/tags/{tag}"),
                        &json!({"description": format!("Edited by desk {n} at {k}")}),
                    )
                    .bearer(token)
                    .send()
                    .await;
                log.record("tag edit", &res);
            }
            (5, _) => {
                let (challenge, answer) = solved_challenge(app).await;
                let res = app
                    .post(
                        &format!("/api/v1/articles/{shared_slug}/comments"),
                        &json!({
                            "author_name": format!("Reader {n}"),
                            "body": format!("Comment {k} from reader {n}."),
                            "challenge_token": challenge,
                            "challenge_answer": answer,
                            "website": ""
                        }),
                    )
                    .send()
                    .await;
                log.record("comment", &res);
                if res.status == 201 {
                    log.comments.push(res.json()["id"].as_str().unwrap().to_owned());
                }
            }
            _ => {
                let status = if (n + k).is_multiple_of(2) {
                    "approved"
                } else {
                    "pending"
                };
                let res = app
                    .post(
                        "/api/v1/admin/comments/bulk",
                        &json!({"ids": batch, "status": status}),
                    )
                    .bearer(token)
                    .send()
                    .await;
                log.record("bulk moderation", &res);
            }
        }
    }
    log
}

#[actix_rt::test]
async fn sixteen_concurrent_editors_get_no_server_error_and_lose_no_acknowledged_write() {
    let app = TestApp::spawn_with(|s| s.comments_per_minute = 1_000_000).await;
    let token = app.admin_token().await;
    let tag = app
        .post("/api/v1/admin/tags", &json!({"name": "Harbour"}))
        .bearer(&token)
        .send()
        .await;
    tag.assert_status(201);
    let tag_id = tag.json()["id"].as_str().unwrap().to_owned();
    let shared = published(&app, &token, &story("Live: the harbour fire")).await;
    let shared_id = shared["id"].as_str().unwrap().to_owned();
    let shared_slug = shared["slug"].as_str().unwrap().to_owned();
    let mut batch = Vec::new();
    for i in 0..5 {
        let (challenge, answer) = solved_challenge(&app).await;
        let res = app
            .post(
                &format!("/api/v1/articles/{shared_slug}/comments"),
                &json!({"author_name": "Early reader", "body": format!("First look {i}"),
                        "challenge_token": challenge, "challenge_answer": answer, "website": ""}),
            )
            .send()
            .await;
        res.assert_status(201);
        batch.push(res.json()["id"].as_str().unwrap().to_owned());
    }
    let revisions_before = revision_count(&app, &token, &shared_id).await;

    let logs =
        join_all((0..WRITERS).map(|n| writer(&app, &token, n, (&shared_id, &shared_slug), &tag_id, &batch)))
            .await;

    // Every write succeeded: nothing here is a conflict the clients chose, so no 4xx either.
    let failures: Vec<_> = logs
        .iter()
        .flat_map(|l| l.answers.iter())
        .filter(|(_, status, _)| !(200..300).contains(status))
        .collect();
    assert!(
        failures.is_empty(),
        "{} writes failed, e.g. {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    assert_eq!(
        logs.iter().map(|l| l.answers.len()).sum::<usize>(),
        WRITERS * WRITES_EACH
    );

    // Every create is there, each with its own slug derived from the one headline.
    let created: Vec<_> = logs.iter().flat_map(|l| l.created.iter()).collect();
    let slugs: HashSet<_> = created.iter().map(|(_, slug)| slug.clone()).collect();
    assert_eq!(slugs.len(), created.len(), "derived slugs are unique");
    let listed: HashSet<String> = all_pages(&app, &token, "/api/v1/admin/articles")
        .await
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_owned())
        .collect();
    for (id, _) in &created {
        assert!(listed.contains(id), "acknowledged article {id} is missing");
    }

    // Every acknowledged save left its revision: none was lost or merged into another.
    let mut saves: HashMap<String, usize> = HashMap::new();
    for log in &logs {
        for (id, n) in &log.saves {
            *saves.entry(id.clone()).or_default() += n;
        }
    }
    let shared_saves = saves.remove(&shared_id).unwrap_or(0);
    assert_eq!(
        revision_count(&app, &token, &shared_id).await,
        revisions_before + shared_saves,
        "the shared article has one revision per acknowledged save"
    );
    for (id, n) in saves.iter().take(8) {
        assert_eq!(revision_count(&app, &token, id).await, 1 + n, "article {id}");
    }

    // Every acknowledged comment is there, and the article's counter agrees with the rows.
    let comments = all_pages(
        &app,
        &token,
        &format!("/api/v1/admin/comments?article={shared_id}"),
    )
    .await;
    let stored: HashSet<String> = comments
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect();
    for id in logs.iter().flat_map(|l| l.comments.iter()) {
        assert!(stored.contains(id), "acknowledged comment {id} is missing");
    }
    let approved = comments.iter().filter(|c| c["status"] == "approved").count();
    let public = app.get(&format!("/api/v1/articles/{shared_slug}")).await;
    public.assert_status(200);
    assert_eq!(
        public.json()["comment_count"],
        approved as u64,
        "comment_count matches the approved rows"
    );
}

#[actix_rt::test]
async fn concurrent_saves_with_the_same_if_match_let_exactly_one_through() {
    let app = TestApp::spawn().await;
    let token = app.admin_token().await;
    let article = create(&app, &token, &story("Council budget vote")).await;
    let id = article["id"].as_str().unwrap().to_owned();
    let loaded = app
        .request(Method::GET, &format!("/api/v1/admin/articles/{id}"))
        .bearer(&token)
        .send()
        .await;
    let etag = loaded.header("etag").unwrap();
    let before = revision_count(&app, &token, &id).await;

    let answers = join_all((0..8).map(|n| {
        app.patch(
            &format!("/api/v1/admin/articles/{id}"),
            &json!({"headline": format!("Council budget vote, take {n}")}),
        )
        .header("If-Match", &etag)
        .bearer(&token)
        .send()
    }))
    .await;

    let ok = answers.iter().filter(|r| r.status == 200).count();
    let stale = answers.iter().filter(|r| r.status == 412).count();
    assert_eq!(
        (ok, stale),
        (1, 7),
        "{:?}",
        answers.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    for res in answers.iter().filter(|r| r.status == 412) {
        res.assert_problem(412);
    }
    assert_eq!(
        revision_count(&app, &token, &id).await,
        before + 1,
        "exactly one new revision"
    );
    let winner = answers.iter().find(|r| r.status == 200).unwrap().json();
    let now = app
        .request(Method::GET, &format!("/api/v1/admin/articles/{id}"))
        .bearer(&token)
        .send()
        .await
        .json();
    assert_eq!(
        now["headline"], winner["headline"],
        "the one acknowledged save is what is stored"
    );
}

#[actix_rt::test]
async fn concurrent_saves_without_if_match_all_succeed_and_the_last_one_wins() {
    let app = TestApp::spawn().await;
    let token = app.admin_token().await;
    let article = create(&app, &token, &story("Ferry timetable changes")).await;
    let id = article["id"].as_str().unwrap().to_owned();

    let answers = join_all((0..12).map(|n| {
        app.patch(
            &format!("/api/v1/admin/articles/{id}"),
            &json!({"standfirst": format!("Version {n}.")}),
        )
        .bearer(&token)
        .send()
    }))
    .await;

    let statuses: Vec<u16> = answers.iter().map(|r| r.status).collect();
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    // Each save made its own version, and what is stored is the last one acknowledged.
    let etags: HashSet<String> = answers.iter().map(|r| r.header("etag").unwrap()).collect();
    assert_eq!(etags.len(), 12, "every save is a new version");
    let stored = app
        .request(Method::GET, &format!("/api/v1/admin/articles/{id}"))
        .bearer(&token)
        .send()
        .await;
    let last = answers
        .iter()
        .find(|r| r.header("etag") == stored.header("etag"))
        .expect("the stored version is one that was acknowledged");
    assert_eq!(stored.json()["standfirst"], last.json()["standfirst"]);
    assert_eq!(revision_count(&app, &token, &id).await, 13);
}

#[actix_rt::test]
async fn fifty_concurrent_creates_with_one_headline_get_fifty_distinct_slugs() {
    let app = TestApp::spawn().await;
    let token = app.admin_token().await;
    let answers = join_all((0..50).map(|_| {
        app.post("/api/v1/admin/articles", &story("Storm warning for the coast"))
            .bearer(&token)
            .send()
    }))
    .await;
    let statuses: Vec<u16> = answers.iter().map(|r| r.status).collect();
    assert!(statuses.iter().all(|s| *s == 201), "{statuses:?}");
    let slugs: HashSet<String> = answers
        .iter()
        .map(|r| r.json()["slug"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(slugs.len(), 50);
    assert!(slugs.contains("storm-warning-for-the-coast"));
    assert!(slugs.contains("storm-warning-for-the-coast-2"));
}

#[actix_rt::test]
async fn concurrent_creates_with_one_chosen_slug_get_one_201_and_the_rest_409() {
    let app = TestApp::spawn().await;
    let token = app.admin_token().await;
    let answers = join_all((0..10).map(|n| {
        let mut body = story(&format!("Election night, desk {n}"));
        body["slug"] = json!("election-night");
        let app = &app;
        let token = &token;
        async move {
            app.post("/api/v1/admin/articles", &body)
                .bearer(token)
                .send()
                .await
        }
    }))
    .await;
    let created = answers.iter().filter(|r| r.status == 201).count();
    assert_eq!(
        created,
        1,
        "{:?}",
        answers.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    for res in answers.iter().filter(|r| r.status != 201) {
        res.assert_problem(409);
    }
}

/// Holds the database's write lock from outside the server, as a stuck process would.
enum OutsideLock {
    Sqlite(diesel::SqliteConnection),
    Postgres(diesel::PgConnection),
}

impl OutsideLock {
    fn take(app: &TestApp) -> OutsideLock {
        match app.postgres() {
            Some(pg) => {
                let mut conn = diesel::PgConnection::establish(&pg.url).unwrap();
                conn.batch_execute("BEGIN; LOCK TABLE articles IN EXCLUSIVE MODE;")
                    .unwrap();
                OutsideLock::Postgres(conn)
            }
            None => {
                let path = app.sqlite_path().unwrap();
                let mut conn = diesel::SqliteConnection::establish(&path.to_string_lossy()).unwrap();
                conn.batch_execute("BEGIN IMMEDIATE;").unwrap();
                OutsideLock::Sqlite(conn)
            }
        }
    }

    fn release(self) {
        match self {
            OutsideLock::Sqlite(mut c) => c.batch_execute("ROLLBACK").unwrap(),
            OutsideLock::Postgres(mut c) => c.batch_execute("ROLLBACK").unwrap(),
        }
    }
}

#[actix_rt::test]
async fn a_write_that_cannot_get_the_lock_in_time_is_a_503_with_retry_after_and_writes_nothing() {
    let app = TestApp::spawn_with(|s| s.db_busy_timeout = Duration::from_millis(300)).await;
    let token = app.admin_token().await;
    let before = all_pages(&app, &token, "/api/v1/admin/articles").await.len();

    let lock = OutsideLock::take(&app);
    let res = app
        .post("/api/v1/admin/articles", &story("Held back by a lock"))
        .bearer(&token)
        .send()
        .await;
    // Reads still work while the lock is held (SQLite WAL; PostgreSQL EXCLUSIVE allows reads).
    let list = app
        .request(Method::GET, "/api/v1/admin/articles")
        .bearer(&token)
        .send()
        .await;
    lock.release();

    let problem = res.assert_problem(503);
    assert!(res.header("retry-after").is_some(), "503 says when to retry");
    assert!(
        problem["detail"].as_str().unwrap().contains("try again"),
        "{problem}"
    );
    list.assert_status(200);
    assert_eq!(
        all_pages(&app, &token, "/api/v1/admin/articles").await.len(),
        before,
        "nothing was written"
    );
    // Once the lock is gone the same write goes through.
    create(&app, &token, &story("Held back by a lock")).await;
}
