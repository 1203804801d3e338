//! The cache-purge listener of several instances on PostgreSQL (PRODUCT.md §9, `db::notify`):
//! on a URL of its own (`MASTHEAD_LISTEN_DATABASE_URL`), checked at start, and re-established
//! with the cache flushed when its connection is cut. On SQLite these tests pass without
//! running: there is no listener.

use diesel::{Connection, PgConnection, RunQueryDsl};
use serde_json::json;

use crate::helpers::TestApp;

#[actix_web::test]
async fn on_postgresql_the_purge_listener_may_have_a_url_of_its_own() {
    let app = TestApp::spawn().await;
    let Some(pg) = app.postgres() else {
        return; // the listener exists on PostgreSQL only (the setting is refused on SQLite)
    };
    // The same database spelled differently (scheme, host name), tagged so its connection can
    // be found.
    let (listen, tag) = tagged_listener_url(&pg.url);
    let listen = listen
        .replacen("postgres://", "postgresql://", 1)
        .replacen("127.0.0.1", "localhost", 1);
    let (second, handle) = app
        .second_instance(|s| s.listen_database_url = Some(listen))
        .await;
    let mut conn = PgConnection::establish(&pg.url).unwrap();
    assert_eq!(
        listeners(&mut conn, &tag).len(),
        1,
        "the second instance listens on its own URL"
    );

    let editor = app.token_for("editor").await;
    let a = crate::articles::published(&app, &editor, &crate::articles::story("Ferry timetable")).await;
    let id = a["id"].as_str().unwrap();
    let path = format!("{second}/api/v1/articles/ferry-timetable");
    cached_on(&app, &second, &path, "Ferry timetable").await;
    edit_and_wait(&app, &editor, id, &path, "Ferry timetable changes", 1000).await;
    handle.stop(false).await;
}

#[actix_web::test]
async fn on_postgresql_a_dropped_listener_connection_is_reestablished_and_the_cache_flushed() {
    let app = TestApp::spawn().await;
    let Some(pg) = app.postgres() else { return };
    // The listener reaches PostgreSQL through a TCP proxy the test can cut.
    let mut listen = url::Url::parse(&pg.url).unwrap();
    let upstream = format!("{}:{}", listen.host_str().unwrap(), listen.port().unwrap_or(5432));
    let proxy = crate::scaleout::Proxy::start(&upstream);
    listen.set_port(Some(proxy.port())).unwrap();
    let (second, handle) = app
        .second_instance(|s| s.listen_database_url = Some(listen.to_string()))
        .await;
    let editor = app.token_for("editor").await;
    let a = crate::articles::published(&app, &editor, &crate::articles::story("Tram depot")).await;
    let id = a["id"].as_str().unwrap();
    let path = format!("{second}/api/v1/articles/tram-depot");
    cached_on(&app, &second, &path, "Tram depot").await;

    // Cut: a write's notice now reaches no one, and the other instance keeps its stale copy.
    proxy.kill();
    app.patch(
        &format!("/api/v1/admin/articles/{id}"),
        &json!({"headline": "Tram depot reopens"}),
    )
    .bearer(&editor)
    .send()
    .await
    .assert_status(200);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        app.get(&path).await.json()["headline"],
        "Tram depot",
        "the notice was lost (which is why a reconnected listener drops everything)"
    );

    // Back: the listener reconnects and drops the whole cache; later writes arrive as before.
    proxy.revive();
    let revived = std::time::Instant::now();
    while app.get(&path).await.json()["headline"] != "Tram depot reopens" {
        assert!(
            revived.elapsed().as_secs() < 5,
            "the other instance still serves the write it missed 5 s after the database came back"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    edit_and_wait(&app, &editor, id, &path, "Tram depot reopens in May", 1000).await;
    handle.stop(false).await;
}

/// Reads `path` until the instance at `base` answers it from its cache with `headline`. The
/// publish's own notice must have been handled first (it purges the entry and leaves the next
/// due time unknown, so reads before it may not be stored at all): hence the pause.
async fn cached_on(app: &TestApp, base: &str, path: &str, headline: &str) {
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    for _ in 0..50 {
        let before = hits(app, base).await;
        assert_eq!(app.get(path).await.json()["headline"], headline);
        if hits(app, base).await > before {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{path} is never answered from the cache of {base}");
}

async fn hits(app: &TestApp, base: &str) -> u64 {
    let text = app.get(&format!("{base}/metrics")).await.text();
    text.lines()
        .find_map(|l| {
            l.strip_prefix("masthead_response_cache_hits_total")?
                .trim()
                .parse()
                .ok()
        })
        .expect("the hit counter is in /metrics")
}

/// `url` with an `application_name` of its own, and that name.
fn tagged_listener_url(url: &str) -> (String, String) {
    let tag = format!(
        "masthead-listener-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let mut tagged = url::Url::parse(url).unwrap();
    tagged.query_pairs_mut().append_pair("application_name", &tag);
    (tagged.to_string(), tag)
}

/// The server processes of the connections named `tag`.
fn listeners(conn: &mut PgConnection, tag: &str) -> Vec<i32> {
    #[derive(diesel::QueryableByName)]
    struct Backend {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        pid: i32,
    }
    diesel::sql_query("SELECT pid FROM pg_stat_activity WHERE application_name = $1")
        .bind::<diesel::sql_types::Text, _>(tag)
        .load::<Backend>(conn)
        .unwrap()
        .into_iter()
        .map(|b| b.pid)
        .collect()
}

/// Edits the headline through the first instance and waits until `path` (on another) shows it,
/// failing after `within_ms`.
async fn edit_and_wait(app: &TestApp, token: &str, id: &str, path: &str, headline: &str, within_ms: u64) {
    app.patch(
        &format!("/api/v1/admin/articles/{id}"),
        &json!({"headline": headline}),
    )
    .bearer(token)
    .send()
    .await
    .assert_status(200);
    let written = std::time::Instant::now();
    while app.get(path).await.json()["headline"] != headline {
        assert!(
            written.elapsed() < std::time::Duration::from_millis(within_ms),
            "{path} still shows the old headline {within_ms} ms after the write"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[actix_web::test]
async fn on_postgresql_a_listener_url_that_misses_the_database_stops_the_start_naming_the_setting() {
    let app = TestApp::spawn().await;
    let Some(pg) = app.postgres() else { return };
    let start = |listen: String| {
        let mut settings = app.settings.clone();
        settings.listen_database_url = Some(listen);
        match masthead::startup::Application::build(settings) {
            Ok(_) => panic!("the server started with a listener that hears nothing"),
            Err(e) => format!("{e:#}"),
        }
    };
    // Another database of the same server: it connects, but the test notice never arrives.
    let other = start(crate::helpers::postgres_admin_url().unwrap());
    assert!(other.starts_with("MASTHEAD_LISTEN_DATABASE_URL: "), "{other}");
    assert!(
        other.contains("did not reach the cache-purge listener"),
        "{other}"
    );
    let mut missing = url::Url::parse(&pg.url).unwrap();
    missing.set_path(&format!("no_such_db_{}", uuid::Uuid::new_v4().simple()));
    let missing = start(missing.to_string());
    assert!(missing.starts_with("MASTHEAD_LISTEN_DATABASE_URL: "), "{missing}");
    assert!(missing.contains("cannot connect"), "{missing}");
}
